"""The provenance columns made by Arrow for a large batch are the ones formatted row by row."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sekimori.ingest import Source
from sekimori.ingest.schema import make_batch
from sekimori.store import reading


@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 5000])
@pytest.mark.parametrize("start", [0, 7, 2**40])
def test_uids_are_the_prefix_and_each_ordinal(n: int, start: int) -> None:
    expected = pa.array([f"0123456789abcdef:{i}" for i in range(start, start + n)], pa.string())
    got = reading.uids("0123456789abcdef", start, n)
    assert got.type == pa.string()
    assert got.equals(expected)


@pytest.mark.parametrize("n", [0, 3, 300])
@pytest.mark.parametrize("member", [None, "inner/file.json", "\udcff.json"])
def test_a_batch_gets_its_file_format_and_member_on_every_row(tmp_path, n: int, member: str | None) -> None:
    source = Source(str(tmp_path / "logs.zip"), tmp_path / "logs.zip", member)
    batch = make_batch({"record_id": list(range(n))}, n)
    got = reading._with_provenance(batch, source, "windows_json", "ab" * 8, 10)
    got.validate(full=True)
    rows = got.select(["uid", "source_format", "source_file", "source_member"]).to_pylist()
    member_text = None if member is None else member.encode("utf-8", "backslashreplace").decode()
    assert rows == [
        {
            "uid": f"{'ab' * 8}:{10 + i}",
            "source_format": "windows_json",
            "source_file": str(tmp_path / "logs.zip"),
            "source_member": member_text,
        }
        for i in range(n)
    ]
