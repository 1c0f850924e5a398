"""The lines of a text log as UTF-8 bytes, a block at a time, for readers that parse bytes (``orjson``)
and keep each line whole (the ``raw`` column): no ``readline`` and no ``str`` per line.

``iter_line_blocks`` hands out every line as it is in the stream; ``decode_line`` of each gives what
``rows.iter_lines(source, q, "utf-8-sig")`` gives, with the same quarantine rows in the same order
relative to what the reader adds itself (``decoded_lines`` does just that), so a reader can switch
without changing its output and call ``decode_line`` only for the lines it needs to. ``utf8_array``
makes a string column of such lines with one copy (a join) instead of a conversion per value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import accumulate

import pyarrow as pa

from sekimori.ingest.base import Quarantine
from sekimori.ingest.rows import BLOCK_BYTES, STREAM_ERRORS, decode_line, iter_lines, whole_lines
from sekimori.ingest.source import Source, SourceError

# (number of the first line from 1, its byte offset, the lines without their newline, decoded): what
# ``iter_line_blocks`` yields. The lines of a block follow each other in the stream; ``decoded``: they
# are ``decode_line``'s text already (encoded), not to be decoded again.
LineBlock = tuple[int, int, list[bytes], bool]

_INT32_MAX = 2**31 - 1


def iter_line_blocks(
    source: Source, quarantine: Quarantine, block_bytes: int = BLOCK_BYTES
) -> Iterator[LineBlock]:
    """Every line of ``source`` (blank ones too) as it is in the stream, read in blocks split at
    newlines in C: ``decode_line`` of each line gives what ``iter_lines(source, quarantine,
    "utf-8-sig")`` gives, with the same quarantine rows in the same order.

    The reader decides when a line needs ``decode_line`` (see ``windows_json``: a line ``orjson``
    parses as bytes is valid UTF-8 without NUL or byte-order mark, i.e. its own text). Where the stream
    breaks off, the lines after the last whole block are read again by ``iter_lines``, which places the
    break exactly as it always did; they come one a block, already decoded. The blocks are cut by
    ``rows.whole_lines``, as for plain files and Zeek logs.
    """
    offset, lineno = source.line_start()  # of the next line
    with source.open() as fh:
        try:
            for data in whole_lines(lambda: fh.read(block_bytes)):
                lines = data.split(b"\n")
                yield lineno, offset, lines, False
                lineno += len(lines)
                offset += len(data) + 1
        except (*STREAM_ERRORS, SourceError):
            yield from _lines_after(source, quarantine, lineno - 1)


def _lines_after(source: Source, quarantine: Quarantine, done: int) -> Iterator[LineBlock]:
    """The lines after line ``done`` and their quarantine rows, read again from the start by
    ``iter_lines``: the rows for the lines up to ``done`` are in ``quarantine`` already."""
    scratch = Quarantine(source)

    def move() -> None:
        quarantine.records.extend(r for r in scratch.records if r.record is None or r.record > done)
        scratch.records.clear()

    for lineno, start, text in iter_lines(source, scratch, encoding="utf-8-sig"):
        move()
        if lineno > done:
            yield lineno, start, [text.encode()], True
    move()


def decoded_lines(
    source: Source, quarantine: Quarantine, block_bytes: int = BLOCK_BYTES
) -> Iterator[tuple[int, int, str]]:
    """``iter_line_blocks`` with ``decode_line`` applied to every line: ``iter_lines``'s lines (for tests
    and readers that want text)."""
    for lineno, offset, lines, decoded in iter_line_blocks(source, quarantine, block_bytes):
        for line in lines:
            text = line.decode() if decoded else decode_line(line, lineno, offset, quarantine, "utf-8-sig")
            if text is not None:
                yield lineno, offset, text
            lineno += 1
            offset += len(line) + 1


def utf8_array(lines: Sequence[bytes]) -> pa.Array:
    """A string array of ``lines`` (valid UTF-8, as ``iter_line_blocks`` gives them) from one join:
    converting each value costs about eight times as much on kilobyte-long lines."""
    data = b"".join(lines)
    if len(data) > _INT32_MAX:  # beyond 32-bit offsets: Arrow's own conversion splits it
        return pa.array([line.decode() for line in lines], pa.string())
    offsets = pa.array(list(accumulate(map(len, lines), initial=0)), pa.int32())
    return pa.StringArray.from_buffers(len(lines), offsets.buffers()[1], pa.py_buffer(data))
