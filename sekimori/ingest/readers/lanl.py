"""LANL 2015 "Comprehensive, Multi-Source Cyber-Security Events": ``auth.txt`` and ``redteam.txt``.

``auth.txt`` (reader ``lanl``) has one authentication event per line and no header::

    time,source user@domain,destination user@domain,source computer,destination computer,
    authentication type,logon type,authentication orientation,success/failure

``redteam.txt`` (reader ``lanl_redteam``) labels the red team's compromise events::

    time,user@domain,source computer,destination computer

The full ``auth.txt`` is ~1 billion lines, so both readers are vectorised: pyarrow's streaming CSV reader
parses blocks of ~1 MiB and every column is computed with ``pyarrow.compute``; Python only touches the
rare bad lines. Bytes reach pyarrow through ``_CleanStream``, which quarantines (and blanks) lines that are
not UTF-8, hold NUL bytes or a bare CR before pyarrow sees them, so one bad byte cannot stop a multi-GB
read and line numbers stay exact. Lines with the wrong number of fields are quarantined through pyarrow's
``invalid_row_handler`` (its ``row.number`` is the physical line number: empty lines are not skipped).

Times are whole seconds from an epoch that LANL did not publish. Event time = ``epoch + t`` seconds,
where ``epoch`` comes from the ``epoch`` constructor argument, else the ``SEKIMORI_LANL_EPOCH``
environment variable (an ISO 8601 date or date-time, UTC unless it carries an offset), else
1970-01-01T00:00:00Z. ``raw`` keeps ``t`` itself, so the relative time is never lost.
"""

from __future__ import annotations

import functools
import io
import os
import tarfile
import threading
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, BinaryIO, ClassVar

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.fit import fit_batch
from sekimori.ingest.schema import AUTHENTICATION, FAILURE, SUCCESS, TIME_TYPE, make_batch, ocsf_name
from sekimori.ingest.source import Source, SourceError

EPOCH_ENV = "SEKIMORI_LANL_EPOCH"
DEFAULT_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Bytes read from the source per step. Small enough that a corrupt deflate block loses little of what
# came before it (a decompressor error discards the output of that read), large enough to be cheap.
_CHUNK = 1 << 16
_BLANKS = " \t\r\n\v\f"
_BLOCK = 1 << 20  # pyarrow CSV block size (~16k LANL lines)
_MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z in µs since 1970
_MAX_T_DIGITS = 12

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

_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'
_STREAM_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError, SourceError)


def parse_epoch(value: str | datetime | None) -> datetime:
    """The epoch LANL times count from (UTC); ``ValueError`` for a value that is not ISO 8601."""
    if value is None:
        value = os.environ.get(EPOCH_ENV) or None
    if value is None:
        return DEFAULT_EPOCH
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{EPOCH_ENV}: not an ISO 8601 date or date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _epoch_us(epoch: datetime) -> int:
    delta = epoch - DEFAULT_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class _CleanStream(io.RawIOBase):
    """Binary stream for pyarrow that blanks (and quarantines) lines that are not UTF-8 or hold NUL.

    Clean chunks pass through untouched (one ``isascii``/``decode`` check per MiB). A stream that
    breaks off (truncated gzip, corrupt member) ends with one quarantine row; the partial last line
    goes with it rather than reaching pyarrow half-written.
    """

    def __init__(self, fh: BinaryIO, quarantine: Quarantine) -> None:
        super().__init__()
        self._fh = fh
        self._read = getattr(fh, "read1", fh.read)
        self._q = quarantine
        self._buf = bytearray()
        self._tail = b""
        self._eof = False
        self.lines = 0  # complete lines handed on
        self.offset = 0  # byte offset of the first byte not yet handed on (i.e. of ``_tail``)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while not self._eof:
                self._fill()
            size = len(self._buf)
        while len(self._buf) < size and not self._eof:
            self._fill()
        out = bytes(self._buf[:size])
        del self._buf[:size]
        return out

    def readinto(self, b: Any) -> int:  # pragma: no cover - pyarrow calls read()
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._fh.close()
        finally:
            super().close()

    def _fill(self) -> None:
        try:
            # read1: data decoded before a break (truncated gzip) still comes through.
            chunk = self._read(_CHUNK)
        except _STREAM_ERRORS as exc:
            self._eof = True
            self._q.add(
                f"stream broke off: {exc}"[:200],
                record=self.lines + 1,
                offset=self.offset,
                data=self._tail or None,
            )
            self._tail = b""
            return
        if not chunk:
            self._eof = True
            complete, self._tail = self._tail, b""
        else:
            data = self._tail + chunk if self._tail else chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                self._tail = data
                return
            complete, self._tail = data[:cut], data[cut:]
        if complete:
            self._buf += self._clean(complete)

    def _clean(self, data: bytes) -> bytes:
        start_line, start_offset = self.lines, self.offset
        self.lines += data.count(b"\n")
        self.offset += len(data)
        # pyarrow also ends a row at a bare CR: such lines would shift every later line number.
        bare_cr = b"\r" in data and data.count(b"\r") != data.count(b"\r\n")
        if b"\x00" not in data and not bare_cr:
            if data.isascii():
                return data
            try:
                data.decode("utf-8")
                return data
            except UnicodeDecodeError:
                pass
        out = []
        offset = start_offset
        pieces = data.split(b"\n")
        if pieces[-1] == b"":
            pieces.pop()
        for i, piece in enumerate(pieces, start=start_line + 1):
            line = piece + b"\n" if offset + len(piece) < start_offset + len(data) else piece
            body = piece[:-1] if piece.endswith(b"\r") else piece
            reason = None
            if b"\x00" in body:
                reason = "NUL byte in a text line"
            elif b"\r" in body:
                if not body.strip():  # only blanks and CRs: a blank line
                    out.append(line[len(body) :])
                    offset += len(line)
                    continue
                reason = "carriage return inside a line"
            else:
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError as exc:
                    reason = f"not utf-8 text: {exc.reason}"
            if reason is None:
                out.append(line)
            else:
                self._q.add(reason, record=i, offset=offset, field="line", data=body)
                out.append(line[len(body) :])  # keep the line break: line numbers stay right
            offset += len(line)
        return b"".join(out)


