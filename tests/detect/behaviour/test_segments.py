"""The behaviour analytics read from per-segment rows (``segments.py``) give the alerts of the one pass over
the events (``staging.stage_raw_logons``), which the scenario tests of ``test_behaviour.py`` check by hand.

The stores are ingested in several steps (one segment each), with detections between the steps, so the
rows of earlier segments are kept and read back, and the baseline's end falls inside an hour that
several segments hold (those rows are counted again from their events)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from sekimori.detect.base import DetectContext
from sekimori.detect.behaviour import BehaviourConfig, run_behaviour
from sekimori.detect.run import run_detectors
from sekimori.store import Store
from tests.conftest import DATA, corpus
from tests.detect.test_behaviour import _lanl_lines, _line

SETTINGS = [
    {},
    {"baseline_scope": "source_file"},
    {"baseline_fraction": 0.5, "fan_out_hosts": "all"},
    {"skip_machine_accounts": False, "account_key": "user@domain", "evidence_cap": 3},
    {"baseline_days": 0.01, "learn_ip_names": False},
]


def _both(store: Store, settings: dict, save: bool = True) -> tuple[pa.Table, pa.Table]:
    """(one pass over the events, per-segment rows) on the same store."""
    cfg = BehaviourConfig.from_settings(settings)
    direct = DetectContext(store)
    by_segment = DetectContext(store, save=save)
    try:
        return run_behaviour(direct.con, cfg), run_behaviour(by_segment.con, cfg, by_segment)
    finally:
        direct.close()
        by_segment.close()


def _assert_equal(direct: pa.Table, by_segment: pa.Table) -> None:
    assert by_segment.num_rows == direct.num_rows
    key = [("alert_id", "ascending")]
    assert by_segment.sort_by(key).to_pylist() == direct.sort_by(key).to_pylist()


@pytest.fixture(scope="module")
def lanl_steps(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The scenario of ``test_behaviour.py`` (real LANL lines, then attacks) ingested in three steps."""
    root = tmp_path_factory.mktemp("behaviour-segments")
    real = (DATA / "lanl" / "auth_head.csv").read_text().splitlines()
    lines = real + _lanl_lines()
    store = Store(root / "store")
    # U1 from C1 to C10 in the first hour on both sides of the baseline's end (~1000 s): rows across it
    lines += [_line(2000 + i, "U1@DOM1", "C1", "C10") for i in range(3)]
    thirds = [lines[i::3] for i in range(3)]  # each segment spans the whole time range
    for i, part in enumerate(thirds):
        path = root / f"auth-{i}.txt"
        path.write_text("\n".join(part) + "\n")
        store.ingest([str(path)], reader="lanl", workers=1)
        run_detectors(store, only=["behaviour"])  # the rows of the segments so far are kept
    assert len(store.segments()) == 3
    return store


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(s) or "defaults")
def test_lanl_scenario_in_three_segments_gives_the_alerts_of_one_pass(
    lanl_steps: Store, settings: dict
) -> None:
    direct, by_segment = _both(lanl_steps, settings)
    _assert_equal(direct, by_segment)
    rules = set(direct.column("rule_id").to_pylist())
    # teeth: the scenario's attacks are found (the hand-checked alerts of test_behaviour.py); with a
    # baseline per file, the failures are split over three files, below the failure rules' thresholds
    attacks = {"behaviour.fan_out", "behaviour.brute_force", "behaviour.password_spray"}
    if settings.get("baseline_scope") == "source_file":
        attacks = {"behaviour.fan_out"}
    assert attacks <= rules


def test_the_baseline_end_falls_inside_rows_that_are_counted_again(lanl_steps: Store) -> None:
    """The LANL times are seconds from 1970-01-01: the baseline ends (a quarter of the span) in the first
    hour, whose rows in all three segments straddle it."""
    ctx = DetectContext(lanl_steps)
    try:
        run_behaviour(ctx.con, BehaviourConfig(), ctx)
        parts = dict(ctx.con.execute("SELECT part, count(*) FROM _bh_rows GROUP BY 1").fetchall())
        across = ctx.con.execute(
            "SELECT count(DISTINCT segment) FROM _bh_rows WHERE part = 'across'"
        ).fetchone()
    finally:
        ctx.close()
    assert parts.get("across", 0) > 0 and parts.get("after", 0) > 0
    assert across == (3,)


