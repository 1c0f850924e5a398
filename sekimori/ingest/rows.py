"""Helpers shared by line-oriented readers: line iteration with offsets and a column batch builder."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

from sekimori.ingest.base import Quarantine
from sekimori.ingest.fit import fit_batch
from sekimori.ingest.schema import EVENT_COLUMNS, PROVENANCE_COLUMNS, make_batch
from sekimori.ingest.source import Source, SourceError

# What reading a compressed stream raises when it is cut off or corrupt: a truncated gzip, corrupt
# deflate data, a zip member failing its CRC check.
STREAM_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile)


def iter_lines(
    source: Source, quarantine: Quarantine, encoding: str = "utf-8"
) -> Iterator[tuple[int, int, str]]:
    """(line number from 1, byte offset, text without the newline) for each non-empty line.

    A line that is not valid text is quarantined; a stream that breaks off (truncated gzip) ends
    with one quarantine row naming the line where it broke.
    """
    offset, lineno = source.line_start()
    lineno -= 1
    with source.open() as fh:
        while True:
            raw = read_or_quarantine(fh.readline, quarantine, lineno + 1, offset)
            if not raw:  # the end, or where the stream broke off (quarantined)
                return
            lineno += 1
            start = offset
            offset += len(raw)
            text = decode_line(raw, lineno, start, quarantine, encoding)
            if text is not None:
                yield lineno, start, text


def read_or_quarantine(
    read: Callable[[], bytes], quarantine: Quarantine, lineno: int, offset: int
) -> bytes | None:
    """``read()``'s bytes, or None when the stream broke off or cannot be read: then one quarantine row
    names the line (``lineno``) and offset where it broke (the cut-off line is not read)."""
    try:
        return read()
    except STREAM_ERRORS as exc:
        quarantine.add(f"stream broke off: {exc}", record=lineno, offset=offset)
    except SourceError as exc:
        quarantine.add(str(exc), record=lineno, offset=offset)
    return None


BLOCK_BYTES = 1 << 20


def whole_lines(read: Callable[[], bytes | None]) -> Iterator[bytes]:
    """The stream's lines a block at a time, split in C, not by a ``readline`` per line: each item is
    one or more whole lines joined by newlines (the last newline left out), the line the stream ends
    with (without a newline) last. ``read`` gives the next block (``b""`` at the end; None: stop, the
    caller has said why). A line longer than a block is joined once, when it ends. Memory stays flat:
    one block and the start of the line it cut."""
    pieces: list[bytes] = []  # the start of a line whose end is not read yet
    while True:
        block = read()
        if block is None:
            return
        if not block:
            last = b"".join(pieces)
            if last:
                yield last
            return
        cut = block.rfind(b"\n")
        if cut < 0:
            pieces.append(block)
            continue
        yield b"".join([*pieces, block[:cut]]) if pieces else block[:cut]
        pieces = [block[cut + 1 :]]


def iter_lines_bom(source: Source, quarantine: Quarantine) -> Iterator[tuple[int, int, str]]:
    """``iter_lines(source, quarantine, "utf-8-sig")``, the same lines and quarantine rows, faster.

    A plain file is read in blocks of 1 MiB (``whole_lines``: no ``readline`` call and no Python codec
    per line); archive members and gzip streams go through ``iter_lines``, which also places where such
    a stream breaks off.
    """
    if not source.is_plain_file():
        yield from iter_lines(source, quarantine, encoding="utf-8-sig")
        return
    offset, lineno = source.line_start()
    lineno -= 1
    with source.open() as fh:
        # read when the lines before are counted: a break is quarantined at the line it cut
        blocks = whole_lines(
            lambda: read_or_quarantine(lambda: fh.read(BLOCK_BYTES), quarantine, lineno + 1, offset)
        )
        for data in blocks:
            for raw in data.split(b"\n"):
                lineno += 1
                start = offset
                offset += len(raw) + 1
                text = decode_line(raw, lineno, start, quarantine, "utf-8-sig")
                if text is not None:
                    yield lineno, start, text


def decode_line(raw: bytes, lineno: int, start: int, quarantine: Quarantine, encoding: str) -> str | None:
    """One line's text in ``encoding`` (utf-8-sig: its byte-order mark dropped here, with no Python codec
    per line), or None for a blank line, or one quarantined (not such text, or holding a NUL byte)."""
    stripped = raw.rstrip(b"\r\n")
    if not stripped.strip():
        return None
    try:
        text = stripped.decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeDecodeError as exc:
        quarantine.add(f"not {encoding} text: {exc.reason}", record=lineno, offset=start, data=stripped)
        return None
    if encoding == "utf-8-sig" and text[:1] == "\ufeff":
        text = text[1:]
    if "\x00" in text:
        quarantine.add("NUL byte in a text line", record=lineno, offset=start, data=stripped)
        return None
    return text


class BatchBuilder:
    """Accumulates events (one dict of columns each) and hands out Arrow batches of ``size`` rows."""

    _columns = tuple(c for c in EVENT_COLUMNS if c not in PROVENANCE_COLUMNS)
    _known = frozenset(_columns)

    def __init__(self, size: int = 16_384, quarantine: Quarantine | None = None) -> None:
        self.size = size
        # With a quarantine, a row whose value does not fit its column goes there (record_id and
        # raw name it), and the rest of the batch is kept.
        self.quarantine = quarantine
        self._rows: list[dict[str, Any]] = []

    def add(self, **values: Any) -> pa.RecordBatch | None:
        """Add one event; returns a full batch when ``size`` rows are reached."""
        self._rows.append(values)
        return self.flush() if len(self._rows) >= self.size else None

    def batches(self, rows: Iterable[dict[str, Any]]) -> Iterator[pa.RecordBatch]:
        """Every batch of ``rows`` (one dict of columns each), the last, partial one included."""
        for values in rows:
            batch = self.add(**values)
            if batch is not None:
                yield batch
        last = self.flush()
        if last is not None:
            yield last

    def flush(self) -> pa.RecordBatch | None:
        rows = self._rows
        if not rows:
            return None
        self._rows = []
        unknown = set().union(*rows) - self._known
        if unknown:
            raise KeyError(f"not event columns: {sorted(unknown)}")
        present = set().union(*rows)
        columns = {c: [r.get(c) for r in rows] for c in self._columns if c in present}
        if self.quarantine is None:
            return make_batch(columns, len(rows))
        return fit_batch(make_batch, columns, len(rows), self.quarantine)

    def __len__(self) -> int:
        return len(self._rows)


class TupleBatches:
    """Like ``BatchBuilder``, for readers whose mapping gives each event as a tuple of values in the
    order of ``columns`` (fixed per reader): no dict per event, and a batch's columns come out of one
    ``zip`` (a transpose in C) instead of a lookup per row and column."""

    def __init__(self, columns: tuple[str, ...], size: int = 16_384, quarantine: Quarantine | None = None):
        unknown = set(columns) - BatchBuilder._known
        if unknown:
            raise KeyError(f"not event columns: {sorted(unknown)}")
        self.columns = columns
        self.size = size
        self.quarantine = quarantine
        self.rows: list[tuple[Any, ...]] = []

    def append(self, row: tuple[Any, ...]) -> pa.RecordBatch | None:
        """Add one event; returns a full batch when ``size`` rows are reached."""
        rows = self.rows
        rows.append(row)
        return self.flush() if len(rows) >= self.size else None

    def batches(self, rows: Iterable[tuple[Any, ...]]) -> Iterator[pa.RecordBatch]:
        """Every batch of ``rows``, the last, partial one included."""
        size = self.size
        pending = self.rows
        for row in rows:
            pending.append(row)
            if len(pending) >= size:
                batch = self.flush()
                pending = self.rows  # flush starts a new list
                if batch is not None:
                    yield batch
        last = self.flush()
        if last is not None:
            yield last

    def flush(self) -> pa.RecordBatch | None:
        rows = self.rows
        if not rows:
            return None
        self.rows = []
        columns = dict(zip(self.columns, map(list, zip(*rows, strict=True)), strict=True))
        if self.quarantine is None:
            return make_batch(columns, len(rows))
        return fit_batch(make_batch, columns, len(rows), self.quarantine)

    def __len__(self) -> int:
        return len(self.rows)
