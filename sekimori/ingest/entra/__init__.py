"""Support code of the Entra ID reader (``sekimori.ingest.readers.entra``): export shapes, value parsing
and the mapping of sign-in and directory-audit records to event columns."""

from sekimori.ingest.entra.events import (
    COLUMNS,
    audit_event,
    audit_values,
    directory_tenant,
    signin_event,
    signin_values,
)
from sekimori.ingest.entra.shapes import (
    AUDIT,
    CHANNELS,
    SIGNIN,
    Shape,
    classify,
    containers,
    csv_kind,
    csv_record,
)

__all__ = [
    "AUDIT",
    "CHANNELS",
    "COLUMNS",
    "SIGNIN",
    "Shape",
    "audit_event",
    "audit_values",
    "classify",
    "containers",
    "csv_kind",
    "csv_record",
    "directory_tenant",
    "signin_event",
    "signin_values",
]
