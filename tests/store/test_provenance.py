"""The provenance columns made by Arrow for a large batch are the ones formatted row by row."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sekimori.ingest import EVENT_SCHEMA, Source
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
    got, size = reading._with_provenance(batch, batch.nbytes, source, "windows_json", "ab" * 8, 10)
    got.validate(full=True)
    assert got.schema == EVENT_SCHEMA
    assert size == got.nbytes  # derived from the columns replaced, not measured
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


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_batch({"record_id": list(range(40)), "raw": ["x" * 9] * 40}, 40).slice(3, 30),
        lambda: make_batch({"host": ["h", None] * 20, "uid": ["u"] * 40}, 40).filter(
            pa.array([True, False] * 20)
        ),
        lambda: _reordered(make_batch({"raw": ["{}"] * 5, "record_id": list(range(5))}, 5)),
    ],
    ids=["sliced", "filtered", "other-order"],
)
def test_the_size_of_a_batch_with_provenance_is_its_nbytes(tmp_path, make) -> None:
    """A reader's batch cut by a resume, or its columns in another order than the event schema's."""
    batch = make()
    source = Source(str(tmp_path / "a.evtx"), tmp_path / "a.evtx")
    got, size = reading._with_provenance(batch, batch.nbytes, source, "evtx", "cd" * 8, 0)
    assert got.schema == EVENT_SCHEMA
    assert got.num_rows == batch.num_rows
    assert size == got.nbytes


def _reordered(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(batch.columns[::-1], names=batch.schema.names[::-1])
