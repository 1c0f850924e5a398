"""Zeek TSV data lines converted column-wise with Arrow: the fast path for regular lines.

This module owns the vectorised path: a chunk of data lines of one header block is split into columns
(by Arrow's CSV parser, or by pattern for separators it cannot take), each column is converted by its
``#types`` kind with strict patterns, and the regular lines become one event batch (``vector_chunk``).
It gives the same events as the row path of ``sekimori.ingest.readers.zeek``, which stays the
reference: lines with control characters or a byte-order mark, a wrong field count or any value the
strict patterns do not accept are handed back to the row path, which converts or quarantines them.
Values with Zeek's escapes (``\\\\``, ``\\xHH``) are undone here as the row path does, once per
distinct value (``values.unescape``); a number or address holding one goes back to the row path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sekimori.ingest.schema import EVENT_SCHEMA, TIME_TYPE, make_batch
from sekimori.ingest.zeek.columns import (
    Part,
    VecColumn,
    join_parts,
    scalar_int,
    scalar_str,
    vec_container,
    vec_scalar,
)
from sekimori.ingest.zeek.fields import SENSOR_KEYS
from sekimori.ingest.zeek.header import HeaderBlock
from sekimori.ingest.zeek.lines import Line, LineRun
from sekimori.ingest.zeek.normalize import (
    GENERIC_ROW,
    NORMALIZER_INPUTS,
    NORMALIZERS,
    PROVIDER,
    SPECIFIC_COLUMNS,
    specific_row,
)

# Every byte but the control characters the strict path refuses (with a tab separator, all but tab).
_NOT_CONTROL = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
_NOT_CONTROL_TAB = _NOT_CONTROL + b"\t"
_s, _i = scalar_str, scalar_int


def _split_csv(data: bytes, sep: str, n: int, lines: int) -> tuple[list[pa.Array], list[int]]:
    """Columns of the ``lines`` lines joined by newlines in ``data`` that hold ``n`` fields, by Arrow's
    CSV parser with quoting off (lines with CR, LF or a BOM, which it would treat specially, never get
    here), and the positions of the lines with another field count, which it leaves out."""
    other: list[int] = []

    def skip(row: Any) -> str:
        if row.number is None:  # the parser always knows it when it runs on one thread
            raise ValueError("CSV parser gave no line number")
        other.append(row.number - 1)
        return "skip"

    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(
            column_names=[f"f{i}" for i in range(n)], block_size=1 << 24, use_threads=False
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=sep,
            quote_char=False,
            double_quote=False,
            escape_char=False,
            ignore_empty_lines=False,
            invalid_row_handler=skip,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={f"f{i}": pa.string() for i in range(n)},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,  # text encoded by Python: UTF-8
        ),
    )
    if table.num_rows + len(other) != lines or len(set(other)) != len(other):
        raise ValueError("CSV parser split the lines differently")
    return [table.column(i).combine_chunks() for i in range(n)], other


def _split_pattern(lines: pa.Array, sep: str, n: int) -> list[pa.Array]:
    """Columns of lines that each hold ``n`` fields, for separators the CSV parser cannot take."""
    flat = pc.list_flatten(pc.split_pattern(lines, sep))
    starts = pc.multiply(pa.array(range(len(lines)), pa.int64()), _i(n))
    return [flat.take(pc.add(starts, _i(i))) for i in range(n)]


def _lines_holding(data: bytes, byte: int, lines: int) -> np.ndarray:
    """Which of the ``lines`` lines joined by newlines in ``data`` hold ``byte``."""
    buf = np.frombuffer(data, np.uint8)
    held = np.zeros(lines, np.bool_)
    held[np.searchsorted(np.flatnonzero(buf == 10), np.flatnonzero(buf == byte))] = True
    return held


def vector_chunk(block: HeaderBlock, chunk: LineRun) -> tuple[pa.RecordBatch | None, list[Line]]:
    """The vectorised path: a batch for the regular lines, and the lines left to the row path."""
    assert block.plain is not None and block.fields is not None
    fields, n, sep = block.fields, len(block.fields), block.sep
    texts = chunk.texts
    joined = "\n".join(texts).encode()
    csv = len(sep) == 1 and sep not in '\r\n"'
    split: list[pa.Array] | None = None
    # Control characters and BOMs, looked for line by line only when the chunk has any (deleting all
    # other bytes must leave just the newlines that join the lines).
    if (
        b"\xef\xbb\xbf" in joined
        or len(joined.translate(None, _NOT_CONTROL_TAB if sep == "\t" else _NOT_CONTROL)) != len(texts) - 1
    ):
        lines = pa.array(texts, pa.string())
        controls = "\\x00-\\x08\\x0a-\\x1f\\x7f" if sep == "\t" else "\\x00-\\x1f\\x7f"
        irregular = pc.or_(
            pc.not_equal(pc.count_substring(lines, sep), _i(n - 1)),
            pc.match_substring_regex(lines, f"[{controls}\\x{{feff}}]"),
        )
        keep = np.asarray(pc.invert(irregular))
    elif csv:  # the parser leaves out the lines with another field count
        split, other = _split_csv(joined, sep, n, len(texts))
        keep = np.ones(len(texts), np.bool_)
        keep[other] = False
    else:
        lines = pa.array(texts, pa.string())
        keep = np.asarray(pc.equal(pc.count_substring(lines, sep), _i(n - 1)))
    if not keep.all():
        if not keep.any():
            return None, chunk.items()
        joined = "\n".join([t for t, k in zip(texts, keep.tolist(), strict=True) if k]).encode()
    if split is None:
        if csv:
            split, other = _split_csv(joined, sep, n, int(keep.sum()))
            if other:
                raise ValueError("CSV parser split the lines differently")
        else:
            split = _split_pattern(lines.filter(pa.array(keep)), sep, n)
    index = np.flatnonzero(keep)  # positions in the chunk of the lines split
    m = len(index)
    if m == 0:
        return None, chunk.items()
    rows = pa.array(np.arange(m))
    # Lines with a backslash, whose strings are unescaped and doubles written as the row path does.
    escaped = pa.array(_lines_holding(joined, 0x5C, m)) if b"\\" in joined else None
    quotes = b'"' in joined
    markers = (block.unset, block.empty, block.set_sep)
    columns: dict[str, VecColumn] = {}
    for name, (container, kind), col in zip(fields, block.kinds, split, strict=True):
        if container:
            columns[name] = vec_container(kind, col, markers, rows, escaped, quotes)
        else:
            columns[name] = vec_scalar(kind, col, block.unset, block.empty, escaped, quotes)
    bads = [c.bad for c in columns.values() if c.bad is not None]
    if bads:
        bad = bads[0]
        for other_bad in bads[1:]:
            bad = pc.or_(bad, other_bad)
        if pc.any(bad).as_py():
            good = pc.invert(bad)
            index = index[np.asarray(good)]
            columns = {name: c.filter(good) for name, c in columns.items()}
            m = len(index)
    if m == len(chunk):
        rest: list[Line] = []
    else:
        taken = np.zeros(len(chunk), np.bool_)
        taken[index] = True
        rest = [chunk.item(i) for i in np.flatnonzero(~taken).tolist()]
    if m == 0:
        return None, rest
    return _vector_batch(block, columns, pa.array(chunk.numbers[index]), m), rest


def _vector_batch(
    block: HeaderBlock, columns: dict[str, VecColumn], linenos: pa.Array, m: int
) -> pa.RecordBatch:
    path = block.log_path
    raw_parts: list[Part] = []
    for i, (name, col) in enumerate(columns.items()):
        raw_parts.append(("{" if i == 0 else ",") + orjson.dumps(name).decode() + ":")
        raw_parts.extend(col.parts)
    raw_parts.append("}")
    out: dict[str, Any] = {
        "record_id": linenos,
        "channel": pa.repeat(_s(path), m),
        "provider": pa.repeat(_s(PROVIDER), m),
        "event_code": pa.repeat(_s(path), m),
        "raw": join_parts(raw_parts, m),
    }
    ts = columns.get("ts")
    if ts is not None and ts.micros is not None:
        out["time"] = pc.cast(ts.micros, TIME_TYPE)
    for column, name in (("src_ip", "id.orig_h"), ("src_port", "id.orig_p"), ("target_ip", "id.resp_h"),
                         ("target_port", "id.resp_p")):  # fmt: skip
        if name in columns:
            out[column] = columns[name].values
    if block.has_sensor:
        out["host"] = sensor_column({name: c.values for name, c in columns.items()}, m)
    inputs = [name for name in NORMALIZER_INPUTS.get(path, ()) if name in columns]
    if any(columns[name].container for name in inputs):  # lists: Arrow cannot dictionary-encode them
        out.update(normalized_columns(path, {name: columns[name].pylist() for name in inputs}, m))
    else:
        out.update(normalized_arrays(path, {name: columns[name].values for name in inputs}, m))
    return make_batch(out, m)


def sensor_column(values: dict[str, pa.Array], m: int) -> pa.Array:
    """The event's ``host``: the first of ``SENSOR_KEYS`` that is a non-empty string (``sensor_host``)."""
    host: pa.Array = pa.nulls(m, pa.string())
    for sensor in reversed(SENSOR_KEYS):
        if sensor in values:
            value = values[sensor]
            host = pc.if_else(pc.fill_null(pc.not_equal(value, _s("")), False), value, host)
    return host


