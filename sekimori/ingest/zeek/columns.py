"""Zeek TSV columns converted with Arrow: one column of field texts to its values and its JSON text.

This module owns the per-column part of the vectorised TSV path (``sekimori.ingest.zeek.vector``): a
column of one ``#types`` kind (scalar or container) becomes a ``VecColumn``: the values the row path
would give (for the typed event columns and the normalizers), the pieces of the column's JSON text in
``raw``, and the rows its strict checks refuse (handed back to the row path). The JSON text is kept as
parts (texts shared by all rows and arrays) so that the quotes around strings go into the one join
that writes ``raw`` instead of a join per column.
"""

from __future__ import annotations

import functools
from typing import Any, TypeAlias

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.ingest.zeek.values import MAX_EPOCH, is_valid_addr, unescape

_RE_TIME = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"
_RE_TIME_PARTS = r"^(?P<s>[0-9]+)(?:\.(?P<f>[0-9]*))?$"
_RE_INT = r"^-?[0-9]{1,18}$"
_RE_DOUBLE = r"^-?[0-9]{1,15}(\.[0-9]{1,17})?$"
_NULL_STR = pa.scalar(None, pa.string())
_NULL_BOOL = pa.scalar(None, pa.bool_())
_NULL_INT = pa.scalar(None, pa.int64())
_NULL_FLOAT = pa.scalar(None, pa.float64())

_VECTOR_KINDS = {
    "addr": "addr",
    "port": "port",
    "count": "uint",
    "counter": "uint",
    "int": "int",
    "double": "double",
    "interval": "double",
    "time": "time",
    "bool": "bool",
}

# A part of a column's JSON text: the same text on every row, or one text per row.
Part: TypeAlias = str | pa.Array


# Arrow scalars made once: pyarrow converts a Python literal argument anew at every call, and
# that conversion is slow next to the kernels on a chunk.
@functools.lru_cache(maxsize=1024)
def scalar_str(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.string())


@functools.lru_cache(maxsize=1024)
def scalar_int(value: int) -> pa.Scalar:
    return pa.scalar(value, pa.int64())


_s, _i = scalar_str, scalar_int


def join_parts(parts: list[Part], m: int) -> pa.Array:
    """The texts of ``m`` rows that are the concatenation of ``parts`` (runs of shared texts joined
    first: each argument of the join costs time on every row)."""
    merged: list[Part] = []
    for part in parts:
        last = merged[-1] if merged else None
        if isinstance(part, str) and isinstance(last, str):
            merged[-1] = last + part
        elif not isinstance(part, str) or part:
            merged.append(part)
    if not any(isinstance(part, pa.Array) for part in merged):
        return pa.repeat(_s("".join(map(str, merged))), m)
    if len(merged) == 1:
        return merged[0]
    return pc.binary_join_element_wise(*[_s(p) if isinstance(p, str) else p for p in merged], _s(""))


class VecColumn:
    """One converted column: ``values`` as the row path would give them, ``parts`` of the JSON text
    of each value for ``raw``, ``bad`` the rows the strict checks refused (or None), ``micros`` for time
    columns. The ISO text of a time column is made only when its ``values`` are asked for."""

    __slots__ = ("_values", "bad", "container", "empty", "micros", "parts", "unset")

    def __init__(
        self,
        values: pa.Array | None,
        parts: list[Part],
        bad: pa.Array | None = None,
        micros: pa.Array | None = None,
        container: bool = False,
        unset: pa.Array | None = None,
        empty: pa.Array | None = None,
    ) -> None:
        self._values, self.parts, self.bad, self.micros = values, parts, bad, micros
        self.container, self.unset, self.empty = container, unset, empty

    @property
    def values(self) -> pa.Array:
        if self._values is None:  # a time column: parts are '"', the ISO text without "Z", 'Z"'
            assert self.micros is not None
            text = pc.binary_join_element_wise(self.parts[1], _s("Z"), _s(""))
            self._values = pc.if_else(pc.is_null(self.micros), _NULL_STR, text)
        return self._values

    def frags(self, m: int) -> pa.Array:
        return join_parts(self.parts, m)

    def filter(self, keep: pa.Array) -> VecColumn:
        def f(a: pa.Array | None) -> pa.Array | None:
            return None if a is None else a.filter(keep)

        parts = [p if isinstance(p, str) else p.filter(keep) for p in self.parts]
        return VecColumn(
            f(self._values), parts, None, f(self.micros), self.container, f(self.unset), f(self.empty)
        )

    def pylist(self) -> list[Any]:
        values: list[Any] = self.values.to_pylist()
        if not self.container:
            return values
        assert self.unset is not None and self.empty is not None
        return [
            None if u else () if e else tuple(v)
            for v, u, e in zip(values, self.unset.to_pylist(), self.empty.to_pylist(), strict=True)
        ]


