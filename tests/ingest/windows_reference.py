"""The Windows normalization as it was before the fast path (sekimori/ingest/windows/normalize.py at
9c03fd8), kept apart as the reference the equivalence tests compare with: it shares no code with the
new path but the mapping table and the value helpers it reads (events.py, values.py, dialects.py).

One change since: a record the mapping fails on (any exception but ``BadValue``) is quarantined alone,
as the new path does, where it failed the batch (``_mapping_failure``, found here its own way)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sekimori.ingest import fit, schema
from sekimori.ingest.base import Quarantine
from sekimori.ingest.fit import INT64_MAX, BadValue, fit_batch, fits_int64, whole_number
from sekimori.ingest.schema import EVENT_SCHEMA, GENERIC, PROVENANCE_COLUMNS, TIME_TYPE, make_batch
from sekimori.ingest.windows.dialects import DIALECTS
from sekimori.ingest.windows.events import DEFAULTS, WINDOWS_EVENTS, Source, WindowsEvent
from sekimori.ingest.windows.values import (
    NESTED,
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

# The columns a fill function writes (time and raw are added per batch, the OCSF name by the schema).
COLUMNS = [
    c
    for c in EVENT_SCHEMA.names
    if c not in PROVENANCE_COLUMNS and c not in ("time", "raw", "ocsf_class_name")
]

# A compiled event mapping: fills one row (in ``COLUMNS`` order) from (system, data).
Fill = Callable[[Fields, Fields, list[Any]], None]


def _label(source: Source) -> str:
    """Where a column's value comes from, for quarantine reasons."""
    if callable(source):
        return source.__name__
    if isinstance(source, tuple):
        return " or ".join(_label(s) for s in source)
    return source.lstrip("@")


def _flat_header(system: Fields) -> tuple[Any, Any, Any, Any, Any, Any]:
    """The flat dialect's header as it was (dialects.py unrolls it now)."""

    def first(keys: tuple[str, ...]) -> Any:
        for key in keys:
            value = system.get(key)
            if value is not None and value != "" and value != "-":
                return value
        return None

    return (
        system.get("Channel"),
        system.get("EventID"),
        first(("SourceName", "ProviderName", "Provider")),
        first(("Hostname", "Computer", "computer_name")),
        first(("RecordNumber", "EventRecordID")),
        first(("TimeCreated", "@timestamp", "EventTime", "UtcTime")),
    )


class ReferenceNormalizer:
    """Normalizes parsed Windows records of one dialect into event columns.

    Each event mapping is compiled once into a small Python function (generated source, ``exec``) that
    fills a row with plain dict lookups: no per-column closures or getter chains per record, which
    made up most of the normalization time.
    """

    def __init__(self, dialect: str) -> None:
        self.dialect = DIALECTS[dialect]
        self._fills: dict[str, Fill] = {}
        self._lines: dict[Any, list[str]] = {}  # a fill's code → its source lines
        for ev in WINDOWS_EVENTS:
            self._fills[f"{ev.family}:{ev.event_id}"] = self._compile(ev.columns, ev)
        self._default = self._compile(DEFAULTS, None)

    def _mapping_failure(self, exc: Exception, row: list[Any]) -> tuple[str | None, str]:
        """(column, reason) of a record whose mapping raised ``exc``: the column the fill's failing line
        assigns (``row[k] = …``, or ``principal = …``), None outside the fills."""
        column = None
        tb = exc.__traceback__
        while tb is not None:
            lines = self._lines.get(tb.tb_frame.f_code)
            if lines is not None:
                line = lines[tb.tb_lineno - 1].strip()
                if line.startswith("principal ="):
                    column = "principal"
                elif line.startswith("row["):
                    column = COLUMNS[int(line[4 : line.index("]")])]
            tb = tb.tb_next
        channel, code = row[COLUMNS.index("channel")], row[COLUMNS.index("event_code")]
        event = " ".join(str(p) for p in (channel, code) if p not in (None, ""))
        message = str(exc)
        message = message[:200] + "…" if len(message) > 200 else message
        what = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        return column, f"mapping {event} failed: {what}" if event else f"mapping failed: {what}"

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
        lines = ["def fill(system, data, row):", "    g = data.get"]
        lines += [f"    row[{COLUMNS.index(col)}] = {value!r}" for col, value in fixed.items()]
        lines.append(f"    principal = {expr(columns.get('principal'))}")
        for col, source in columns.items():
            if col == "domain":
                continue
            value = "principal" if col == "principal" else expr(source)
            if col in NUMBER_RANGES:
                call = f"_number({value}, {col!r}, {_label(source)!r})"
            else:
                call = f"_t_{col}({value})" if col in TRANSFORMS else f"_text({value})"
            lines.append(f"    row[{COLUMNS.index(col)}] = {call}")
        lines.append(
            f"    row[{COLUMNS.index('domain')}] = _domain_value({expr(columns.get('domain'))}, principal)"
        )
        exec(compile("\n".join(lines), "<reference fill>", "exec"), namespace)  # trusted: from events.py
        fill: Fill = namespace["fill"]
        self._lines[fill.__code__] = lines
        return fill

    def normalize(
        self,
        docs: list[dict[str, Any]],
        record_hints: list[int | None] | None = None,
        record_fallbacks: list[int] | None = None,
    ) -> tuple[dict[str, list[Any]], list[Any], dict[int, tuple[str | None, str]]]:
        """Column lists (without ``time``/``raw``), the raw time values, one entry per doc, and the
        docs with a value that does not fit its column (index → (column, reason); their row is empty).

        ``record_id`` is the hint when given, else the record's own id (EventRecordID), else the
        fallback (the EVTX record header's number, or the line of a JSON export).
        """
        header = _flat_header if self.dialect.name == "flat" else self.dialect.header
        split = self.dialect.split
        n_cols = len(COLUMNS)
        rows: list[list[Any]] = []
        times: list[Any] = []
        fills = self._fills
        default = self._default
        i_record, i_channel, i_provider, i_code, i_host = (
            COLUMNS.index(c) for c in ("record_id", "channel", "provider", "event_code", "host")
        )
        record_key = self.dialect.record_key
        bad: dict[int, tuple[str | None, str]] = {}
        for i, doc in enumerate(docs):
            row: list[Any] = [None] * n_cols
            time = None
            try:
                system, data = split(doc)
                channel, code, provider, computer, record_id, time = header(system)
                if type(channel) in NESTED or type(provider) in NESTED or type(computer) in NESTED:
                    check_nested_header(channel, provider, computer)
                channel = as_text(channel)
                code = event_id_text(code)
                row[i_channel] = channel
                row[i_code] = code
                row[i_provider] = as_text(provider)
                row[i_host] = as_text(computer)
                hint = record_hints[i] if record_hints is not None else None
                if hint is None:
                    record_id = clean(record_id)
                    if record_id is not None:
                        hint = whole_number(record_id, "record_id", record_key, 0, INT64_MAX)
                    elif record_fallbacks is not None:
                        hint = record_fallbacks[i]
                        if hint is not None and not fits_int64(hint):
                            reason = f"record number {hint} does not fit record_id (int64)"
                            raise BadValue("record_id", reason)
                row[i_record] = hint
                fills.get(f"{channel.lower()}:{code}" if channel else "", default)(system, data, row)
            except BadValue as exc:  # this record only: its row stays empty and is dropped later
                bad[i] = (exc.field, exc.reason)
                row = [None] * n_cols
            except Exception as exc:  # the mapping failed on this record: it alone is quarantined
                bad[i] = self._mapping_failure(exc, row)
                row = [None] * n_cols
            rows.append(row)
            times.append(time)
        if not rows:
            return {c: [] for c in COLUMNS}, times, bad
        return dict(zip(COLUMNS, map(list, zip(*rows, strict=True)), strict=True)), times, bad


