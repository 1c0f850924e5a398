"""What a PostgreSQL log entry says, as event columns: a pgAudit record, a log-in, or a server message.

This module owns the classification of entries (``entry_event``). A message ``AUDIT: <pgaudit CSV>``
(fields ``AUDIT_FIELDS``) becomes a ``data_access`` event (OCSF 6005, activity ``query``, event code
``pgaudit.<class>``, the statement as ``command_line``); connection log-ins, log-in failures (password,
pg_hba.conf, missing role) and disconnections become ``authentication`` events; every other entry is
kept as a ``generic`` event. stderr logs state a session's client address and auth method once, on
their own lines: ``Sessions`` remembers them per process for the entries that follow.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from typing import Any

import orjson

from sekimori.ingest.pgaudit.entries import ATTACHED, SEVERITIES, Entry, EntryError
from sekimori.ingest.pgaudit.times import parse_time
from sekimori.ingest.schema import AUTHENTICATION, DATA_ACCESS, FAILURE, GENERIC, SUCCESS, ocsf_name

AUDIT_FIELDS = (
    "audit_type",
    "statement_id",
    "substatement_id",
    "class",
    "command",
    "object_type",
    "object_name",
    "statement",
    "parameter",
    "rows",
)
AUDIT_CLASSES = frozenset({"READ", "WRITE", "FUNCTION", "ROLE", "DDL", "MISC", "MISC_SET"})

_CONN_RECEIVED = re.compile(r"connection received: host=(?P<host>\S+?)(?: port=(?P<port>\d{1,5}))?$")
_CONN_AUTHENTICATED = re.compile(
    r'connection authenticated: identity="(?P<identity>.*)" method=(?P<method>\S+)'
)
_CONN_AUTHORIZED = re.compile(r"connection authorized: user=(?P<user>\S+)(?: database=(?P<db>\S+))?")
_AUTH_FAILED = re.compile(r'(?P<method>[\w-]+) authentication failed for user "(?P<user>.*)"$')
_NO_HBA = re.compile(
    r'no pg_hba\.conf entry for (?:replication connection from )?host "(?P<host>[^"]*)",'
    r' user "(?P<user>[^"]*)"'
    r'(?:, database "(?P<db>[^"]*)")?'
)
_HBA_REJECT = re.compile(
    r'pg_hba\.conf rejects (?:replication )?connection for host "(?P<host>[^"]*)", user "(?P<user>[^"]*)"'
    r'(?:, database "(?P<db>[^"]*)")?'
)
_ROLE_MISSING = re.compile(r'role "(?P<user>.*)" does not exist$')
_DISCONNECTION = re.compile(
    r"disconnection: session time: (?P<duration>\S+) user=(?P<user>\S+) database=(?P<db>\S+)"
    r" host=(?P<host>\S+?)(?: port=(?P<port>\d{1,5}))?$"
)


def _int(value: str | None, name: str, limit: int = 2**62) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 19 or int(value) > limit:
        raise EntryError(name, f"{name} is not a number")
    return int(value)


def _address(text: str | None, port: str | None = None) -> dict[str, Any]:
    """src_ip / src_host / src_port from ``10.0.0.5:51234``, ``[local]``, ``::1:5432`` or a host name."""
    if not text or text == "[local]":
        return {}
    host = text
    if port is None and ":" in text:
        host, _, tail = text.rpartition(":")
        if tail.isdigit():
            port = tail
        else:
            host = text
    try:
        ip: str | None = str(ipaddress.ip_address(host.strip("[]")))
        name = None
    except ValueError:
        ip, name = None, host
    p = int(port) if port and port.isdigit() and int(port) <= 65535 else None
    return {"src_ip": ip, "src_host": name, "src_port": p}


def _unknown(value: str | None) -> str | None:
    return None if not value or value == "[unknown]" else value


def parse_audit(message: str) -> dict[str, str]:
    """The fields of an ``AUDIT: <pgaudit CSV>`` message; ``EntryError`` when it is not one."""
    payload = message[len("AUDIT: ") :]
    try:
        values = next(csv.reader([payload], strict=True))
    except (csv.Error, StopIteration):
        raise EntryError("message", "pgaudit record is not valid CSV") from None
    if len(values) < 7 or values[0] not in ("SESSION", "OBJECT"):
        raise EntryError("message", "not a pgaudit record (AUDIT_TYPE,STATEMENT_ID,…)")
    if not (values[1].isdigit() and values[2].isdigit()) or not re.fullmatch(r"[A-Z_]+", values[3]):
        raise EntryError("message", "not a pgaudit record (AUDIT_TYPE,STATEMENT_ID,…)")
    audit = dict(zip(AUDIT_FIELDS, values, strict=False))
    if len(values) > len(AUDIT_FIELDS):
        audit["extra"] = values[len(AUDIT_FIELDS) :]  # type: ignore[assignment]
    return audit


def entry_event(entry: Entry, state: Sessions) -> dict[str, Any]:
    """The event columns of one entry; ``EntryError`` for a value that does not fit."""
    f = entry.fields
    time = parse_time(f.get("log_time", ""))
    pid = _int(f.get("process_id"), "process_id")
    severity = f.get("error_severity", "")
    if severity and severity not in SEVERITIES and severity not in ATTACHED:
        raise EntryError("error_severity", "unknown severity")
    message = f.get("message", "")
    user = _unknown(f.get("user_name"))
    database = _unknown(f.get("database_name"))
    # stderr prefixes give the client host without its port: complete it from "connection received".
    src = {**state.address(pid), **{k: v for k, v in _address(f.get("connection_from")).items() if v}}
    sql_state = f.get("sql_state_code") or None
    raw: dict[str, Any] = {k: v for k, v in f.items() if v != ""}
    raw.update(entry.raw)
    ev: dict[str, Any] = {
        "time": time,
        "record_id": entry.lineno,
        "channel": "postgresql",
        "provider": "postgresql",
        "process_id": pid,
        "principal": user,
        "database": database,
        "status": sql_state if sql_state != "00000" else None,
        **src,
    }
    if message.startswith("AUDIT: "):
        audit = parse_audit(message)
        raw["audit"] = audit
        statement = audit.get("statement")
        ev.update(
            provider="pgaudit",
            event_code=f"pgaudit.{audit['class'].lower()}",
            category=DATA_ACCESS,
            activity="query",
            ocsf_class_uid=6005,
            outcome=SUCCESS,
            object=audit.get("object_name") or None,
            object_type=audit.get("object_type") or None,
            action=audit.get("command") or None,
            command_line=statement if statement and statement != "<previously logged>" else None,
        )
    else:
        ev.update(_server_message(severity, message, f, pid, state, ev))
        query = f.get("query")
        if query:
            ev["command_line"] = query
    ev["ocsf_class_name"] = ocsf_name(ev["ocsf_class_uid"])
    ev["raw"] = orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS).decode(errors="replace")
    return ev


def _server_message(
    severity: str, message: str, f: dict[str, str], pid: int | None, state: Sessions, ev: dict[str, Any]
) -> dict[str, Any]:
    """The columns a server message (not a pgAudit record) adds: a connection step or a generic entry."""
    generic: dict[str, Any] = {
        "category": GENERIC,
        "ocsf_class_uid": 0,
        "event_code": f"postgresql.{severity.lower() or 'log'}",
    }
    auth = {"category": AUTHENTICATION, "ocsf_class_uid": 3002, "protocol": "postgresql"}
    m = _CONN_RECEIVED.match(message)
    if m:
        address = _address(m["host"], m["port"])
        state.received(pid, address)
        return {**generic, **address, "event_code": "postgresql.connection_received"}
    m = _CONN_AUTHENTICATED.match(message)
    if m:
        state.method(pid, m["method"])
        return {
            **generic,
            "event_code": "postgresql.connection_authenticated",
            "auth_package": m["method"],
        }
    m = _CONN_AUTHORIZED.match(message)
    if m:
        return {
            **auth,
            "event_code": "postgresql.connection_authorized",
            "activity": "logon",
            "outcome": SUCCESS,
            "principal": m["user"],
            "database": m["db"] or ev["database"],
            "auth_package": state.auth_method(pid),
        }
    m = _AUTH_FAILED.match(message)
    if m:
        return {
            **auth,
            "event_code": "postgresql.auth_failed",
            "activity": "logon",
            "outcome": FAILURE,
            "principal": m["user"],
            "auth_package": m["method"].lower(),
        }
    m = _NO_HBA.match(message)
    if m:
        return {
            **auth,
            **_address(m["host"]),
            "event_code": "postgresql.no_hba_entry",
            "activity": "logon",
            "outcome": FAILURE,
            "principal": m["user"],
            "database": m["db"] or ev["database"],
        }
    m = _HBA_REJECT.match(message)
    if m:
        return {
            **auth,
            **_address(m["host"]),
            "event_code": "postgresql.hba_reject",
            "activity": "logon",
            "outcome": FAILURE,
            "principal": m["user"],
            "database": m["db"] or ev["database"],
        }
    m = _ROLE_MISSING.match(message)
    if m and severity == "FATAL":
        return {
            **auth,
            "event_code": "postgresql.role_missing",
            "activity": "logon",
            "outcome": FAILURE,
            "principal": m["user"],
        }
    m = _DISCONNECTION.match(message)
    if m:
        state.ended(pid)
        return {
            **auth,
            **_address(m["host"], m["port"]),
            "event_code": "postgresql.disconnection",
            "activity": "logoff",
            "outcome": SUCCESS,
            "principal": m["user"],
            "database": m["db"],
        }
    return generic


class Sessions:
    """Per-process facts that stderr logs state once (client address, auth method)."""

    def __init__(self) -> None:
        self._addr: dict[int, dict[str, Any]] = {}
        self._method: dict[int, str] = {}

    def received(self, pid: int | None, address: dict[str, Any]) -> None:
        if pid is not None and address:
            if len(self._addr) > 100_000:
                self._addr.clear()
            self._addr[pid] = address

    def address(self, pid: int | None) -> dict[str, Any]:
        return self._addr.get(pid, {}) if pid is not None else {}

    def method(self, pid: int | None, method: str) -> None:
        if pid is not None:
            if len(self._method) > 100_000:
                self._method.clear()
            self._method[pid] = method

    def auth_method(self, pid: int | None) -> str | None:
        return self._method.get(pid) if pid is not None else None

    def ended(self, pid: int | None) -> None:
        if pid is not None:
            self._addr.pop(pid, None)
            self._method.pop(pid, None)
