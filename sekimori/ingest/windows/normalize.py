"""Windows records to event columns, a batch at a time: the compiled mapping and the quarantine of misfits.

This module owns turning parsed records of one dialect into an Arrow batch of the event schema
(``normalize_docs`` of a list; ``NormalizedRows`` a record at a time as a reader parses them, then
``normalized_batch``): each event mapping of ``sekimori.ingest.windows.events`` is compiled once
into a small Python function that fills a row with plain dict lookups (``WindowsNormalizer``), times
are parsed vectorised by Arrow (``parse_times``), and a record whose value does not fit its column (a
record id beyond int64, a port that is not a port, an EventID that is not 16-bit, an object as Channel
or Computer), or that has no usable time or event id, goes to the quarantine naming the column or
field, never failing the batch. So does a record the mapping itself fails on (a bug meeting an odd
value: any exception while its row is filled), naming the exception and, when known, the event and the
column: the other records of the batch and of the file are stored. No SQL planning per batch: on
corpora of many small files it would dominate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import CodeType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sekimori.ingest.base import Quarantine
from sekimori.ingest.byte_lines import utf8_array
from sekimori.ingest.fit import INT64_MAX, BadValue, fit_batch, fits_int64, whole_number
from sekimori.ingest.schema import EVENT_SCHEMA, GENERIC, PROVENANCE_COLUMNS, TIME_TYPE, make_batch
from sekimori.ingest.windows.dialects import DIALECTS
from sekimori.ingest.windows.events import DEFAULTS, WINDOWS_EVENTS, Source, WindowsEvent
from sekimori.ingest.windows.values import (
    KEPT_AS_IS,
    NUMBER_RANGES,
    TRANSFORMS,
    Fields,
    as_text,
    check_nested_header,
    clean,
    domain_value,
    event_id_text,
    first_value,
    number_value,
    status_outcome,
)

# The columns the header gives every record, and those a fill always writes.
HEADER_COLUMNS = ("record_id", "channel", "provider", "event_code", "host")
_FIXED = ("category", "activity", "ocsf_class_uid", "domain")
# The columns a row has: those the mapping can write (time and raw are added per batch, the OCSF name
# by the schema, the rest of the event schema is null for Windows events).
_MAPPED = {*HEADER_COLUMNS, *_FIXED, *DEFAULTS, *(c for ev in WINDOWS_EVENTS for c in ev.columns)}
COLUMNS = [
    c
    for c in EVENT_SCHEMA.names
    if c in _MAPPED and c not in PROVENANCE_COLUMNS and c not in ("time", "raw", "ocsf_class_name")
]

# ``clean(v) is None`` inline, for the generated code.
_EMPTY = "v is None or v == '-' or v == ''"

# ``v`` is text that ``clean`` keeps, inline.
_TEXT = "v.__class__ is str and v != '-' and v != ''"


def _number_lines(at: str, col: str, label: str) -> list[str]:
    """``number_value`` into ``at``, with the common cases inline: an int, or a short string of ASCII
    digits (``int`` of it is what ``whole_number`` gives), in the column's range."""
    low, high = NUMBER_RANGES[col]
    call = f"_number(v, {col!r}, {label!r})"
    return [
        "    if v.__class__ is str and len(v) < 20 and v.isascii() and v.isdigit():",
        "        n = int(v)",
        f"        {at} = n if {low} <= n <= {high} else {call}",
        f"    elif v.__class__ is int and {low} <= v <= {high}:",
        f"        {at} = v",
        "    else:",
        f"        {at} = None if v is None else {call}",
    ]


# A compiled event mapping: fills one row (in ``COLUMNS`` order) from (system, data).
Fill = Callable[[Fields, Fields, list[Any]], None]

# What the quarantine is told of a row: (field or column when known, reason).
Unfit = tuple[str | None, str]


