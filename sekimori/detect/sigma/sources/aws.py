"""AWS CloudTrail (``aws/cloudtrail``): SigmaHQ writes these rules in CloudTrail's own field names
(``eventSource``, ``eventName``, ``userIdentity.arn``, ``requestParameters.*``), which the
``cloudtrail`` reader keeps in ``raw`` as each record was written (the ``Records`` envelope taken off).
Field names are also tried with the case of their first letter changed and in lower case: some exports
(data lakes) lower-case the keys."""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.sigma.source import FieldRead, SigmaSource, json_paths, register


@register
class CloudTrailSource(SigmaSource):
    name: ClassVar[str] = "cloudtrail"
    description: ClassVar[str] = "AWS CloudTrail records, fields by their JSON path"
    formats: ClassVar[tuple[str, ...]] = ("cloudtrail",)

    def kind_of(self, product: str | None, category: str | None, service: str | None) -> str | None:
        return "cloudtrail" if product == "aws" and service == "cloudtrail" else None

    def read(self, kind: str, field: str) -> FieldRead:
        return FieldRead(paths=json_paths(field, case_variants=True))
