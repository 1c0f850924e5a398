"""Zeek field values: the text of one TSV field, or one JSON value, to the Python value it stands for.

This module owns Zeek's value syntax and nothing about logs or events: the scalar types of ``#types``
(``string``, ``addr``, ``port``, ``count``, ``int``, ``double``, ``interval``, ``time``, ``bool``, ...)
and their converters (``SCALAR_PARSERS``), undoing the TSV ``\\\\`` and ``\\xHH`` escapes, times as
epoch text, JSON numbers or ISO-8601 and their ISO form in events, and the checks on addresses and ports
of JSON records. A value that does not parse raises ``BadValue``, which the reader turns into a
quarantine row. Unset and empty markers are a header block's (``sekimori.ingest.zeek.header``).
"""

from __future__ import annotations

import calendar
import ipaddress
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# Seconds since the epoch that still give a year 1..9999 (what an ISO string and Arrow can hold).
MIN_EPOCH = -62_135_596_800
MAX_EPOCH = 253_402_300_799
_ISO_SECONDS: dict[int, str] = {}
_ESCAPE_RE = re.compile(rb"\\(\\|x[0-9A-Fa-f]{2})")
# Control characters Zeek's JSON writer keeps as they are (everything else below 0x20 is written
# as the text \xHH), so a TSV value unescaped here reads exactly as the same value in Zeek JSON.
_CONTROL_RE = re.compile(r"[\x00-\x07\x0b\x0e-\x1f\x7f]")
_ADDR_OK: set[str] = set()
_ADDR_CACHE_MAX = 200_000


class BadValue(ValueError):
    """A field value that does not parse as its declared type."""


def _iso(micros: int) -> str:
    """ISO-8601 UTC with microseconds, as Zeek's JSON writer prints times."""
    sec, frac = divmod(micros, 1_000_000)
    prefix = _ISO_SECONDS.get(sec)
    if prefix is None:
        if len(_ISO_SECONDS) > 65_536:
            _ISO_SECONDS.clear()
        t = time.gmtime(sec)
        prefix = (
            f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        )
        _ISO_SECONDS[sec] = prefix
    return f"{prefix}.{frac:06d}Z"


def epoch_micros(value: str) -> int:
    """Microseconds since the epoch from Zeek's ``1521911885.713879`` time text."""
    whole, dot, frac = value.partition(".")
    if (
        whole.isascii() and whole.isdigit() and len(whole) <= 12
        and (not dot or (frac.isascii() and frac.isdigit()))
    ):  # fmt: skip
        micros = int(whole) * 1_000_000 + (int((frac + "000000")[:6]) if frac else 0)
    else:
        try:
            seconds = float(value)
        except ValueError:
            raise BadValue(f"bad timestamp {value!r}") from None
        scaled = seconds * 1_000_000
        if not math.isfinite(scaled):
            raise BadValue(f"bad timestamp {value!r}")
        micros = round(scaled)
    if not MIN_EPOCH * 1_000_000 <= micros <= MAX_EPOCH * 1_000_000:
        raise BadValue(f"timestamp out of range {value!r}")
    return micros


def json_time_micros(value: Any) -> int:
    """Microseconds since the epoch from a JSON ``ts``: epoch seconds (or milliseconds) or ISO-8601."""
    if isinstance(value, bool):
        raise BadValue(f"bad timestamp {value!r}")
    if isinstance(value, int):
        # JSON::TS_MILLIS writes integer milliseconds; seconds this large would be after year 5000.
        micros = value * 1000 if abs(value) >= 100_000_000_000 else value * 1_000_000
    elif isinstance(value, float):
        scaled = value * 1_000_000
        if not math.isfinite(scaled):
            raise BadValue(f"bad timestamp {value!r}")
        micros = round(scaled)
    elif isinstance(value, str):
        return _iso_micros(value)
    else:
        raise BadValue(f"bad timestamp {type(value).__name__}")
    if not MIN_EPOCH * 1_000_000 <= micros <= MAX_EPOCH * 1_000_000:
        raise BadValue(f"timestamp out of range {value!r}")
    return micros


