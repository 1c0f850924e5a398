"""The behaviour analytics read from per-segment rows (``segments.py``) give the alerts of the one pass over
the events (``staging.stage_raw_logons``), which the scenario tests of ``test_behaviour.py`` check by hand.

The stores are ingested in several steps (one segment each), with detections between the steps, so the
rows of earlier segments are kept and read back; in time order or interleaved, so that one segment or
every segment holds logons across the baseline's end (those segments are counted again from their
events)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sekimori.detect.base import DetectContext
from sekimori.detect.behaviour import BehaviourConfig, run_behaviour, segments
from sekimori.detect.behaviour.staging import create_macros, stage_bounds
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


@pytest.fixture(autouse=True)
def merge_always(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """The rows are merged whatever share of the store is read again (but in the test of that choice)."""
    if not request.node.name.startswith("test_the_one_pass_is_used"):
        monkeypatch.setattr(segments, "ONE_PASS_SHARE", 1.0)
        monkeypatch.setattr(segments, "EVENTS_PER_ROW", 0.0)


def _both(store: Store, settings: dict, save: bool = True, merged: bool = True) -> tuple[pa.Table, pa.Table]:
    """(one pass over the events, per-segment rows) on the same store; ``merged``: whether the second
    run must have merged rows (not fallen back to the one pass)."""
    cfg = BehaviourConfig.from_settings(settings)
    direct = DetectContext(store)
    by_segment = DetectContext(store, save=save)
    try:
        alerts = run_behaviour(direct.con, cfg), run_behaviour(by_segment.con, cfg, by_segment)
        tables = {r[0] for r in by_segment.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert ("_bh_counted" in tables) == merged  # made only when rows are merged
        return alerts
    finally:
        direct.close()
        by_segment.close()


def _assert_equal(direct: pa.Table, by_segment: pa.Table) -> None:
    assert by_segment.num_rows == direct.num_rows
    key = [("alert_id", "ascending")]
    assert by_segment.sort_by(key).to_pylist() == direct.sort_by(key).to_pylist()


@pytest.fixture(scope="module", params=["in_time_order", "interleaved"])
def lanl_steps(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Store:
    """The scenario of ``test_behaviour.py`` (real LANL lines, then attacks) ingested in three steps."""
    root = tmp_path_factory.mktemp("behaviour-segments")
    real = (DATA / "lanl" / "auth_head.csv").read_text().splitlines()
    lines = real + _lanl_lines()
    store = Store(root / "store")
    # U1 from C1 to C10 on both sides of the baseline's end (a quarter of 1..4000 s: ~1000 s)
    lines += [_line(t, "U1@DOM1", "C1", "C10") for t in (900, 950, 1050, 1100)]
    lines.sort(key=lambda line: int(line.split(",", 1)[0]))
    if request.param == "interleaved":  # the same keys in every segment
        parts = [lines[i::3] for i in range(3)]
    else:  # in time order: only the middle segment holds logons across the baseline's end
        at = [int(line.split(",", 1)[0]) for line in lines]
        parts = [
            [x for x, t in zip(lines, at, strict=True) if lo <= t < hi]
            for lo, hi in ((0, 500), (500, 2500), (2500, 10**9))
        ]
    for i, part in enumerate(parts):
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


def test_only_the_segments_with_a_logon_across_the_baseline_end_are_read_again(
    lanl_steps: Store, request: pytest.FixtureRequest
) -> None:
    """Which segments are aggregated again, against a brute force over each segment's events in Python:
    those where one raw logon key has successes both before the baseline's end and at or after it."""
    ctx = DetectContext(lanl_steps)
    try:
        run_behaviour(ctx.con, BehaviourConfig(), ctx)
        be = ctx.con.execute("SELECT be FROM _bh_bounds").fetchone()[0]
        again = {r[0] for r in ctx.con.execute("SELECT segment FROM _bh_again").fetchall()}
    finally:
        ctx.close()
    expected = set()
    for segment in lanl_steps.segments():
        sides: dict[tuple, set[bool]] = {}
        for part in sorted(segment.glob("events-*.parquet")):
            for e in pq.read_table(part).to_pylist():
                success = e["activity"] == "logon" and e["outcome"] == "success"
                person = e["principal"] and not e["principal"].endswith("$")  # machine accounts: skipped
                if e["category"] == "authentication" and success and person and e["time"] is not None:
                    key = (*(e[c] for c in KEY), e["target_host"] or e["host"])
                    sides.setdefault(key, set()).add(e["time"] >= be)
        if any(len(s) == 2 for s in sides.values()):
            expected.add(segment.name)
    assert again == expected
    # teeth: in time order the middle segment alone is read again; interleaved, more than one
    if request.node.callspec.params["lanl_steps"] == "in_time_order":
        middle = [
            m["segment"] for m in lanl_steps.manifests() if m["files"][0]["path"].endswith("auth-1.txt")
        ]
        assert again == set(middle)
    else:
        assert len(again) > 1


