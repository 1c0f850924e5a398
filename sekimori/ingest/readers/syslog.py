"""Linux syslog files (``/var/log/auth.log``, ``secure``, ``messages``): RFC 3164, RFC 5424, rsyslog ISO.

Three header forms are read, each with an optional ``<PRI>``::

    Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186      (RFC 3164)
    2024-03-01T12:00:00.123456+09:00 host sshd[1]: Accepted publickey for alice ...     (rsyslog ISO)
    <38>1 2024-03-01T03:00:00.1Z host sshd 1 - - Accepted publickey for alice ...       (RFC 5424)

The message is then normalized when it is one of the authentication / privilege forms below, and
stored as a ``generic`` event otherwise (nothing readable is dropped):

* sshd: ``Accepted|Failed <method> for [invalid user] U from IP port N`` (also inside
  ``message repeated N times: [ … ]``), ``Invalid user``, ``input_userauth_request: invalid user``,
  ``Connection closed by``, ``Received disconnect``, ``Disconnected from``, ``Did not receive
  identification string``, ``reverse mapping checking … POSSIBLE BREAK-IN ATTEMPT``, ``Too many
  authentication failures``, ``maximum authentication attempts exceeded``, ``Connection from``;
* PAM, both ``pam_unix(sshd:auth): …`` and the older ``sshd(pam_unix)[pid]: …`` tag:
  ``authentication failure; … user=``, ``check pass; user unknown``, ``session opened|closed for
  user``, ``N more authentication failures``;
* sudo (``alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls`` and its refusals), su (util-linux
  and shadow forms), login (``ROOT LOGIN ON tty2``, ``FAILED LOGIN``), ftpd and klogind log-ins.

RFC 3164 stamps have no year and no zone. The year is the ``year`` argument, else
``SEKIMORI_SYSLOG_YEAR``, else inferred from the file's mtime (the archive's for a member): the year of
the mtime, or the year before when the first line's month is later than the mtime's month. It then
goes up by one whenever the month steps back by six months or more (Dec → Jan); smaller backward steps
are out-of-order lines from other hosts, not a new year. The zone is the ``tz`` argument, else
``SEKIMORI_SYSLOG_TZ`` (an IANA name), else UTC. ISO stamps carry their own offset (the same zone
applies when they have none).

A line whose header does not parse is quarantined with its line number, byte offset, the field
(``header`` or ``timestamp``) and the reason.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.rows import BatchBuilder, iter_lines
from sekimori.ingest.schema import AUTHENTICATION, FAILURE, GENERIC, NETWORK, PROCESS, SUCCESS, ocsf_name
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

_REPEATED_RE = re.compile(r"message repeated (?P<n>\d+) times: \[ ?(?P<msg>.*?) ?\]$")
_PAM_PREFIX_RE = re.compile(r"pam_(?P<module>[\w-]+)\((?P<svc>[^:)]+):(?P<ptype>\w+)\): ?(?P<msg>.*)$")
_KV_RE = re.compile(r"(\w+)=(\S*)")

# event values shared by many forms
_AUTH = {"category": AUTHENTICATION, "ocsf_class_uid": 3002}
_SSH_NET = {"category": NETWORK, "ocsf_class_uid": 4007, "protocol": "ssh"}


def _port(value: str | None) -> int | None:
    if not value:
        return None
    n = int(value)
    return n if 0 <= n <= 65535 else None


@functools.lru_cache(maxsize=65_536)
def _addr(value: str | None) -> tuple[str | None, str | None]:
    """(ip, host name) from an address field that may hold either."""
    if not value:
        return None, None
    try:
        return str(ipaddress.ip_address(value)), None
    except ValueError:
        return None, value


def _src(ip_or_host: str | None, port: str | None = None) -> dict[str, Any]:
    ip, name = _addr(ip_or_host)
    return {"src_ip": ip, "src_host": name, "src_port": _port(port)}


def _method_code(method: str) -> str:
    base = method.split("/", 1)[0].lower()
    known = {
        "password": "password",
        "publickey": "publickey",
        "keyboard-interactive": "keyboard_interactive",
        "gssapi-with-mic": "gssapi",
        "gssapi-keyex": "gssapi",
        "hostbased": "hostbased",
        "none": "none",
    }
    return known.get(base, "other")


# --------------------------------------------------------------------------------------------------
# message forms: each returns (event fields, parsed details for raw) or None

Match = tuple[dict[str, Any], dict[str, Any]] | None

_SSHD_AUTH = re.compile(
    r"(?P<result>Accepted|Failed) (?P<method>\S+) for (?P<invalid>invalid user )?(?P<user>.*?)"
    r" from (?P<ip>\S+) port (?P<port>\d{1,5})(?: (?P<proto>ssh\d?))?(?:: (?P<info>.*))?$"
)
_SSHD_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Invalid user (?P<user>.*?) from (?P<ip>\S+)(?: port (?P<port>\d{1,5}))?$"), "invalid_user"),
    (
        re.compile(r"input_userauth_request: invalid user (?P<user>.*?)(?: \[preauth\])?$"),
        "invalid_user_request",
    ),
    (
        re.compile(
            r"Connection closed by (?:(?P<kind>authenticating|invalid) user (?P<user>.*?) )?(?P<ip>\S+)"
            r"(?: port (?P<port>\d{1,5}))?(?: \[preauth\])?$"
        ),
        "connection_closed",
    ),
    (
        re.compile(
            r"(?:error: )?Received disconnect from (?P<ip>\S+?)(?: port (?P<port>\d{1,5}))?: ?(?P<code>\d+):"
            r" ?(?P<reason>.*?)(?: \[preauth\])?$"
        ),
        "received_disconnect",
    ),
    (
        re.compile(
            r"Disconnected from (?:(?P<kind>authenticating user|invalid user|user) (?P<user>.+?) )?"
            r"(?P<ip>\S+) port (?P<port>\d{1,5})(?: \[preauth\])?$"
        ),
        "disconnected",
    ),
    (
        re.compile(
            r"reverse mapping checking getaddrinfo for (?P<name>\S+) \[(?P<ip>[^\]]+)\] failed"
            r"(?: - POSSIBLE BREAK-IN ATTEMPT!)?$"
        ),
        "reverse_mapping_failed",
    ),
    (
        re.compile(
            r"Address (?P<ip>\S+) maps to (?P<name>\S+), but this does not map back to the address"
            r"(?: - POSSIBLE BREAK-IN ATTEMPT!)?$"
        ),
        "reverse_mapping_failed",
    ),
    (
        re.compile(r"Did not receive identification string from (?P<ip>\S+)(?: port (?P<port>\d{1,5}))?$"),
        "no_identification",
    ),
    (
        re.compile(
            r"(?:error: )?maximum authentication attempts exceeded for (?P<invalid>invalid user )?"
            r"(?P<user>.*?) from (?P<ip>\S+) port (?P<port>\d{1,5})(?: ssh\d)?(?: \[preauth\])?$"
        ),
        "max_auth_attempts",
    ),
    (
        re.compile(
            r"Disconnecting(?: (?:authenticating|invalid) user \S+ (?P<ip>\S+) port (?P<port>\d{1,5}))?:"
            r" Too many authentication failures(?: for (?:invalid user )?(?P<user>.*?))?(?: \[preauth\])?$"
        ),
        "too_many_failures",
    ),
    (
        re.compile(
            r"Connection from (?P<ip>\S+) port (?P<port>\d{1,5}) on (?P<tip>\S+) port (?P<tport>\d{1,5})"
            r"(?: rdomain \S*)?$"
        ),
        "connection_from",
    ),
)


def _sshd(msg: str) -> Match:
    m = _SSHD_AUTH.match(msg)
    if m:
        ok = m["result"] == "Accepted"
        method = m["method"]
        ev = {
            **_AUTH,
            "event_code": f"sshd.{'accepted' if ok else 'failed'}_{_method_code(method)}",
            "activity": "logon",
            "outcome": SUCCESS if ok else FAILURE,
            "principal": m["user"],
            "auth_package": method,
            "protocol": "ssh",
            "status": "invalid_user" if m["invalid"] else None,
            **_src(m["ip"], m["port"]),
        }
        return ev, _groups(m)
    for regex, form in _SSHD_FORMS:
        m = regex.match(msg)
        if m:
            return _sshd_form(form, m), _groups(m)
    return None


def _sshd_form(form: str, m: re.Match[str]) -> dict[str, Any]:
    g = m.groupdict()
    src = _src(g.get("ip"), g.get("port"))
    code = f"sshd.{form}"
    if form in ("invalid_user", "invalid_user_request"):
        return {
            **_AUTH,
            **src,
            "event_code": code,
            "activity": "preauth",
            "outcome": FAILURE,
            "status": "invalid_user",
            "principal": g["user"],
            "protocol": "ssh",
        }
    if form in ("connection_closed", "received_disconnect"):
        return {
            **_SSH_NET,
            **src,
            "event_code": code,
            "activity": "close",
            "principal": g.get("user"),
            "status": g.get("code"),
        }
    if form == "disconnected":
        if g["kind"] == "user":  # an authenticated session ends
            return {
                **_AUTH,
                **src,
                "event_code": code,
                "activity": "logoff",
                "outcome": SUCCESS,
                "principal": g["user"],
                "protocol": "ssh",
            }
        return {**_SSH_NET, **src, "event_code": code, "activity": "close", "principal": g["user"]}
    if form == "reverse_mapping_failed":
        ip, _ = _addr(g["ip"])
        return {
            **_SSH_NET,
            "event_code": code,
            "activity": "reverse_mapping_failed",
            "src_ip": ip,
            "src_host": g["name"],
            "status": "possible_break_in_attempt",
        }
    if form == "no_identification":
        return {**_SSH_NET, **src, "event_code": code, "activity": "fail"}
    if form in ("max_auth_attempts", "too_many_failures"):
        return {
            **_AUTH,
            **src,
            "event_code": code,
            "activity": "other",
            "outcome": FAILURE,
            "principal": g.get("user"),
            "status": form,
            "protocol": "ssh",
        }
    # connection_from
    tip, _ = _addr(g["tip"])
    return {
        **_SSH_NET,
        **src,
        "event_code": code,
        "activity": "open",
        "target_ip": tip,
        "target_port": _port(g["tport"]),
    }


_PAM_AUTH_FAIL = re.compile(r"authentication failure; ?(?P<kv>.*)$")
_PAM_MORE = re.compile(r"(?:PAM )?(?P<n>\d+) more authentication failures?; ?(?P<kv>.*)$")
_PAM_UNKNOWN = re.compile(r"check pass; user unknown$")
_PAM_OPENED = re.compile(
    r"session opened for user (?P<user>[^\s(]+)(?:\(uid=(?P<uid>\d+)\))?"
    r"(?: by (?P<by>[^\s(]*)(?:\(uid=(?P<byuid>\d+)\))?)?$"
)
_PAM_CLOSED = re.compile(r"session closed for user (?P<user>[^\s(]+)(?:\(uid=\d+\))?$")


def _pam(msg: str, module: str) -> Match:
    package = f"pam_{module}"
    m = _PAM_AUTH_FAIL.match(msg) or _PAM_MORE.match(msg)
    if m:
        kv = dict(_KV_RE.findall(m["kv"]))
        parsed = {k: v for k, v in _groups(m).items() if k != "kv"}
        more = "n" in m.groupdict()
        ev = {
            **_AUTH,
            **_src(kv.get("rhost") or None),
            "event_code": "pam.more_failures" if more else "pam.auth_failure",
            "activity": "other" if more else "logon",
            "outcome": FAILURE,
            "principal": kv.get("user") or None,
            "auth_package": package,
            "status": f"{m['n']}_more_failures" if more else None,
        }
        return ev, {**parsed, **kv}
    if _PAM_UNKNOWN.match(msg):
        return {
            **_AUTH,
            "event_code": "pam.user_unknown",
            "activity": "preauth",
            "outcome": FAILURE,
            "status": "user_unknown",
            "auth_package": package,
        }, {}
    m = _PAM_OPENED.match(msg)
    if m:
        return {
            **_AUTH,
            "event_code": "pam.session_opened",
            "activity": "logon",
            "outcome": SUCCESS,
            "principal": m["user"],
            "auth_package": package,
        }, _groups(m)
    m = _PAM_CLOSED.match(msg)
    if m:
        return {
            **_AUTH,
            "event_code": "pam.session_closed",
            "activity": "logoff",
            "outcome": SUCCESS,
            "principal": m["user"],
            "auth_package": package,
        }, _groups(m)
    return None


_SUDO_RE = re.compile(r"\s*(?P<user>\S+) : (?P<body>.*)$")
_SUDO_SPLIT = re.compile(r"\s*;\s*")


def _sudo(msg: str) -> Match:
    m = _SUDO_RE.match(msg)
    if not m:
        return None
    body = m["body"]
    idx = body.find("COMMAND=")
    command = body[idx + len("COMMAND=") :].strip() if idx >= 0 else None
    head = body[:idx] if idx >= 0 else body
    kv: dict[str, str] = {}
    reasons = []
    for part in _SUDO_SPLIT.split(head.strip().rstrip(";")):
        item = part.strip()
        key, eq, value = item.partition("=")
        if eq and key.isupper():
            kv[key] = value
        elif item:
            reasons.append(item)
    if command is None and not kv:
        return None
    reason = "; ".join(reasons) or None
    details = {"user": m["user"], **kv, "COMMAND": command, "reason": reason}
    ev: dict[str, Any] = {
        "principal": m["user"],
        "object": kv.get("USER"),
        "object_type": "USER" if kv.get("USER") else None,
        "command_line": command,
        "process": command.split()[0] if command else None,
        "status": reason,
    }
    if reason is None:
        ev.update(
            category=PROCESS,
            ocsf_class_uid=1007,
            activity="process_start",
            outcome=SUCCESS,
            event_code="sudo.command",
        )
    elif "incorrect password attempt" in reason:
        ev.update(
            _AUTH,
            activity="logon",
            outcome=FAILURE,
            event_code="sudo.incorrect_password",
            auth_package="sudo",
            process=None,
        )
    else:
        lowered = reason.lower()
        code = (
            "sudo.not_in_sudoers"
            if "not in sudoers" in lowered
            else "sudo.not_allowed"
            if "not allowed" in lowered
            else "sudo.password_required"
            if "password is required" in lowered
            else "sudo.denied"
        )
        ev.update(
            category=PROCESS, ocsf_class_uid=1007, activity="process_start", outcome=FAILURE, event_code=code
        )
    return ev, details


_SU_FORMS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (re.compile(r"\(to (?P<target>\S+)\) (?P<user>\S+) on (?P<tty>\S+)$"), True),
    (re.compile(r"FAILED SU \(to (?P<target>\S+)\) (?P<user>\S+) on (?P<tty>\S+)$"), False),
    (re.compile(r"Successful su for (?P<target>\S+) by (?P<user>\S+)$"), True),
    (re.compile(r"FAILED su for (?P<target>\S+) by (?P<user>\S+)$"), False),
    (re.compile(r"(?P<sign>[+-]) (?P<tty>\S+) (?P<user>[^:\s]+):(?P<target>\S+)$"), True),
)


def _su(msg: str) -> Match:
    for regex, ok in _SU_FORMS:
        m = regex.match(msg)
        if m:
            if m.groupdict().get("sign") == "-":
                ok = False
            ev = {
                **_AUTH,
                "event_code": "su.success" if ok else "su.failed",
                "activity": "logon",
                "outcome": SUCCESS if ok else FAILURE,
                "principal": m["user"],
                "object": m["target"],
                "object_type": "USER",
                "auth_package": "su",
            }
            return ev, _groups(m)
    return None


_LOGIN_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"ROOT LOGIN (?:ON|on) (?P<tty>\S+)(?: FROM (?P<src>\S+))?$"), "login.root_login"),
    (re.compile(r"LOGIN ON (?P<tty>\S+) BY (?P<user>\S+)(?: FROM (?P<src>\S+))?$"), "login.login"),
    (
        re.compile(r"FAILED LOGIN (?:\d+|SESSION) FROM (?P<src>\S+) FOR (?P<user>.*?), (?P<reason>.*)$"),
        "login.failed",
    ),
)


def _login(msg: str) -> Match:
    for regex, code in _LOGIN_FORMS:
        m = regex.match(msg)
        if m:
            ok = code != "login.failed"
            src = m["src"]
            ev = {
                **_AUTH,
                **(_src(src) if src and not src.startswith(("tty", "/dev")) else {}),
                "event_code": code,
                "activity": "logon",
                "outcome": SUCCESS if ok else FAILURE,
                "principal": m.groupdict().get("user") or "root",
                "status": m.groupdict().get("reason"),
            }
            return ev, _groups(m)
    return None


_FTPD_CONN = re.compile(r"connection from (?P<ip>\S+) \((?P<name>[^)]*)\)")
_FTPD_ANON = re.compile(r"ANONYMOUS FTP LOGIN FROM (?P<ip>[^,\s]+), *(?P<ident>.*)$")


def _ftpd(msg: str) -> Match:
    m = _FTPD_CONN.match(msg)
    if m:
        return {
            "category": NETWORK,
            "ocsf_class_uid": 4001,
            "event_code": "ftpd.connection",
            "activity": "open",
            "protocol": "ftp",
            **_src(m["ip"]),
        }, _groups(m)
    m = _FTPD_ANON.match(msg)
    if m:
        return {
            **_AUTH,
            "event_code": "ftpd.anonymous_login",
            "activity": "logon",
            "outcome": SUCCESS,
            "principal": "anonymous",
            "protocol": "ftp",
            **_src(m["ip"]),
        }, _groups(m)
    return None


_KLOGIND_FAIL = re.compile(r"Authentication failed from (?P<ip>\S+) \((?P<name>[^)]*)\): ?(?P<reason>.*?)$")


def _klogind(msg: str) -> Match:
    m = _KLOGIND_FAIL.match(msg)
    if m:
        return {
            **_AUTH,
            "event_code": "klogind.auth_failed",
            "activity": "logon",
            "outcome": FAILURE,
            "auth_package": "kerberos",
            "status": m["reason"] or None,
            **_src(m["ip"]),
        }, _groups(m)
    if msg.startswith("Kerberos authentication failed"):
        return {
            **_AUTH,
            "event_code": "klogind.kerberos_failed",
            "activity": "logon",
            "outcome": FAILURE,
            "auth_package": "kerberos",
        }, {}
    return None


def _groups(m: re.Match[str]) -> dict[str, Any]:
    return {k: v for k, v in m.groupdict().items() if v is not None}


_PROGRAMS: dict[str, Callable[[str], Match]] = {
    "sshd": _sshd,
    "sshd-session": _sshd,
    "sshd-auth": _sshd,
    "sudo": _sudo,
    "su": _su,
    "login": _login,
    "ftpd": _ftpd,
    "in.ftpd": _ftpd,
    "klogind": _klogind,
}


def normalize_message(
    program: str | None, sub: str | None, msg: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Event fields and parsed details for one syslog message; ``event_code`` ``generic`` if unknown."""
    text = msg.rstrip()
    repeated = _REPEATED_RE.match(text)
    details: dict[str, Any] = {}
    if repeated:
        text = repeated["msg"]
        details["repeated"] = int(repeated["n"])
    found: Match = None
    pam = _PAM_PREFIX_RE.match(text)
    if pam:
        details.update(pam_module=pam["module"], pam_service=pam["svc"], pam_type=pam["ptype"])
        found = _pam(pam["msg"].rstrip(), pam["module"])
    elif sub and sub.startswith("pam_"):
        found = _pam(text, sub[4:])
    elif text.startswith("PAM ") and _PAM_MORE.match(text):
        found = _pam(text, "unix")
    if found is None:
        # A line without a tag may still be login(1)'s ("-- root[2421]: ROOT LOGIN ON tty2").
        handler = _PROGRAMS.get(program if program is not None else "login")
        if handler is not None:
            found = handler(text)
    if found is None:
        return {"category": GENERIC, "ocsf_class_uid": 0, "event_code": "generic"}, details
    ev, parsed = found
    details.update(parsed)
    return ev, details