def parse_times(values: list[Any]) -> pa.Array:
    """Timestamps from ISO-8601 strings (with Z or an offset; no offset means UTC), vectorised."""
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


def reference_normalize_docs(
    dialect: str,
    docs: list[dict[str, Any]],
    raws: list[str],
    quarantine: Quarantine,
    record_numbers: list[int] | None = None,
    record_hints: list[int | None] | None = None,
) -> pa.RecordBatch | None:
    """Normalize parsed records; records without a usable time or event id go to the quarantine.

    ``record_numbers`` (e.g. line numbers) name records in the quarantine; otherwise the record id.
    """
    columns, time_values, unfit = _normalizer(dialect).normalize(docs, record_hints, record_numbers)
    times = parse_times(time_values)
    codes = columns["event_code"]
    bad = [i for i in range(len(docs)) if i in unfit or not times[i].is_valid or codes[i] is None]
    if bad:
        for i in bad:
            if i in unfit:
                fieldname, reason = unfit[i]
            elif not times[i].is_valid:
                fieldname, reason = "time", "no parseable event time (TimeCreated / @timestamp)"
            else:
                fieldname, reason = "EventID", "no EventID"
            record = record_numbers[i] if record_numbers is not None else columns["record_id"][i]
            quarantine.add(reason, record=record, field=fieldname, data=raws[i])
        keep = sorted(set(range(len(docs))) - set(bad))
        columns = {k: [v[i] for i in keep] for k, v in columns.items()}
        times = times.take(pa.array(keep, pa.int64()))
        raws = [raws[i] for i in keep]
        if record_numbers is not None:
            record_numbers = [record_numbers[i] for i in keep]
    if not raws:
        return None
    columns = {**columns, "time": times, "raw": raws}
    # Any value still unfit for Arrow (e.g. a time past year 9999) fails its record, not the batch.
    return fit_batch(make_batch, columns, len(raws), quarantine, records=record_numbers, data=raws)


_NORMALIZERS: dict[str, ReferenceNormalizer] = {}


def _normalizer(dialect: str) -> ReferenceNormalizer:
    norm = _NORMALIZERS.get(dialect)
    if norm is None:
        norm = _NORMALIZERS[dialect] = ReferenceNormalizer(dialect)
    return norm


def batches_as_before(patch: pytest.MonkeyPatch) -> None:
    """``make_batch`` as the reference had it: OCSF names by the vectorised lookup whatever the batch's
    size, times checked against the years 1-9999 value by value (no min/max first)."""
    patch.setattr(schema, "_OCSF_ROWS_BY_ROW", -1)
    patch.setattr(fit, "_within_years", lambda arr, typ: False)