def normalized_arrays(path: str, inputs: dict[str, pa.Array], m: int) -> dict[str, pa.Array]:
    """``normalized_columns`` for inputs given as Arrow arrays of scalars: the distinct combinations
    are found by dictionary encoding (one combined key per row) instead of a Python loop per row."""
    if NORMALIZERS.get(path) is None or not inputs:
        return normalized_columns(path, {}, m)
    key = None
    for values in inputs.values():
        encoded = pc.dictionary_encode(values, null_encoding="encode")
        codes = pc.cast(encoded.indices, pa.int64())
        if key is not None:  # key < m and codes < m: the product stays far below 2**63
            codes = pc.add(pc.multiply(key, _i(len(encoded.dictionary))), codes)
        key = pc.cast(pc.dictionary_encode(codes).indices, pa.int64())
    assert key is not None
    slots = pc.unique(key)  # slot k is the k-th distinct key, in order of first appearance
    first = pc.index_in(slots, value_set=key)  # the first row holding each
    distinct = normalized_columns(
        path, {name: values.take(first).to_pylist() for name, values in inputs.items()}, len(slots)
    )
    return {name: column.take(key) for name, column in distinct.items()}


def normalized_columns(path: str, inputs: dict[str, list[Any]], m: int) -> dict[str, pa.Array]:
    """The normalizer's columns for ``m`` records of log ``path``, given the values of its inputs
    (those absent are None), as the row paths give them: computed once per distinct combination of
    the inputs, then spread to the rows by index."""
    out: dict[str, pa.Array] = {}
    normalize = NORMALIZERS.get(path)
    distinct: list[tuple[Any, ...]] = [GENERIC_ROW]
    indices = None
    if normalize is not None:
        present = list(inputs)
        values = list(inputs.values())
        keys: Iterator[tuple[Any, ...]] = zip(*values, strict=True) if present else iter([()] * m)
        position: dict[tuple[Any, ...], int] = {}
        index = []
        for key in keys:
            slot = position.get(key)
            if slot is None:
                slot = position[key] = len(distinct) - 1
                normalized = normalize(dict(zip(present, key, strict=True)))
                distinct.append(specific_row(normalized))
            index.append(slot)
        distinct = distinct[1:]
        indices = pa.array(index, pa.int32())
    for j, name in enumerate((*SPECIFIC_COLUMNS, "ocsf_class_name")):
        typ = EVENT_SCHEMA.field(name).type
        if indices is None:
            value = distinct[0][j]
            out[name] = pa.nulls(m, typ) if value is None else pa.repeat(pa.scalar(value, typ), m)
        else:
            out[name] = pa.array([row[j] for row in distinct], typ).take(indices)
    return out
