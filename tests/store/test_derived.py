"""Per-segment derived files (sekimori/store/derived.py): published whole or not at all, found only for
the segment as it was when they were written, dropped with the segment."""

from __future__ import annotations

import pytest

from sekimori.store import Store
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
