"""Lines of a Zeek log read in large blocks: the same lines and quarantine rows as ``iter_lines``.

``sekimori.ingest.rows.iter_lines`` calls ``readline`` once per line, which for a gzip stream is a
Python method (``gzip.GzipFile.readline``) and, with the per-line decode, cost the Zeek reader about a
third of its time. Here the stream is read with ``read1`` in blocks of 1 MiB and split at newlines in C
(``rows.whole_lines``). A block of ASCII text without CR
or NUL (nearly every block of a Zeek log) skips the per-line decode and checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import accumulate

from sekimori.ingest.base import Quarantine
from sekimori.ingest.rows import BLOCK_BYTES, decode_line, read_or_quarantine, whole_lines
from sekimori.ingest.source import Source

Line = tuple[int, int, str]
# What ``bytes.strip`` removes: ``str.strip`` would also remove \x1c-\x1f, which are not blank here.
_BLANK = " \t\n\r\x0b\x0c"


def iter_line_blocks(source: Source, quarantine: Quarantine) -> Iterator[tuple[list[Line], bool]]:
    """The non-empty lines of each block read, as (line number from 1, byte offset, text without the
    newline), and whether none of them starts with ``#`` (then the reader takes them all as data)."""
    offset = 0
    lineno = 0
    with source.open() as fh:
        read = getattr(fh, "read1", fh.read)
        # read when the lines before are counted: a break is quarantined at the line it cut
        blocks = whole_lines(
            lambda: read_or_quarantine(lambda: read(BLOCK_BYTES), quarantine, lineno + 1, offset)
        )
        for data in blocks:
            plain = not data.startswith(b"#") and b"\n#" not in data
            lines: list[Line] = []
            if data.isascii() and b"\r" not in data and b"\x00" not in data:
                texts = data.decode("ascii").split("\n")
                # ends[i]: the offset of line i, less the i newlines before it
                ends = list(accumulate(map(len, texts), initial=offset))
                first = lineno + 1
                lines = [(first + i, ends[i] + i, t) for i, t in enumerate(texts) if t.strip(_BLANK)]
                lineno += len(texts)
                offset = ends[-1] + len(texts)
            else:
                for raw in data.split(b"\n"):
                    lineno += 1
                    start = offset
                    offset += len(raw) + 1
                    text = decode_line(raw, lineno, start, quarantine, "utf-8")
                    if text is not None:
                        lines.append((lineno, start, text))
            if lines:
                yield lines, plain