KEY = ("principal", "domain", "src_host", "src_ip", "logon_type", "auth_package", "activity", "status")


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
        direct, by_segment = _both(lanl_steps, settings, save=False, merged=False)
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


def _merged(store: Store) -> tuple[bool, list[str]]:
    """Whether the rows were merged (not the one pass), and the segments read again."""
    ctx = DetectContext(store)
    try:
        con, cfg = ctx.con, BehaviourConfig()
        spans = segments.segment_spans(ctx)
        create_macros(con, cfg)
        stage_bounds(con, cfg, "''", spans)
        merged = segments.stage_raw_logons_from_segments(con, ctx, cfg)
        again = [r[0] for r in con.execute("SELECT segment FROM _bh_again").fetchall()]
    finally:
        ctx.close()
    return merged, again


def _stood_for(events: pa.Table) -> int:
    """The events a segment's rows stand for, counted from its own file: authentications with a time and
    an account that are successful logons or failures."""
    t = events.filter(
        pc.and_(
            pc.and_(pc.equal(events["category"], "authentication"), pc.is_valid(events["time"])),
            pc.is_valid(events["principal"]),
        )
    )
    success = pc.and_(pc.equal(t["activity"], "logon"), pc.equal(t["outcome"], "success"))
    kept = pc.or_kleene(success, pc.equal(t["outcome"], "failure"))
    return int(pc.sum(pc.fill_null(kept, False)).as_py() or 0)


def test_the_one_pass_is_used_when_the_rows_stand_for_few_events(
    lanl_steps: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "ONE_PASS_SHARE", 1.0)
    _merged(lanl_steps)  # the rows of every segment are kept
    kind = next(k for k in lanl_steps.derived_kinds() if k.startswith("behaviour_logons_"))
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in lanl_steps.derived_files(kind).values())
    events = sum(_stood_for(pq.read_table(f)) for f in lanl_steps.event_files())
    ratio = events / rows
    monkeypatch.setattr(segments, "EVENTS_PER_ROW", ratio + 0.01)
    assert _merged(lanl_steps)[0] is False
    monkeypatch.setattr(segments, "EVENTS_PER_ROW", ratio - 0.01)
    assert _merged(lanl_steps)[0] is True


def test_the_one_pass_is_used_when_the_segments_read_again_hold_most_events(
    lanl_steps: Store, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "EVENTS_PER_ROW", 0.0)
    merged, again = _merged(lanl_steps)
    sizes = {  # each segment's events, from its Parquet files' own row counts
        seg.name: sum(pq.ParquetFile(f).metadata.num_rows for f in seg.glob("events-*.parquet"))
        for seg in lanl_steps.segments()
    }
    share = sum(sizes[s] for s in again) / sum(sizes.values())
    assert merged == (share <= 0.5)
    # teeth: interleaved, two of three segments are read again (the one pass); in time order, one small
    assert merged == (request.node.callspec.params["lanl_steps"] == "in_time_order")
