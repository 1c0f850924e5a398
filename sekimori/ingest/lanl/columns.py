"""LANL fields computed column-wise: the epoch and event times, dictionary-encoded columns, ``raw``.

This module owns the per-block column work of the LANL readers, all in ``pyarrow.compute`` so that
Python only touches rare bad rows: the epoch LANL's relative seconds count from (``parse_epoch``:
the constructor argument, else ``SEKIMORI_LANL_EPOCH``, else 1970-01-01T00:00:00Z) and the event
times from it (``parse_seconds``, ``event_times``); ``Column``, a string column dictionary-encoded once
so that look-ups, ``user@domain`` splits and ``?`` markers run on its few distinct values; and the
``raw`` JSON text of each row (``raw_json``), which keeps the relative time itself.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.ingest.schema import TIME_TYPE

EPOCH_ENV = "SEKIMORI_LANL_EPOCH"
DEFAULT_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z in µs since 1970
_MAX_T_DIGITS = 12
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'

EMPTY = pa.scalar("")
_UNKNOWN = pa.scalar("?")
_NULL_STR = pa.scalar(None, pa.string())
_ZERO = pa.scalar(0, pa.int64())
_US_PER_S = pa.scalar(1_000_000, pa.int64())
_USER_RE = r"^(?P<user>.*)@(?P<domain>[^@]*)$"


def parse_epoch(value: str | datetime | None) -> datetime:
    """The epoch LANL times count from (UTC); ``ValueError`` for a value that is not ISO 8601."""
    if value is None:
        value = os.environ.get(EPOCH_ENV) or None
    if value is None:
        return DEFAULT_EPOCH
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{EPOCH_ENV}: not an ISO 8601 date or date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def epoch_microseconds(epoch: datetime) -> int:
    delta = epoch - DEFAULT_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_seconds(t: pa.Array, epoch_us: int) -> tuple[pa.Array, pa.Array | None]:
    """Seconds as int64, and a mask of rows whose time is not a valid whole number (None: all valid)."""
    max_t = (_MAX_US - epoch_us) // 1_000_000
    try:
        if pc.all(pc.utf8_is_digit(t)).as_py() and pc.max(pc.utf8_length(t)).as_py() <= _MAX_T_DIGITS:
            tnum = t.cast(pa.int64())
            if pc.max(tnum).as_py() <= max_t:
                return tnum, None
    except (pa.ArrowInvalid, TypeError):
        pass
    ok = pc.match_substring_regex(t, rf"^[0-9]{{1,{_MAX_T_DIGITS}}}$")
    safe = pc.if_else(ok, t, pa.scalar("0")).cast(pa.int64())
    ok = pc.and_(ok, pc.less_equal(safe, pa.scalar(max_t, pa.int64())))
    return pc.if_else(ok, safe, _ZERO), pc.invert(ok)


def event_times(seconds: pa.Array, epoch_us: int) -> pa.Array:
    """The event time of each row: ``epoch + seconds``."""
    return pc.add(pc.multiply(seconds, _US_PER_S), pa.scalar(epoch_us, pa.int64())).cast(TIME_TYPE)


class Column:
    """A string column dictionary-encoded once: per-value work runs on the (few) distinct values.

    LANL columns repeat heavily (a 16k-row block has ~4k distinct users and a handful of auth types),
    so regexes and look-ups on ``values`` and a ``take`` by ``indices`` beat row-wise kernels.
    """

    __slots__ = ("indices", "plain", "values")

    def __init__(self, arr: pa.Array) -> None:
        enc = pc.dictionary_encode(arr)
        self.plain = arr
        self.values: pa.Array = enc.dictionary
        self.indices: pa.Array = enc.indices

    def expand(self, per_value: pa.Array) -> pa.Array:
        return pc.take(per_value, self.indices)

    def known(self) -> pa.Array:
        """The value with ``?`` and empty strings as null, per distinct value."""
        unknown = pc.or_(pc.equal(self.values, _UNKNOWN), pc.equal(self.values, EMPTY))
        return pc.if_else(unknown, _NULL_STR, self.values)

    def lookup(self, mapping: dict[str, Any], typ: pa.DataType) -> pa.Array:
        idx = pc.index_in(self.values, value_set=pa.array(list(mapping), pa.string()))
        return self.expand(pc.take(pa.array(list(mapping.values()), typ), idx))

    def split_user(self) -> tuple[pa.Array, pa.Array]:
        """``user@domain`` -> (user, domain) at the last ``@``; no ``@`` -> (whole, null)."""
        parts = pc.extract_regex(self.values, _USER_RE)
        matched = pc.is_valid(parts)
        user = pc.if_else(matched, pc.struct_field(parts, [0]), self.values)
        domain = pc.if_else(matched, pc.struct_field(parts, [1]), _NULL_STR)
        user = pc.if_else(pc.equal(user, EMPTY), _NULL_STR, user)
        domain = pc.if_else(pc.equal(domain, EMPTY), _NULL_STR, domain)
        return self.expand(user), self.expand(domain)


@functools.cache
def _json_pieces(names: tuple[str, ...]) -> tuple[pa.Scalar, ...]:
    """The constant text between the values of ``raw_json`` (scalars built once: cheap kernel calls)."""
    texts = ['{"' + names[0] + '":', ',"' + names[1] + '":"']
    texts += ['","' + name + '":"' for name in names[2:]]
    return (*(pa.scalar(t) for t in texts), pa.scalar('"}'))


def raw_json(names: Sequence[str], tnum: pa.Array, cols: list[Column]) -> pa.Array:
    """``{"time":<t>,"<name>":"<value>",...}`` built column-wise; rows needing escapes go through orjson."""
    pieces = _json_pieces(tuple(names))
    parts: list[Any] = [pieces[0], tnum.cast(pa.string())]
    for piece, col in zip(pieces[1:], cols, strict=False):
        parts.extend([piece, col.plain])
    parts.append(pieces[-1])
    raw = pc.binary_join_element_wise(*parts, EMPTY)
    needs: pa.Array | None = None
    for col in cols:
        per_value = pc.match_substring_regex(col.values, _NEEDS_ESCAPE)
        if pc.any(per_value).as_py():
            m = col.expand(per_value)
            needs = m if needs is None else pc.or_(needs, m)
    if needs is not None:
        fixed = []
        for i in pc.indices_nonzero(needs).to_pylist():
            rec: dict[str, Any] = {"time": tnum[i].as_py()}
            rec.update({name: col.plain[i].as_py() for name, col in zip(names[1:], cols, strict=True)})
            fixed.append(orjson.dumps(rec).decode())
        raw = pc.replace_with_mask(raw, needs, pa.array(fixed, pa.string()))
    return raw