def mapping_failure(
    exc: Exception, channel: Any, code: Any, columns_at: Mapping[CodeType, Mapping[int, str]]
) -> Unfit:
    """The quarantine's (column, reason) for a record whose mapping raised ``exc`` (not a ``BadValue``):
    the column is that of the line of the compiled fill that raised (``columns_at``: a fill's code →
    its line numbers → their column), None when it was not a fill (the record's split or header).
    Called only on a failure: nothing of it is paid per record."""
    column = None
    tb = exc.__traceback__
    while tb is not None:  # outermost first: the fill's frame, then whatever it called
        lines = columns_at.get(tb.tb_frame.f_code)
        if lines is not None:
            column = lines.get(tb.tb_lineno)
        tb = tb.tb_next
    event = " ".join(str(part) for part in (channel, code) if part is not None and part != "")
    message = str(exc)
    if len(message) > 200:
        message = message[:200] + "…"
    reason = f"mapping {event} failed: " if event else "mapping failed: "
    return column, f"{reason}{type(exc).__name__}: {message}" if message else reason + type(exc).__name__


def _label(source: Source) -> str:
    """Where a column's value comes from, for quarantine reasons."""
    if callable(source):
        return source.__name__
    if isinstance(source, tuple):
        return " or ".join(_label(s) for s in source)
    return source.lstrip("@")