# --------------------------------------------------------------------------------------------------
# header


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


class _YearClock:
    """Year inference for RFC 3164 stamps (see the module docstring)."""

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


def _mtime(source: Source, tz: tzinfo) -> datetime | None:
    try:
        return datetime.fromtimestamp(source.fs_path.stat().st_mtime, tz)
    except (OSError, ValueError, OverflowError):
        return None


def _resolve_tz(value: str | tzinfo | None) -> tzinfo:
    if isinstance(value, tzinfo):
        return value
    name = value if value is not None else os.environ.get(TZ_ENV) or None
    if name is None or name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{TZ_ENV}: unknown IANA time zone") from None


def _resolve_year(value: int | None) -> int | None:
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


def _sniff_line(line: str) -> bool:
    m = _RFC5424_RE.match(line) or _ISO_RE.match(line)
    if m:
        return _ISO_SHAPE.match(m["ts"]) is not None
    m = _BSD_RE.match(line)
    return bool(m and m["mon"].title() in MONTHS and 1 <= int(m["day"]) <= 31)


@register
class SyslogReader(Reader):
    """Linux syslog / auth.log (RFC 3164, RFC 5424, rsyslog ISO timestamps)."""

    name = "syslog"
    description = "Linux syslog and auth.log: RFC 3164 / RFC 5424 / rsyslog ISO; sshd, PAM, sudo, su"
    year: ClassVar[int | None] = None
    tz: ClassVar[str | None] = None

    def __init__(self, year: int | None = None, tz: str | tzinfo | None = None) -> None:
        self._year = _resolve_year(year if year is not None else type(self).year)
        self._tz = _resolve_tz(tz if tz is not None else type(self).tz)

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        text = head.decode("utf-8", errors="replace")
        lines = text.split("\n")
        if len(head) >= 4096 and not text.endswith("\n"):
            lines = lines[:-1]
        lines = [ln.rstrip("\r") for ln in lines if ln.strip()][:20]
        if not lines:
            return 0.0
        hits = sum(1 for ln in lines if _sniff_line(ln))
        if hits >= 3 and hits >= 0.6 * len(lines):
            return 0.9
        if hits == len(lines):  # one or two lines, all syslog
            return 0.5
        return 0.0

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        builder = BatchBuilder(self.batch_size, quarantine)
        clock = _YearClock(self._year, _mtime(source, self._tz))
        cache: dict[str, datetime] = {}
        lines = iter_lines(source, quarantine)
        last = 0
        while True:
            try:
                item = next(lines, None)
            except (zlib.error, zipfile.BadZipFile, tarfile.TarError) as exc:
                # corrupt deflate data / bad CRC in a zip member: iter_lines lets these through
                quarantine.add(f"stream broke off: {exc}"[:200], record=last + 1)
                break
            if item is None:
                break
            lineno, offset, text = item
            last = lineno
            try:
                values = self._event(text, clock, cache)
            except HeaderError as err:
                quarantine.add(err.reason, record=lineno, offset=offset, field=err.field, data=text)
                continue
            values["record_id"] = lineno
            batch = builder.add(**values)
            if batch is not None:
                yield batch
        batch = builder.flush()
        if batch is not None:
            yield batch

    def _event(self, line: str, clock: _YearClock, cache: dict[str, datetime]) -> dict[str, Any]:
        header: dict[str, Any] = {}
        sd = None
        m = _RFC5424_RE.match(line)
        if m:
            header.update(format="rfc5424", version=int(m["ver"]))
            ts = m["ts"]
            if ts == "-":
                raise HeaderError("timestamp", "no timestamp (RFC 5424 NILVALUE)")
            time = _parse_iso(ts, self._tz)
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
                time = _parse_iso(ts, self._tz)
            else:
                m = _BSD_RE.match(line)
                if not m:
                    raise HeaderError("header", "not a syslog header")
                header["format"] = "rfc3164"
                ts = f"{m['mon']} {m['day']} {m['hms']}"
                time = self._bsd_time(m, clock, cache)
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
        ev, details = normalize_message(program, sub, msg)
        raw = {
            "line": line,
            "timestamp": ts,
            "host": host,
            "program": program,
            "pid": pid,
            "subsystem": sub,
            "message": msg,
            **header,
        }
        if details:
            raw["fields"] = details
        if ev.get("category") == AUTHENTICATION:
            ev.setdefault("target_host", host)
        ev.setdefault("process", program)
        ev["ocsf_class_name"] = ocsf_name(ev["ocsf_class_uid"])
        return {
            "time": time,
            "channel": program,
            "provider": program,
            "host": host,
            "process_id": pid,
            **ev,
            "raw": orjson.dumps(raw).decode(),
        }

    def _bsd_time(self, m: re.Match[str], clock: _YearClock, cache: dict[str, datetime]) -> datetime:
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
            local = datetime(
                year, month, int(m["day"]), h, mi, s, int((frac + "000000")[:6]), tzinfo=self._tz
            )
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
