"""Per-segment derived files (sekimori/store/derived.py): published whole or not at all, found only for
the segment as it was when they were written, dropped with the segment."""

from __future__ import annotations

import os
import time

import pytest

from sekimori.store import Store
from sekimori.store.derived import ROLLUP_GRACE
from tests.conftest import DATA


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(tmp_path / "store")
    store.ingest([str(DATA / "evtx/LM_ScheduledTask_ATSVC_target_host.evtx")])
    store.ingest([str(DATA / "evtx/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx")])
    return store


def test_a_file_is_found_for_its_segment_once_written_whole(store):
    one, two = (p.name for p in store.segments())
    with store.derived_writer("agg", one) as target:
        target.write_bytes(b"one")
    with pytest.raises(RuntimeError), store.derived_writer("agg", two) as target:
        target.write_bytes(b"half")
        raise RuntimeError("killed while writing")
    files = store.derived_files("agg")
    assert list(files) == [one] and files[one].read_bytes() == b"one"
    assert sorted(p.name for p in files[one].parent.iterdir()) == [files[one].name]  # no temporary left
    assert store.derived_files("other") == {}


def test_a_rewritten_or_removed_segment_loses_its_file(store):
    one, two = store.segments()
    for seg in (one, two):
        with store.derived_writer("agg", seg.name) as target:
            target.write_bytes(seg.name.encode())
    (two / "manifest.json").write_text((two / "manifest.json").read_text() + "\n")  # rewritten
    assert list(store.derived_files("agg")) == [one.name]
    for path in one.iterdir():  # removed
        path.unlink()
    one.rmdir()
    assert store.derived_files("agg") == {}
    assert len(store.prune_derived("agg")) == 2
    assert list((store.root / "derived" / "agg").iterdir()) == []


def test_a_kind_must_be_a_plain_name(store):
    with pytest.raises(Exception, match="not a valid derived kind"):
        store.derived_files("../tables")


def test_a_rollup_is_listed_once_written_whole_with_the_segments_it_stands_for(store):
    one, two = sorted(p.name for p in store.segments())
    with store.rollup_writer("agg", [two, one]) as target:
        target.write_bytes(b"both")
    with pytest.raises(RuntimeError), store.rollup_writer("agg", [one]) as target:
        target.write_bytes(b"half")
        raise RuntimeError("killed while writing")
    [rollup] = store.rollups("agg")
    assert rollup.segments == (one, two) and rollup.current and rollup.path.read_bytes() == b"both"
    folder = store.root / "derived" / "agg"
    assert sorted(p.name for p in folder.iterdir()) == [f"{rollup.name}.json", f"{rollup.name}.parquet"]
    store.drop_rollup("agg", rollup.name)
    assert store.rollups("agg") == []
    # unlisted, its file stays a while for a run that listed it before; once old, the next drop removes it
    assert [p.name for p in folder.iterdir()] == [f"{rollup.name}.parquet"]
    with store.rollup_writer("agg", [one]) as target:
        target.write_bytes(b"one")
    [newer] = store.rollups("agg")
    old = time.time() - ROLLUP_GRACE - 1
    os.utime(rollup.path, (old, old))
    store.drop_rollup("agg", newer.name)
    assert [p.name for p in folder.iterdir()] == [f"{newer.name}.parquet"]


def test_a_rollup_of_a_rewritten_or_removed_segment_is_stale(store):
    one, two = store.segments()
    with store.rollup_writer("agg", [one.name]) as target:
        target.write_bytes(b"one")
    with store.rollup_writer("agg", [one.name, two.name]) as target:
        target.write_bytes(b"both")
    (two / "manifest.json").write_text((two / "manifest.json").read_text() + "\n")  # rewritten
    current = {r.segments: r.current for r in store.rollups("agg")}
    assert current == {(one.name,): True, tuple(sorted([one.name, two.name])): False}
    for path in one.iterdir():  # removed
        path.unlink()
    one.rmdir()
    assert [r.current for r in store.rollups("agg")] == [False, False]


def test_an_unreadable_rollup_listing_is_stale(store):
    one = store.segments()[0].name
    with store.rollup_writer("agg", [one]) as target:
        target.write_bytes(b"one")
    [rollup] = store.rollups("agg")
    for text in ("{", '{"segments": []}', '{"segments": {}}', "[]"):
        rollup.path.with_suffix(".json").write_text(text)
        [again] = store.rollups("agg")
        assert (again.name, again.current) == (rollup.name, False)
