"""Rollups of settled segments (``rollups.py``): the behaviour analytics read with them give the alerts of
the one pass over the events; a rollup holds what a brute force over its segments' events gives; one the
baseline's end has moved across is not read, and the next run that keeps its results replaces it.

The store: routine logons of the same accounts, sources and destinations all the time (so every segment
has rows of the same keys), and the attacks of ``test_behaviour.py`` late, ingested in time order one
step of 1,000 s at a time, with a detection that keeps its results after each step, as ``watch`` does."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sekimori.detect.base import DetectContext
from sekimori.detect.behaviour import BehaviourConfig, rollups, run_behaviour, segments
from sekimori.detect.behaviour.rollups import rollup_kind
from sekimori.detect.run import run_detectors
from sekimori.store import Store
from tests.detect.behaviour.test_segments import SETTINGS, _assert_equal, _both
from tests.detect.test_behaviour import _line

STEP = 1_000
KIND = rollup_kind(segments.TABLES[0].kind, segments.KEY_NAMES, "''")  # one baseline for all files


@pytest.fixture(autouse=True)
def merge_always(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments, "ONE_PASS_SHARE", 1.0)
    monkeypatch.setattr(segments, "EVENTS_PER_ROW", 0.0)


def _routine(start: int, end: int) -> list[str]:
    """Every 37 s, one of 6 accounts from its source to one of 3 destinations (a machine account too)."""
    lines = []
    for i, t in enumerate(range(start + 3, end, 37)):
        user = f"U{i % 6 + 1}@DOM1" if i % 7 else "C9$@DOM1"
        lines.append(_line(t, user, f"C{i % 6 + 1}", f"C{10 + i % 3}"))
    return lines


def _attacks(start: int) -> list[str]:
    """A fan-out to 12 new hosts, a brute force and a spray, from ``start``."""
    lines = [_line(start + 20 * i, "U3@DOM1", "C3", f"C{100 + i}", pkg="NTLM") for i in range(12)]
    lines += [_line(start + 300 + i, "U4@DOM1", "C66", "C10", result="Fail") for i in range(30)]
    lines += [_line(start + 400 + i, f"V{i}@DOM1", "C77", "C11", result="Fail") for i in range(25)]
    return lines


def _step(store: Store, root: Path, number: int, lines: list[str]) -> None:
    path = root / f"auth-{number}.txt"
    path.write_text("\n".join(sorted(lines, key=lambda line: int(line.split(",", 1)[0]))) + "\n")
    store.ingest([str(path)], reader="lanl", workers=1)
    run_detectors(store, only=["behaviour"])  # keeps the segment's rows, and makes rollups


def _stepped(root: Path) -> Store:
    root.mkdir(parents=True, exist_ok=True)
    store = Store(root / "store")
    for number in range(8):
        start = number * STEP
        lines = _routine(start, start + STEP) + (_attacks(start) if number == 6 else [])
        _step(store, root, number, lines)
    return store


@pytest.fixture
def stepped(tmp_path: Path) -> Store:
    return _stepped(tmp_path)


def _covered(store: Store, settings: dict) -> list[str]:
    """The segments the rollups stood for in a detection (that does not keep its results)."""
    ctx = DetectContext(store, save=False)
    try:
        run_behaviour(ctx.con, BehaviourConfig.from_settings(settings), ctx)
        return sorted(r[0] for r in ctx.con.execute("SELECT segment FROM _bh_roll_covered").fetchall())
    finally:
        ctx.close()


def _segments_by_step(store: Store) -> list[str]:
    """The segments, by the step that ingested them."""
    named = {m["files"][0]["path"].rsplit("-", 1)[1]: m["segment"] for m in store.manifests()}
    return [named[f"{n}.txt"] for n in range(len(named))]


def test_rollups_give_the_alerts_of_one_pass(stepped: Store) -> None:
    by_step = _segments_by_step(stepped)
    # By hand (the routine runs from 3 s to ~965 s of each step; the baseline is the first quarter of
    # the span, a segment settles after it by half the baseline's length). After step 3 (baseline end
    # ~993): steps 2 and 3 settled after it (from ~1488) -> a rollup. After step 5 (~1493): steps 4 and 5
    # settled (from ~2238), the rollup of 2 and 3 not wholly past that -> a second rollup. After step 7
    # (~1993): steps 6 and 7 settled (from ~2979) -> taken in with the rollup of 4 and 5; steps 0 and 1
    # wholly before the end -> a rollup.
    assert _rolled(stepped) == sorted(tuple(sorted(s)) for s in (by_step[:2], by_step[2:4], by_step[4:]))
    for settings in SETTINGS:
        direct, by_segment = _both(stepped, settings, save=False)
        _assert_equal(direct, by_segment)
    assert _covered(stepped, {}) == sorted(by_step)
    # teeth: the attacks are found
    direct, _ = _both(stepped, {}, save=False)
    rules = set(direct.column("rule_id").to_pylist())
    assert {"behaviour.fan_out", "behaviour.brute_force", "behaviour.password_spray"} <= rules


def _rolled(store: Store) -> list[tuple[str, ...]]:
    return sorted(r.segments for r in store.rollups(KIND) if r.current)


def test_runs_that_take_the_one_pass_make_the_same_rollups(
    stepped: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that finds the rows too many to merge (and reads the events) still makes the rollups, so
    that a later run may merge fewer."""
    by_step = {name: n for n, name in enumerate(_segments_by_step(stepped))}
    monkeypatch.setattr(segments, "EVENTS_PER_ROW", float("inf"))
    one_pass = _stepped(tmp_path / "one-pass")
    steps = {name: n for n, name in enumerate(_segments_by_step(one_pass))}
    as_steps = [tuple(sorted(by_step[s] for s in r)) for r in _rolled(stepped)]
    assert sorted(tuple(sorted(steps[s] for s in r)) for r in _rolled(one_pass)) == sorted(as_steps)
    assert [b.num_rows for b in _both(one_pass, {}, save=False, merged=False)] != [0, 0]


