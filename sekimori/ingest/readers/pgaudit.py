"""PostgreSQL server logs carrying pgAudit records: reading personal data becomes an event.

Two layouts are read (the file's first line decides):

* **csvlog** (``log_destination = 'csvlog'``): one CSV record per log entry, 23 columns in
  PostgreSQL 12, 24 in 13 (``backend_type``), 26 in 14–17 (``leader_pid``, ``query_id``); more are kept
  in ``raw``. Quoted fields may span lines (multi-line statements).
* **stderr** with a ``log_line_prefix`` that starts with ``%m`` or ``%t`` and holds ``[%p]``, e.g. the
  Debian default ``'%m [%p] %q%u@%d '`` or ``'%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '``.
  Continuation lines (a leading tab) belong to the entry above; ``DETAIL``/``HINT``/``STATEMENT``/…
  lines of the same process are folded into that entry, as csvlog does.

A message ``AUDIT: <pgaudit CSV>`` (fields AUDIT_TYPE, STATEMENT_ID, SUBSTATEMENT_ID, CLASS, COMMAND,
OBJECT_TYPE, OBJECT_NAME, STATEMENT, PARAMETER[, ROWS]) becomes a ``data_access`` event (OCSF 6005,
activity ``query``, event code ``pgaudit.<class>``). Connection log-ins and log-in failures become
``authentication`` events; every other entry is kept as a ``generic`` event.

Time stamps carry PostgreSQL's zone abbreviation (``log_timezone``): ``UTC``/``GMT``, numeric offsets
(``+09``, ``-0330``) and the abbreviations in ``TZ_ABBREVIATIONS`` are understood; an unknown
abbreviation quarantines the entry (field ``timestamp``) rather than guess.
"""

from __future__ import annotations

import csv
import ipaddress
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.rows import BatchBuilder
from sekimori.ingest.schema import AUTHENTICATION, DATA_ACCESS, FAILURE, GENERIC, SUCCESS, ocsf_name
from sekimori.ingest.source import Source, SourceError

CSV_COLUMNS = (
    "log_time",
    "user_name",
    "database_name",
    "process_id",
    "connection_from",
    "session_id",
    "session_line_num",
    "command_tag",
    "session_start_time",
    "virtual_transaction_id",
    "transaction_id",
    "error_severity",
    "sql_state_code",
    "message",
    "detail",
    "hint",
    "internal_query",
    "internal_query_pos",
    "context",
    "query",
    "query_pos",
    "location",
    "application_name",
    "backend_type",  # PostgreSQL 13+
    "leader_pid",  # 14+
    "query_id",  # 14+
)
MIN_CSV_COLUMNS = 23
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
SEVERITIES = frozenset(
    {
        "DEBUG",
        "DEBUG1",
        "DEBUG2",
        "DEBUG3",
        "DEBUG4",
        "DEBUG5",
        "LOG",
        "INFO",
        "NOTICE",
        "WARNING",
        "ERROR",
        "FATAL",
        "PANIC",
    }
)
# stderr lines that belong to the entry above them (csvlog has them as columns)
ATTACHED = {
    "DETAIL": "detail",
    "HINT": "hint",
    "QUERY": "internal_query",
    "CONTEXT": "context",
    "LOCATION": "location",
    "STATEMENT": "query",
}
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
CSV_FIELD_LIMIT = 16 << 20  # a pgaudit statement can be large (bulk INSERT): 16 MiB per field

_TS_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,6}))?"
    r"(?: (?P<tz>[A-Za-z][A-Za-z0-9_/+\-]*|[+-]\d{2}(?::?\d{2})?))?$"
)
_SEV = "|".join(sorted(SEVERITIES | set(ATTACHED), key=len, reverse=True))
_STDERR_RE = re.compile(
    r"(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
    r"(?: (?:[A-Za-z][A-Za-z0-9_/+\-]*|[+-]\d{2}(?::?\d{2})?))?)"
    r"(?P<mid> .*?)?(?P<sev>" + _SEV + r"):  (?P<msg>.*)$"
)
_PID_RE = re.compile(r"\[(\d{1,10})\]")
_USER_DB_RE = re.compile(r"(?:^|\s)(?P<user>[^\s@]*)@(?P<db>[^\s@]*)(?=\s|$)")
_KV_PREFIX_RE = re.compile(r"\b(user|db|app|client|host)=([^,\s]*)")
# first line of a csvlog file (PostgreSQL does not quote log_time; a re-export may)
_CSV_START_RE = re.compile(r'"?\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?: [\w/+:\-]+)?"?,')

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


