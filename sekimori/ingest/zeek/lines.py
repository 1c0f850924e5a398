"""Lines of a Zeek log read in large blocks: the same lines and quarantine rows as ``iter_lines``.

``sekimori.ingest.rows.iter_lines`` calls ``readline`` once per line, which for a gzip stream is a
Python method (``gzip.GzipFile.readline``) and, with the per-line decode, cost the Zeek reader about a
third of its time. Here the stream is read with ``read1`` in blocks of 1 MiB and split at newlines in C
(``rows.whole_lines``). A block of ASCII text without CR or NUL (nearly every block of a Zeek log) skips
the per-line decode and checks, and its lines are kept as columns (``LineRun``: texts, line numbers
and offsets, the last two as numpy arrays), not as a tuple per line; when no line of it may be blank
(each starts with a byte that is not), the texts are not even split: the run keeps the block's bytes,
which the JSON path hands to Arrow as they are. ``PendingLines`` gathers runs into the reader's chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

import numpy as np
import pyarrow as pa

from sekimori.ingest.base import Quarantine
from sekimori.ingest.rows import BLOCK_BYTES, decode_line, read_or_quarantine, whole_lines
from sekimori.ingest.source import Source

Line = tuple[int, int, str]
# What ``bytes.strip`` removes: ``str.strip`` would also remove \x1c-\x1f, which are not blank here.
_BLANK = " \t\n\r\x0b\x0c"
# The blank bytes a line of an ASCII block without CR may hold (it holds no newline).
_BLANK_BYTES = b" \t\x0b\x0c"
# A byte a line may start with and still be blank (or empty).
_BLANK_START = np.zeros(256, np.bool_)
_BLANK_START[list(b" \t\x0b\x0c\n")] = True
_INT32_MAX = 2**31 - 1


class LineRun:
    """Lines that follow each other among a log's non-empty lines: their texts (without the newline),
    line numbers (from 1) and byte offsets.

    A run read from an ASCII block may instead hold its lines' bytes joined by newlines (``data``) and
    where each line starts in them (``starts``): the texts are split from them only when asked for,
    and the JSON path hands ``data`` to Arrow as it is (``joined``, ``array``) without a ``str`` per
    line."""

    __slots__ = ("_data", "_starts", "_texts", "numbers", "offsets")

    def __init__(
        self,
        texts: list[str] | None,
        numbers: np.ndarray,
        offsets: np.ndarray,
        data: bytes | None = None,
        starts: np.ndarray | None = None,
    ) -> None:
        self._texts, self.numbers, self.offsets = texts, numbers, offsets
        self._data, self._starts = data, starts

    @classmethod
    def of(cls, lines: list[Line]) -> LineRun:
        numbers, offsets, texts = zip(*lines, strict=True) if lines else ((), (), ())
        return cls(list(texts), np.array(numbers, np.int64), np.array(offsets, np.int64))

    @property
    def texts(self) -> list[str]:
        if self._texts is None:
            assert self._data is not None
            self._texts = self._data.decode("ascii").split("\n")
        return self._texts

    def __len__(self) -> int:
        return len(self.numbers)

    def item(self, i: int) -> Line:
        if self._texts is None:
            assert self._data is not None
            first, last = self._span(i, i + 1)
            return int(self.numbers[i]), int(self.offsets[i]), self._data[first:last].decode("ascii")
        return int(self.numbers[i]), int(self.offsets[i]), self._texts[i]

    def items(self) -> list[Line]:
        return list(zip(self.numbers.tolist(), self.offsets.tolist(), self.texts, strict=True))

    def joined(self) -> bytes:
        """The lines joined by newlines, encoded."""
        return self._data if self._data is not None else "\n".join(self.texts).encode()

    def array(self) -> pa.Array:
        """The texts as an Arrow string array."""
        if self._data is None or self._starts is None or len(self._data) > _INT32_MAX:
            return pa.array(self.texts, pa.string())
        n = len(self._starts)
        # each line's start in the data without the newlines: one newline fewer per line before it
        bounds = np.empty(n + 1, np.int32)
        bounds[:n] = self._starts - np.arange(n)
        bounds[n] = len(self._data) + 1 - n
        body = self._data.replace(b"\n", b"")
        return pa.StringArray.from_buffers(n, pa.py_buffer(bounds), pa.py_buffer(body))

    def _span(self, start: int, stop: int) -> tuple[int, int]:
        """Where lines ``start`` to ``stop - 1`` lie in ``_data`` (without the newline after them)."""
        assert self._data is not None and self._starts is not None
        starts, size = self._starts, len(self._data)
        first = int(starts[start]) if start < len(starts) else size
        return first, int(starts[stop]) - 1 if stop < len(starts) else size

    def cut(self, start: int, stop: int) -> LineRun:
        if self._texts is None and self._data is not None and self._starts is not None and start < stop:
            first, last = self._span(start, stop)
            return LineRun(
                None,
                self.numbers[start:stop],
                self.offsets[start:stop],
                self._data[first:last],
                self._starts[start:stop] - first,
            )
        return LineRun(self.texts[start:stop], self.numbers[start:stop], self.offsets[start:stop])

    @staticmethod
    def join(runs: list[LineRun]) -> LineRun:
        if len(runs) == 1:
            return runs[0]
        numbers = np.concatenate([run.numbers for run in runs])
        offsets = np.concatenate([run.offsets for run in runs])
        if all(run._texts is None and run._data is not None for run in runs):
            datas = [run._data for run in runs if run._data is not None]
            shifts = np.cumsum([0] + [len(d) + 1 for d in datas[:-1]])
            starts = np.concatenate(
                [run._starts + shift for run, shift in zip(runs, shifts.tolist(), strict=True)]
            )
            return LineRun(None, numbers, offsets, b"\n".join(datas), starts)
        return LineRun(list(chain.from_iterable(run.texts for run in runs)), numbers, offsets)


class PendingLines:
    """Lines waiting to be converted, in order: whole runs and lines added one at a time."""

    def __init__(self) -> None:
        self._runs: list[LineRun] = []
        self._loose: list[Line] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, line: Line) -> None:
        self._loose.append(line)
        self._count += 1

    def extend(self, run: LineRun) -> None:
        self._seal()
        self._runs.append(run)
        self._count += len(run)

    def _seal(self) -> None:
        if self._loose:
            self._runs.append(LineRun.of(self._loose))
            self._loose = []

    def take(self, size: int | None = None) -> LineRun:
        """The first ``size`` lines (all of them: None), which leave."""
        self._seal()
        need = self._count if size is None else min(size, self._count)
        out: list[LineRun] = []
        self._count -= need
        while need:
            run = self._runs[0]
            if len(run) <= need:
                out.append(self._runs.pop(0))
                need -= len(run)
            else:
                out.append(run.cut(0, need))
                self._runs[0] = run.cut(need, len(run))
                need = 0
        return LineRun.join(out) if out else LineRun.of([])


def iter_line_blocks(source: Source, quarantine: Quarantine) -> Iterator[tuple[LineRun, bool]]:
    """The non-empty lines of each block read, and whether none of them starts with ``#`` (then the
    reader takes them all as data)."""
    offset = 0
    lineno = 0
    with source.open() as fh:
        read = getattr(fh, "read1", fh.read)
        # read when the lines before are counted: a break is quarantined at the line it cut
        blocks = whole_lines(
            lambda: read_or_quarantine(lambda: read(BLOCK_BYTES), quarantine, lineno + 1, offset)
        )
        for data in blocks:
            if data.isascii() and b"\r" not in data and b"\x00" not in data:
                body = np.frombuffer(data, np.uint8)
                nl = np.flatnonzero(body == 10)
                starts = np.empty(len(nl) + 1, np.int64)
                starts[0] = 0
                starts[1:] = nl + 1
                numbers = np.arange(lineno + 1, lineno + 2 + len(nl))
                # The first byte of each line (the last line may be empty) tells both whether a line
                # starts with '#' (a search for b"\n#" is slow: newlines are near matches) and
                # whether a line may be blank: one whose first byte is not blank is not.
                whole = starts[-1] < len(data)
                firsts = body[starts if whole else starts[:-1]]
                plain = not (firsts == 35).any()
                if whole and not _BLANK_START[firsts].any():
                    run = LineRun(None, numbers, starts + offset, data, starts)
                else:
                    texts = data.decode("ascii").split("\n")
                    run = LineRun(texts, numbers, starts + offset)
                    # a blank line leaves an empty line once its blank bytes are deleted
                    rest = data.translate(None, _BLANK_BYTES)
                    if not rest or rest[:1] == b"\n" or rest[-1:] == b"\n" or b"\n\n" in rest:
                        keep = [i for i, t in enumerate(texts) if t.strip(_BLANK)]
                        run = LineRun([texts[i] for i in keep], run.numbers[keep], run.offsets[keep])
                lineno += len(starts)
                offset += len(data) + 1
            else:
                plain = not data.startswith(b"#") and b"\n#" not in data
                lines: list[Line] = []
                for raw in data.split(b"\n"):
                    lineno += 1
                    start = offset
                    offset += len(raw) + 1
                    text = decode_line(raw, lineno, start, quarantine, "utf-8")
                    if text is not None:
                        lines.append((lineno, start, text))
                run = LineRun.of(lines)
            if len(run):
                yield run, plain
