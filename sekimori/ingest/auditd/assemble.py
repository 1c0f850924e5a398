"""Records into events: the kernel writes one event as several records sharing ``audit(time:serial)``,
and the records of concurrent events interleave in the log.

Records are joined on (node, time:serial) within a bounded window of open events, so memory stays
flat whatever the file size. An event is complete when its ``EOE`` record arrives, at once when it is a
user-space record (libaudit gives each its own serial), when it is the oldest of more than ``window``
open events, or at the end of the file. A record arriving after its event left the window starts a
second event with the same serial (go-libaudit's reassembler drops it instead).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sekimori.ingest.auditd.records import AuditRecord
from sekimori.ingest.auditd.tables import is_user_space

DEFAULT_WINDOW = 512


@dataclass
class AuditEvent:
    records: list[AuditRecord] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # line number of each record (EOE included)
    envelope: dict[str, Any] | None = None  # the forwarding row (Sentinel Syslog) around the record

    @property
    def first_line(self) -> int:
        return self.lines[0]


class Reassembler:
    """Push records in file order; completed events come back in the order they complete."""

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        self.window = window
        self._open: OrderedDict[tuple[str | None, str], AuditEvent] = OrderedDict()

    def push(self, record: AuditRecord, line: int) -> list[AuditEvent]:
        key = (record.node, record.stamp)
        if record.type == "EOE":
            event = self._open.pop(key, None)
            if event is None:
                return []  # the end of an event already complete (or never seen): nothing to add
            event.lines.append(line)
            return [event]
        event = self._open.get(key)
        if event is None:
            event = self._open[key] = AuditEvent()
        event.records.append(record)
        event.lines.append(line)
        done: list[AuditEvent] = []
        if is_user_space(record.type) and len(event.records) == 1:
            done.append(self._open.pop(key))
        while len(self._open) > self.window:
            done.append(self._open.popitem(last=False)[1])
        return done

    def flush(self) -> list[AuditEvent]:
        done = list(self._open.values())
        self._open.clear()
        return done

    def __len__(self) -> int:
        return len(self._open)
