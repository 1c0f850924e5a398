"""Microsoft 365 unified audit log (``m365/*``).

``m365/audit`` rules use the audit record's own names (``Operation``, ``Workload``, ``ResultStatus``,
``ObjectId``…), read by their JSON path in ``raw``. The ``threat_management``, ``threat_detection``
and ``exchange`` rules use ``eventSource``/``eventName``/``status`` for the alert records of the
Security & Compliance Center: read here as the record's ``Workload`` (also the Sentinel export's
``OfficeWorkload``), ``Name`` (the alert's name; ``Operation`` when there is none) and ``Status``
(``ResultStatus`` when there is none). That reading is sekimori's: no pySigma pipeline defines one.
"""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.sigma.source import FieldRead, SigmaSource, json_paths, register

ALERT_SERVICES = ("threat_management", "threat_detection", "exchange")
ALERT_FIELDS: dict[str, tuple[str, ...]] = {
    "eventSource": ("$.Workload", "$.OfficeWorkload"),
    "eventName": ("$.Name", "$.Operation"),
    "status": ("$.Status", "$.ResultStatus"),
}


@register
class Microsoft365Source(SigmaSource):
    name: ClassVar[str] = "m365"
    description: ClassVar[str] = "Microsoft 365 unified audit log records, fields by their JSON path"
    formats: ClassVar[tuple[str, ...]] = ("m365",)

    def kind_of(self, product: str | None, category: str | None, service: str | None) -> str | None:
        if product != "m365" or category is not None:
            return None
        return service if service in ("audit", *ALERT_SERVICES) else None

    def read(self, kind: str, field: str) -> FieldRead:
        if kind in ALERT_SERVICES and field in ALERT_FIELDS:
            return FieldRead(paths=ALERT_FIELDS[field])
        return FieldRead(paths=json_paths(field))
