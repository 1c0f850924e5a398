"""Linux audit logs (``/var/log/audit/audit.log``): raw and ENRICHED records, joined into events.

Each line is one record, ``[node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value …``;
the records of one event share the ``audit(…)`` stamp and are joined on it (with the node) within a
bounded window, so interleaved events are reassembled and memory stays flat (see
``sekimori.ingest.auditd.assemble``). Hex-encoded values are decoded, EXECVE arguments rebuilt, and
SOCKADDR addresses decoded (``sekimori.ingest.auditd.records``); one event row is written per audit
event (``sekimori.ingest.auditd.events`` says what it means).

Also read: Microsoft Sentinel / Log Analytics ``Syslog`` rows (JSON lines) whose ``SyslogMessage`` is
an audit record, as AUOMS (the OMS/Azure Monitor auditd plug-in) forwards them (``type=AUOMS_EXECVE
audit(…): …``); such a record is a whole event, and the row is kept in ``raw`` under ``envelope``.

``ausearch``'s default output (the raw records of each event after ``----`` and ``time->…`` lines) is
read the same way; those two decoration lines are skipped. Its ``--interpret`` / ``--format`` forms and
``aureport`` are not read: they give local time without a zone.

A line that is not a record (no ``type=``/``audit(time:serial)`` header, a bad JSON row) is
quarantined with its line number, field and reason; reading goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from sekimori.ingest.auditd.assemble import AuditEvent, Reassembler
from sekimori.ingest.auditd.events import event_columns
from sekimori.ingest.auditd.records import HEADER_RE, parse_record
from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.fit import BadValue
from sekimori.ingest.rows import BatchBuilder, iter_lines
from sekimori.ingest.source import Source

_ROW_MESSAGE_KEYS = ("SyslogMessage", "syslogMessage", "syslog_message")


def _decoration(line: str) -> bool:
    """``ausearch``'s own lines between events (``----``, ``time->Mon Apr 10 10:22:36 2017``)."""
    return line.startswith(("----", "time->"))


def _row_message(row: dict[str, Any]) -> str | None:
    for key in _ROW_MESSAGE_KEYS:
        value = row.get(key)
        if isinstance(value, str):
            return value
    return None


def _is_record(line: str) -> bool:
    if line.startswith("{"):
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            return False
        message = _row_message(row) if isinstance(row, dict) else None
        return message is not None and HEADER_RE.match(message) is not None
    return HEADER_RE.match(line) is not None


@register
class AuditdReader(Reader):
    """Linux auditd raw / ENRICHED logs, and AUOMS records in Sentinel Syslog rows."""

    name = "auditd"
    description = "Linux audit logs (auditd raw/ENRICHED; AUOMS Syslog rows): records joined into events"
    window = 512  # open events kept while joining records

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        text = head.decode("utf-8", errors="replace")
        lines = text.split("\n")
        if len(head) >= 4096 and not text.endswith("\n"):
            lines = lines[:-1]  # the last line may be cut off
        lines = [ln.strip() for ln in lines if ln.strip()][:20]
        if not lines:
            return 0.0
        lines = [ln for ln in lines if not _decoration(ln)]
        if not lines:
            return 0.0
        hits = sum(1 for ln in lines if _is_record(ln))
        if hits >= 3 and hits >= 0.6 * len(lines):
            return 0.95
        return 0.9 if hits == len(lines) else 0.0

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        builder = BatchBuilder(self.batch_size, quarantine)
        joiner = Reassembler(self.window)
        for lineno, offset, line in iter_lines(source, quarantine, encoding="utf-8-sig"):
            if _decoration(line):
                continue  # no data of their own: the records below carry the stamp
            try:
                done = self._push(joiner, lineno, line)
            except BadValue as err:
                quarantine.add(err.reason, record=lineno, offset=offset, field=err.field, data=line)
                continue
            for event in done:
                batch = builder.add(**event_columns(event))
                if batch is not None:
                    yield batch
        for event in joiner.flush():
            batch = builder.add(**event_columns(event))
            if batch is not None:
                yield batch
        batch = builder.flush()
        if batch is not None:
            yield batch

    @staticmethod
    def _push(joiner: Reassembler, lineno: int, line: str) -> list[AuditEvent]:
        if not line.startswith("{"):
            return joiner.push(parse_record(line.strip()), lineno)
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise BadValue("row", f"not JSON: {exc}") from exc
        message = _row_message(row) if isinstance(row, dict) else None
        if message is None:
            raise BadValue("SyslogMessage", "JSON row without a SyslogMessage")
        record = parse_record(message.strip())
        if record.node is None:
            node = record.fields.get("node")
            record.node = node if isinstance(node, str) and node else _host(row)
        # A forwarded record stands alone (AUOMS writes one record per event).
        return [AuditEvent(records=[record], lines=[lineno], envelope=row)]


def _host(row: dict[str, Any]) -> str | None:
    for key in ("Computer", "HostName", "host"):
        value = row.get(key)
        if isinstance(value, str) and value:
            return value
    return None
