"""The block line reader and the tuple batch builder the cloud readers use: the same lines, quarantine
rows and batches as ``iter_lines`` (one ``readline`` per line) and ``BatchBuilder`` (one dict per event)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sekimori.ingest.base import Quarantine
from sekimori.ingest.entra import COLUMNS as ENTRA_COLUMNS
from sekimori.ingest.entra import audit_event, classify, signin_event
from sekimori.ingest.rows import BatchBuilder, TupleBatches, iter_lines, iter_lines_bom
from sekimori.ingest.source import Source, expand

# Every case the line reader treats apart: CRLF and lone CR endings, blank and whitespace-only lines
# (ASCII whitespace, vertical tab, form feed), a BOM at the start and in the middle, bytes that are not
# UTF-8, a NUL, a line far longer than a read block, and a last line without a newline.
TRICKY = b"".join(
    [
        b'\xef\xbb\xbf{"a": 1}\r\n',
        b"\n",
        b"   \t \n",
        b"\x0b\x0c\r\n",
        b'{"b": 2}\r\r\n',
        b'\xef\xbb\xbf{"c": 3}\n',
        b"\xef\xbb\xbf\n",
        b'{"d": "\xff\xfe"}\n',
        b'{"e": "\x00"}\n',
        b'{"f": "' + b"x" * (3 << 20) + b'"}\n',
        b'  {"g": "\xc3\xa9"}  \n',
        b"\xc2\xa0\n",  # a no-break space: not blank to bytes.strip()
        b'{"h": 8}',
    ]
)


def _read(fn, source: Source):  # type: ignore[no-untyped-def]
    quarantine = Quarantine(source)
    lines = list(fn(source, quarantine))
    return lines, [vars(r) for r in quarantine.records]


@pytest.mark.parametrize("data", [TRICKY, b"", b"\n\n", b"{}\n", b"{}", TRICKY[:-9], TRICKY + b"\n\n\r\n"])
def test_block_reader_reads_what_readline_reads(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_bytes(data)
    source = next(expand(str(path)))
    assert source.is_plain_file()
    expected = _read(lambda s, q: iter_lines(s, q, encoding="utf-8-sig"), source)
    assert _read(iter_lines_bom, source) == expected


def test_block_reader_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "small.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{}\r\n\n \n{"x": "\xff"}\n\xef\xbb\xbf[1]')
    lines, bad = _read(iter_lines_bom, next(expand(str(path))))
    assert lines == [(1, 0, "{}"), (5, 21, "[1]")]  # 7 + 1 + 2 + 11 bytes before it
    assert [(b["record"], b["offset"], b["reason"]) for b in bad] == [
        (4, 10, "not utf-8-sig text: invalid start byte")
    ]


def test_block_reader_leaves_compressed_streams_to_readline(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl.gz"
    path.write_bytes(gzip.compress(TRICKY)[:-20])  # truncated: the stream breaks off
    source = next(expand(str(path)))
    assert not source.is_plain_file()
    expected = _read(lambda s, q: iter_lines(s, q, encoding="utf-8-sig"), source)
    assert expected[1][-1]["reason"].startswith("stream broke off")
    assert _read(iter_lines_bom, source) == expected


def _events() -> list[dict[str, object]]:
    when = datetime(2024, 5, 1, 10, tzinfo=UTC)
    return [
        {
            "record_id": i,
            "time": when,
            "principal": f"user{i}",
            "src_port": 443 if i % 2 else None,
            "raw": "{}",
        }
        for i in range(1, 8)
    ]


def test_tuple_batches_match_batch_builder() -> None:
    columns = ("record_id", "time", "principal", "src_port", "raw")
    rows = _events()
    expected = list(BatchBuilder(3).batches(rows))
    got = list(TupleBatches(columns, 3).batches(tuple(r[c] for c in columns) for r in rows))
    assert [b.num_rows for b in got] == [3, 3, 1]
    assert [b.to_pylist() for b in got] == [b.to_pylist() for b in expected]


def test_tuple_batches_quarantine_an_unfit_value(tmp_path: Path) -> None:
    source = Source(str(tmp_path / "x"), tmp_path / "x")
    quarantine = Quarantine(source)
    rows = _events()
    rows[2]["src_port"] = 2**40  # beyond int32
    columns = ("record_id", "time", "principal", "src_port", "raw")
    builder = TupleBatches(columns, 100, quarantine)
    (batch,) = builder.batches(tuple(r[c] for c in columns) for r in rows)
    assert batch.column("record_id").to_pylist() == [1, 2, 4, 5, 6, 7]
    assert [(r.record, r.field) for r in quarantine.records] == [(3, "src_port")]


def test_tuple_batches_refuse_unknown_columns() -> None:
    with pytest.raises(KeyError):
        TupleBatches(("record_id", "no_such_column"))


def test_entra_columns_cover_both_mappings() -> None:
    signin = classify(
        {"createdDateTime": "2024-05-01T10:00:00Z", "userPrincipalName": "a@b.c", "status": {"errorCode": 0}}
    )
    audit = classify(
        {"activityDateTime": "2024-05-01T10:00:00Z", "activityDisplayName": "Add user", "initiatedBy": {}}
    )
    assert signin is not None and audit is not None
    assert set(signin_event(signin)) | set(audit_event(audit)) == set(ENTRA_COLUMNS)
