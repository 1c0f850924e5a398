"""PostgreSQL's log layouts read into log entries: csvlog records and stderr lines with their prefix.

This module owns the shape of a PostgreSQL server log, not its meaning: the csvlog columns
(``CSV_COLUMNS``: 23 in PostgreSQL 12, 24 in 13, 26 in 14–17, more kept in ``raw``; quoted fields may
span lines), the stderr ``log_line_prefix`` (``%m``/``%t`` first, ``[%p]`` somewhere, ``user@db`` or
``user=,db=,app=,client=`` read when present), continuation lines and the ``DETAIL``/``HINT``/
``STATEMENT``/… lines folded into the entry above as csvlog has them, and the decoded lines with their
numbers and offsets (``Lines``; a line that is not UTF-8 quarantines its entry). Each entry comes out
as an ``Entry`` with csvlog's column names; ``sekimori.ingest.pgaudit.events`` says what it means.
"""

from __future__ import annotations

import csv
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sekimori.ingest.base import Quarantine
from sekimori.ingest.source import SourceError

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
CSV_FIELD_LIMIT = 16 << 20  # a pgaudit statement can be large (bulk INSERT): 16 MiB per field

_SEV = "|".join(sorted(SEVERITIES | set(ATTACHED), key=len, reverse=True))
STDERR_RE = re.compile(
    r"(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
    r"(?: (?:[A-Za-z][A-Za-z0-9_/+\-]*|[+-]\d{2}(?::?\d{2})?))?)"
    r"(?P<mid> .*?)?(?P<sev>" + _SEV + r"):  (?P<msg>.*)$"
)
PID_RE = re.compile(r"\[(\d{1,10})\]")
_USER_DB_RE = re.compile(r"(?:^|\s)(?P<user>[^\s@]*)@(?P<db>[^\s@]*)(?=\s|$)")
_KV_PREFIX_RE = re.compile(r"\b(user|db|app|client|host)=([^,\s]*)")
# first line of a csvlog file (PostgreSQL does not quote log_time; a re-export may)
CSV_START_RE = re.compile(r'"?\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?: [\w/+:\-]+)?"?,')


class EntryError(Exception):
    """An entry that cannot become an event: the field at fault and why (for the quarantine)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass
class Entry:
    """One log entry, whichever layout it came from (csvlog column names)."""

    lineno: int
    offset: int
    fields: dict[str, str]
    raw: dict[str, Any] = field(default_factory=dict)


class Lines:
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

    def __iter__(self) -> Lines:
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


def csv_entries(lines: Lines, quarantine: Quarantine) -> Iterator[Entry]:
    """The entries of a csvlog file; records that are not CSV or too short go to the quarantine."""
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
        yield Entry(start, offset, fields, raw)


def stderr_entries(lines: Lines, quarantine: Quarantine) -> Iterator[Entry]:
    """The entries of a stderr log; lines without a known prefix go to the quarantine."""
    pending: Entry | None = None
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
        m = STDERR_RE.match(line)
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
        pid_m = PID_RE.search(mid)
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
        pending = Entry(lineno, offset, fields, {"lines": [line], "prefix": mid.strip()})
        last_key = "message"
    if pending is not None:
        yield pending


def entry_text(entry: Entry) -> str:
    """The entry as the quarantine keeps it: its lines (stderr), else its csvlog columns up to ``message``."""
    lines = entry.raw.get("lines")
    if lines:
        return "\n".join(lines)
    return ",".join(entry.fields.get(c, "") for c in CSV_COLUMNS[:14])
