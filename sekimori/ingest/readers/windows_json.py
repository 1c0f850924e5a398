"""Windows events exported as JSON: OTRF Security-Datasets / NXLog NDJSON, Winlogbeat (ECS) and
``evtx_dump`` JSON lines; one object per line, or one JSON array of objects.

Each record's shape is recognised on its own (``flat``, ``beat`` or ``evtx``; see
``sekimori.ingest.windows``), so a file mixing shippers still reads. Lines that are not JSON objects,
or records without a time or an EventID, go to the quarantine with their line number.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.byte_lines import iter_line_blocks
from sekimori.ingest.cloud.jsondocs import reads_json_lines
from sekimori.ingest.rows import decode_line
from sekimori.ingest.source import Source
from sekimori.ingest.windows import NormalizedRows, normalize_docs, normalized_batch, normalized_rows

_NOT_JSON = object()
_MARKERS = (b'"EventID"', b'"winlog"', b'"EventRecordID"', b'"event_data"')


def dialect_of(doc: dict[str, Any]) -> str | None:
    if isinstance(doc.get("winlog"), dict):
        return "beat"
    event = doc.get("Event")
    if isinstance(event, dict) and isinstance(event.get("System"), dict):
        return "evtx"
    if "log_name" in doc and "event_id" in doc:
        return "beat6"
    if "EventID" in doc:
        return "flat"
    return None


def _loads_text(
    line: bytes, decoded: bool, lineno: int, offset: int, quarantine: Quarantine
) -> tuple[Any, bytes]:
    """A line ``orjson`` refused as bytes, as the line-by-line reader took it: its text (``decode_line``:
    blank, not UTF-8 or holding NUL is quarantined or skipped), parsed; ``_NOT_JSON`` when that fails
    (quarantined with orjson's message for the text, whose positions count characters)."""
    text = line.decode() if decoded else decode_line(line, lineno, offset, quarantine, "utf-8-sig")
    if text is None:
        return _NOT_JSON, line
    try:
        return orjson.loads(text), text.encode()
    except orjson.JSONDecodeError as exc:
        quarantine.add(f"not JSON: {exc}", record=lineno, offset=offset, data=text)
        return _NOT_JSON, line


def _first_json_line(head: bytes) -> bytes | None:
    for line in head.splitlines()[:-1] or head.splitlines():
        line = line.strip()
        if line:
            return line
    return None


@register
class WindowsJsonReader(Reader):
    name = "windows_json"
    description = "Windows events as JSON/JSONL: OTRF Security-Datasets (NXLog), Winlogbeat/ECS, evtx_dump"
    batch_size = 4096

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped.startswith(b"["):
            return 0.8 if any(m in head for m in _MARKERS) else 0.0
        line = _first_json_line(stripped)
        if not line or not line.startswith(b"{"):
            return 0.0
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            return 0.0
        if isinstance(doc, dict) and dialect_of(doc) is not None:
            return 0.9
        return 0.0

    @classmethod
    def reads_lines(cls, source: Source, head: bytes) -> bool:
        """JSON Lines (a JSON array is parsed whole)."""
        return reads_json_lines(head)

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        with source.open() as fh:
            start = fh.read(4096)
        if not reads_json_lines(start) and not source.is_slice:
            yield from self._read_array(source, quarantine)
            return
        # Events leave in file order (a batch holds one dialect; a change of dialect closes it), so
        # re-reading a file that grew gives its old events first, in the same order. Each record is
        # normalized as soon as it is parsed (see NormalizedRows).
        dialect_now: str | None = None
        rows: NormalizedRows | None = None
        raws: list[bytes] = []
        lines: list[int] = []
        loads = orjson.loads
        for first, offset, block, decoded in iter_line_blocks(source, quarantine):
            for lineno, line in enumerate(block, first):
                at = offset
                offset += len(line) + 1
                if line[-1:] == b"\r":
                    line = line.rstrip(b"\r")
                try:
                    # Parsed as bytes, a line is valid UTF-8 without NUL or byte-order mark (orjson
                    # refuses them), i.e. exactly the text decode_line gives; any other goes through it.
                    doc = loads(line)
                except orjson.JSONDecodeError:
                    doc, line = _loads_text(line, decoded, lineno, at, quarantine)
                    if doc is _NOT_JSON:
                        continue
                if not isinstance(doc, dict):
                    quarantine.add("not a JSON object", record=lineno, offset=at, data=line.decode())
                    continue
                dialect = dialect_of(doc)
                if dialect is None:
                    quarantine.add(
                        "not a Windows event (no EventID / winlog / event_data / Event.System)",
                        record=lineno,
                        offset=at,
                        field="EventID",
                        data=line.decode(),
                    )
                    continue
                if rows is None or dialect != dialect_now or len(raws) >= self.batch_size:
                    if rows is not None:
                        batch = normalized_batch(rows, raws, quarantine, record_numbers=lines)
                        if batch is not None:
                            yield batch
                        raws, lines = [], []
                    rows = normalized_rows(dialect)
                    add = rows.add
                    dialect_now = dialect
                add(doc, None, lineno)
                raws.append(line)
                lines.append(lineno)
        if rows is not None:
            batch = normalized_batch(rows, raws, quarantine, record_numbers=lines)
            if batch is not None:
                yield batch

    def _read_array(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        # A JSON array (e.g. ConvertTo-Json exports) has to be parsed whole.
        with source.open() as fh:
            data = fh.read()
        try:
            items = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            quarantine.add(f"not a JSON array: {exc}", offset=getattr(exc, "pos", None), data=data[:200])
            return
        if not isinstance(items, list):
            quarantine.add("not a JSON array", data=data[:200])
            return
        groups: dict[str, tuple[list[dict[str, Any]], list[str], list[int]]] = {}
        for index, doc in enumerate(items, start=1):
            dialect = dialect_of(doc) if isinstance(doc, dict) else None
            if dialect is None:
                quarantine.add("not a Windows event object", record=index, data=orjson.dumps(doc)[:200])
                continue
            docs, raws, numbers = groups.setdefault(dialect, ([], [], []))
            docs.append(doc)
            raws.append(orjson.dumps(doc).decode())
            numbers.append(index)
        for dialect, (docs, raws, numbers) in groups.items():
            for i in range(0, len(docs), self.batch_size):
                batch = normalize_docs(
                    dialect,
                    docs[i : i + self.batch_size],
                    raws[i : i + self.batch_size],
                    quarantine,
                    record_numbers=numbers[i : i + self.batch_size],
                )
                if batch is not None:
                    yield batch