class _LineNumbers:
    """Physical line numbers of the rows pyarrow hands out, given the lines it skipped."""

    def __init__(self) -> None:
        self.next = 1
        self.skipped: list[int] = []  # sorted, appended by the invalid-row handler
        self._base = pa.array([], pa.int64())
        # pyarrow's streaming reader parses the next block ahead, on its own thread: its invalid-row
        # handler may append while take() runs, and an append lost there shifts every later line number.
        self._lock = threading.Lock()

    def skip(self, number: int) -> None:
        with self._lock:
            self.skipped.append(number)

    def _range(self, start: int, n: int) -> pa.Array:
        if len(self._base) < n:
            self._base = pa.array(range(max(n, 2 * len(self._base))), pa.int64())
        return pc.add(self._base.slice(0, n), pa.scalar(start, pa.int64()))

    def take(self, n: int) -> pa.Array:
        with self._lock:
            return self._take(n)

    def _take(self, n: int) -> pa.Array:
        parts = []
        cur, left = self.next, n
        skipped = [s for s in self.skipped if s >= cur]
        for s in skipped:
            if left == 0:
                break
            run = min(left, s - cur)
            if run > 0:
                parts.append(self._range(cur, run))
                left -= run
                cur += run
            if cur == s:
                cur += 1
        if left:
            parts.append(self._range(cur, left))
            cur += left
        self.next = cur
        self.skipped = [s for s in skipped if s >= cur]
        return pa.concat_arrays(parts) if len(parts) != 1 else parts[0]


_EMPTY = pa.scalar("")
_UNKNOWN = pa.scalar("?")
_NULL_STR = pa.scalar(None, pa.string())
_ZERO = pa.scalar(0, pa.int64())
_US_PER_S = pa.scalar(1_000_000, pa.int64())
_OTHER_CODE = pa.scalar("lanl.other")
_USER_RE = r"^(?P<user>.*)@(?P<domain>[^@]*)$"


class _Column:
    """A string column dictionary-encoded once: per-value work runs on the (few) distinct values.

    LANL columns repeat heavily (a 16k-row block has ~4k distinct users and a handful of auth types),
    so regexes and look-ups on ``values`` and a ``take`` by ``indices`` beat row-wise kernels.
    """

    __slots__ = ("indices", "plain", "values")

    def __init__(self, arr: pa.Array) -> None:
        enc = pc.dictionary_encode(arr)
        self.plain = arr
        self.values: pa.Array = enc.dictionary
        self.indices: pa.Array = enc.indices

    def expand(self, per_value: pa.Array) -> pa.Array:
        return pc.take(per_value, self.indices)

    def known(self) -> pa.Array:
        """The value with ``?`` and empty strings as null, per distinct value."""
        unknown = pc.or_(pc.equal(self.values, _UNKNOWN), pc.equal(self.values, _EMPTY))
        return pc.if_else(unknown, _NULL_STR, self.values)

    def lookup(self, mapping: dict[str, Any], typ: pa.DataType) -> pa.Array:
        idx = pc.index_in(self.values, value_set=pa.array(list(mapping), pa.string()))
        return self.expand(pc.take(pa.array(list(mapping.values()), typ), idx))

    def split_user(self) -> tuple[pa.Array, pa.Array]:
        """``user@domain`` -> (user, domain) at the last ``@``; no ``@`` -> (whole, null)."""
        parts = pc.extract_regex(self.values, _USER_RE)
        matched = pc.is_valid(parts)
        user = pc.if_else(matched, pc.struct_field(parts, [0]), self.values)
        domain = pc.if_else(matched, pc.struct_field(parts, [1]), _NULL_STR)
        user = pc.if_else(pc.equal(user, _EMPTY), _NULL_STR, user)
        domain = pc.if_else(pc.equal(domain, _EMPTY), _NULL_STR, domain)
        return self.expand(user), self.expand(domain)


