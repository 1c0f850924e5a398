"""The bytes of a LANL file on their way to pyarrow: bad lines out, line numbers kept.

This module owns ``CleanStream``, the binary stream pyarrow's CSV reader reads: it quarantines (and
blanks) lines that are not UTF-8, hold NUL bytes or a bare CR before pyarrow sees them, so one bad
byte cannot stop a multi-GB read, and it ends a stream that breaks off (truncated gzip, corrupt
member) with one quarantine row. It also owns ``LineNumbers``, the physical line number of each row
pyarrow hands out given the lines its invalid-row handler skipped, so ``record_id`` stays exact.
"""

from __future__ import annotations

import io
import tarfile
import threading
import zipfile
import zlib
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from sekimori.ingest.base import Quarantine
from sekimori.ingest.source import SourceError

# Bytes read from the source per step. Small enough that a corrupt deflate block loses little of what
# came before it (a decompressor error discards the output of that read), large enough to be cheap.
_CHUNK = 1 << 16
# What reading a (compressed, archived) source may raise when it breaks off.
STREAM_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError, SourceError)


class CleanStream(io.RawIOBase):
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
        except STREAM_ERRORS as exc:
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


class LineNumbers:
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
