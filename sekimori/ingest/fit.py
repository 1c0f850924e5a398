"""Values that must fit the Arrow schemas: a value that does not fit fails its record, never its batch.

Arrow converts a column at a time, and one bad value (an id beyond int64, a string in an int column, a
time past year 9999, ...) fails the whole column, the batch and, before this module, the run.
``column_array`` converts a column and, when Arrow refuses it, names the rows that do not fit;
``fit_batch`` quarantines those rows (record, column, reason) and builds the batch of the rest.
Only the failure path walks values one by one, so good batches cost what they did.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sekimori.ingest.base import Quarantine

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# What Arrow raises for a value it cannot convert (ArrowInvalid is a ValueError, ArrowTypeError a TypeError).
CONVERSION_ERRORS = (pa.ArrowException, OverflowError, TypeError, ValueError)
# Times the store can hand back: Python's datetime (used by every consumer of to_pylist) stops at 9999.
_TIME_MIN = datetime(1, 1, 1, tzinfo=UTC)
_TIME_MAX = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


class BadValue(ValueError):
    """One value of one record that does not fit its column; the record goes to the quarantine."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class UnfitValues(ValueError):
    """Rows of a batch whose values do not fit their columns: row index → (column, reason)."""

    def __init__(self, rows: dict[int, tuple[str, str]]) -> None:
        self.rows = rows
        row, (column, reason) = min(rows.items())
        super().__init__(f"{len(rows)} row(s) do not fit the schema; row {row}, {column}: {reason}")


