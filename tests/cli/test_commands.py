"""The machine-readable CLI interface that scripts and later stages rely on."""

import json

from typer.testing import CliRunner

from sekimori.cli import app
from tests.conftest import DATA

runner = CliRunner()
EVTX = sorted(str(p) for p in (DATA / "evtx").glob("*.evtx"))


def test_ingest_stats_and_query_json(tmp_path):
    store = str(tmp_path / "store")
    missing = str(tmp_path / "missing.evtx")
    result = runner.invoke(app, ["ingest", *EVTX[:3], missing, "--store", store])
    assert result.exit_code == 0, result.output

    result = runner.invoke(app, ["stats", "--store", store, "--json"])
    assert result.exit_code == 0
    stats = json.loads(result.stdout)
    assert set(stats) == {"events", "quarantined", "files"}
    assert [f["path"] for f in stats["files"]] == [*EVTX[:3], missing]  # paths as given
    assert stats["quarantined"] == 1 and stats["events"] == sum(f["events"] for f in stats["files"])
    assert all(set(f) == {"path", "events", "quarantined"} for f in stats["files"][:3])
    # a path that cannot be read says so, with the reason
    assert stats["files"][3] == {
        "path": missing,
        "events": 0,
        "quarantined": 1,
        "status": "failed",
        "note": "cannot read: No such file or directory",
    }

    result = runner.invoke(
        app,
        ["query", "--store", store, "--format", "json", "SELECT count(*) AS n, min(time) AS t FROM events"],
    )
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert rows[0]["n"] == stats["events"] and rows[0]["t"].startswith("20")

    result = runner.invoke(app, ["query", "--store", store, "--format", "csv", "SELECT 1 AS a, 'x' AS b"])
    assert result.stdout.splitlines() == ["a,b", "1,x"]


def test_errors_are_clear_and_exit_non_zero(tmp_path):
    result = runner.invoke(app, ["stats", "--store", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "not a sekimori store" in result.output
    store = str(tmp_path / "store")
    runner.invoke(app, ["ingest", EVTX[0], "--store", store])
    result = runner.invoke(app, ["query", "--store", store, "SELECT * FROM no_such_table"])
    assert result.exit_code == 2
    assert "query refused: 'no_such_table' is not one of the store's views (events, files, quarantine)" in (
        " ".join(result.output.split())
    )
    result = runner.invoke(app, ["query", "--store", store, "SELECT no_such_column FROM events"])
    assert result.exit_code == 2 and "query failed" in result.output
    result = runner.invoke(app, ["ingest", EVTX[0], "--store", store, "--reader", "nonsense"])
    assert result.exit_code == 2 and "unknown reader" in result.output


def test_ingest_json_summary(tmp_path):
    result = runner.invoke(app, ["ingest", EVTX[0], "--store", str(tmp_path / "s"), "--json"])
    summary = json.loads(result.stdout)
    assert summary["files"] == 1 and summary["events"] > 0 and summary["quarantined"] == 0


def test_detect_alerts_jsonl_and_timelines(tmp_path):
    from sekimori.demo import demo_logs, demo_model_path

    store = str(tmp_path / "store")
    assert runner.invoke(app, ["ingest", *demo_logs(), "--store", store]).exit_code == 0
    result = runner.invoke(
        app, ["detect", "--store", store, "--model", str(demo_model_path()), "--only", "boundary"]
    )
    assert result.exit_code == 0, result.output

    result = runner.invoke(app, ["alerts", "--store", store, "--format", "jsonl"])
    assert result.exit_code == 0
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert alerts
    for alert in alerts:  # the contract scripts rely on
        assert {"rule_id", "title", "source", "level", "attack", "time", "evidence"} <= set(alert)
        assert alert["source"] == "boundary" and alert["attack"]
        assert all(
            {"path", "record_id"} <= set(e) and e["path"].endswith((".evtx", ".json"))
            for e in alert["evidence"]
        )

    out = tmp_path / "timeline.csv"
    result = runner.invoke(
        app, ["timeline", "--store", store, "--format", "hayabusa-csv", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("Timestamp,Computer,Channel,EventID,Level,RecordID,RuleTitle")
    assert len(lines) - 1 == sum(len(a["evidence"]) for a in alerts)

    result = runner.invoke(app, ["timeline", "--store", store, "--format", "timesketch"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all({"message", "datetime", "timestamp_desc"} <= set(r) for r in rows)

    result = runner.invoke(app, ["alerts", "--store", store, "--source", "nonsense"])
    assert result.exit_code == 2 and "unknown source" in result.output
