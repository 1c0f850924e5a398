"""Zeek logs (``zeek/<log>``, and the generic ``dns``, ``proxy``, ``webserver``, ``firewall`` and
``accounting`` categories that pySigma's ``zeek_raw`` pipeline maps to Zeek's dns, http, conn and
syslog logs, see ``logsources.zeek_variant``). The pipeline renames the fields to Zeek's own
(``c-uri`` → ``uri``, ``dst_ip`` → ``id.resp_h``); the ``zeek`` reader keeps each record's fields by
those names in ``raw``, the log's name in ``channel``."""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.sigma.source import SigmaSource, register


@register
class ZeekSource(SigmaSource):
    name: ClassVar[str] = "zeek"
    description: ClassVar[str] = "Zeek logs, fields by their Zeek names"
    formats: ClassVar[tuple[str, ...]] = ("zeek",)

    def kind_of(self, product: str | None, category: str | None, service: str | None) -> str | None:
        if product == "zeek" and category is None and service:
            return service
        return None

    def where(self, kind: str) -> str:
        return f"source_format = 'zeek' AND channel = '{kind.replace(chr(39), '')}'"
