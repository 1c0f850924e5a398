"""Google Workspace login and admin audit: Admin SDK Reports API ``activities`` and their exports.

One JSON record per line (``api``: one activity; ``list``: a whole ``activities.list`` page; ``flat``:
one event per row, as Panther stores them; ``cloud_logging``: a Cloud Logging / BigQuery audit entry of
a Workspace service), or one JSON document (a saved list response, an array of activities), which is
parsed whole. See ``sekimori.ingest.google_workspace.shapes`` for the shapes and ``…mapping`` for the
columns.

An activity holds one or more events; each event becomes one row, and every row of an activity keeps
the activity's full record in ``raw`` (Sigma and the Panther-style rules read the activity's fields,
and an event's meaning depends on the activity around it). ``record_id`` is the line number (the item
number in a whole document), shared by the rows of one activity.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.cloud.jsondocs import is_json_lines
from sekimori.ingest.fit import fit_batch
from sekimori.ingest.google_workspace import (
    COLUMNS,
    LIST_KIND,
    ShapeError,
    activities_of,
    event_row,
    record_shape,
    utc_times,
    zoned_time,
)
from sekimori.ingest.rows import iter_lines_bom
from sekimori.ingest.schema import make_batch
from sekimori.ingest.source import Source, SourceError

_MARKERS = (b'"admin#reports#activit', b"ccc_hosted_reporting.ActivityProto")
_WHITESPACE = b"\xef\xbb\xbf \t\r\n"


def _first_line(head: bytes) -> bytes:
    for line in head.splitlines():
        line = line.strip()
        if line:
            return line
    return b""


def _layout(head: bytes) -> str:
    """``lines`` (JSON Lines), ``document`` (a pretty-printed response or array) or ``either`` (a first
    line that is not a whole record: a one-line array, or a JSON Lines file whose first line is broken)."""
    first = _first_line(head.lstrip(_WHITESPACE))
    if first in (b"{", b"["):
        return "document"
    if first.startswith((b"{", b"[")):
        try:
            orjson.loads(first)
        except orjson.JSONDecodeError:
            return "either"
        return "lines" if first.startswith(b"{") else "either"
    return "lines"


def _read_layout(source: Source, head: bytes) -> str:
    """``_layout`` of ``head``, with "either" settled as "lines" when the first line is a whole JSON value
    with more after it (a first line longer than the head: not the whole file read to find it out)."""
    layout = _layout(head)
    return "lines" if layout == "either" and is_json_lines(source, head) else layout


@register
class GoogleWorkspaceReader(Reader):
    name = "google_workspace"
    description = (
        "Google Workspace Reports API activities (login, admin, drive, token…), API/Panther/Cloud Logging"
    )
    batch_size = 8192

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        first = _first_line(head.lstrip(_WHITESPACE))
        if first.startswith(b"{"):
            try:
                doc = orjson.loads(first)
            except orjson.JSONDecodeError:
                doc = None
            if doc is not None:
                shape = record_shape(doc)
                return 0.0 if shape is None else 0.8 if shape == "flat" else 0.95
        if first.startswith((b"{", b"[")) and any(marker in head for marker in _MARKERS):
            return 0.85  # a whole document: the API's own markers say whose it is
        return 0.0

    @classmethod
    def reads_lines(cls, source: Source, head: bytes) -> bool:
        """JSON Lines; the activities of a list response on one line share its number."""
        return _read_layout(source, head[:4096]) == "lines"  # the head ``read`` decides from

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        try:
            head = source.head(4096)
        except SourceError:
            head = b""  # the line reader reports where the stream breaks
        layout = "lines" if source.is_slice else _read_layout(source, head)
        records: Iterator[tuple[int, Any, str]] | None = None
        if layout != "lines":
            doc = self._load_document(source, quarantine, report=layout == "document")
            if doc is not None:
                records = _document_records(doc, quarantine)
            elif layout == "document":
                return
        if records is None:
            records = self._line_records(source, quarantine)
        rows = _Rows(self.batch_size, quarantine)
        for number, record, raw in records:
            batch = rows.add_record(number, record, raw)
            if batch is not None:
                yield batch
        batch = rows.flush()
        if batch is not None:
            yield batch

    def _line_records(self, source: Source, quarantine: Quarantine) -> Iterator[tuple[int, Any, str]]:
        for lineno, offset, text in iter_lines_bom(source, quarantine):
            try:
                doc = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                quarantine.add(f"not JSON: {exc}", record=lineno, offset=offset, data=text)
                continue
            if _is_list_page(doc):
                yield from _list_items(lineno, doc, quarantine)
            else:
                yield lineno, doc, text

    def _load_document(self, source: Source, quarantine: Quarantine, *, report: bool) -> Any:
        """The file parsed whole (a saved API page holds at most 1,000 activities); None if it is not
        one JSON document, quarantined when the layout said it had to be one."""
        try:
            with source.open() as fh:
                data = fh.read()
        except (SourceError, OSError, EOFError) as exc:
            if report:
                quarantine.add(f"cannot read the document: {exc}", record=1, offset=0)
            return None
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            if report:
                pos = getattr(exc, "pos", None)
                quarantine.add(f"not a JSON document: {exc}", record=1, offset=pos, data=data[:200])
            return None


def _document_records(doc: Any, quarantine: Quarantine) -> Iterator[tuple[int, Any, str]]:
    if isinstance(doc, list):
        for index, item in enumerate(doc, start=1):
            if record_shape(item) == "list":
                yield from _list_items(index, item, quarantine)
            else:
                yield index, item, orjson.dumps(item).decode()
    elif record_shape(doc) == "list":
        yield from _list_items(None, doc, quarantine)
    else:
        yield 1, doc, orjson.dumps(doc).decode()


def _list_items(
    number: int | None, doc: dict[str, Any], quarantine: Quarantine
) -> Iterator[tuple[int, Any, str]]:
    """The activities of a list response; on one line they share its line number, in a whole
    document each is numbered by its place in ``items``."""
    items = doc.get("items")
    if items is None:
        return  # an empty page: the API leaves ``items`` out
    if not isinstance(items, list):
        quarantine.add("list response whose items is not a list", record=number, field="items")
        return
    for index, item in enumerate(items, start=1):
        yield (number if number is not None else index), item, orjson.dumps(item).decode()


def _is_list_page(doc: Any) -> bool:
    # the cheap test first: most lines are single activities
    if not isinstance(doc, dict) or ("items" not in doc and doc.get("kind") != LIST_KIND):
        return False
    return record_shape(doc) == "list"


class _Rows:
    """Event rows of the records read so far, handed out as batches of ``size`` rows."""

    def __init__(self, size: int, quarantine: Quarantine) -> None:
        self.size = size
        self.quarantine = quarantine
        self.rows: list[tuple[Any, ...]] = []
        self.times: list[tuple[str, str]] = []  # (time as written, the field it came from)
        self.numbers: list[int] = []
        self.raws: list[str] = []

    def add_record(self, number: int, doc: Any, raw: str) -> pa.RecordBatch | None:
        if not isinstance(doc, dict):
            self.quarantine.add("not a JSON object", record=number, data=raw)
            return None
        try:
            activities = activities_of(doc)
        except ShapeError as err:
            self.quarantine.add(err.reason, record=number, field=err.field, data=raw)
            return None
        for activity in activities:
            if activity.time is None:
                self.quarantine.add(
                    "activity without a time", record=number, field=activity.time_field, data=raw
                )
                continue
            when = (activity.time, activity.time_field)
            for event in activity.events:
                self.rows.append(event_row(activity, event))
                self.times.append(when)
                self.numbers.append(number)
                self.raws.append(raw)
        return self.flush() if len(self.rows) >= self.size else None

    def flush(self) -> pa.RecordBatch | None:
        if not self.rows:
            return None
        rows, times, numbers, raws = self.rows, self.times, self.numbers, self.raws
        self.rows, self.times, self.numbers, self.raws = [], [], [], []
        parsed, bad = utc_times([zoned_time(t) for t, _ in times])
        if bad:
            told: set[tuple[int, str]] = set()
            for i in sorted(bad):
                if (numbers[i], raws[i]) in told:
                    continue  # one row per activity, not per event
                told.add((numbers[i], raws[i]))
                text, where = times[i]
                self.quarantine.add(
                    f"time {text!r} is not an RFC 3339 time in the years 1678-2261",
                    record=numbers[i],
                    field=where,
                    data=raws[i],
                )
            keep = [i for i in range(len(rows)) if i not in bad]
            if not keep:
                return None
            rows = [rows[i] for i in keep]
            numbers = [numbers[i] for i in keep]
            raws = [raws[i] for i in keep]
            parsed = parsed.take(pa.array(keep, pa.int64()))
        columns: dict[str, Any] = dict(zip(COLUMNS, zip(*rows, strict=True), strict=True))
        columns.update(time=parsed, record_id=numbers, raw=raws)
        return fit_batch(make_batch, columns, len(rows), self.quarantine, records=numbers, data=raws)