_ISO_PARSED: dict[str, int] = {}


def _iso_micros(value: str) -> int:
    # Fast path for Zeek's own "2018-03-24T17:18:05.713879Z".
    if len(value) == 27 and value[19] == "." and value[26] == "Z" and value[10] == "T":
        head, frac = value[:19], value[20:26]
        sec = _ISO_PARSED.get(head)
        if sec is None:
            try:
                sec = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
            except ValueError:
                raise BadValue(f"bad timestamp {value!r}") from None
            if len(_ISO_PARSED) > 65_536:
                _ISO_PARSED.clear()
            _ISO_PARSED[head] = sec
        if frac.isascii() and frac.isdigit():
            return sec * 1_000_000 + int(frac)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        # Plain epoch seconds written as a string.
        return epoch_micros(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        delta = parsed - datetime(1970, 1, 1, tzinfo=UTC)
    except OverflowError:
        raise BadValue(f"timestamp out of range {value!r}") from None
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if not MIN_EPOCH * 1_000_000 <= micros <= MAX_EPOCH * 1_000_000:
        raise BadValue(f"timestamp out of range {value!r}")
    return micros


def check_addr(value: str) -> str:
    if value in _ADDR_OK:
        return value
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise BadValue(f"bad address {value!r}") from None
    if len(_ADDR_OK) > _ADDR_CACHE_MAX:
        _ADDR_OK.clear()
    _ADDR_OK.add(value)
    return value


def unescape(value: str) -> str:
    """Undo Zeek's TSV escaping (``\\\\`` and ``\\xHH``); bytes that are not UTF-8 and control
    characters come out as the text ``\\xHH``, as Zeek's JSON writer prints them."""
    data = _ESCAPE_RE.sub(
        lambda m: b"\\" if m.group(1) == b"\\" else bytes((int(m.group(1)[1:], 16),)), value.encode()
    )
    text = data.decode("utf-8", errors="backslashreplace")
    if _CONTROL_RE.search(text):
        text = _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text


def string_value(value: str) -> str:
    return unescape(value) if "\\" in value else value


def _count(value: str) -> int:
    if value.isascii() and value.isdigit() and len(value) <= 20:
        number = int(value)
        if number < 1 << 64:
            return number
    raise BadValue(f"bad count {value!r}")


def _int(value: str) -> int:
    digits = value[1:] if value[:1] in "+-" else value
    if digits.isascii() and digits.isdigit() and len(digits) <= 19:
        number = int(value)
        if -(1 << 63) <= number < 1 << 63:
            return number
    raise BadValue(f"bad integer {value!r}")


def _port(value: str) -> int:
    if value.isascii() and value.isdigit() and len(value) <= 5:
        port = int(value)
        if port <= 65535:
            return port
    raise BadValue(f"bad port {value!r}")


def _double(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        raise BadValue(f"bad number {value!r}") from None
    return number if math.isfinite(number) else None


def _bool(value: str) -> bool:
    if value == "T":
        return True
    if value == "F":
        return False
    raise BadValue(f"bad bool {value!r}")


def _time(value: str) -> str:
    return _iso(epoch_micros(value))


def _addr(value: str) -> str:
    return check_addr(string_value(value))


SCALAR_PARSERS: dict[str, Callable[[str], Any]] = {
    "string": string_value,
    "enum": string_value,
    "subnet": string_value,
    "pattern": string_value,
    "addr": _addr,
    "port": _port,
    "count": _count,
    "counter": _count,
    "int": _int,
    "double": _double,
    "interval": _double,
    "time": _time,
    "bool": _bool,
}


def is_valid_addr(value: str) -> bool:
    try:
        check_addr(value)
    except BadValue:
        return False
    return True


def json_addr(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadValue(f"bad address {value!r}")
    return check_addr(value)


def json_port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535:
        return value
    if isinstance(value, str):
        return _port(value)
    raise BadValue(f"bad port {value!r}")
