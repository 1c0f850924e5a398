"""The Microsoft 365 unified audit log, in the shapes it leaves Microsoft in:

* Office 365 Management Activity API records (``CreationTime, Id, Operation, OrganizationId,
  RecordType, UserId, Workload, ClientIP, ResultStatus, …``): a JSON array (one content blob of
  ``/subscriptions/content`` saved as is) or one record per line;
* Microsoft Sentinel / Log Analytics ``OfficeActivity`` rows (``TimeGenerated``, ``OfficeWorkload``,
  ``Client_IPAddress``, ``Type: OfficeActivity``), and Graph ``auditLogRecord`` objects (camelCase);
* the audit-log search exports: the portal's CSV (an ``AuditData`` column holding the record's JSON)
  and ``Search-UnifiedAuditLog`` results saved as JSON (the same ``AuditData`` column).

Sign-ins (``UserLoggedIn``, ``UserLoginFailed``, ``MailboxLogin``) are ``authentication`` events (OCSF
3002), content reads (``MailItemsAccessed``, ``FileAccessed``, ``FileDownloaded``, …) ``data_access``
and the rest ``generic`` (OCSF 6003 API Activity). The mapping is ``sekimori.ingest.m365.records``,
documented in ``docs/formats/m365.md``. A record without ``Operation`` or a usable time, a CSV row whose
``AuditData`` is not JSON, and lines that are not JSON objects go to the quarantine with their number.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.cloud.jsondocs import iter_json_docs, leading_members, lower_keys, mapped_values
from sekimori.ingest.m365.records import COLUMNS, TIME_KEYS, WORKLOAD_KEYS, m365_values
from sekimori.ingest.m365.wrapped import WrappedError, is_csv_header, iter_csv_records, unwrap
from sekimori.ingest.rows import TupleBatches
from sekimori.ingest.source import Source

_COLUMNS = ("record_id", "raw", *COLUMNS)
_MARKERS = (b'"Operation', b'"operation', b"AuditData")


def _shape(doc: dict[str, Any]) -> str | None:
    """``wrapped`` (an AuditData column), ``record`` (the record itself), or None: not this format."""
    keys = lower_keys(doc)
    if "auditdata" in keys and ({"operations", "operation", "creationdate"} & keys.keys()):
        return "wrapped"
    if str(keys.get("type", "")) == "OfficeActivity":
        return "record"
    if "operation" in keys and any(k in keys for k in TIME_KEYS):
        context = ("organizationid", "recordtype", "auditlogrecordtype", "userkey", *WORKLOAD_KEYS)
        if any(k in keys for k in context):
            return "record"
    return None


@register
class M365Reader(Reader):
    name = "m365"
    description = "Microsoft 365 unified audit log: Management Activity API, OfficeActivity, search exports"
    batch_size = 4096

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        if not any(m in head for m in _MARKERS):
            return 0.0
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
        if not text.startswith(("{", "[")):
            return 0.95 if is_csv_header(text.split("\n", 1)[0].rstrip("\r")) else 0.0
        doc = leading_members(head)  # a first record longer than the head: the keys it starts with
        return 0.95 if doc is not None and _shape(doc) is not None else 0.0

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        rows = mapped_values(self._records(source, quarantine), m365_values, quarantine)
        yield from TupleBatches(_COLUMNS, self.batch_size, quarantine).batches(rows)

    def _records(
        self, source: Source, quarantine: Quarantine
    ) -> Iterator[tuple[int, int | None, str, dict[str, Any]]]:
        head = source.head(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
        if not head.startswith(("{", "[")):
            for line, raw, record in iter_csv_records(source, quarantine):
                yield line, None, raw, record
            return
        for number, offset, raw, doc in iter_json_docs(source, quarantine):
            at = None if offset < 0 else offset
            audit_data = doc.get("AuditData", doc.get("auditData", doc.get("auditdata")))
            if audit_data is None:
                yield number, at, raw, doc
                continue
            try:
                record, inner_raw = unwrap(doc, audit_data)
            except WrappedError as exc:
                quarantine.add(exc.reason, record=number, offset=at, field=exc.field, data=raw)
                continue
            # A CSV / PowerShell AuditData string is the API record itself; a Graph auditLogRecord
            # (auditData an object) is kept whole.
            yield number, at, inner_raw if isinstance(audit_data, str) else raw, record
