"""Okta System Log (``okta/okta``): the rules use Okta's field names (``eventType``,
``displayMessage``, ``outcome.result``, ``debugContext.debugData.*``); the ``okta`` reader keeps each
event in ``raw``. Field names are also tried in lower case: some exports (data lakes) lower-case keys."""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.sigma.source import FieldRead, SigmaSource, json_paths, register


@register
class OktaSource(SigmaSource):
    name: ClassVar[str] = "okta"
    description: ClassVar[str] = "Okta System Log events, fields by their JSON path"
    formats: ClassVar[tuple[str, ...]] = ("okta",)

    def kind_of(self, product: str | None, category: str | None, service: str | None) -> str | None:
        return "okta" if product == "okta" and service in ("okta", None) and category is None else None

    def read(self, kind: str, field: str) -> FieldRead:
        return FieldRead(paths=json_paths(field, case_variants=True))