def _events(store: Store, names: tuple[str, ...]) -> list[dict]:
    by_name = {p.name: p for p in store.segments()}
    return [
        e
        for name in names
        for part in sorted(by_name[name].glob("events-*.parquet"))
        for e in pq.read_table(part).to_pylist()
    ]


def test_a_rollup_holds_its_segments_successes_per_key(stepped: Store) -> None:
    """Against a brute force over the segments' events in Python (with one baseline for all files, a
    rollup's rows are per key, whatever the file: ``''``)."""
    for rollup in (r for r in stepped.rollups(KIND) if r.current):
        expected: dict[tuple, dict] = {}
        for e in _events(stepped, rollup.segments):
            kept = e["category"] == "authentication" and e["activity"] == "logon"
            if not (kept and e["outcome"] == "success" and e["time"] and e["principal"]):
                continue
            key = (
                "",
                *(e[c] for c in ("principal", "domain", "src_host", "src_ip")),
                e["target_host"] or e["host"],
                *(e[c] for c in ("logon_type", "auth_package", "outcome", "activity", "status")),
            )
            row = expected.setdefault(key, {"n": 0, "events": []})
            row["n"] += 1
            row["events"].append((e["time"], e["uid"], e["record_id"], e["source_file"]))
        got = {}
        for r in pq.read_table(rollup.path).to_pylist():
            key = (r["source_file"], *(r[c] for c in segments.KEY_NAMES.split(", ")))
            got[key] = r
        assert set(got) == set(expected)
        for key, row in expected.items():
            first = min(row["events"], key=lambda ev: (ev[0], ev[1]))
            times = [ev[0] for ev in row["events"]]
            r = got[key]
            assert (r["n"], r["tmin"], r["tmax"]) == (row["n"], min(times), max(times))
            assert r["ev_first"] == {"path": first[3], "record_id": first[2], "uid": first[1]}
        assert all(isinstance(r["tmin"], datetime) for r in got.values())


def test_a_rollup_the_baseline_end_moved_across_is_not_read_and_is_replaced(
    stepped: Store, tmp_path: Path
) -> None:
    by_step = _segments_by_step(stepped)
    before = {r.segments: r.name for r in stepped.rollups(KIND)}
    # A step at 21,000 s: the span is 3..~21965, the baseline ends at ~5493: across the rows of the
    # rollup of steps 4 to 7 (its keys have successes from ~4003 to ~7965); the rollups of steps 0-1 and
    # 2-3 lie before it.
    path = tmp_path / "late.txt"
    path.write_text("\n".join(_routine(21_000, 22_000)) + "\n")
    stepped.ingest([str(path)], reader="lanl", workers=1)
    assert _covered(stepped, {}) == sorted(by_step[:4])
    for settings in SETTINGS:
        direct, by_segment = _both(stepped, settings, save=False)
        _assert_equal(direct, by_segment)
    run_detectors(stepped, only=["behaviour"])
    # the rollup across is dropped; no new one: step 4 alone is settled before the end, the late step
    # alone after it (steps 6 and 7 are not wholly past ~5493 + ~2745)
    after = {r.segments: r.name for r in stepped.rollups(KIND)}
    early = [tuple(sorted(by_step[:2])), tuple(sorted(by_step[2:4]))]
    assert after == {segments: before[segments] for segments in early}
    assert tuple(sorted(by_step[4:])) in before
    direct, by_segment = _both(stepped, {}, save=False)
    _assert_equal(direct, by_segment)


