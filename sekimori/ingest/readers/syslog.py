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

This module is the reader plugin; its support modules live in ``sekimori.ingest.syslog`` (outside the
plugin folder, which the registry imports module by module): ``header`` (the line up to the message),
``messages`` (the message to event fields), and the parsers it dispatches to: ``sshd``, ``pam`` and
``programs`` (sudo, su, login, ftpd, klogind), built from ``event_values``.
"""

from __future__ import annotations

import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Any, ClassVar

import orjson
import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.rows import BatchBuilder, iter_lines
from sekimori.ingest.schema import AUTHENTICATION, ocsf_name
from sekimori.ingest.source import Source
from sekimori.ingest.syslog.header import (
    HeaderError,
    YearClock,
    file_mtime,
    parse_header,
    resolve_tz,
    resolve_year,
    sniff_line,
)
from sekimori.ingest.syslog.messages import normalize_message


@register
class SyslogReader(Reader):
    """Linux syslog / auth.log (RFC 3164, RFC 5424, rsyslog ISO timestamps)."""

    name = "syslog"
    description = "Linux syslog and auth.log: RFC 3164 / RFC 5424 / rsyslog ISO; sshd, PAM, sudo, su"
    year: ClassVar[int | None] = None
    tz: ClassVar[str | None] = None

    def __init__(self, year: int | None = None, tz: str | tzinfo | None = None) -> None:
        self._year = resolve_year(year if year is not None else type(self).year)
        self._tz = resolve_tz(tz if tz is not None else type(self).tz)

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        text = head.decode("utf-8", errors="replace")
        lines = text.split("\n")
        if len(head) >= 4096 and not text.endswith("\n"):
            lines = lines[:-1]
        lines = [ln.rstrip("\r") for ln in lines if ln.strip()][:20]
        if not lines:
            return 0.0
        hits = sum(1 for ln in lines if sniff_line(ln))
        if hits >= 3 and hits >= 0.6 * len(lines):
            return 0.9
        if hits == len(lines):  # one or two lines, all syslog
            return 0.5
        return 0.0

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        builder = BatchBuilder(self.batch_size, quarantine)
        clock = YearClock(self._year, file_mtime(source, self._tz))
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

    def _event(self, line: str, clock: YearClock, cache: dict[str, datetime]) -> dict[str, Any]:
        header = parse_header(line, self._tz, clock, cache)
        host, program, msg = header.host, header.program, header.message
        ev, details = normalize_message(program, header.subsystem, msg)
        raw = {
            "line": line,
            "timestamp": header.timestamp,
            "host": host,
            "program": program,
            "pid": header.pid,
            "subsystem": header.subsystem,
            "message": msg,
            **header.details,
        }
        if details:
            raw["fields"] = details
        if ev.get("category") == AUTHENTICATION:
            ev.setdefault("target_host", host)
        ev.setdefault("process", program)
        ev["ocsf_class_name"] = ocsf_name(ev["ocsf_class_uid"])
        return {
            "time": header.time,
            "channel": program,
            "provider": program,
            "host": host,
            "process_id": header.pid,
            **ev,
            "raw": orjson.dumps(raw).decode(),
        }