class WindowsNormalizer:
    """The compiled mapping of one dialect, with which ``NormalizedRows`` normalizes records.

    Each event mapping is compiled once into a small Python function (generated source, ``exec``) that
    fills a row with plain dict lookups: no per-column closures or getter chains per record, which
    made up most of the normalization time.
    """

    def __init__(self, dialect: str) -> None:
        self.dialect = DIALECTS[dialect]
        self._fills: dict[str, Fill] = {}
        # The columns each fill writes: a batch leaves out those no fill it used writes (all null).
        self._writes: dict[Fill, frozenset[str]] = {}
        # Each fill's code → its line numbers → the column the line fills: the column a failing
        # mapping names in the quarantine (``mapping_failure``).
        self.columns_at: dict[CodeType, dict[int, str]] = {}
        for ev in WINDOWS_EVENTS:
            self._fills[f"{ev.family}:{ev.event_id}"] = self._compile(ev.columns, ev)
        self._default = self._compile(DEFAULTS, None)
        # (channel, event code) → its fill: one lookup per record, no key text to build.
        self._by_key: dict[tuple[str | None, str | None], Fill] = {}

    def _compile(self, columns: Mapping[str, Source], ev: WindowsEvent | None) -> Fill:
        namespace: dict[str, Any] = {
            "_text": as_text,
            "_first": first_value,
            "_domain_value": domain_value,
            "_status_outcome": status_outcome,
            "_sys": self.dialect.system,
            "_number": number_value,
            **{f"_t_{name}": fn for name, fn in TRANSFORMS.items()},
        }

        def expr(source: Source | None) -> str:
            if source is None:
                return "None"
            if callable(source):
                name = f"_fn_{len(namespace)}"
                namespace[name] = source
                if getattr(source, "needs_computer", False):  # the Computer, already in the row
                    return f"{name}(system, data, row[{COLUMNS.index('host')}])"
                return f"{name}(system, data)"
            if isinstance(source, tuple):
                return "_first(" + ", ".join(expr(s) for s in source) + ")"
            if source == "@status":
                return "_status_outcome(system, data)"
            if source.startswith("'"):
                return repr(source.strip("'"))
            if source.startswith("@"):
                return f"_sys(system, {source[1:]!r})"
            return f"g({source!r})"

        fixed = {
            "category": ev.category if ev else GENERIC,
            "activity": ev.activity if ev else None,
            "ocsf_class_uid": ev.ocsf_class_uid if ev else 0,
        }

        def pick(source: Source | None) -> list[str]:
            """Statements leaving the source's value in ``v``. A tuple of fields (of the record or the
            System, or literals) is a chain that stops at the first value given: ``first_value`` of
            lookups without side effects, lazily."""
            if isinstance(source, tuple) and all(isinstance(s, str) for s in source):
                out = [f"    v = {expr(source[0])}"]
                for s in source[1:]:
                    out.append(f"    if {_EMPTY}: v = {expr(s)}")
                return [*out, f"    if {_EMPTY}: v = None"]
            return [f"    v = {expr(source)}"]

        lines = ["def fill(system, data, row):", "    g = data.get"]
        lines += [f"    row[{COLUMNS.index(col)}] = {value!r}" for col, value in fixed.items()]
        # line number (from 1) → the column the line fills, for a failure's quarantine row
        columns_at: dict[int, str] = {}
        start = len(lines)
        lines += [*pick(columns.get("principal")), "    principal = v"]
        columns_at.update(dict.fromkeys(range(start + 1, len(lines) + 1), "principal"))
        for col, source in columns.items():
            if col == "domain":
                continue
            start = len(lines)
            if col == "principal":
                lines.append("    v = principal")
            else:
                lines += pick(source)
            at = f"row[{COLUMNS.index(col)}]"
            if col in NUMBER_RANGES:
                lines += _number_lines(at, col, _label(source))
                columns_at.update(dict.fromkeys(range(start + 1, len(lines) + 1), col))
                continue
            if col in KEPT_AS_IS:  # the transform, skipped for the text it keeps as it is
                call = f"v if {_TEXT} and {KEPT_AS_IS[col]} else _t_{col}(v)"
            elif col in TRANSFORMS:
                call = f"_t_{col}(v)"
            else:  # as_text, with the common case (text, or nothing) inline
                call = f"v if {_TEXT} else (None if v is None else _text(v))"
            lines.append(f"    {at} = {call}")
            columns_at.update(dict.fromkeys(range(start + 1, len(lines) + 1), col))
        # domain_value, with the common cases inline: the domain given as text, or not given and the
        # principal naming none (no '\\' or '@' in it: _domain_of gives None)
        start = len(lines)
        lines += pick(columns.get("domain"))
        lines.append(
            f"    row[{COLUMNS.index('domain')}] = v if {_TEXT} else (None if v is None and "
            "(principal is None or principal.__class__ is str and '\\\\' not in principal and "
            "'@' not in principal) else _domain_value(v, principal))"
        )
        columns_at.update(dict.fromkeys(range(start + 1, len(lines) + 1), "domain"))
        name = f"<fill {ev.family}:{ev.event_id}>" if ev else "<fill default>"
        # trusted: generated from the mapping table (events.py)
        exec(compile("\n".join(lines), name, "exec"), namespace)
        fill: Fill = namespace["fill"]
        self._writes[fill] = frozenset([*HEADER_COLUMNS, *fixed, *columns, "domain"])
        self.columns_at[fill.__code__] = columns_at
        return fill


# Adds one parsed record to a batch: (record, record id hint, record id fallback).
AddRecord = Callable[[dict[str, Any], int | None, int | None], None]


