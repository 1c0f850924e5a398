"""Running the detectors again keeps the latest result of each detector that did not run now."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.demo import build_demo_store, demo_model, demo_model_path
from sekimori.detect.run import run_detectors


def _by_source(store):
    rows = store.sql("SELECT source, alert_id FROM alerts").to_pylist()
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["source"], set()).add(r["alert_id"])
    return out


def test_detect_without_a_model_keeps_the_boundary_alerts_it_did_not_rerun(tmp_path):
    store, _ = build_demo_store(tmp_path / "s")
    run_detectors(store, demo_model(), only=["boundary", "behaviour"])
    before = _by_source(store)
    n = len(before["boundary"])
    assert n > 0 and before["behaviour"]  # the demo's boundary crossings and its spray

    # the reviewer's case: no --model; the boundary rules cannot run, their alerts stay
    result = CliRunner().invoke(
        app, ["detect", "--store", str(store.root), "--only", "behaviour", "--only", "boundary", "--json"]
    )
    assert result.exit_code == 0, result.output
    runs = {r["name"]: r for r in json.loads(result.stdout)["runs"]}
    assert runs["boundary"]["skipped"] == "needs a group model (--model)"
    assert runs["boundary"]["kept"] == n and runs["boundary"]["alerts"] == 0
    after = _by_source(store)
    assert after["boundary"] == before["boundary"]
    assert after.get("behaviour") == before.get("behaviour")

    # a detector chosen out with --only keeps its alerts too; the one that ran is replaced by its new result
    report = run_detectors(store, demo_model(), only=["behaviour"])
    kept = {r.name: r.kept for r in report.runs if r.skipped}
    assert kept["boundary"] == n and kept["sigma"] == 0
    assert _by_source(store)["boundary"] == before["boundary"]


def test_the_model_path_option_still_reruns_the_boundary_rules(tmp_path):
    store, _ = build_demo_store(tmp_path / "s")
    runner = CliRunner()
    args = ["detect", "--store", str(store.root), "--only", "boundary", "--json"]
    first = runner.invoke(app, [*args, "--model", str(demo_model_path())])
    assert first.exit_code == 0, first.output
    runs = {r["name"]: r for r in json.loads(first.stdout)["runs"]}
    assert runs["boundary"]["skipped"] is None and runs["boundary"]["kept"] == 0
    boundary_runs = [r for r in runs.values() if r["source"] == "boundary"]  # boundary and tenant_boundary
    assert sum(r["alerts"] for r in boundary_runs) == len(_by_source(store)["boundary"]) > 0
    assert runs["boundary"]["alerts"] == 10 and runs["tenant_boundary"]["alerts"] == 3  # the demo's