def test_rows_of_earlier_segments_are_kept_and_not_computed_again(tmp_path: Path) -> None:
    lines = (DATA / "lanl" / "auth_head.csv").read_text().splitlines() + _lanl_lines()
    store = Store(tmp_path / "store")
    (tmp_path / "a.txt").write_text("\n".join(lines[:300]) + "\n")
    store.ingest([str(tmp_path / "a.txt")], reader="lanl", workers=1)
    run_detectors(store, only=["behaviour"])
    kinds = [k for k in store.derived_kinds() if k.startswith("behaviour_logons_")]
    assert len(kinds) == 1
    first = {s: (p.name, p.stat().st_mtime_ns) for s, p in store.derived_files(kinds[0]).items()}
    assert len(first) == 1
    (tmp_path / "b.txt").write_text("\n".join(lines[300:]) + "\n")
    store.ingest([str(tmp_path / "b.txt")], reader="lanl", workers=1)
    run_detectors(store, only=["behaviour"])
    after = {s: (p.name, p.stat().st_mtime_ns) for s, p in store.derived_files(kinds[0]).items()}
    assert len(after) == 2
    assert {s: after[s] for s in first} == first  # the first segment's rows were not computed again
    stored = store.sql("SELECT * FROM alerts").sort_by([("alert_id", "ascending")])
    direct, _ = _both(store, {})
    assert (
        stored.column("alert_id").to_pylist()
        == direct.sort_by([("alert_id", "ascending")]).column("alert_id").to_pylist()
    )


def test_settings_the_rows_cannot_answer_read_the_events(lanl_steps: Store) -> None:
    """Failure windows finer than a minute, or more evidence than a row keeps: the one pass is used."""
    for settings in ({"spray_window_minutes": 1, "brute_window_minutes": 1}, {"evidence_cap": 500}):
        direct, by_segment = _both(lanl_steps, settings, save=False)
        _assert_equal(direct, by_segment)


@pytest.mark.corpus
@pytest.mark.parametrize("scope", ["global", "source_file"])
def test_evtx_attack_samples_in_segments_give_the_alerts_of_one_pass(tmp_path: Path, scope: str) -> None:
    samples = corpus("evtx-attack-samples")
    store = Store(tmp_path / "store")
    folders = sorted(p for p in samples.iterdir() if p.is_dir())
    for folder in folders:  # one segment per tactic folder
        store.ingest([str(folder)], workers=1)
    assert len(store.segments()) == len([f for f in folders if any(f.rglob("*.evtx"))])
    direct, by_segment = _both(store, {"baseline_scope": scope})
    _assert_equal(direct, by_segment)
    # teeth: spraying in the Credential Access samples; more analytics with one baseline for all files
    assert len(set(direct.column("rule_id").to_pylist())) >= (2 if scope == "global" else 1)


@pytest.mark.corpus
def test_lanl_sample_in_segments_gives_the_alerts_of_one_pass(tmp_path: Path) -> None:
    lines = corpus("lanl-2015", "auth_head", "auth_first50k.csv").read_text().splitlines()
    store = Store(tmp_path / "store")
    quarter = len(lines) // 4 + 1
    for i in range(4):
        part = tmp_path / f"auth-{i}.txt"
        part.write_text("\n".join(lines[i * quarter : (i + 1) * quarter]) + "\n")
        store.ingest([str(part)], reader="lanl", workers=1)
    assert len(store.segments()) == 4
    for settings in ({}, {"baseline_scope": "source_file"}):
        direct, by_segment = _both(store, settings)
        _assert_equal(direct, by_segment)
        assert direct.num_rows > 0
