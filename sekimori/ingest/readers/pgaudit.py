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

This module holds the registered reader (sniffing and reading); the log layouts are
``sekimori.ingest.pgaudit.entries``, the time stamps ``sekimori.ingest.pgaudit.times`` and what an
entry means ``sekimori.ingest.pgaudit.events``.
"""

from __future__ import annotations

import csv
import tarfile
import zipfile
import zlib
from collections.abc import Iterator

import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.pgaudit.entries import (
    ATTACHED,
    CSV_COLUMNS,
    CSV_FIELD_LIMIT,
    CSV_START_RE,
    MIN_CSV_COLUMNS,
    PID_RE,
    SEVERITIES,
    STDERR_RE,
    EntryError,
    Lines,
    csv_entries,
    entry_text,
    stderr_entries,
)
from sekimori.ingest.pgaudit.events import AUDIT_CLASSES, AUDIT_FIELDS, Sessions, entry_event
from sekimori.ingest.pgaudit.times import TS_RE, TZ_ABBREVIATIONS, parse_time
from sekimori.ingest.rows import BatchBuilder
from sekimori.ingest.source import Source, SourceError

__all__ = [
    "ATTACHED",
    "AUDIT_CLASSES",
    "AUDIT_FIELDS",
    "CSV_COLUMNS",
    "CSV_FIELD_LIMIT",
    "MIN_CSV_COLUMNS",
    "SEVERITIES",
    "TZ_ABBREVIATIONS",
    "EntryError",
    "PgauditReader",
    "parse_time",
]


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
        if CSV_START_RE.match(first):
            try:
                row = next(csv.reader(iter(text.splitlines(keepends=True))))
            except (csv.Error, StopIteration):
                return 0.0
            ok = len(row) >= MIN_CSV_COLUMNS and row[11] in SEVERITIES and TS_RE.match(row[0]) is not None
            return 0.95 if ok else 0.0
        lines = text.split("\n")
        if len(head) >= 4096 and not text.endswith("\n"):
            lines = lines[:-1]
        lines = [ln.rstrip("\r") for ln in lines if ln.strip() and not ln.startswith("\t")][:20]
        if not lines:
            return 0.0
        hits = sum(1 for ln in lines if STDERR_RE.match(ln) and PID_RE.search(ln))
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
            lines = Lines(fh, quarantine)
            is_csv = CSV_START_RE.match(head.decode("utf-8", "replace").lstrip("\ufeff")) is not None
            entries = csv_entries(lines, quarantine) if is_csv else stderr_entries(lines, quarantine)
            state = Sessions()
            for entry in entries:
                try:
                    values = entry_event(entry, state)
                except EntryError as err:
                    quarantine.add(
                        err.reason,
                        record=entry.lineno,
                        offset=entry.offset,
                        field=err.field,
                        data=entry_text(entry),
                    )
                    continue
                batch = builder.add(**values)
                if batch is not None:
                    yield batch
        batch = builder.flush()
        if batch is not None:
            yield batch