class NormalizedRows:
    """The rows of one batch of records of one dialect, normalized a record at a time.

    A reader adds each record as soon as it has parsed it: its dict is read while the parse has just
    left it in the CPU cache, and can be freed then, instead of after a whole batch (megabytes of
    dicts) is parsed, when each would be fetched from memory once more to be normalized and once more
    to be freed.
    """

    def __init__(self, normalizer: WindowsNormalizer) -> None:
        self.rows: list[list[Any]] = []
        self.times: list[Any] = []  # the raw time values, one per row
        # row → (column, reason) of a value that does not fit, or of a record the mapping failed on
        self.bad: dict[int, Unfit] = {}
        self.used: set[Fill] = set()
        self._writes = normalizer._writes
        self.add = self._adder(normalizer)

    def __len__(self) -> int:
        return len(self.rows)

    def _adder(self, normalizer: WindowsNormalizer) -> AddRecord:
        """``add(record, hint, fallback)``: a closure, whose state is in local cells, not attributes
        looked up per record. ``record_id`` is the hint when given, else the record's own id
        (EventRecordID), else the fallback (the EVTX record header's number, or the line of a JSON
        export)."""
        dialect = normalizer.dialect
        header = dialect.fast_header or dialect.header
        split = dialect.split
        record_key = dialect.record_key
        fills, default, by_key = normalizer._fills, normalizer._default, normalizer._by_key
        n_cols = len(COLUMNS)
        i_record, i_channel, i_provider, i_code, i_host = (
            COLUMNS.index(c) for c in ("record_id", "channel", "provider", "event_code", "host")
        )
        rows, times, bad, used = self.rows, self.times, self.bad, self.used
        columns_at = normalizer.columns_at

        def add(doc: dict[str, Any], hint: int | None, fallback: int | None) -> None:
            row: list[Any] = [None] * n_cols
            time = None
            try:
                system, data = split(doc)
                channel, code, provider, computer, record_id, time = header(system)
                if (
                    channel.__class__ is not str
                    or provider.__class__ is not str
                    or computer.__class__ is not str
                ):  # text is never an object or array: the check is for the others
                    check_nested_header(channel, provider, computer)
                if channel.__class__ is not str or channel == "-" or channel == "":
                    channel = as_text(channel)  # else it is its own text
                # event_id_text, with the common case (a 16-bit int) inline
                code = str(code) if code.__class__ is int and 0 <= code <= 65535 else event_id_text(code)
                row[i_channel] = channel
                row[i_code] = code
                row[i_provider] = (
                    provider
                    if provider.__class__ is str and provider != "-" and provider != ""
                    else as_text(provider)
                )
                row[i_host] = (
                    computer
                    if computer.__class__ is str and computer != "-" and computer != ""
                    else as_text(computer)
                )
                if hint is None:
                    if record_id.__class__ is int and 0 <= record_id <= INT64_MAX:
                        hint = record_id  # what whole_number gives for it, without the call
                    else:
                        record_id = clean(record_id)
                        if record_id is not None:
                            hint = whole_number(record_id, "record_id", record_key, 0, INT64_MAX)
                        else:
                            hint = fallback
                            if hint is not None and not fits_int64(hint):
                                reason = f"record number {hint} does not fit record_id (int64)"
                                raise BadValue("record_id", reason)
                row[i_record] = hint
                fill = by_key.get((channel, code))
                if fill is None:
                    key = f"{channel.lower()}:{code}" if channel else ""
                    fill = by_key[(channel, code)] = fills.get(key, default)
                used.add(fill)
                fill(system, data, row)
            except BadValue as exc:  # this record only: its row stays empty and is dropped later
                bad[len(rows)] = (exc.field, exc.reason)
                row = [None] * n_cols
            except Exception as exc:  # a mapping's bug on an odd value: this record only, as a BadValue
                bad[len(rows)] = mapping_failure(exc, row[i_channel], row[i_code], columns_at)
                row = [None] * n_cols
            rows.append(row)
            times.append(time)

        return add

    def columns(self) -> tuple[dict[str, list[Any]], list[Any], dict[int, Unfit]]:
        """Column lists (without ``time``/``raw``), the raw time values, one entry per row, and the
        rows with a value that does not fit its column or that the mapping failed on (index → (column,
        reason); their row is empty). Columns no record added can have a value in (no fill used writes
        them) are left out."""
        if not self.rows:
            return {c: [] for c in HEADER_COLUMNS}, self.times, self.bad
        written = set(HEADER_COLUMNS).union(*(self._writes[f] for f in self.used))
        columns = zip(COLUMNS, zip(*self.rows, strict=True), strict=True)
        return {c: list(values) for c, values in columns if c in written}, self.times, self.bad