def test_a_full_run_or_a_run_that_keeps_nothing_makes_no_rollup(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    for number in range(6):
        path = tmp_path / f"auth-{number}.txt"
        path.write_text("\n".join(_routine(number * STEP, (number + 1) * STEP)) + "\n")
        store.ingest([str(path)], reader="lanl", workers=1)
    for save, full in ((False, False), (True, True)):
        ctx = DetectContext(store, save=save, full=full)
        try:
            run_behaviour(ctx.con, BehaviourConfig(), ctx)
            covered = ctx.con.execute("SELECT count(*) FROM _bh_roll_covered").fetchone()
        finally:
            ctx.close()
        assert covered == (0,)
        assert (store.rollups(KIND) != []) == (save and full)  # a full run makes them, reads none


def test_of_two_rollups_of_the_same_segments_one_is_read_and_the_other_dropped(stepped: Store) -> None:
    """Two runs that keep their results may each make a rollup of the same segments."""
    first = {r.name: r for r in stepped.rollups(KIND)}
    largest = max(first.values(), key=lambda r: len(r.segments))
    with stepped.rollup_writer(KIND, list(largest.segments)) as target:
        target.write_bytes(largest.path.read_bytes())
    assert len(stepped.rollups(KIND)) == len(first) + 1
    ctx = DetectContext(stepped, save=False)
    try:
        run_behaviour(ctx.con, BehaviourConfig(), ctx)
        read = [r[0] for r in ctx.con.execute("SELECT DISTINCT segment FROM _bh_roll").fetchall()]
    finally:
        ctx.close()
    twins = {r.name for r in stepped.rollups(KIND) if r.segments == largest.segments}
    assert len(twins) == 2 and len(twins & set(read)) == 1  # one of the two is read
    assert set(read) - twins == set(first) - {largest.name}  # and every other
    direct, by_segment = _both(stepped, {}, save=False)
    _assert_equal(direct, by_segment)
    run_detectors(stepped, only=["behaviour"])
    assert sorted(r.name for r in stepped.rollups(KIND)) == sorted(read)


def test_a_few_new_rows_make_a_rollup_of_their_own(stepped: Store, tmp_path: Path) -> None:
    """Two small steps settled after the baseline's end (one logon each, against ~10 keys in the rollup of
    steps 4 to 7): a rollup of the two alone, the large one kept as it is."""
    by_step = _segments_by_step(stepped)
    before = {r.segments: r for r in stepped.rollups(KIND)}
    large = tuple(sorted(by_step[4:]))
    small = []
    for start in (8_000, 8_100):
        path = tmp_path / f"small-{start}.txt"
        path.write_text("\n".join(_routine(start, start + 10)) + "\n")
        stepped.ingest([str(path)], reader="lanl", workers=1)
        small += [m["segment"] for m in stepped.manifests() if m["files"][0]["path"] == str(path)]
    # the scenario: the new segments' rows (from their own files) are fewer than a quarter of the rollup's
    run_detectors(stepped, only=["behaviour"])
    kind = next(k for k in stepped.derived_kinds() if k.startswith("behaviour_logons_"))
    new_rows = sum(pq.ParquetFile(stepped.derived_files(kind)[s]).metadata.num_rows for s in small)
    assert new_rows * rollups.TAKE_IN < pq.ParquetFile(before[large].path).metadata.num_rows
    after = {r.segments: r.name for r in stepped.rollups(KIND)}
    assert after[large] == before[large].name  # not made again
    assert tuple(sorted(small)) in after
    direct, by_segment = _both(stepped, {}, save=False)
    _assert_equal(direct, by_segment)


def test_the_choice_of_the_one_pass_counts_the_rollups_rows(
    stepped: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows per event are counted over what is merged: each rollup's rows, not its segments' success rows."""
    from tests.detect.behaviour.test_segments import _merged, _stood_for

    kind = next(k for k in stepped.derived_kinds() if k.startswith("behaviour_logons_"))
    kept = [pq.read_table(f) for f in stepped.derived_files(kind).values()]
    all_rows = sum(t.num_rows for t in kept)
    failures = sum(t.column("outcome").to_pylist().count("failure") for t in kept)
    rolled = sum(pq.ParquetFile(r.path).metadata.num_rows for r in stepped.rollups(KIND))
    events = sum(_stood_for(pq.read_table(f)) for f in stepped.event_files())
    assert _covered(stepped, {}) == sorted(p.name for p in stepped.segments())  # every success rolled up
    with_rollups, without = events / (rolled + failures), events / all_rows
    assert without < with_rollups
    monkeypatch.setattr(segments, "EVENTS_PER_ROW", (without + with_rollups) / 2)
    assert _merged(stepped)[0] is True
    monkeypatch.setattr(segments, "EVENTS_PER_ROW", with_rollups + 0.01)
    assert _merged(stepped)[0] is False