class _LanlCsvReader(Reader):
    """Shared streaming machinery of the two LANL readers."""

    columns: ClassVar[tuple[str, ...]]
    epoch: ClassVar[str | datetime | None] = None
    workers: ClassVar[int] = max(1, min(4, os.cpu_count() or 1))

    def __init__(self, epoch: str | datetime | None = None) -> None:
        self._epoch_us = _epoch_us(parse_epoch(epoch if epoch is not None else type(self).epoch))
        self._epoch_scalar = pa.scalar(self._epoch_us, pa.int64())

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
        skipped = _LineNumbers()
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
            stream = _CleanStream(source.open(), quarantine)
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
                    except (pa.ArrowInvalid, *_STREAM_ERRORS) as exc:  # not expected: the stream is clean
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
        if pc.any(pc.equal(t, _EMPTY)).as_py():
            # A blank line (or one of bare commas) carries no data: skip it silently.
            blank = pc.equal(t, _EMPTY)
            for i in range(1, table.num_columns):
                blank = pc.and_(blank, pc.equal(table.column(i), _EMPTY))
            keep = pc.invert(blank)
        tnum, bad_time = _parse_time(t, self._epoch_us)
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
        cols = [_Column(table.column(i)) for i in range(1, table.num_columns)]
        columns: dict[str, Any] = {
            k: pa.repeat(v, n) if isinstance(v, pa.Scalar) else v for k, v in self._columns(cols).items()
        }
        columns["time"] = pc.add(pc.multiply(tnum, _US_PER_S), self._epoch_scalar).cast(TIME_TYPE)
        columns["record_id"] = lines
        columns["raw"] = _raw_json(self.columns, tnum, cols)
        return fit_batch(make_batch, columns, n, quarantine)

    def _columns(self, cols: list[_Column]) -> dict[str, pa.Array | pa.Scalar]:
        raise NotImplementedError


def _brief(exc: BaseException) -> str:
    # pyarrow messages may quote input; keep only the first clause, without row text.
    return str(exc).split(":", 1)[0][:80]


def _parse_time(t: pa.Array, epoch_us: int) -> tuple[pa.Array, pa.Array | None]:
    """Seconds as int64, and a mask of rows whose time is not a valid whole number (None: all valid)."""
    max_t = (_MAX_US - epoch_us) // 1_000_000
    try:
        if pc.all(pc.utf8_is_digit(t)).as_py() and pc.max(pc.utf8_length(t)).as_py() <= _MAX_T_DIGITS:
            tnum = t.cast(pa.int64())
            if pc.max(tnum).as_py() <= max_t:
                return tnum, None
    except (pa.ArrowInvalid, TypeError):
        pass
    ok = pc.match_substring_regex(t, rf"^[0-9]{{1,{_MAX_T_DIGITS}}}$")
    safe = pc.if_else(ok, t, pa.scalar("0")).cast(pa.int64())
    ok = pc.and_(ok, pc.less_equal(safe, pa.scalar(max_t, pa.int64())))
    return pc.if_else(ok, safe, _ZERO), pc.invert(ok)


@functools.cache
def _json_pieces(names: tuple[str, ...]) -> tuple[pa.Scalar, ...]:
    """The constant text between the values of ``_raw_json`` (scalars built once: cheap kernel calls)."""
    texts = ['{"' + names[0] + '":', ',"' + names[1] + '":"']
    texts += ['","' + name + '":"' for name in names[2:]]
    return (*(pa.scalar(t) for t in texts), pa.scalar('"}'))


def _raw_json(names: Sequence[str], tnum: pa.Array, cols: list[_Column]) -> pa.Array:
    """``{"time":<t>,"<name>":"<value>",...}`` built column-wise; rows needing escapes go through orjson."""
    pieces = _json_pieces(tuple(names))
    parts: list[Any] = [pieces[0], tnum.cast(pa.string())]
    for piece, col in zip(pieces[1:], cols, strict=False):
        parts.extend([piece, col.plain])
    parts.append(pieces[-1])
    raw = pc.binary_join_element_wise(*parts, _EMPTY)
    needs: pa.Array | None = None
    for col in cols:
        per_value = pc.match_substring_regex(col.values, _NEEDS_ESCAPE)
        if pc.any(per_value).as_py():
            m = col.expand(per_value)
            needs = m if needs is None else pc.or_(needs, m)
    if needs is not None:
        fixed = []
        for i in pc.indices_nonzero(needs).to_pylist():
            rec: dict[str, Any] = {"time": tnum[i].as_py()}
            rec.update({name: col.plain[i].as_py() for name, col in zip(names[1:], cols, strict=True)})
            fixed.append(orjson.dumps(rec).decode())
        raw = pc.replace_with_mask(raw, needs, pa.array(fixed, pa.string()))
    return raw


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

    def _columns(self, cols: list[_Column]) -> dict[str, pa.Array | pa.Scalar]:
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

    def _columns(self, cols: list[_Column]) -> dict[str, pa.Array | pa.Scalar]:
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
