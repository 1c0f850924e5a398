"""``sekimori detect --since``: which alerts a run shows (new in the run, or with evidence since a time),
checked against the stored alerts read with DuckDB's own SQL and against the runs before."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.demo import demo_logs, demo_model_path

runner = CliRunner()
DETECTORS = ["--only", "boundary", "--only", "behaviour"]


def _detect(store: str, *extra: str) -> dict:
    result = runner.invoke(
        app, ["detect", "--store", store, "--model", str(demo_model_path()), *DETECTORS, "--json", *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _stored(store: str, where: str = "true") -> set[str]:
    path = Path(store) / "tables" / "alerts.parquet"
    return {r[0] for r in duckdb.sql(f"SELECT alert_id FROM read_parquet('{path}') WHERE {where}").fetchall()}


def test_since_new_shows_what_each_run_found_first(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    logs = demo_logs()
    rdp = [p for p in logs if "RDP" in p or "rdp" in p]
    rest = [p for p in logs if p not in rdp]
    assert runner.invoke(app, ["ingest", *rest, "--store", store]).exit_code == 0
    first = _detect(store, "--since", "new")
    before = _stored(store)
    assert before and {a["alert_id"] for a in first["shown"]} == before
    assert first["new_alerts"] == first["alerts"] == len(before)

    again = _detect(store, "--since", "new")
    assert again["new_alerts"] == 0 and again["shown"] == [] and again["alerts"] == len(before)

    assert runner.invoke(app, ["ingest", *rdp, "--store", store]).exit_code == 0  # a new segment
    third = _detect(store, "--since", "new")
    after = _stored(store)
    assert after - before  # the RDP tunnel logs add boundary alerts
    assert {a["alert_id"] for a in third["shown"]} == after - before
    assert third["new_alerts"] == len(after - before)


def test_since_a_time_shows_the_alerts_with_evidence_since_then(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    assert runner.invoke(app, ["ingest", *demo_logs(), "--store", store]).exit_code == 0
    _detect(store)
    path = Path(store) / "tables" / "alerts.parquet"
    times = sorted({r[0] for r in duckdb.sql(f"SELECT last_time FROM read_parquet('{path}')").fetchall()})
    assert len(times) >= 3
    middle = times[len(times) // 2]
    shown = _detect(store, "--since", middle.isoformat())["shown"]
    expected = _stored(store, f"last_time >= TIMESTAMPTZ '{middle.isoformat()}'")
    assert {a["alert_id"] for a in shown} == expected
    assert 0 < len(expected) < len(_stored(store))
    assert [a["last_time"] for a in shown] == sorted((a["last_time"] for a in shown), reverse=True)

    everything = _detect(store, "--since", "36500d")["shown"]  # a hundred years back from now
    assert {a["alert_id"] for a in everything} == _stored(store)
    assert _detect(store, "--since", "1m")["shown"] == []  # the demo's logs are years old


def test_since_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    assert runner.invoke(app, ["ingest", demo_logs()[0], "--store", store]).exit_code == 0
    result = runner.invoke(app, ["detect", "--store", store, *DETECTORS, "--since", "yesterday"])
    assert result.exit_code != 0
    assert "--since 'yesterday'" in result.output