def fits_int64(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX


def show(value: Any, limit: int = 60) -> str:
    """A short repr of a bad value for a reason text."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def whole_number(value: Any, field: str, source: str, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """``value`` (an int, an integral float, a decimal or 0x-hex string) as an int in [low, high].

    Raises ``BadValue`` naming ``field`` (the column) and ``source`` (where the record kept it).
    """
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = int(text, 16) if text[:2].lower() == "0x" else int(text)
        except ValueError:
            number = None
    if number is None:
        raise BadValue(field, f"{source} {show(value)} is not a whole number")
    if not low <= number <= high:
        raise BadValue(field, f"{source} {number} is out of range for {field} ({low}..{high})")
    return number


def safe_str(text: str) -> str:
    """``text`` as Arrow and DuckDB can store it: lone surrogates (a file name that is not UTF-8,
    decoded by Python with surrogateescape) become ``\\udcff`` escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def text_safe(value: Any) -> str | None:
    """``safe_str`` of ``value`` as text; None stays None."""
    return None if value is None else safe_str(value if isinstance(value, str) else str(value))


def null_array(n: int, typ: pa.DataType) -> pa.Array:
    """``n`` nulls of ``typ``. Arrays are immutable, so a small batch's all-null columns share one array
    per (length, type): a batch of a small file has some thirty of them."""
    return pa.nulls(n, typ) if n > NULLS_CACHED_ROWS else null_array_sized(n, typ)[0]


def null_array_sized(n: int, typ: pa.DataType) -> tuple[pa.Array, int]:
    """``null_array(n, typ)`` and its ``nbytes``, measured once per cached array (a compute call)."""
    if n > NULLS_CACHED_ROWS:
        arr = pa.nulls(n, typ)
        return arr, arr.nbytes
    key = (n, typ)
    sized = _NULLS.get(key)
    if sized is None:
        if len(_NULLS) >= NULLS_CACHED:
            _NULLS.clear()
        arr = pa.nulls(n, typ)
        sized = _NULLS[key] = (arr, arr.nbytes)
    return sized


NULLS_CACHED_ROWS = 8192
NULLS_CACHED = 1024  # (length, type) pairs; the cache starts over past this
_NULLS: dict[tuple[int, pa.DataType], tuple[pa.Array, int]] = {}


def column_array(name: str, values: Sequence[Any] | pa.Array | pa.ChunkedArray, typ: pa.DataType) -> pa.Array:
    """``values`` as an Arrow array of ``typ``; raises ``UnfitValues`` naming the rows that do not fit."""
    # ``count`` compares each value with None: a first value that is not None settles it (most columns).
    if values.__class__ is list and (not values or values[0] is None) and values.count(None) == len(values):
        return null_array(len(values), typ)  # nothing to convert or check
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    try:
        if isinstance(values, pa.Array):
            arr = values if values.type == typ else values.cast(typ)
        else:
            arr = pa.array(values, type=typ)
    except CONVERSION_ERRORS as exc:
        bad = {}
        for i in range(len(values)):
            one = values[i : i + 1]
            try:
                one.cast(typ) if isinstance(one, pa.Array) else pa.array(one, type=typ)
            except CONVERSION_ERRORS as err:
                bad[i] = (name, f"{_shown(one)} does not fit {name} ({typ}): {err}")
        if not bad:
            raise
        raise UnfitValues(bad) from exc
    if pa.types.is_timestamp(typ) and arr.null_count < len(arr) and not _within_years(arr, typ):
        out = pc.or_(pc.less(arr, pa.scalar(_TIME_MIN, typ)), pc.greater(arr, pa.scalar(_TIME_MAX, typ)))
        if pc.any(out).as_py():
            rows = pc.indices_nonzero(pc.fill_null(out, False))
            texts = pc.cast(arr.take(rows), pa.string()).to_pylist()  # as_py() would overflow
            reason = "{} is outside the years 1-9999 (UTC)"
            raise UnfitValues(
                {i: (name, reason.format(t)) for i, t in zip(rows.to_pylist(), texts, strict=True)}
            )
    return arr


def _within_years(arr: pa.Array, typ: pa.DataType) -> bool:
    """Whether every time of ``arr`` (not all null) is in the years 1-9999, from one min/max compared
    as integers in the array's unit (no array of comparisons for a batch of good times). False also
    when the bounds do not fit the unit: the caller then compares value by value."""
    bounds = _BOUNDS.get(typ)
    if bounds is None:
        try:
            bounds = (pa.scalar(_TIME_MIN, typ).value, pa.scalar(_TIME_MAX, typ).value)
        except CONVERSION_ERRORS:
            bounds = (0, -1)  # never within
        _BOUNDS[typ] = bounds
    extremes = pc.min_max(arr)
    return bool(bounds[0] <= extremes["min"].value and extremes["max"].value <= bounds[1])


_BOUNDS: dict[pa.DataType, tuple[int, int]] = {}


def _shown(one: Sequence[Any] | pa.Array) -> str:
    if not isinstance(one, pa.Array):
        return show(one[0])
    try:
        return show(one[0].as_py())
    except CONVERSION_ERRORS:  # e.g. a timestamp Python's datetime cannot hold
        return str(pc.cast(one, pa.string())[0])


def columns_arrays(
    columns: Mapping[str, Sequence[Any] | pa.Array], fields: Sequence[pa.Field]
) -> dict[str, pa.Array]:
    """``column_array`` for each given column; the rows unfit in any column are raised together."""
    out: dict[str, pa.Array] = {}
    bad: dict[int, tuple[str, str]] = {}
    for field in fields:
        values = columns.get(field.name)
        if values is None:
            continue
        try:
            out[field.name] = column_array(field.name, values, field.type)
        except UnfitValues as exc:
            for row, problem in exc.rows.items():
                bad.setdefault(row, problem)
    if bad:
        raise UnfitValues(bad)
    return out


Build = Callable[[dict[str, Any], int], pa.RecordBatch]


def fit_batch(
    build: Build,
    columns: dict[str, Any],
    num_rows: int,
    quarantine: Quarantine,
    records: Sequence[int | None] | None = None,
    data: Sequence[Any] | None = None,
) -> pa.RecordBatch | None:
    """``build(columns, num_rows)``; rows it finds unfit go to ``quarantine`` and the rest are built.

    ``records``/``data`` name each row in the quarantine (default: the ``record_id`` and ``raw``
    columns). None when every row was unfit.
    """
    try:
        return build(columns, num_rows)
    except UnfitValues as exc:
        bad = exc.rows
    ids = records if records is not None else columns.get("record_id")
    raws = data if data is not None else columns.get("raw")
    for row, (field, reason) in sorted(bad.items()):
        record = _at(ids, row)
        record = record if isinstance(record, int) else None
        quarantine.add(reason, record=record, field=field, data=_at(raws, row))
    keep = [i for i in range(num_rows) if i not in bad]
    if not keep:
        return None
    return build({name: _take(values, keep) for name, values in columns.items()}, len(keep))


def _at(values: Sequence[Any] | pa.Array | None, i: int) -> Any:
    if values is None:
        return None
    value = values[i]
    return value.as_py() if isinstance(value, pa.Scalar) else value


def _take(values: Any, keep: list[int]) -> Any:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values.take(pa.array(keep, pa.int64()))
    if isinstance(values, pa.Scalar):
        return values
    return [values[i] for i in keep]
