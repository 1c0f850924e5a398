"""PostgreSQL log time stamps: the date, the time and the zone abbreviation of ``log_timezone``.

This module owns reading the time of a log entry (``parse_time``) into UTC: PostgreSQL writes the
zone as an abbreviation, so ``UTC``/``GMT``, numeric offsets (``+09``, ``-0330``), zone names with a
``/`` and the abbreviations in ``TZ_ABBREVIATIONS`` are understood; an unknown abbreviation raises
``EntryError`` (field ``timestamp``) so that the entry is quarantined rather than its time guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sekimori.ingest.pgaudit.entries import EntryError

# Abbreviations PostgreSQL prints for common log_timezone settings (ambiguous ones: the usual reading).
TZ_ABBREVIATIONS: dict[str, float] = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "UCT": 0,
    "WET": 0,
    "WEST": 1,
    "BST": 1,
    "IST": 1,
    "CET": 1,
    "CEST": 2,
    "MET": 1,
    "MEST": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
    "SAST": 2,
    "PKT": 5,
    "HKT": 8,
    "SGT": 8,
    "AWST": 8,
    "KST": 9,
    "JST": 9,
    "ACST": 9.5,
    "ACDT": 10.5,
    "AEST": 10,
    "AEDT": 11,
    "NZST": 12,
    "NZDT": 13,
    "HST": -10,
    "AKST": -9,
    "AKDT": -8,
    "PST": -8,
    "PDT": -7,
    "MST": -7,
    "MDT": -6,
    "CST": -6,
    "CDT": -5,
    "EST": -5,
    "EDT": -4,
    "AST": -4,
    "ADT": -3,
    "NST": -3.5,
    "NDT": -2.5,
}

# A log time: date, time, an optional fraction and an optional zone (abbreviation or offset).
TS_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,6}))?"
    r"(?: (?P<tz>[A-Za-z][A-Za-z0-9_/+\-]*|[+-]\d{2}(?::?\d{2})?))?$"
)


def _tz(name: str | None) -> tzinfo:
    if not name:
        return UTC
    if name[0] in "+-":
        digits = name[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        sign = -1 if name[0] == "-" else 1
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    offset = TZ_ABBREVIATIONS.get(name.upper())
    if offset is not None:
        return timezone(timedelta(hours=offset)) if offset else UTC
    if "/" in name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise EntryError("timestamp", "unknown time zone abbreviation")


def parse_time(text: str) -> datetime:
    m = TS_RE.match(text)
    if not m:
        raise EntryError("timestamp", "not a PostgreSQL log time stamp")
    frac = m["frac"]
    try:
        dt = datetime.fromisoformat(f"{m['date']}T{m['time']}{'.' + frac.ljust(6, '0') if frac else ''}")
    except ValueError:
        raise EntryError("timestamp", "date or time out of range") from None
    return dt.replace(tzinfo=_tz(m["tz"])).astimezone(UTC)
