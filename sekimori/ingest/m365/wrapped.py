"""Audit-log search exports, which wrap each audit record in an ``AuditData`` column holding its JSON.

* the Purview / Security & Compliance portal's CSV download: ``CreationDate,UserIds,Operations,AuditData``
  (classic) or ``RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,
  AssociatedAdminUnitsNames`` (new audit search);
* ``Search-UnifiedAuditLog`` output saved as JSON (``RecordType, CreationDate, UserIds, Operations,
  AuditData, ResultIndex, ResultCount, Identity``).

The wrapped record is what the event keeps as ``raw`` (it is the Management Activity API record); the
wrapper's columns only fill what the record lacks.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

import orjson

from sekimori.ingest.base import Quarantine
from sekimori.ingest.source import Source, SourceError

CSV_FIELD_LIMIT = 16 << 20  # AuditData of a large Exchange bulk operation can be long


class WrappedError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def is_csv_header(line: str) -> bool:
    names = {n.strip().strip('"').lower() for n in line.split(",")}
    return "auditdata" in names and bool(names & {"creationdate", "operations", "operation"})


def unwrap(wrapper: dict[str, Any], audit_data: Any) -> tuple[dict[str, Any], str]:
    """(the audit record with the wrapper's other columns as fallbacks, its JSON text)."""
    if isinstance(audit_data, str):
        raw = audit_data
        try:
            inner = orjson.loads(audit_data)
        except orjson.JSONDecodeError as exc:
            raise WrappedError("AuditData", f"AuditData is not JSON: {exc}") from None
    elif isinstance(audit_data, dict):
        inner, raw = audit_data, orjson.dumps(audit_data).decode()
    else:
        raise WrappedError("AuditData", "no AuditData")
    if not isinstance(inner, dict):
        raise WrappedError("AuditData", "AuditData is not a JSON object")
    outer = {k: v for k, v in wrapper.items() if k.lower() != "auditdata"}
    return {**outer, **inner}, raw


def iter_csv_records(source: Source, quarantine: Quarantine) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(line where the row starts, AuditData text, record) for each row of a CSV export."""
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)  # process-wide, only ever raised
    try:
        fh = source.open()
    except SourceError as exc:
        quarantine.add(str(exc), record=1, offset=0)
        return
    with fh, io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="") as stream:
        rows = csv.reader(stream)
        line = 1
        try:
            header = next(rows, None)
            if header is None:
                return
            names = [n.strip() for n in header]
            lowered = [n.lower() for n in names]
            if "auditdata" not in lowered:
                quarantine.add("CSV header has no AuditData column", record=1, field="AuditData")
                return
            audit = lowered.index("auditdata")
            while True:
                line = rows.line_num + 1
                try:
                    row = next(rows)
                except StopIteration:
                    return
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) <= audit:
                    quarantine.add(
                        f"row has {len(row)} columns, AuditData is column {audit + 1}",
                        record=line,
                        field="AuditData",
                        data=",".join(row),
                    )
                    continue
                wrapper = dict(zip(names, row, strict=False))
                try:
                    record, raw = unwrap(wrapper, row[audit])
                except WrappedError as exc:
                    quarantine.add(exc.reason, record=line, field=exc.field, data=row[audit])
                    continue
                yield line, raw, record
        except csv.Error as exc:
            quarantine.add(f"CSV syntax error: {exc}", record=line, field="record")
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
            quarantine.add(f"stream broke off: {exc}", record=line, field="record")
