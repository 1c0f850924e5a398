"""Syslog lines up to the message: the header forms, their time stamps, the year and zone they need.

This module owns everything before the message text: the three header forms (RFC 3164, rsyslog ISO,
RFC 5424, each with an optional ``<PRI>``) and the sniffer's test of one line (``sniff_line``); time
stamps, including the year inference for RFC 3164 (``YearClock``, from the ``year`` argument,
``SEKIMORI_SYSLOG_YEAR`` or the file's mtime) and the zone (``resolve_tz``, ``SEKIMORI_SYSLOG_TZ``);
RFC 5424 structured data; and the ``prog(sub)[pid]:`` tag. ``parse_header`` gives a ``SyslogHeader``
or raises ``HeaderError`` naming the field (``header`` or ``timestamp``) that did not parse.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sekimori.ingest.source import Source

YEAR_ENV = "SEKIMORI_SYSLOG_YEAR"
TZ_ENV = "SEKIMORI_SYSLOG_TZ"

MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}
FACILITIES = (
    *("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp"),
    *("ntp", "security", "console", "solaris-cron"),
    *(f"local{i}" for i in range(8)),
)
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
ROLLOVER_MONTHS = 6  # a backward step of at least this many months starts a new year

_PRI = r"(?:<(?P<pri>\d{1,3})>)?"
# Structural patterns: the timestamp token is loose here and validated afterwards, so that a bad
# date is reported as a ``timestamp`` problem and anything else as a ``header`` problem.
_BSD_RE = re.compile(
    _PRI + r"(?P<mon>[A-Za-z]{3}) +(?P<day>\d{1,2}) (?P<hms>\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d{1,9})?)"
    r" +(?P<host>\S+)(?: (?P<rest>.*))?$"
)
_ISO_RE = re.compile(_PRI + r"(?P<ts>\d{4}-\d{1,2}-\d{1,2}T\S+) +(?P<host>\S+)(?: (?P<rest>.*))?$")
_RFC5424_RE = re.compile(
    r"<(?P<pri>\d{1,3})>(?P<ver>[1-9]\d?) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+)"
    r" (?P<msgid>\S+)(?: (?P<rest>.*))?$"
)
_ISO_SHAPE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_SD_ELEMENT = re.compile(r'\[[^\s\]=]+(?: [^\s=\]]+="(?:[^"\\]|\\.)*")*\]')

_TAG_RE = re.compile(
    r"(?P<prog>[^\s\[\]():]+)(?:\((?P<sub>[^)\s]*)\))?(?:\[(?P<pid>\d+)\])?:(?: (?P<msg>.*))?$"
)
_TAG_VERSION_RE = re.compile(r"(?P<prog>[A-Za-z][\w.\-/]*) (?P<ver>\d[\w.\-]*): ?(?P<msg>.*)$")
_TAG_DASHES_RE = re.compile(r"-- (?P<ident>\S+?)\[(?P<pid>\d+)\]: ?(?P<msg>.*)$")


class SyslogHeader(NamedTuple):
    """What a line says before and around its message; ``details`` holds the header facts for ``raw``
    (format, version, msgid, structured data, year, priority, facility, severity), in that order."""

    time: datetime
    timestamp: str  # the stamp as written
    host: str | None
    program: str | None
    subsystem: str | None
    pid: int | None
    message: str
    details: dict[str, Any]


class HeaderError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _parse_iso(ts: str, local: tzinfo) -> datetime:
    m = _ISO_SHAPE.match(ts)
    if not m:
        raise HeaderError("timestamp", "not an ISO 8601 timestamp")
    frac = (m["frac"] or "")[:6]
    text = f"{m['date']}T{m['time']}{'.' + frac if frac else ''}{m['tz'] or ''}"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise HeaderError("timestamp", "date or time out of range") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=local)
    return dt.astimezone(UTC)


def _structured_data(rest: str) -> tuple[str | None, str]:
    """Split RFC 5424 STRUCTURED-DATA from MSG."""
    if rest == "-" or rest.startswith("- "):
        return None, rest[2:]
    pos = 0
    while pos < len(rest) and rest[pos] == "[":
        m = _SD_ELEMENT.match(rest, pos)
        if not m:
            raise HeaderError("header", "malformed RFC 5424 structured data")
        pos = m.end()
    if pos == 0:
        raise HeaderError("header", "RFC 5424 structured data missing")
    if pos < len(rest) and rest[pos] != " ":
        raise HeaderError("header", "malformed RFC 5424 structured data")
    return rest[:pos], rest[pos + 1 :]


class YearClock:
    """Year inference for RFC 3164 stamps (the rule is told in ``sekimori.ingest.readers.syslog``)."""

    def __init__(self, explicit: int | None, mtime: datetime | None) -> None:
        self.explicit = explicit
        self.mtime = mtime
        self.year: int | None = None
        self.month: int | None = None

    def year_for(self, month: int) -> int:
        if self.year is None or self.month is None:
            if self.explicit is not None:
                self.year = self.explicit
            else:
                ref = self.mtime or datetime.now(UTC)
                self.year = ref.year - 1 if month > ref.month else ref.year
        elif self.month - month >= ROLLOVER_MONTHS:
            self.year += 1
        self.month = month
        return self.year


def file_mtime(source: Source, tz: tzinfo) -> datetime | None:
    try:
        return datetime.fromtimestamp(source.fs_path.stat().st_mtime, tz)
    except (OSError, ValueError, OverflowError):
        return None


def resolve_tz(value: str | tzinfo | None) -> tzinfo:
    if isinstance(value, tzinfo):
        return value
    name = value if value is not None else os.environ.get(TZ_ENV) or None
    if name is None or name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{TZ_ENV}: unknown IANA time zone") from None


def resolve_year(value: int | None) -> int | None:
    if value is not None:
        return int(value)
    text = os.environ.get(YEAR_ENV)
    if not text:
        return None
    try:
        year = int(text)
    except ValueError:
        raise ValueError(f"{YEAR_ENV}: not a year") from None
    if not 1 <= year <= 9999:
        raise ValueError(f"{YEAR_ENV}: not a year")
    return year


def sniff_line(line: str) -> bool:
    m = _RFC5424_RE.match(line) or _ISO_RE.match(line)
    if m:
        return _ISO_SHAPE.match(m["ts"]) is not None
    m = _BSD_RE.match(line)
    return bool(m and m["mon"].title() in MONTHS and 1 <= int(m["day"]) <= 31)


def parse_header(line: str, tz: tzinfo, clock: YearClock, cache: dict[str, datetime]) -> SyslogHeader:
    """The header of one line; ``cache`` keeps RFC 3164 stamps already converted (they repeat)."""
    header: dict[str, Any] = {}
    sd = None
    m = _RFC5424_RE.match(line)
    if m:
        header.update(format="rfc5424", version=int(m["ver"]))
        ts = m["ts"]
        if ts == "-":
            raise HeaderError("timestamp", "no timestamp (RFC 5424 NILVALUE)")
        time = _parse_iso(ts, tz)
        host = None if m["host"] == "-" else m["host"]
        program = None if m["app"] == "-" else m["app"]
        procid = None if m["procid"] == "-" else m["procid"]
        msgid = None if m["msgid"] == "-" else m["msgid"]
        sd, msg = _structured_data(m["rest"] or "-")
        # rsyslog keeps the space that followed "tag:" in MSG; a BOM marks UTF-8 text.
        msg = msg.removeprefix(" ").removeprefix("\ufeff")
        header.update(msgid=msgid, structured_data=sd)
        sub = None
        pid = int(procid) if procid and procid.isdigit() and len(procid) <= 18 else None
        if procid and pid is None:
            header["procid"] = procid
    else:
        m = _ISO_RE.match(line)
        if m:
            header["format"] = "iso"
            ts = m["ts"]
            time = _parse_iso(ts, tz)
        else:
            m = _BSD_RE.match(line)
            if not m:
                raise HeaderError("header", "not a syslog header")
            header["format"] = "rfc3164"
            ts = f"{m['mon']} {m['day']} {m['hms']}"
            time = _bsd_time(m, tz, clock, cache)
            header["year"] = clock.year
        host, rest = m["host"], m["rest"]
        if host.endswith(":") or "[" in host:
            # No host field (e.g. "Dec 10 06:55:46 sshd[1]: ..."): the tag follows the stamp.
            rest = f"{host} {rest}" if rest is not None else host
            host = None
        program, sub, pid, msg = _split_tag((rest or "").lstrip(" "))
    pri = m["pri"]
    if pri is not None:
        n = int(pri)
        if n > 191:
            raise HeaderError("header", "priority above 191")
        header.update(pri=n, facility=FACILITIES[n >> 3], severity=SEVERITIES[n & 7])
    return SyslogHeader(time, ts, host, program, sub, pid, msg, header)


def _bsd_time(m: re.Match[str], tz: tzinfo, clock: YearClock, cache: dict[str, datetime]) -> datetime:
    month = MONTHS.get(m["mon"].title())
    if month is None:
        raise HeaderError("timestamp", "unknown month name")
    year = clock.year_for(month)
    key = f"{year} {m['mon']} {m['day']} {m['hms']}"
    hit = cache.get(key)
    if hit is not None:
        return hit
    hms, _, frac = m["hms"].partition(".")
    h, mi, s = (int(x) for x in hms.split(":"))
    try:
        local = datetime(year, month, int(m["day"]), h, mi, s, int((frac + "000000")[:6]), tzinfo=tz)
    except ValueError:
        raise HeaderError("timestamp", "date or time out of range") from None
    dt = local.astimezone(UTC)
    if len(cache) > 4096:
        cache.clear()
    cache[key] = dt
    return dt


def _split_tag(rest: str) -> tuple[str | None, str | None, int | None, str]:
    """(program, subsystem, pid, message) from ``prog(sub)[pid]: message``; no tag -> (None, …, rest)."""
    m = _TAG_RE.match(rest)
    if m:
        pid = m["pid"]
        return m["prog"], m["sub"], int(pid) if pid and len(pid) <= 18 else None, m["msg"] or ""
    m = _TAG_VERSION_RE.match(rest)
    if m:
        return m["prog"], None, None, m["msg"]
    m = _TAG_DASHES_RE.match(rest)
    if m:
        return None, None, int(m["pid"]) if len(m["pid"]) <= 18 else None, m["msg"]
    return None, None, None, rest
