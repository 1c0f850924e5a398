"""Zeek JSON lines converted column-wise with Arrow: the fast path for regular lines.

A chunk of JSON lines is grouped by the log each line names in its leading ``"_path"`` key (as the
json-streaming-logs package writes it); each group is parsed in one call by Arrow's JSON reader with an
explicit schema of the fields an event needs (``ts``, the connection id, the sensor keys and the
normalizer's inputs with their Zeek types; other fields are skipped), and the columns are checked and
converted with Arrow kernels. ``raw`` is the line as written. The normalized columns come from
``sekimori.ingest.zeek.vector`` (one normalizer call per distinct combination of inputs).

The row path of ``sekimori.ingest.readers.zeek`` stays the reference: lines are handed back to it
when they lack the ``_path`` prefix, may be read by Arrow where orjson refuses them (``NaN`` or
``Infinity`` anywhere in the line, nesting deeper than orjson's limit, two objects on one line), do
not parse or do not have the declared types (a group that fails is split in halves until the bad lines
are found), or hold a value the strict checks here do not take (a time not in Zeek's ISO form, an epoch
time large enough to be integer milliseconds, a port out of range, an address that is not one).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from sekimori.ingest.schema import TIME_TYPE, make_batch
from sekimori.ingest.zeek.columns import scalar_int, scalar_str
from sekimori.ingest.zeek.fields import SENSOR_KEYS
from sekimori.ingest.zeek.lines import Line, LineRun
from sekimori.ingest.zeek.normalize import NORMALIZER_INPUTS, PROVIDER
from sekimori.ingest.zeek.values import is_valid_addr
from sekimori.ingest.zeek.vector import normalized_arrays, sensor_column

_PREFIX = r'^\{"_path":"(?P<path>[A-Za-z0-9_]+)",'
_PREFIX_RE = re.compile(_PREFIX)
_TS_TEXT = b'"ts":"'
_MAX_DEPTH = 1000
# Zeek's ISO form, years 0001-9999 (Python's strptime, which the row path uses, refuses year 0).
_ISO = (
    r"^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
    r"-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"
)
# The same form, "d" for a digit.
_ISO_LAYOUT = "dddd-dd-ddTdd:dd:dd.ddddddZ"
_EPOCH_ISO = "1970-01-01T00:00:00.000000Z"
_UTC_MICROS = pa.timestamp("us", tz="UTC")
_ISO_SECONDS = "%Y-%m-%dT%H:%M:%S"
# Epoch seconds below this are exact in microseconds whether the JSON number was an integer or not
# (Arrow reads both as float64 here); beyond it, integers are milliseconds (JSON::TS_MILLIS): row path.
_EPOCH_LIMIT = 9e9
# Zeek's types of the normalizer inputs that are not strings (rcode: count; the others: bool).
_INPUT_TYPES = {"rcode": pa.int64(), "success": pa.bool_(), "auth_success": pa.bool_()}


def _schema(path: str, iso: bool) -> pa.Schema:
    fields = [
        ("_path", pa.string()),
        ("ts", pa.string() if iso else pa.float64()),
        ("id.orig_h", pa.string()),
        ("id.orig_p", pa.int64()),
        ("id.resp_h", pa.string()),
        ("id.resp_p", pa.int64()),
        # A nested "id" object is flattened by the row path: declared a string, it fails the parse.
        ("id", pa.string()),
        *((key, pa.string()) for key in SENSOR_KEYS),
        *((name, _INPUT_TYPES.get(name, pa.string())) for name in NORMALIZER_INPUTS.get(path, ())),
    ]
    return pa.schema(fields)


def json_chunk(
    run: LineRun, min_rows: int, slow: set[str], failures: int = 24
) -> tuple[list[pa.RecordBatch], list[Line]]:
    """Event batches for the regular lines of ``run``, and the lines left to the row path.

    A group whose parse fails is halved down to ``min_rows`` lines and up to ``failures`` failed
    parses: enough to find a few bad lines, not so many that a group of mostly bad lines costs much
    more than the row path alone.

    ``slow`` holds the groups (log and kind of ts) of earlier chunks of the file whose lines mostly
    failed the parse: they go to the row path at once (halving would only add parses); a group that
    fails so here is added to it."""
    n = len(run)
    lines = run.array()
    data = run.joined()
    irregular = _irregular(lines, data)
    groups: dict[str, list[int]] = {}
    uniform = _uniform(lines)
    if uniform is not None:
        skip = set(irregular)
        positions = [i for i in range(n) if i not in skip] if skip else list(range(n))
        if positions:
            groups[f"{uniform} iso"] = positions
    else:
        groups = _groups(lines, irregular)
    linenos = pa.array(run.numbers, pa.int64())
    done: list[pa.Array] = []
    batches = []
    for key, positions in groups.items():
        if key in slow:
            continue
        path, _, kind = key.partition(" ")
        iso = kind == "iso"
        parsed: list[tuple[list[int], pa.Table]] = []
        whole = data if len(positions) == n else None  # the lines in order: already joined
        budget = [failures]
        _parse(lines, positions, _schema(path, iso), min_rows, parsed, budget, whole)
        # Parses failed and most lines were left: not a group too small to try.
        if budget[0] < failures and 2 * sum(len(taken) for taken, _ in parsed) < len(positions):
            slow.add(key)
        for taken, table in parsed:
            rows = pa.array(taken, pa.int64())
            if len(taken) == n:  # all lines, in order: no copy
                batch, kept = _convert(path, iso, table, linenos, lines)
            else:
                batch, kept = _convert(path, iso, table, linenos.take(rows), lines.take(rows))
            if batch is not None:
                batches.append(batch)
                done.append(rows.filter(kept))
    if not done:
        return [], run.items()
    taken_rows = pa.concat_arrays(done)
    if len(taken_rows) == n:
        return batches, []
    left = pc.indices_nonzero(pc.invert(pc.is_in(pa.array(range(n), pa.int64()), taken_rows)))
    return batches, [run.item(i) for i in left.to_pylist()]


def _uniform(lines: pa.Array) -> str | None:
    """The log of every line when each one starts as the first does, with '{"_path":"<log>",', and has
    '"ts":"' at the same place in its first 128 bytes (the layout of the json-streaming-logs package):
    what ``_groups`` would find, from a few bytes of each line."""
    first = lines[0].as_py()
    match = _PREFIX_RE.match(first)
    head = first.encode()
    at = head[:128].find(_TS_TEXT)
    if match is None or at < 0:
        return None
    offsets = _offsets(lines)
    body = np.frombuffer(lines.buffers()[2], np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    if lengths.min() < max(match.end(), at + len(_TS_TEXT)):
        return None
    if not pc.all(pc.starts_with(lines, match.group())).as_py():
        return None
    # a byte at a time over all lines: a gather of one byte per line is cheap, of a 2-D block not
    for j, byte in enumerate(_TS_TEXT, at):
        if not (body[starts + j] == byte).all():
            return None
    return match.group("path")


def _groups(lines: pa.Array, irregular: list[int]) -> dict[str, list[int]]:
    """The positions of the regular lines by log and kind of ts (``"<log> iso"`` or ``"<log> epoch"``)."""
    n = len(lines)
    paths = pc.struct_field(pc.extract_regex(lines, _PREFIX), [0])
    regular = pc.is_valid(paths)
    if irregular:
        regular = pc.and_(regular, pc.invert(pc.is_in(pa.array(range(n)), pa.array(irregular))))
    # The Arrow type of ts: a string where the line holds '"ts":"' (a line whose ts is a number after
    # all fails the parse and goes to the row path), else a number. Zeek writes ts near the start of
    # a line: the whole line is searched only when its start does not tell.
    kinds = pc.match_substring(pc.binary_slice(lines.cast(pa.binary()), 0, 128), '"ts":"')
    if not pc.all(kinds).as_py():
        kinds = pc.match_substring(lines, '"ts":"')
    index = pc.indices_nonzero(regular)
    keys = pc.binary_join_element_wise(paths, pc.if_else(kinds, scalar_str(" iso"), scalar_str(" epoch")), "")
    distinct = pc.unique(keys.filter(regular)).to_pylist()
    groups: dict[str, list[int]] = {}
    if len(distinct) == 1:
        groups[distinct[0]] = index.to_pylist()
    else:
        for i, key in zip(index.to_pylist(), keys.filter(regular).to_pylist(), strict=True):
            groups.setdefault(key, []).append(i)
    return groups


def _irregular(lines: pa.Array, data: bytes) -> list[int]:
    """Positions of lines Arrow's JSON reader may read where orjson refuses them (or reads them
    otherwise); checked on the whole chunk first, each line only when the chunk has any."""
    found: set[int] = set()
    # Arrow's reader takes these literals, orjson does not (control characters both refuse).
    for literal in ("NaN", "Infinity"):
        if _contains(data, literal.encode()):
            found.update(pc.indices_nonzero(pc.match_substring(lines, literal)).to_pylist())
    # orjson refuses nesting deeper than 1024, Arrow does not: only long lines can nest that deep.
    long = pc.indices_nonzero(pc.greater(pc.binary_length(lines), _MAX_DEPTH))
    if len(long):
        some = lines.take(long)
        depth = pc.add(pc.count_substring(some, "["), pc.count_substring(some, "{"))
        found.update(long.filter(pc.greater(depth, _MAX_DEPTH)).to_pylist())
    return sorted(found)


def _contains(data: bytes, literal: bytes) -> bool:
    """``literal in data``, faster where the first byte is frequent (Python's search slows down on
    every near match): the positions of the first byte, narrowed by each next one."""
    body = np.frombuffer(data, np.uint8)
    found = np.flatnonzero(body[: max(len(body) - len(literal) + 1, 0)] == literal[0])
    for j in range(1, len(literal)):
        found = found[body[found + j] == literal[j]]
    return len(found) > 0


def _joined(lines: pa.Array) -> pa.Buffer:
    """The texts of ``lines`` joined by newlines, as one buffer (no ``str`` per line)."""
    ended = pc.binary_join_element_wise(lines, scalar_str("\n"), scalar_str(""))
    size = pc.sum(pc.binary_length(ended)).as_py()
    return ended.buffers()[2].slice(0, size - 1)


def _parse(
    lines: pa.Array,
    positions: list[int],
    schema: pa.Schema,
    min_rows: int,
    out: list[tuple[list[int], pa.Table]],
    budget: list[int],
    data: bytes | None = None,
) -> None:
    """Parse the lines at ``positions`` in one call; when that fails, each half on its own, down to
    ``min_rows`` lines and up to ``budget[0]`` failed parses (the lines of a part that fails, or is
    not tried, are left out: the row path takes them)."""
    if not positions or len(positions) < min_rows or budget[0] <= 0:
        return
    buffer = pa.py_buffer(data) if data is not None else _joined(lines.take(pa.array(positions, pa.int64())))
    try:
        table = pajson.read_json(
            buffer,
            read_options=pajson.ReadOptions(use_threads=False, block_size=buffer.size + 1),
            parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except pa.ArrowException:
        table = None
    # Two objects on one line would give one row too many.
    if table is not None and table.num_rows == len(positions):
        out.append((positions, table))
        return
    budget[0] -= 1
    if len(positions) > 1:
        half = len(positions) // 2
        _parse(lines, positions[:half], schema, min_rows, out, budget)
        _parse(lines, positions[half:], schema, min_rows, out, budget)


def _offsets(texts: pa.Array) -> np.ndarray:
    """Where each value of a string array starts in its data buffer, and where the last ends (no copy)."""
    return np.frombuffer(texts.buffers()[1], np.int32, len(texts) + 1, texts.offset * 4)


def _iso_form(ts: pa.Array) -> pa.Array:
    """Which ``ts`` are in Zeek's ISO form (``_ISO``; false where null), a byte at a time: these
    few gathers cost much less than the regex on every value."""
    offsets = _offsets(ts)
    ok = np.diff(offsets) == len(_ISO_LAYOUT)
    if ts.null_count:
        ok &= ts.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(ok)
    if len(rows):
        body = np.frombuffer(ts.buffers()[2], np.uint8)
        starts = offsets[rows]
        good = np.ones(len(rows), np.bool_)
        for j, want in enumerate(_ISO_LAYOUT.encode()):
            byte = body[starts + j]
            good &= (byte - 48 <= 9) if want == 100 else (byte == want)  # "d": a digit (uint8 wraps)
        # year 0000 is not one
        good &= (body[starts] | body[starts + 1] | body[starts + 2] | body[starts + 3]) != 48
        ok[rows] = good
    return pa.array(ok, pa.bool_())


def _times(ts: pa.Array, iso: bool) -> tuple[pa.Array, pa.Array]:
    """Microseconds since the epoch of each ``ts`` (null when absent), and which ones are refused."""
    if iso:
        ok = _iso_form(ts)
        safe = pc.if_else(ok, ts, scalar_str(_EPOCH_ISO))
        try:
            micros = pc.cast(pc.cast(safe, _UTC_MICROS), pa.int64())
        except pa.ArrowInvalid:
            # A date Arrow refuses (Feb 30, a leap second): those of Python's time.strptime are
            # what counts; the row path takes the lines this one cannot tell.
            head = pc.utf8_slice_codeunits(safe, 0, 19)
            seconds = pc.strptime(head, format=_ISO_SECONDS, unit="s", error_is_null=True)
            same = pc.fill_null(pc.equal(pc.strftime(seconds, format=_ISO_SECONDS), head), False)
            ok = pc.and_(ok, same)
            seconds = pc.if_else(ok, pc.cast(seconds, pa.int64()), scalar_int(0))
            fraction = pc.cast(pc.utf8_slice_codeunits(safe, 20, 26), pa.int64())
            micros = pc.add(pc.multiply(seconds, scalar_int(1_000_000)), fraction)
    else:
        finite = pc.fill_null(pc.is_finite(ts), False)
        ok = pc.and_(finite, pc.less(pc.abs(pc.if_else(finite, ts, 0.0)), _EPOCH_LIMIT))
        safe_ts = pc.if_else(ok, ts, 0.0)
        # Python's round() of the product, which the row path takes: half to even.
        micros = pc.cast(pc.round(pc.multiply(safe_ts, 1_000_000.0), round_mode="half_to_even"), pa.int64())
    present = pc.is_valid(ts)
    refused = pc.and_(present, pc.invert(ok))
    return pc.if_else(present, micros, pa.scalar(None, pa.int64())), refused


def _convert(
    path: str, iso: bool, table: pa.Table, linenos: pa.Array, lines: pa.Array
) -> tuple[pa.RecordBatch | None, pa.Array]:
    """The events of the parsed lines the checks take, and which ones they are (a boolean mask)."""
    columns = {name: table.column(name).combine_chunks() for name in table.column_names}
    micros, refused = _times(columns["ts"], iso)
    refused = pc.or_(refused, pc.fill_null(pc.not_equal(columns["_path"], scalar_str(path)), True))
    for name in ("id.orig_h", "id.resp_h"):
        col = columns[name]
        wrong = [v for v in pc.unique(col.drop_null()).to_pylist() if not is_valid_addr(v)]
        if wrong:
            refused = pc.or_(
                refused, pc.fill_null(pc.is_in(col, value_set=pa.array(wrong, pa.string())), False)
            )
    for name in ("id.orig_p", "id.resp_p"):
        col = columns[name]
        outside = pc.or_(pc.less(col, scalar_int(0)), pc.greater(col, scalar_int(65535)))
        refused = pc.or_(refused, pc.fill_null(outside, False))
    keep = pc.invert(refused)
    if pc.any(refused).as_py():
        columns = {name: col.filter(keep) for name, col in columns.items()}
        micros, linenos, lines = micros.filter(keep), linenos.filter(keep), lines.filter(keep)
    m = len(lines)
    if m == 0:
        return None, keep
    out: dict[str, Any] = {
        "time": pc.cast(micros, TIME_TYPE),
        "record_id": linenos,
        "channel": pa.repeat(scalar_str(path), m),
        "provider": pa.repeat(scalar_str(PROVIDER), m),
        "event_code": pa.repeat(scalar_str(path), m),
        "host": sensor_column(columns, m),
        "src_ip": columns["id.orig_h"],
        "src_port": columns["id.orig_p"],
        "target_ip": columns["id.resp_h"],
        "target_port": columns["id.resp_p"],
        "raw": lines,
    }
    inputs = {name: columns[name] for name in NORMALIZER_INPUTS.get(path, ())}
    out.update(normalized_arrays(path, inputs, m))
    return make_batch(out, m), keep
