"""The Zeek reader's lines read in blocks (``sekimori.ingest.zeek.lines``) against ``iter_lines``, the
reference: the same line numbers, offsets, texts and quarantine rows, whichever way a block is read (the
ASCII fast path, kept as columns, or a line at a time)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from sekimori.ingest.base import Quarantine
from sekimori.ingest.rows import iter_lines
from sekimori.ingest.source import expand
from sekimori.ingest.zeek.lines import LineRun, PendingLines, iter_line_blocks

CONTENTS = {
    "plain": b"a\tb\nc\td\n",
    "no final newline": b"a\tb\nc\td",
    "blank lines": b"\n\na\n\n  \n\t\nb\n\x0b\n \x0c \nc\n\n",
    "only blank": b"\n \n\t\n",
    "leading blank": b" \na\n",
    "trailing blank": b"a\n\t",
    "not blank": b"\x1c\n\x1f \na\n",
    "crlf": b"a\tb\r\nc\r\n\r\n",
    "non-ascii": b"\xc3\xa9\n\n  \nb\n",
    "not utf-8": b"a\n\xff\xfe\nb\n",
    "nul": b"a\n\x00b\nc\n",
    "comments": b"#x\ta\n#fields\ta\n1\n",
}


def _both(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    (source,) = expand(str(path))
    qa, qb = Quarantine(source), Quarantine(source)
    expected = list(iter_lines(source, qa))
    got = [line for run, _ in iter_line_blocks(source, qb) for line in run.items()]
    assert got == expected
    assert [(r.record, r.offset, r.reason) for r in qb.records] == [
        (r.record, r.offset, r.reason) for r in qa.records
    ]


@pytest.mark.parametrize("name", CONTENTS)
def test_lines_match_iter_lines(tmp_path: Path, name: str) -> None:
    _both(tmp_path, "x.log", CONTENTS[name])


def test_lines_match_iter_lines_over_many_blocks(tmp_path: Path) -> None:
    # Lines cut by the 1 MiB blocks, blank lines among them, and a gzip stream cut short.
    rng = np.random.default_rng(3)
    lines = []
    for i in range(60_000):
        kind = rng.integers(0, 200)
        lines.append(
            b"" if kind == 0 else b" \t" if kind == 1 else b"x" * int(rng.integers(1, 60)) + b"\t%d" % i
        )
    data = b"\n".join(lines)
    _both(tmp_path, "big.log", data)
    cut = gzip.compress(data)
    _both(tmp_path, "big.log.gz", cut[: len(cut) // 2])


def test_pending_lines_keep_their_order() -> None:
    pending = PendingLines()
    pending.add((1, 0, "a"))
    pending.extend(LineRun(["b", "c", "d"], np.array([2, 3, 5]), np.array([2, 4, 8])))
    pending.add((6, 10, "e"))
    assert len(pending) == 5
    assert pending.take(2).items() == [(1, 0, "a"), (2, 2, "b")]
    assert len(pending) == 3
    assert pending.take(10).items() == [(3, 4, "c"), (5, 8, "d"), (6, 10, "e")]
    assert len(pending) == 0 and not pending.take().items()


def _data_run(texts: list[str], first: int, offset: int) -> LineRun:
    data = "\n".join(texts).encode()
    starts = np.array([0, *np.cumsum([len(t) + 1 for t in texts[:-1]])], np.int64)
    return LineRun(None, np.arange(first, first + len(texts)), starts + offset, data, starts)


def test_runs_kept_as_bytes_match_their_texts() -> None:
    # The oracle: the same lines held as a list of texts, cut and joined with Python's list operations.
    a = ["{a}", "bb", "c" * 300, "d"]
    b = ["e", "{ff}"]
    runs = [_data_run(a, 1, 0), _data_run(b, 9, 100)]
    joined = LineRun.join(runs)
    texts = a + b
    assert joined.texts == texts
    assert joined.joined() == "\n".join(texts).encode()
    assert joined.array().to_pylist() == texts
    assert [joined.item(i)[2] for i in range(len(texts))] == texts
    assert joined.numbers.tolist() == [1, 2, 3, 4, 9, 10]
    assert joined.offsets.tolist() == [0, 4, 7, 308, 100, 102]
    for start, stop in ((0, 6), (1, 3), (3, 6), (5, 6), (2, 2)):
        part = LineRun.join([_data_run(a, 1, 0), _data_run(b, 9, 100)]).cut(start, stop)
        assert part.texts == texts[start:stop]
        assert part.array().to_pylist() == texts[start:stop]
        assert part.joined() == "\n".join(texts[start:stop]).encode()
        expected = list(zip([1, 2, 3, 4, 9, 10], [0, 4, 7, 308, 100, 102], texts, strict=True))
        assert part.items() == expected[start:stop]


def test_ascii_blocks_are_kept_as_bytes(tmp_path: Path) -> None:
    # Lines starting with a non-blank byte stay bytes; a line starting blank makes the block texts.
    path = tmp_path / "x.json"
    path.write_bytes(b'{"a":1}\n{"b":2}\n')
    (source,) = expand(str(path))
    ((run, plain),) = list(iter_line_blocks(source, Quarantine(source)))
    assert plain and run.joined() == b'{"a":1}\n{"b":2}' and run.array().to_pylist() == ['{"a":1}', '{"b":2}']
    path.write_bytes(b'{"a":1}\n {"b":2}\n')
    ((run, _),) = list(iter_line_blocks(source, Quarantine(source)))
    assert run.items() == [(1, 0, '{"a":1}'), (2, 8, ' {"b":2}')]


@pytest.mark.parametrize(
    "data",
    [*CONTENTS.values(), b"a\n#b\n", b"#a\nb", b"a\n\n#", b"a\n#", b"a#\nb #\n", b"\xc3\xa9\n#x\n", b"a\n"],
)
def test_plain_says_whether_a_line_starts_with_a_hash(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(data)
    (source,) = expand(str(path))
    blocks = list(iter_line_blocks(source, Quarantine(source)))
    # the lines of each block: the file's lines (the last one may come in a block of its own)
    assert [t for run, _ in blocks for _, _, t in run.items()] == [
        t for _, _, t in iter_lines(source, Quarantine(source))
    ]
    for run, plain in blocks:
        assert plain == (not any(text.startswith("#") for _, _, text in run.items()))
    assert all(plain for _, plain in blocks) == (not any(line.startswith(b"#") for line in data.split(b"\n")))
