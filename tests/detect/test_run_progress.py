"""A detection run tells its progress (each detector's start and end, each Sigma pass with the events it
read) and runs within a memory cap, spilling to a private folder it removes. The demo's real logs; the
events per pass are counted here straight from the store, apart from the engine."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from sekimori.detect import DetectProgress, run_detectors
from sekimori.store import Store

DEMO_LOGS = Path(__file__).parents[2] / "sekimori" / "demo" / "data" / "logs"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    st = Store(tmp_path_factory.mktemp("demo-logs"))
    st.ingest([str(DEMO_LOGS)])
    return st


def test_progress_names_each_detector_and_each_sigma_pass(store):
    told: list[DetectProgress] = []
    report = run_detectors(store, only=["sigma"], save=False, progress=told.append)
    steps = [(e.detector, e.step) for e in told if e.step in ("start", "end")]
    assert steps == [("sigma", "start"), ("sigma", "end")]
    (sigma,) = [r for r in report.runs if r.name == "sigma"]
    passes = [e for e in told if e.step == "pass"]
    assert passes == sigma.passes and all(e.detector == "sigma" for e in passes)
    assert told[-1].alerts == sigma.alerts == report.alerts.num_rows
    by_source = {e.logsource: e.events for e in passes}
    con = store.connect()
    security_4688 = con.execute(
        "SELECT count(*) FROM events WHERE lower(channel) = 'security' AND event_code = '4688'"
    ).fetchall()[0][0]
    sysmon_1 = con.execute(
        "SELECT count(*) FROM events "
        "WHERE channel = 'Microsoft-Windows-Sysmon/Operational' AND event_code = '1'"
    ).fetchall()[0][0]
    signins = con.execute(
        "SELECT count(*) FROM events WHERE source_format = 'entra' AND channel = 'SignInLogs'"
    ).fetchall()[0][0]
    # process creation read on Sysmon's event 1 and the Security log's 4688 in one pass (merge.py)
    process = "Channel=Microsoft-Windows-Sysmon/Operational EventID=1 + Channel=Security EventID=4688"
    assert by_source[process] == security_4688 + sysmon_1 and security_4688 > 0
    assert by_source["entra:signinlogs"] == signins == 2
    # one pass per log source group: the Windows channels and event ids, and each source
    assert len(by_source) == len(passes)
    # the demo's logs fit one batch of the default 1 GB budget: one batch per pass
    batches = [e for e in told if e.step == "batch"]
    assert {e.logsource: e.events for e in batches} == by_source
    assert [e.done for e in batches] == list(range(1, len(passes) + 1))


def test_memory_cap_is_applied_and_its_spill_folder_removed(store, tmp_path, monkeypatch):
    # a temp folder of this test's own: other processes' runs come and go in the shared one
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    report = run_detectors(store, only=["sigma"], save=False, memory_limit="256MB")
    assert report.alerts.num_rows > 0
    assert list(tmp_path.glob("sekimori-detect-*")) == []
    with pytest.raises(ValueError, match="not a memory size"):
        run_detectors(store, only=["sigma"], save=False, memory_limit="1GB'; SET x='y")


def test_the_context_connection_carries_the_cap(store):
    from sekimori.detect.base import DetectContext

    ctx = DetectContext(store, memory_limit="256MB")
    try:
        limit, spill = ctx.con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()[0]
        # DuckDB shows 256 MB (10^6 bytes) in MiB: 256e6 / 2^20 = 244.1
        assert limit == "244.1 MiB"
        assert Path(spill).is_dir() and Path(spill).name.startswith("sekimori-detect-")
        assert oct(Path(spill).stat().st_mode & 0o777) == "0o700"
    finally:
        ctx.close()
    assert not Path(spill).exists()
