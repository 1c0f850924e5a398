"""LANL 2015 "Comprehensive, Multi-Source Cyber-Security Events": ``auth.txt`` and ``redteam.txt``.

``auth.txt`` (reader ``lanl``) has one authentication event per line and no header::

    time,source user@domain,destination user@domain,source computer,destination computer,
    authentication type,logon type,authentication orientation,success/failure

``redteam.txt`` (reader ``lanl_redteam``) labels the red team's compromise events::

    time,user@domain,source computer,destination computer

The full ``auth.txt`` is ~1 billion lines, so both readers are vectorised: pyarrow's streaming CSV reader
parses blocks of ~1 MiB and every column is computed with ``pyarrow.compute``; Python only touches the
rare bad lines. Bytes reach pyarrow through ``CleanStream``, which quarantines (and blanks) lines that are
not UTF-8, hold NUL bytes or a bare CR before pyarrow sees them, so one bad byte cannot stop a multi-GB
read and line numbers stay exact. Lines with the wrong number of fields are quarantined through pyarrow's
``invalid_row_handler`` (its ``row.number`` is the physical line number: empty lines are not skipped).

Times are whole seconds from an epoch that LANL did not publish. Event time = ``epoch + t`` seconds,
where ``epoch`` comes from the ``epoch`` constructor argument, else the ``SEKIMORI_LANL_EPOCH``
environment variable (an ISO 8601 date or date-time, UTC unless it carries an offset), else
1970-01-01T00:00:00Z. ``raw`` keeps ``t`` itself, so the relative time is never lost.

This module holds the two registered readers and their shared streaming machinery; the bytes on their
way to pyarrow are ``sekimori.ingest.lanl.stream``, the column kernels ``sekimori.ingest.lanl.columns``.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.fit import fit_batch
from sekimori.ingest.lanl.columns import (
    DEFAULT_EPOCH,
    EMPTY,
    EPOCH_ENV,
    Column,
    epoch_microseconds,
    event_times,
    parse_epoch,
    parse_seconds,
    raw_json,
)
from sekimori.ingest.lanl.stream import STREAM_ERRORS, CleanStream, LineNumbers
from sekimori.ingest.schema import AUTHENTICATION, FAILURE, SUCCESS, make_batch, ocsf_name
from sekimori.ingest.source import Source, SourceError

__all__ = [
    "DEFAULT_EPOCH",
    "EPOCH_ENV",
    "LOGON_TYPES",
    "ORIENTATIONS",
    "OUTCOMES",
    "LanlAuthReader",
    "LanlRedteamReader",
    "parse_epoch",
]

_BLANKS = " \t\r\n\v\f"
_BLOCK = 1 << 20  # pyarrow CSV block size (~16k LANL lines)

# Windows logon types by the names LANL uses.
LOGON_TYPES: dict[str, int] = {
    "Interactive": 2,
    "Network": 3,
    "Batch": 4,
    "Service": 5,
    "Unlock": 7,
    "NetworkCleartext": 8,
    "NewCredentials": 9,
    "RemoteInteractive": 10,
    "CachedInteractive": 11,
}
# orientation -> (activity, event_code)
ORIENTATIONS: dict[str, tuple[str, str]] = {
    "LogOn": ("logon", "lanl.logon"),
    "LogOff": ("logoff", "lanl.logoff"),
    "TGT": ("ticket_request", "lanl.tgt"),
    "TGS": ("service_ticket", "lanl.tgs"),
    "AuthMap": ("auth_map", "lanl.authmap"),
}
OUTCOMES: dict[str, str] = {"Success": SUCCESS, "Fail": FAILURE}

_OTHER_CODE = pa.scalar("lanl.other")


class _LanlCsvReader(Reader):
    """Shared streaming machinery of the two LANL readers."""

    columns: ClassVar[tuple[str, ...]]
    epoch: ClassVar[str | datetime | None] = None
    workers: ClassVar[int] = max(1, min(4, os.cpu_count() or 1))

    def __init__(self, epoch: str | datetime | None = None) -> None:
        self._epoch_us = epoch_microseconds(parse_epoch(epoch if epoch is not None else type(self).epoch))

    # -- sniffing ---------------------------------------------------------------------------------
    @classmethod
    def _line_matches(cls, fields: list[bytes]) -> bool:
        raise NotImplementedError

    @classmethod
    def _sniff_lines(cls, head: bytes) -> float:
        lines = head.split(b"\n")
        if len(head) >= 4096 and not head.endswith(b"\n"):
            lines = lines[:-1]  # cut off by the head size
        lines = [ln.rstrip(b"\r") for ln in lines if ln.strip()][:20]
        if lines and lines[0].lower().startswith(b"time,"):
            lines = lines[1:]  # tolerate a column header
        if not lines:
            return 0.0
        hits = sum(1 for ln in lines if cls._line_matches(ln.split(b",")))
        if hits == len(lines) or (hits >= 3 and hits >= 0.8 * len(lines)):
            return 1.0 if hits >= 3 else 0.5
        return 0.0

    # -- reading ----------------------------------------------------------------------------------
    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        names = list(self.columns)
        skipped = LineNumbers()
        expected = len(names)

        def on_invalid(row: Any) -> str:
            number = getattr(row, "number", None)
            if number is not None:
                skipped.skip(number)
            text = getattr(row, "text", "") or ""
            if text.strip(_BLANKS):  # ASCII blanks only, as for the other readers
                quarantine.add(
                    f"{row.actual_columns} fields, expected {expected}",
                    record=number,
                    field="columns",
                    data=text,
                )
            return "skip"

        try:
            stream = CleanStream(source.open(), quarantine)
        except SourceError as exc:
            quarantine.add(f"cannot open: {type(exc.__cause__ or exc).__name__}", record=1, offset=0)
            return
        with stream:
            try:
                reader = pcsv.open_csv(
                    stream,
                    read_options=pcsv.ReadOptions(column_names=names, use_threads=False, block_size=_BLOCK),
                    parse_options=pcsv.ParseOptions(
                        delimiter=",",
                        quote_char=False,
                        escape_char=False,
                        double_quote=False,
                        newlines_in_values=False,
                        ignore_empty_lines=False,
                        invalid_row_handler=on_invalid,
                    ),
                    convert_options=pcsv.ConvertOptions(
                        column_types={n: pa.string() for n in names},
                        strings_can_be_null=False,
                        quoted_strings_can_be_null=False,
                    ),
                )
            except pa.ArrowInvalid as exc:
                if "Empty CSV file" not in str(exc):
                    quarantine.add(f"unreadable CSV: {_brief(exc)}", record=skipped.next)
                return
            # Parsing (this thread) overlaps with the column kernels (workers); both release the GIL.
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                pending: deque[Future[pa.RecordBatch | None]] = deque()
                while True:
                    try:
                        table = reader.read_next_batch()
                    except StopIteration:
                        break
                    except (pa.ArrowInvalid, *STREAM_ERRORS) as exc:  # not expected: the stream is clean
                        quarantine.add(f"CSV reading stopped: {_brief(exc)}", record=skipped.next)
                        break
                    if table.num_rows == 0:
                        continue
                    lines = skipped.take(table.num_rows)
                    pending.append(pool.submit(self._batch, table, lines, quarantine))
                    while len(pending) > self.workers:
                        batch = pending.popleft().result()
                        if batch is not None:
                            yield batch
                while pending:
                    batch = pending.popleft().result()
                    if batch is not None:
                        yield batch

    def _batch(self, table: pa.RecordBatch, lines: pa.Array, quarantine: Quarantine) -> pa.RecordBatch | None:
        t = table.column(0)
        keep: pa.Array | None = None
        if pc.any(pc.equal(t, EMPTY)).as_py():
            # A blank line (or one of bare commas) carries no data: skip it silently.
            blank = pc.equal(t, EMPTY)
            for i in range(1, table.num_columns):
                blank = pc.and_(blank, pc.equal(table.column(i), EMPTY))
            keep = pc.invert(blank)
        tnum, bad_time = parse_seconds(t, self._epoch_us)
        if bad_time is not None:
            bad = bad_time if keep is None else pc.and_(bad_time, keep)
            for i in pc.indices_nonzero(bad).to_pylist():
                text = ",".join(str(table.column(c)[i].as_py()) for c in range(table.num_columns))
                line = lines[i].as_py()
                if line == 1 and text.lower().startswith("time,"):
                    reason = "column header line, not an event"
                else:
                    reason = "time is not a whole number of seconds in range"
                quarantine.add(reason, record=line, field="time", data=text)
            good = pc.invert(bad_time)
            keep = good if keep is None else pc.and_(keep, good)
        if keep is not None:
            table = table.filter(keep)
            lines = lines.filter(keep)
            tnum = tnum.filter(keep)
        n = table.num_rows
        if n == 0:
            return None
        cols = [Column(table.column(i)) for i in range(1, table.num_columns)]
        columns: dict[str, Any] = {
            k: pa.repeat(v, n) if isinstance(v, pa.Scalar) else v for k, v in self._columns(cols).items()
        }
        columns["time"] = event_times(tnum, self._epoch_us)
        columns["record_id"] = lines
        columns["raw"] = raw_json(self.columns, tnum, cols)
        return fit_batch(make_batch, columns, n, quarantine)

    def _columns(self, cols: list[Column]) -> dict[str, pa.Array | pa.Scalar]:
        raise NotImplementedError


def _brief(exc: BaseException) -> str:
    # pyarrow messages may quote input; keep only the first clause, without row text.
    return str(exc).split(":", 1)[0][:80]


@register
class LanlAuthReader(_LanlCsvReader):
    """LANL 2015 ``auth.txt``: one authentication event per line."""

    name = "lanl"
    description = "LANL 2015 cyber-security events: auth.txt (time,src user,dst user,src,dst,type,…)"
    columns = (
        "time",
        "src_user",
        "dst_user",
        "src_computer",
        "dst_computer",
        "auth_type",
        "logon_type",
        "orientation",
        "outcome",
    )

    @classmethod
    def _line_matches(cls, fields: list[bytes]) -> bool:
        return len(fields) == 9 and fields[0].isdigit() and b"@" in fields[1] and b"@" in fields[2]

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        return cls._sniff_lines(head)

    _constant: ClassVar[dict[str, pa.Scalar]] = {
        "channel": pa.scalar("auth"),
        "provider": pa.scalar("lanl"),
        "category": pa.scalar(AUTHENTICATION),
        "ocsf_class_uid": pa.scalar(3002, pa.int32()),
        "ocsf_class_name": pa.scalar(ocsf_name(3002)),
        "object_type": pa.scalar("USER"),
    }
    _activity: ClassVar[dict[str, str]] = {k: v[0] for k, v in ORIENTATIONS.items()}
    _code: ClassVar[dict[str, str]] = {k: v[1] for k, v in ORIENTATIONS.items()}

    def _columns(self, cols: list[Column]) -> dict[str, pa.Array | pa.Scalar]:
        src_user, dst_user, src_pc, dst_pc, auth_type, logon_type, orientation, result = cols
        principal, domain = src_user.split_user()
        outcome = result.lookup(OUTCOMES, pa.string())
        activity = orientation.lookup(self._activity, pa.string())
        target = dst_pc.expand(dst_pc.known())
        return {
            **self._constant,
            "event_code": pc.fill_null(orientation.lookup(self._code, pa.string()), _OTHER_CODE),
            "activity": activity,
            "host": target,
            "principal": principal,
            "domain": domain,
            "logon_type": logon_type.lookup(LOGON_TYPES, pa.int16()),
            "auth_package": auth_type.expand(auth_type.known()),
            "outcome": outcome,
            "src_host": src_pc.expand(src_pc.known()),
            "target_host": target,
            "object": dst_user.expand(dst_user.known()),
        }


@register
class LanlRedteamReader(_LanlCsvReader):
    """LANL 2015 ``redteam.txt``: the red team's compromise events, loaded as labels."""

    name = "lanl_redteam"
    description = "LANL 2015 red-team labels: redteam.txt (time,user@domain,src computer,dst computer)"
    columns = ("time", "user", "src_computer", "dst_computer")

    @classmethod
    def _line_matches(cls, fields: list[bytes]) -> bool:
        return (
            len(fields) == 4
            and fields[0].isdigit()
            and b"@" in fields[1]
            and b"@" not in fields[2]
            and b"@" not in fields[3]
        )

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        # Four short CSV columns are a weak signature: stay below confident readers.
        return 0.6 * cls._sniff_lines(head)

    _constant: ClassVar[dict[str, pa.Scalar]] = {
        "channel": pa.scalar("redteam"),
        "provider": pa.scalar("lanl"),
        "event_code": pa.scalar("lanl.redteam"),
        "category": pa.scalar(AUTHENTICATION),
        "activity": pa.scalar("redteam_label"),
        "ocsf_class_uid": pa.scalar(3002, pa.int32()),
        "ocsf_class_name": pa.scalar(ocsf_name(3002)),
    }

    def _columns(self, cols: list[Column]) -> dict[str, pa.Array | pa.Scalar]:
        user, src_pc, dst_pc = cols
        principal, domain = user.split_user()
        target = dst_pc.expand(dst_pc.known())
        return {
            **self._constant,
            "host": target,
            "principal": principal,
            "domain": domain,
            "src_host": src_pc.expand(src_pc.known()),
            "target_host": target,
        }