class EntryError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


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
    m = _TS_RE.match(text)
    if not m:
        raise EntryError("timestamp", "not a PostgreSQL log time stamp")
    frac = m["frac"]
    try:
        dt = datetime.fromisoformat(f"{m['date']}T{m['time']}{'.' + frac.ljust(6, '0') if frac else ''}")
    except ValueError:
        raise EntryError("timestamp", "date or time out of range") from None
    return dt.replace(tzinfo=_tz(m["tz"])).astimezone(UTC)


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


@dataclass
class _Entry:
    """One log entry, whichever layout it came from (csvlog column names)."""

    lineno: int
    offset: int
    fields: dict[str, str]
    raw: dict[str, Any] = field(default_factory=dict)


class _Lines:
    """Decoded lines (with their line break) with line numbers and offsets; the stream may break off.

    Lines that are not UTF-8 are decoded with ``surrogateescape`` and flagged in ``bad`` so that the
    entry they belong to can be quarantined as a whole.
    """

    def __init__(self, fh: BinaryIO, quarantine: Quarantine) -> None:
        self._fh = fh
        self._q = quarantine
        self.lineno = 0
        self.offset = 0  # offset of the next line
        self.line_offset = 0  # offset of the last line returned
        self.bad: list[tuple[int, int, str, bytes]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            raw = self._fh.readline()
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError, SourceError) as exc:
            self._q.add(f"stream broke off: {exc}"[:200], record=self.lineno + 1, offset=self.offset)
            raise StopIteration from None
        if not raw:
            raise StopIteration
        self.lineno += 1
        self.line_offset = self.offset
        self.offset += len(raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"not utf-8 text: {exc.reason}"
            self.bad.append((self.lineno, self.line_offset, reason, raw.rstrip(b"\r\n")))
            return raw.decode("utf-8", errors="surrogateescape")


def _parse_audit(message: str) -> dict[str, str]:
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


@register
class PgauditReader(Reader):
    """PostgreSQL csvlog / stderr logs with pgAudit ``AUDIT:`` records."""

    name = "pgaudit"
    description = "PostgreSQL logs (csvlog or stderr) with pgAudit records: data access, log-ins"

    # -- sniffing ---------------------------------------------------------------------------------
    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
        first = text.split("\n", 1)[0]
        if _CSV_START_RE.match(first):
            try:
                row = next(csv.reader(iter(text.splitlines(keepends=True))))
            except (csv.Error, StopIteration):
                return 0.0
            ok = len(row) >= MIN_CSV_COLUMNS and row[11] in SEVERITIES and _TS_RE.match(row[0]) is not None
            return 0.95 if ok else 0.0
        lines = text.split("\n")
        if len(head) >= 4096 and not text.endswith("\n"):
            lines = lines[:-1]
        lines = [ln.rstrip("\r") for ln in lines if ln.strip() and not ln.startswith("\t")][:20]
        if not lines:
            return 0.0
        hits = sum(1 for ln in lines if _STDERR_RE.match(ln) and _PID_RE.search(ln))
        if hits >= 3 and hits >= 0.8 * len(lines):
            return 0.9 if "AUDIT: " in text else 0.8
        return 0.5 if hits == len(lines) else 0.0

    # -- reading ----------------------------------------------------------------------------------
    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        builder = BatchBuilder(self.batch_size, quarantine)
        try:
            head = source.head(4096)
        except (SourceError, zlib.error, zipfile.BadZipFile, tarfile.TarError):
            head = b""  # the line reader below reports where the stream breaks
        try:
            fh = source.open()
        except SourceError as exc:
            quarantine.add(f"cannot open: {type(exc.__cause__ or exc).__name__}", record=1, offset=0)
            return
        with fh:
            lines = _Lines(fh, quarantine)
            is_csv = _CSV_START_RE.match(head.decode("utf-8", "replace").lstrip("\ufeff")) is not None
            entries = self._csv(lines, quarantine) if is_csv else self._stderr(lines, quarantine)
            state = _Sessions()
            for entry in entries:
                try:
                    values = self._event(entry, state)
                except EntryError as err:
                    quarantine.add(
                        err.reason,
                        record=entry.lineno,
                        offset=entry.offset,
                        field=err.field,
                        data=_entry_text(entry),
                    )
                    continue
                batch = builder.add(**values)
                if batch is not None:
                    yield batch
        batch = builder.flush()
        if batch is not None:
            yield batch

    # csvlog ---------------------------------------------------------------------------------------
    def _csv(self, lines: _Lines, quarantine: Quarantine) -> Iterator[_Entry]:
        if csv.field_size_limit() < CSV_FIELD_LIMIT:
            csv.field_size_limit(CSV_FIELD_LIMIT)  # process-wide, only ever raised
        reader = csv.reader(lines)
        while True:
            start, offset = lines.lineno + 1, lines.offset
            lines.bad.clear()
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                quarantine.add(f"CSV: {exc}", record=start, offset=offset, field="record")
                continue
            if lines.bad:
                _, _, reason, data = lines.bad[0]
                quarantine.add(reason, record=start, offset=offset, field="record", data=data)
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) < MIN_CSV_COLUMNS:
                quarantine.add(
                    f"{len(row)} fields, expected {MIN_CSV_COLUMNS} to {len(CSV_COLUMNS)}+",
                    record=start,
                    offset=offset,
                    field="record",
                    data=",".join(row),
                )
                continue
            fields = dict(zip(CSV_COLUMNS, row, strict=False))
            raw: dict[str, Any] = {k: v for k, v in fields.items() if v != ""}
            if len(row) > len(CSV_COLUMNS):
                raw["extra"] = row[len(CSV_COLUMNS) :]
            yield _Entry(start, offset, fields, raw)

    # stderr ---------------------------------------------------------------------------------------
    def _stderr(self, lines: _Lines, quarantine: Quarantine) -> Iterator[_Entry]:
        pending: _Entry | None = None
        last_key: str | None = None  # field that continuation lines extend
        for text in lines:
            lineno, offset = lines.lineno, lines.line_offset
            if lines.bad:
                _, _, reason, data = lines.bad.pop()
                quarantine.add(reason, record=lineno, offset=offset, field="line", data=data)
                continue
            line = text.rstrip("\r\n")
            if not line.strip() and not line.startswith("\t"):
                continue
            if line.startswith("\t"):
                if pending is None or last_key is None:
                    quarantine.add(
                        "continuation line without an entry",
                        record=lineno,
                        offset=offset,
                        field="header",
                        data=line,
                    )
                else:
                    pending.fields[last_key] += "\n" + line[1:]
                    pending.raw["lines"].append(line)
                continue
            m = _STDERR_RE.match(line)
            if not m:
                quarantine.add(
                    "not a PostgreSQL log line (log_line_prefix)",
                    record=lineno,
                    offset=offset,
                    field="header",
                    data=line,
                )
                continue
            mid = m["mid"] or ""
            pid_m = _PID_RE.search(mid)
            pid = pid_m.group(1) if pid_m else ""
            sev = m["sev"]
            attached = ATTACHED.get(sev)
            if attached and pending is not None and pending.fields["process_id"] == pid:
                pending.fields[attached] = m["msg"]
                pending.raw["lines"].append(line)
                last_key = attached
                continue
            if pending is not None:
                yield pending
            fields = {"log_time": m["ts"], "process_id": pid, "error_severity": sev, "message": m["msg"]}
            ud = _USER_DB_RE.search(mid)
            if ud:
                fields["user_name"], fields["database_name"] = ud["user"], ud["db"]
            for key, value in _KV_PREFIX_RE.findall(mid):
                target = {"user": "user_name", "db": "database_name", "app": "application_name"}.get(key)
                fields[target or "connection_from"] = value
            pending = _Entry(lineno, offset, fields, {"lines": [line], "prefix": mid.strip()})
            last_key = "message"
        if pending is not None:
            yield pending

    # events ---------------------------------------------------------------------------------------
    def _event(self, entry: _Entry, state: _Sessions) -> dict[str, Any]:
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
            audit = _parse_audit(message)
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
            ev.update(self._server_message(severity, message, f, pid, state, ev))
            query = f.get("query")
            if query:
                ev["command_line"] = query
        ev["ocsf_class_name"] = ocsf_name(ev["ocsf_class_uid"])
        ev["raw"] = orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS).decode(errors="replace")
        return ev

    @staticmethod
    def _server_message(
        severity: str, message: str, f: dict[str, str], pid: int | None, state: _Sessions, ev: dict[str, Any]
    ) -> dict[str, Any]:
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


class _Sessions:
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


def _entry_text(entry: _Entry) -> str:
    lines = entry.raw.get("lines")
    if lines:
        return "\n".join(lines)
    return ",".join(entry.fields.get(c, "") for c in CSV_COLUMNS[:14])
