"""AWS CloudTrail: the S3 delivery files (``{"Records": […]}``), one record per line (Lake / SIEM
exports, all-lowercase keys too), EventBridge events, CloudWatch Logs payloads and exports,
``lookup-events`` output and CSV downloads; digest files are recognised and skipped.

The shapes are in ``sekimori.ingest.cloudtrail.shapes``, the CSV forms in ``….csvform`` and what a
record means in ``….mapping`` (documented in ``docs/formats/cloudtrail.md``). ``raw`` is the CloudTrail
record itself (an envelope's ``detail`` / ``message``), so Sigma's ``aws/cloudtrail`` rules read
``eventSource``, ``eventName``, ``userIdentity.type`` … where they expect them.

One JSON document or JSON Lines is told from the first line: one that opens a value it does not close
(``[``, ``{`` not ending in ``}``) and is not a whole JSON value with more lines after it starts a
document, parsed whole. When that parse fails and the next non-blank line is a whole JSON object, the
file is JSON Lines whose first line is broken (cut short by a partial write, garbage): it is read as
lines, that line quarantined (``not JSON: …``, line 1 and its offset) and every line after it read as
in any JSON Lines file. Otherwise (a pretty-printed document, whose second line is ``"Records": [`` or
``{`` and never a whole object; a single line) the document gives one ``not a JSON document`` row naming
where it broke.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.cloud.jsondocs import is_json_lines
from sekimori.ingest.cloudtrail.csvform import is_cloudtrail_header, row_record, sniff_csv
from sekimori.ingest.cloudtrail.mapping import COLUMNS, record_values
from sekimori.ingest.cloudtrail.shapes import (
    CONTROL,
    DIGEST,
    TEXT_SHAPES,
    sniff_json,
    strip_export_prefix,
    unwrap,
)
from sekimori.ingest.fit import BadValue
from sekimori.ingest.rows import TupleBatches, iter_lines_bom
from sekimori.ingest.source import Source, SourceError

log = logging.getLogger(__name__)
_WS = b"\xef\xbb\xbf \t\r\n"


@register
class CloudTrailReader(Reader):
    name = "cloudtrail"
    description = "AWS CloudTrail records: S3 delivery files, JSON lines, EventBridge, CloudWatch Logs, CSV"
    batch_size = 8192

    def __init__(self) -> None:
        # Why a source gave no events without being bad (a digest file): said here and in the log.
        self.notes: list[str] = []

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        return max(sniff_json(head), sniff_csv(head))

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        try:
            head = source.head(4096)
        except SourceError:
            head = b""  # the line reader reports where the stream breaks
        builder = TupleBatches(COLUMNS, self.batch_size, quarantine)
        if source.is_slice:
            rows = self._lines(source, quarantine)
        elif sniff_csv(head) > 0:
            rows = self._csv(source, quarantine)
        elif _one_document(source, head):
            rows = self._document(source, quarantine)
        else:
            rows = self._lines(source, quarantine)
        yield from builder.batches(rows)

    @classmethod
    def reads_lines(cls, source: Source, head: bytes) -> bool:
        # JSON Lines (records or S3 objects on lines); a document or CSV is read whole. JSON Lines whose
        # first line is broken are found out only by parsing the file as a document: read whole too.
        return sniff_csv(head) == 0 and not _one_document(source, head)

    # -- one JSON document per line (and the one-line S3 delivery file) ---------------------------
    def _lines(self, source: Source, quarantine: Quarantine) -> Iterator[tuple[Any, ...]]:
        ordinal = 0
        for lineno, offset, line in iter_lines_bom(source, quarantine):
            text = strip_export_prefix(line)
            try:
                doc = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                quarantine.add(f"not JSON: {exc}", record=lineno, offset=offset, data=line)
                continue
            shape, items = unwrap(doc)
            if shape == "record":
                # one record per line (a dict, its text the line): the record number is the line number
                try:
                    yield record_values(doc, lineno, text)
                except BadValue as err:
                    quarantine.add(err.reason, record=lineno, offset=offset, field=err.field, data=text)
                continue
            self._note(shape, source)
            first = ordinal + 1
            ordinal += len(items)
            if source.is_slice:  # numbered on by the parent (``Reader.counted``)
                self.counted = ordinal
                first = -first
            yield from self._events(self._parsed(shape, items), first, offset, quarantine, numbered=True)

    def _document(self, source: Source, quarantine: Quarantine) -> Iterator[tuple[Any, ...]]:
        # A pretty-printed object or a JSON array has to be parsed whole (CloudTrail's own S3 files
        # are one line each, read as lines above).
        doc = self._whole(source, quarantine)
        if doc is _AS_LINES:
            # JSON Lines whose first line is broken: read as lines, that line quarantined on its own
            # (the whole file's bytes are let go of first: the lines are streamed)
            yield from self._lines(source, quarantine)
            return
        if doc is _BROKEN:
            return
        shape, items = unwrap(doc)
        self._note(shape, source)
        if shape == "record":
            yield from self._events([(doc, None)], 1, 0, quarantine, numbered=False)
            return
        yield from self._events(self._parsed(shape, items), 1, None, quarantine, numbered=True)

    @staticmethod
    def _whole(source: Source, quarantine: Quarantine) -> Any:
        """The file parsed as one JSON document; ``_AS_LINES`` when it is not one but reads as JSON Lines
        whose first line is broken (``_broken_first_line``); ``_BROKEN`` once quarantined."""
        try:
            with source.open() as fh:
                data = fh.read()
            return orjson.loads(data)
        except (OSError, EOFError, SourceError) as exc:
            quarantine.add(f"stream broke off: {exc}", record=1, offset=0)
            return _BROKEN
        except orjson.JSONDecodeError as exc:
            if _broken_first_line(data):
                return _AS_LINES
            quarantine.add(f"not a JSON document: {exc}", record=1, offset=exc.pos, data=data[:200])
            return _BROKEN

    def _note(self, shape: str, source: Source) -> None:
        if shape == DIGEST:
            what = "CloudTrail digest file (log-file hashes and signatures, no events)"
            note = f"{source.display}: {what}: skipped"
        elif shape == CONTROL:
            note = f"{source.display}: CloudWatch Logs control message (no events): skipped"
        else:
            return
        self.notes.append(note)
        log.info("%s", note)

    @staticmethod
    def _parsed(shape: str, items: list[Any]) -> Iterator[tuple[Any, str | None]]:
        """(record or parse failure, its JSON text when the envelope held it as text)."""
        for item in items:
            if isinstance(item, str) and shape in TEXT_SHAPES:
                try:
                    yield orjson.loads(strip_export_prefix(item)), item
                except orjson.JSONDecodeError as exc:
                    yield exc, item
            else:
                yield item, None

    def _events(
        self,
        items: Iterator[tuple[Any, str | None]] | list[tuple[Any, str | None]],
        first: int,
        offset: int | None,
        quarantine: Quarantine,
        numbered: bool,
    ) -> Iterator[tuple[Any, ...]]:
        # ``first`` below 0: a slice's records, numbered -1, -2, … (``Reader.counted``)
        step = -1 if first < 0 else 1
        for n, (record, text) in zip(itertools.count(first, step), items):
            where = {"record": n, "offset": None if numbered else offset}
            if isinstance(record, orjson.JSONDecodeError):
                quarantine.add(f"record text is not JSON: {record}", field="message", data=text, **where)
                continue
            if not isinstance(record, dict):
                data = text if text is not None else orjson.dumps(record)
                quarantine.add("not a JSON object", field="Records", data=data, **where)
                continue
            raw = text if text is not None else orjson.dumps(record).decode()
            try:
                yield record_values(record, n, raw)
            except BadValue as err:
                quarantine.add(err.reason, field=err.field, data=raw, **where)

    # -- CSV --------------------------------------------------------------------------------------
    def _csv(self, source: Source, quarantine: Quarantine) -> Iterator[tuple[Any, ...]]:
        try:
            fh = source.open()
        except SourceError as exc:
            quarantine.add(str(exc), record=1, offset=0)
            return
        with fh, io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="") as text:
            reader = csv.reader(text)
            try:
                header = next(reader)
            except (StopIteration, csv.Error, OSError, EOFError) as exc:
                quarantine.add(f"no CSV header: {exc}", record=1, field="header")
                return
            if not is_cloudtrail_header(header):
                quarantine.add("CSV header names no CloudTrail fields", record=1, field="header")
                return
            line = reader.line_num + 1
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except (csv.Error, OSError, EOFError) as exc:
                    quarantine.add(f"CSV reading stopped: {exc}", record=line)
                    return
                start, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    reason = f"{len(row)} fields where the header has {len(header)}"
                    quarantine.add(reason, record=start, field="record", data=",".join(row))
                    continue
                record = row_record(header, row)
                raw = orjson.dumps(record).decode()
                try:
                    yield record_values(record, start, raw)
                except BadValue as err:
                    quarantine.add(err.reason, record=start, field=err.field, data=raw)


def _one_document(source: Source, head: bytes) -> bool:
    """Whether the (JSON) content is one document, parsed whole, rather than JSON Lines: its first line
    opens a value it does not close (``[``, ``{`` not ending in ``}``). A first line longer than the head
    (a long record, a one-line S3 file) looks unclosed: whole on its own with lines after it, the file
    is JSON Lines. (One that is broken is found out when the document does not parse: ``_whole``.)"""
    first = head.lstrip(_WS).split(b"\n", 1)[0].rstrip()
    whole = first.startswith(b"[") or (first.startswith(b"{") and not first.endswith(b"}"))
    return whole and not is_json_lines(source, head)


# What ``_whole`` hands back instead of a document.
_AS_LINES = object()
_BROKEN = object()
_BLANKS = re.compile(rb"[\xef\xbb\xbf \t\r\n]*")  # what ``bytes.lstrip(_WS)`` drops


def _broken_first_line(data: bytes) -> bool:
    """Whether ``data``, which is not one JSON document, is JSON Lines whose first line is broken (cut
    short, garbage): its next non-blank line after the first is a whole JSON object (after a CloudWatch
    Logs export prefix), as a record or an S3 object on its line is. A pretty-printed document's second
    line never is (``"Records": [``, ``{``, ``"eventVersion": "1.08",``, an array element and its
    comma), so a broken document stays one quarantine row. Only that line is looked at (no pass over
    the file, no copy of its first line however long): a file whose first two lines are both broken
    stays one document row.
    """
    first = _BLANKS.match(data).end()  # type: ignore[union-attr]
    end = data.find(b"\n", first)
    if end < 0:
        return False  # one line: a document, broken
    start = _BLANKS.match(data, end).end()  # type: ignore[union-attr]
    if start >= len(data):
        return False  # nothing but blank lines after it
    stop = data.find(b"\n", start)
    try:
        text = data[start : stop if stop >= 0 else len(data)].decode("utf-8")
        return isinstance(orjson.loads(strip_export_prefix(text)), dict)
    except (UnicodeDecodeError, orjson.JSONDecodeError):
        return False