def _unescaped(col: pa.Array, values: pa.Array, inner: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``values`` and ``inner`` (JSON text without the quotes) of a string column with the rows holding
    a backslash unescaped, each distinct value once, and written by orjson as the row path writes
    them."""
    has = pc.match_substring(col, "\\")
    if not pc.any(has).as_py():
        return values, inner
    distinct = pc.unique(col.filter(has))
    texts = [unescape(v) for v in distinct.to_pylist()]
    where = pc.index_in(col.filter(has), value_set=distinct)
    values = pc.replace_with_mask(values, has, pa.array(texts, pa.string()).take(where))
    dumped = [orjson.dumps(t).decode()[1:-1] for t in texts]
    inner = pc.replace_with_mask(inner, has, pa.array(dumped, pa.string()).take(where))
    return values, inner


def _orjson_doubles(values: pa.Array, frags: pa.Array, escaped: pa.Array) -> pa.Array:
    """``frags`` with the doubles of the ``escaped`` rows written by orjson, as the row path (which
    took the lines with a backslash) wrote them: Arrow prints some doubles differently (1e+14)."""
    if not pc.any(escaped).as_py():
        return frags
    dumped = [orjson.dumps(v).decode() for v in values.filter(escaped).to_pylist()]
    return pc.replace_with_mask(frags, escaped, pa.array(dumped, pa.string()))


def _quoted(
    values: pa.Array, inner: pa.Array, is_unset: pa.Array, any_unset: bool
) -> tuple[pa.Array, list[Part]]:
    """A string column's values and JSON parts: null where unset, else the quoted ``inner`` text."""
    if not any_unset:
        return values, ['"', inner, '"']
    quote = pc.if_else(is_unset, _s(""), _s('"'))
    return pc.if_else(is_unset, _NULL_STR, values), [quote, pc.if_else(is_unset, _s("null"), inner), quote]


def _time(col: pa.Array, is_unset: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(valid, micros with 0 where not valid, the ISO text without "Z") of a time column."""
    # Zeek writes "1521911720.865716": seconds, a dot and six digits; then the digits are the micros.
    dot = pc.find_substring(col, ".")
    digits = pc.replace_substring(col, ".", "", max_replacements=1)
    six = pc.and_(
        pc.and_(pc.greater_equal(dot, _i(1)), pc.equal(pc.subtract(pc.binary_length(col), dot), _i(7))),
        pc.and_(pc.less_equal(dot, _i(12)), pc.ascii_is_decimal(digits)),
    )
    if pc.all(pc.or_(six, is_unset)).as_py():
        valid = six
        number = pc.cast(pc.if_else(six, digits, _s("0")), pa.int64())
    else:
        valid = pc.match_substring_regex(col, _RE_TIME)
        parts = pc.extract_regex(pc.if_else(valid, col, _s("0")), _RE_TIME_PARTS)
        seconds = pc.cast(pc.struct_field(parts, [0]), pa.int64())
        fraction = pc.cast(pc.utf8_rpad(pc.struct_field(parts, [1]), 6, "0"), pa.int64())
        number = pc.add(pc.multiply(seconds, _i(1_000_000)), fraction)
    valid = pc.and_(valid, pc.less_equal(number, _i(MAX_EPOCH * 1_000_000)))
    number = pc.if_else(valid, number, _i(0))
    # "2018-03-24 17:15:20.865716" (always six digits for microseconds) -> Zeek's ISO form
    text = pc.cast(pc.cast(number, pa.timestamp("us")), pa.string())
    return valid, number, pc.replace_substring(text, " ", "T", max_replacements=1)


def vec_scalar(
    kind: str, col: pa.Array, unset: str, empty: str | None, escaped: pa.Array | None, quotes: bool
) -> VecColumn:
    """Convert a string column of scalar ``kind``; ``empty`` None: no empty marker (set elements);
    ``escaped``: the rows whose line holds a backslash (None: no line does); ``quotes``: whether any
    value may hold a '"'."""
    is_unset = pc.equal(col, _s(unset))
    any_unset = pc.any(is_unset).as_py()
    vkind = _VECTOR_KINDS.get(kind, "str")
    if vkind == "str":
        # Only lines without control characters get here: '"' and '\' are all JSON escapes.
        values, inner = col, pc.replace_substring(col, '"', '\\"') if quotes else col
        if escaped is not None:
            values, inner = _unescaped(col, values, inner)
        if empty is not None:
            is_empty = pc.equal(col, _s(empty))
            if pc.any(is_empty).as_py():
                values, inner = pc.if_else(is_empty, _s(""), values), pc.if_else(is_empty, _s(""), inner)
        values, parts = _quoted(values, inner, is_unset, bool(any_unset))
        return VecColumn(values, parts)
    if vkind == "addr":
        distinct = pc.unique(col.filter(pc.invert(is_unset)) if any_unset else col).to_pylist()
        refused = [v for v in distinct if "\\" in v or not is_valid_addr(v)]
        bad = None
        if refused:
            bad = pc.and_(pc.is_in(col, value_set=pa.array(refused, pa.string())), pc.invert(is_unset))
        inner = pc.replace_substring(col, '"', '\\"') if quotes else col  # a scope id may hold one
        values, parts = _quoted(col, inner, is_unset, bool(any_unset))
        return VecColumn(values, parts, bad)
    if vkind == "bool":
        is_true, is_false = pc.equal(col, _s("T")), pc.equal(col, _s("F"))
        valid = pc.or_(is_true, is_false)
        values = pc.if_else(valid, is_true, _NULL_BOOL)
        frags = pc.if_else(valid, pc.if_else(is_true, _s("true"), _s("false")), _s("null"))
        return VecColumn(values, [frags], pc.and_(pc.invert(valid), pc.invert(is_unset)))
    if vkind == "time":
        valid, number, iso = _time(col, is_unset)
        bad = pc.and_(pc.invert(valid), pc.invert(is_unset))
        micros = pc.if_else(valid, number, _NULL_INT)
        if any_unset:  # unset is null; the other rows not valid are bad, and dropped
            quote = pc.if_else(valid, _s('"'), _s(""))
            text = pc.if_else(valid, iso, _s("null"))
            return VecColumn(None, [quote, text, pc.if_else(valid, _s('Z"'), _s(""))], bad, micros)
        return VecColumn(None, ['"', iso, 'Z"'], bad, micros)
    if vkind in ("uint", "port"):  # ^[0-9]{1,18}$
        valid = pc.and_(pc.ascii_is_decimal(col), pc.less_equal(pc.binary_length(col), _i(18)))
    else:
        valid = pc.match_substring_regex(col, _RE_DOUBLE if vkind == "double" else _RE_INT)
    safe = pc.if_else(valid, col, _s("0"))
    if vkind == "double":
        values = pc.if_else(valid, pc.cast(safe, pa.float64()), _NULL_FLOAT)
        text = pc.cast(values, pa.string())
        frags = pc.if_else(
            pc.match_substring_regex(text, "[.eE]"), text, pc.binary_join_element_wise(text, _s(".0"), _s(""))
        )
        if escaped is not None:
            frags = _orjson_doubles(values, frags, escaped)
    else:
        number = pc.cast(safe, pa.int64())
        if vkind == "port":
            valid = pc.and_(valid, pc.less_equal(number, _i(65535)))
        values = pc.if_else(valid, number, _NULL_INT)
        frags = pc.cast(values, pa.string())
    bad = pc.and_(pc.invert(valid), pc.invert(is_unset))
    return VecColumn(values, [pc.fill_null(frags, _s("null"))], bad)


def vec_container(
    kind: str,
    col: pa.Array,
    markers: tuple[str, str, str],
    rows: pa.Array,
    escaped: pa.Array | None,
    quotes: bool,
) -> VecColumn:
    """Convert a column of containers of scalar ``kind``; ``markers``: the block's unset and empty
    markers and its set separator."""
    unset, empty, set_sep = markers
    is_unset, is_empty = pc.equal(col, _s(unset)), pc.equal(col, _s(empty))
    special = pc.or_(is_unset, is_empty)
    lists = pc.split_pattern(col, set_sep)
    if escaped is not None:
        escaped = escaped.take(pc.list_parent_indices(lists))
    flat = pc.list_flatten(lists)
    items = vec_scalar(kind, flat, unset, None, escaped, quotes)
    bad = None
    if items.bad is not None and pc.any(items.bad).as_py():
        parents = pc.list_parent_indices(lists).filter(items.bad)
        bad = pc.and_(pc.is_in(rows, value_set=pc.unique(parents)), pc.invert(special))
    offsets = lists.offsets
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, items.frags(len(flat))), _s(","))
    frags = pc.binary_join_element_wise(_s("["), joined, _s("]"), _s(""))
    frags = pc.if_else(is_unset, _s("null"), pc.if_else(is_empty, _s("[]"), frags))
    values = pa.ListArray.from_arrays(offsets, items.values)
    return VecColumn(values, [frags], bad, None, True, is_unset, is_empty)