def parse_times(values: list[Any]) -> pa.Array:
    """Timestamps from ISO-8601 strings (with Z or an offset; no offset means UTC), vectorised."""
    try:  # text or nothing, as in most batches: no list of the texts to make first
        texts = pa.array(values, pa.string())
    except pa.ArrowTypeError:  # a value that is not text (a number, an object) is no time
        texts = pa.array([v if isinstance(v, str) else None for v in values], pa.string())
    try:
        return pc.cast(texts, TIME_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out = []
    for v in texts.to_pylist():  # slow path: a batch with an odd value; parse one by one
        out.append(_parse_time(v))
    return pa.array(out, TIME_TYPE)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace(" UTC", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00: before year 1 in UTC
        return None


def normalize_docs(
    dialect: str,
    docs: list[dict[str, Any]],
    raws: Sequence[str] | Sequence[bytes],
    quarantine: Quarantine,
    record_numbers: list[int] | None = None,
    record_hints: list[int | None] | None = None,
) -> pa.RecordBatch | None:
    """Normalize parsed records (``normalized_batch``), with the record id hints when given and the
    ``record_numbers`` as the record ids' fallback."""
    rows = normalized_rows(dialect)
    add = rows.add
    for i, doc in enumerate(docs):
        add(
            doc,
            None if record_hints is None else record_hints[i],
            None if record_numbers is None else record_numbers[i],
        )
    return normalized_batch(rows, raws, quarantine, record_numbers)


def normalized_batch(
    rows: NormalizedRows,
    raws: Sequence[str] | Sequence[bytes],
    quarantine: Quarantine,
    record_numbers: list[int] | None = None,
) -> pa.RecordBatch | None:
    """The batch of normalized ``rows``; records without a usable time or event id, with a value that
    does not fit its column, or that the mapping failed on, go to the quarantine.

    ``raws``: each record's text, or its UTF-8 bytes (lines as ``byte_lines`` reads them: the ``raw``
    column is then made with one join). ``record_numbers`` (e.g. line numbers) name records in the
    quarantine; otherwise the record id.
    """
    columns, time_values, unfit = rows.columns()
    times = parse_times(time_values)
    codes = columns["event_code"]
    bad: list[int] = []
    if unfit or times.null_count or None in codes:  # the rows in order; a scalar per row only then
        valid = times.is_valid().to_pylist()
        bad = [i for i in range(len(rows)) if i in unfit or not valid[i] or codes[i] is None]
    if bad:
        for i in bad:
            if i in unfit:
                fieldname, reason = unfit[i]
            elif not valid[i]:
                fieldname, reason = "time", "no parseable event time (TimeCreated / @timestamp)"
            else:
                fieldname, reason = "EventID", "no EventID"
            record = record_numbers[i] if record_numbers is not None else columns["record_id"][i]
            quarantine.add(reason, record=record, field=fieldname, data=_text(raws[i]))
        keep = sorted(set(range(len(rows))) - set(bad))
        columns = {k: [v[i] for i in keep] for k, v in columns.items()}
        times = times.take(pa.array(keep, pa.int64()))
        raws = [raws[i] for i in keep]  # type: ignore[assignment]
        if record_numbers is not None:
            record_numbers = [record_numbers[i] for i in keep]
    if not raws:
        return None
    raw: Sequence[str] | pa.Array = utf8_array(raws) if isinstance(raws[0], bytes) else raws  # type: ignore[arg-type]
    batch_columns: dict[str, Any] = {**columns, "time": times, "raw": raw}
    # Any value still unfit for Arrow (e.g. a time past year 9999) fails its record, not the batch.
    return fit_batch(make_batch, batch_columns, len(raws), quarantine, records=record_numbers, data=raw)


def _text(raw: str | bytes) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


_NORMALIZERS: dict[str, WindowsNormalizer] = {}


def normalized_rows(dialect: str) -> NormalizedRows:
    """A new batch of rows of ``dialect``, normalized by the dialect's one (compiled once) normalizer."""
    norm = _NORMALIZERS.get(dialect)
    if norm is None:
        norm = _NORMALIZERS[dialect] = WindowsNormalizer(dialect)
    return NormalizedRows(norm)
