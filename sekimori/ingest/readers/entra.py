"""Microsoft Entra ID sign-in and directory-audit logs, in every export shape Microsoft documents.

* Microsoft Graph ``/auditLogs/signIns`` and ``/auditLogs/directoryAudits`` JSON (camelCase): one object
  per line, a JSON array (the portal's JSON download) or a page ``{"value": [...]}``;
* the Azure Monitor diagnostic-settings envelope ``{time, category, properties: {...}}`` for the
  categories SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs,
  ManagedIdentitySignInLogs and AuditLogs, one per line (storage) or wrapped in ``{"records": [...]}``
  (Event Hub);
* Log Analytics / Sentinel exports of the tables SigninLogs, AADNonInteractiveUserSignInLogs,
  AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs and AuditLogs (PascalCase, nested fields as
  JSON strings);
* the portal's CSV download of sign-ins and of audit logs.

Each record's shape is recognised on its own (``sekimori.ingest.entra.shapes``), so files mixing shapes
read. Sign-ins become ``authentication`` events (OCSF 3002), directory audits ``generic`` events (OCSF
6003 API Activity); the mapping is ``sekimori.ingest.entra.events`` and ``docs/formats/entra.md``.
Records that are not JSON objects, are not sign-ins or audits, or carry an unreadable time, error code
or nested JSON string go to the quarantine with their record number and field. A JSON array or page is
decoded one record at a time (memory flat in its size); where it breaks, the records before are kept.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.cloud.jsondocs import BrokenJson, JsonStream, is_json, leading_members
from sekimori.ingest.entra import (
    COLUMNS,
    SIGNIN,
    audit_values,
    classify,
    containers,
    csv_kind,
    csv_record,
    signin_values,
)
from sekimori.ingest.fit import BadValue
from sekimori.ingest.rows import TupleBatches, iter_lines_bom
from sekimori.ingest.source import Source, SourceError

_LEAD = b"\xef\xbb\xbf \t\r\n"
_HEAD = 4096
_MARKERS = re.compile(
    rb'"(?:category|Category)"\s*:\s*"(?:SignInLogs|NonInteractiveUserSignInLogs|ServicePrincipalSignInLogs'
    rb'|ManagedIdentitySignInLogs|ADFSSignInLogs|AuditLogs)"'
    rb'|"Type"\s*:\s*"(?:SigninLogs|AADNonInteractiveUserSignInLogs|AADServicePrincipalSignInLogs'
    rb'|AADManagedIdentitySignInLogs|ADFSSignInLogs|AuditLogs)"'
    rb"|\$metadata#auditLogs/(?:signIns|directoryAudits)",
    re.IGNORECASE,
)
_COLUMNS = ("record_id", "raw", *COLUMNS)
_NOT_ENTRA = (
    "not an Entra sign-in or audit record (no sign-in/audit category, Log Analytics table or "
    "Graph signIn/directoryAudit fields)"
)


def _first_doc(data: bytes) -> Any:
    """The first JSON value of ``data`` that parses: its first line, else all of it; None if neither."""
    for line in data.splitlines():
        if line.strip():
            try:
                return orjson.loads(line)
            except orjson.JSONDecodeError:
                break
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


@register
class EntraReader(Reader):
    name = "entra"
    description = (
        "Microsoft Entra ID sign-in and audit logs: Graph JSON, Azure Monitor, Log Analytics, portal CSV"
    )
    batch_size = 4096

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        stripped = head.lstrip(_LEAD)
        if stripped[:1] in (b"{", b"["):
            doc = _first_doc(stripped)
            if doc is not None:
                items = doc if isinstance(doc, list) else containers(doc)
                sample = items[0] if items else doc
                inner = containers(sample)
                sample = inner[0] if inner else sample
                return 0.95 if classify(sample) is not None else 0.0
            # A first record longer than the head: the keys the head holds whole of it.
            members = leading_members(stripped)
            if members is not None and classify(members) is not None:
                return 0.9
            # A head that ends inside a pretty-printed document: look for the category / table names.
            return 0.8 if _MARKERS.search(stripped[:16384]) else 0.0
        line = stripped.split(b"\n", 1)[0].decode("utf-8", errors="replace")
        try:
            header = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            return 0.0
        return 0.95 if csv_kind(header) is not None else 0.0

    @classmethod
    def reads_lines(cls, source: Source, head: bytes) -> bool:
        """JSON Lines: a sign-in or audit record, or an Event Hub ``records`` document, a line."""
        start = _first_line(source)
        return start[:1] == b"{" and is_json(start)

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        builder = TupleBatches(_COLUMNS, self.batch_size, quarantine)
        start = None if source.is_slice else _first_line(source)
        if start is None:  # a slice of JSON Lines
            batches = self._read_lines(source, quarantine, builder)
        elif start[:1] == b"[" or (start[:1] == b"{" and not is_json(start)):
            batches = self._read_document(source, quarantine, builder)
        elif start[:1] == b"{":
            batches = self._read_lines(source, quarantine, builder)
        else:
            batches = self._read_csv(source, quarantine, builder)
        yield from batches
        last = builder.flush()
        if last is not None:
            yield last

    # -- shapes of file ---------------------------------------------------------------------------

    def _read_lines(
        self, source: Source, quarantine: Quarantine, builder: TupleBatches
    ) -> Iterator[pa.RecordBatch]:
        for lineno, offset, line in iter_lines_bom(source, quarantine):
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                quarantine.add(f"not JSON: {exc}", record=lineno, offset=offset, data=line)
                continue
            items = containers(doc)
            if items is None:
                batch = self._record(doc, line, lineno, offset, "", builder, quarantine)
                if batch is not None:
                    yield batch
                continue
            for index, item in enumerate(items):
                raw = orjson.dumps(item).decode()
                batch = self._record(item, raw, lineno, offset, f"records[{index}].", builder, quarantine)
                if batch is not None:
                    yield batch

    def _read_document(
        self, source: Source, quarantine: Quarantine, builder: TupleBatches
    ) -> Iterator[pa.RecordBatch]:
        # A JSON array or a pretty-printed page, decoded one record at a time (memory flat in its size);
        # records are numbered by their place in the document. Where the document breaks, the records
        # before it are kept and the break is quarantined with its byte offset.
        number = 0
        broke_off = False

        def stream_broke(exc: Exception) -> None:
            nonlocal broke_off
            broke_off = True
            quarantine.add(f"stream broke off: {exc}", record=number + 1)

        try:
            fh = source.open()
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile, SourceError) as exc:
            quarantine.add(f"stream broke off: {exc}", record=1)
            return
        with fh:
            stream = JsonStream(fh, stream_broke)
            try:
                for item in _document_records(stream):
                    number += 1
                    if isinstance(item, orjson.JSONDecodeError):
                        quarantine.add(f"not JSON: {item}", record=number, data=item.doc)
                        continue
                    batch = self._record(
                        item, orjson.dumps(item).decode(), number, None, "", builder, quarantine
                    )
                    if batch is not None:
                        yield batch
            except BrokenJson as broken:
                if not broke_off:  # the stream's own break is quarantined already
                    reason = f"JSON document broken off ({broken.reason})"
                    quarantine.add(reason, record=number + 1, offset=broken.offset, data=broken.excerpt)

    def _read_csv(
        self, source: Source, quarantine: Quarantine, builder: TupleBatches
    ) -> Iterator[pa.RecordBatch]:
        with source.open() as fh:
            stream = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
            reader = csv.reader(stream)
            try:
                header = next(reader)
            except (StopIteration, csv.Error, OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
                quarantine.add(f"no CSV header: {exc}", record=1, field="header")
                return
            kind = csv_kind(header)
            if kind is None:
                quarantine.add(
                    "not an Entra portal CSV header", record=1, field="header", data=",".join(header)
                )
                return
            line = reader.line_num
            while True:
                start = line + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except (csv.Error, OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
                    quarantine.add(f"CSV broke off: {exc}", record=start, field="row")
                    return
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                raw, record = csv_record(kind, header, row)
                raw_text = orjson.dumps(raw).decode()
                if len(row) != len(header):
                    quarantine.add(
                        f"{len(row)} fields where the header has {len(header)}",
                        record=start,
                        field="row",
                        data=raw_text,
                    )
                    continue
                batch = self._record(record, raw_text, start, None, "", builder, quarantine, kind=kind)
                if batch is not None:
                    yield batch

    # -- one record -------------------------------------------------------------------------------

    @staticmethod
    def _record(
        doc: Any,
        raw: str,
        number: int,
        offset: int | None,
        where: str,
        builder: TupleBatches,
        quarantine: Quarantine,
        kind: str | None = None,
    ) -> pa.RecordBatch | None:
        if not isinstance(doc, dict):
            quarantine.add("not a JSON object", record=number, offset=offset, field=where or None, data=raw)
            return None
        shape = classify(doc, "csv" if kind else None)
        if shape is None:
            quarantine.add(_NOT_ENTRA, record=number, offset=offset, field=f"{where}category", data=raw)
            return None
        try:
            values = signin_values(shape) if shape.kind == SIGNIN else audit_values(shape)
        except BadValue as exc:
            quarantine.add(exc.reason, record=number, offset=offset, field=f"{where}{exc.field}", data=raw)
            return None
        return builder.append((number, raw, *values))


def _document_records(stream: JsonStream) -> Iterator[Any]:
    """The records of a JSON array or object, one at a time: the array's elements, the items of the
    object's ``records`` / Graph ``value`` array (``containers``), else the object itself; an element
    that is an Event Hub message (``{"records": [...]}``) gives its records. An element orjson does not
    read (``NaN``, a lone surrogate) is handed on as its ``JSONDecodeError``."""
    char = stream.skip()
    stream.pos += 1
    if char == "[":
        yield from _elements_records(stream)
    else:
        doc: dict[str, Any] = {}
        streamed = False
        for key in stream.members():
            # whether the array holds the records is judged on the keys before it (Graph's
            # @odata.context comes first); a later array of records is read whole and left aside
            if not streamed and stream.skip() == "[" and containers({**doc, key: []}) is not None:
                stream.pos += 1
                yield from _elements_records(stream)
                streamed = True
            else:
                doc[key] = _loads(stream.value()[1])
        if not streamed:  # the object is the record: unreadable if one of its values is
            yield next((v for v in doc.values() if isinstance(v, orjson.JSONDecodeError)), doc)
    if stream.skip():
        excerpt = stream.text[stream.pos : stream.pos + 200]
        raise BrokenJson("data after the JSON document", stream.offset(), excerpt)


def _elements_records(stream: JsonStream) -> Iterator[Any]:
    for _, text in stream.elements():
        element = _loads(text)
        yield from containers(element) or [element]


def _loads(text: str) -> Any:
    # orjson reads the values as the whole-document reading did (a number beyond 64 bits is a float)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return exc


def _first_line(source: Source) -> bytes:
    """The first non-blank line of the stream (BOM and blanks stripped); b"" when there is none. Of an
    array only the first bytes: written compactly, it is all on that line."""
    try:
        with source.open() as fh:
            head = fh.read(_HEAD)
            if head.lstrip(_LEAD)[:1] == b"[":
                return head.lstrip(_LEAD)
            line = b""  # the lines of the head, then of the rest of the stream (one open)
            for piece in itertools.chain(head.splitlines(keepends=True), fh):
                line += piece
                if line.endswith(b"\n"):
                    if line.strip(_LEAD):
                        return line.strip(_LEAD)
                    line = b""
            return line.strip(_LEAD)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, SourceError):
        return b""  # the line reader reports where the stream broke
