"""The bytes of a LANL file on their way to pyarrow (sekimori.ingest.lanl.stream)."""

from __future__ import annotations

import io
from pathlib import Path

from sekimori.ingest.base import Quarantine
from sekimori.ingest.lanl.stream import CleanStream, LineNumbers
from sekimori.ingest.source import expand


def _quarantine(tmp_path: Path) -> Quarantine:
    path = tmp_path / "auth.txt"
    path.write_bytes(b"")
    return Quarantine(next(expand(str(path))))


def test_clean_lines_pass_through_untouched(tmp_path: Path):
    data = b"1,a@d,b@d\n2,c@d,e@d\n"
    q = _quarantine(tmp_path)
    stream = CleanStream(io.BytesIO(data), q)
    assert stream.read() == data
    assert stream.lines == 2 and len(q) == 0


def test_bad_lines_are_blanked_but_keep_their_line_break(tmp_path: Path):
    data = b"1,ok\n2,\xff\xfe\n3,nul\x00\n4,cr\rinside\n5,ok\n"
    q = _quarantine(tmp_path)
    out = CleanStream(io.BytesIO(data), q).read()
    assert out == b"1,ok\n\n\n\n5,ok\n"  # five lines still: later line numbers stay right
    assert [(r.record, r.field) for r in q.records] == [(2, "line"), (3, "line"), (4, "line")]
    assert q.records[0].reason.startswith("not utf-8 text")
    assert q.records[1].reason == "NUL byte in a text line"
    assert q.records[2].reason == "carriage return inside a line"
    assert q.records[1].offset == data.index(b"3,nul")


def test_a_stream_that_breaks_off_ends_with_one_quarantine_row(tmp_path: Path):
    class Broken(io.BytesIO):
        def read1(self, size: int = -1) -> bytes:
            if self.tell():
                raise OSError("truncated")
            return super().read1(8)

    q = _quarantine(tmp_path)
    out = CleanStream(Broken(b"1,a\n2,partial"), q).read()
    assert out == b"1,a\n"
    assert len(q) == 1 and q.records[0].record == 2 and "stream broke off" in q.records[0].reason


def test_line_numbers_skip_the_lines_pyarrow_dropped():
    numbers = LineNumbers()
    numbers.skip(3)
    numbers.skip(4)
    assert numbers.take(3).to_pylist() == [1, 2, 5]
    numbers.skip(7)
    assert numbers.take(2).to_pylist() == [6, 8]
    assert numbers.next == 9
