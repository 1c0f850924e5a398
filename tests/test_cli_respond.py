"""``sekimori case …`` and ``sekimori audit verify`` on the demo's real logs: JSON that scripts read,
the two-person rule, and tampering caught."""

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.demo import build_demo_store, demo_model, demo_model_path, detect

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    st, _ = build_demo_store(tmp_path_factory.mktemp("demo") / "store")
    detect(st, demo_model())
    return str(st.root)


def run(*args: str) -> object:
    result = runner.invoke(app, list(args))
    return result


def test_case_lifecycle(store, tmp_path):
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    result = run(
        "case", "open", "--store", store, "--db", db, "--source", "boundary", "--actor", "alice", "--json"
    )
    assert result.exit_code == 0, result.output
    opened = json.loads(result.stdout)
    assert opened and all(c["id"].startswith("CASE-") and c["alerts"] >= 1 for c in opened)
    case_id = next(c["id"] for c in opened if c["alerts"] >= 1)

    result = run(
        "case", "scope", case_id, "--store", store, "-m", str(demo_model_path()), "--db", db, "--json"
    )
    assert result.exit_code == 0, result.output
    scope = json.loads(result.stdout)
    assert scope["hosts"] and scope["accounts"] and all(h["via"] for h in scope["hosts"])

    result = run(
        "case",
        "note",
        case_id,
        "judged: external unauthorized access",
        "--kind",
        "judgment",
        "--db",
        db,
        "--actor",
        "ciso",
    )
    assert result.exit_code == 0, result.output
    result = run("case", "timeline", case_id, "--db", db, "--json")
    timeline = json.loads(result.stdout)
    assert timeline["first_activity"] and timeline["detected"] and timeline["judged"]
    assert timeline["dwell_time_seconds"] > 0 and "containment" in timeline["missing"]
    kinds = [i["kind"] for i in timeline["items"]]
    assert {"alert", "detection", "judgment"} <= set(kinds)

    # the containment plan, dry-run: nftables plans without touching anything; LDAP says it is not set up
    result = run("case", "contain", case_id, "-m", str(demo_model_path()), "--db", db, "--json")
    plan = json.loads(result.stdout)
    routes = [p for p in plan if p["action"]["kind"] == "block_route"]
    assert routes and all(any("drop" in c for c in p["changes"]) for p in routes)
    assert any(p["connector"] == "ldap" and "url" in p.get("note", "") for p in plan)

    # stored for approval: the requester cannot approve; another person can
    result = run(
        "case",
        "contain",
        case_id,
        "-m",
        str(demo_model_path()),
        "--db",
        db,
        "--propose",
        "--actor",
        "alice",
        "--json",
    )
    stored = [p for p in json.loads(result.stdout) if "id" in p]
    assert stored and all(p["status"] == "proposed" for p in stored)
    action_id = str(stored[0]["id"])
    result = run("case", "approve", action_id, "--db", db, "--actor", "alice")
    assert result.exit_code == 2 and "same person" in result.output
    result = run("case", "execute", action_id, "--db", db, "--actor", "alice")
    assert result.exit_code == 2 and "approved" in result.output
    result = run("case", "approve", action_id, "--db", db, "--actor", "bob")
    assert result.exit_code == 0 and "approved" in result.output

    result = run("case", "show", case_id, "--db", db, "--json")
    shown = json.loads(result.stdout)
    assert shown["actions"][0]["approved_by"] == "bob" and shown["scope"]["hosts"]

    result = run("audit", "verify", "--db", db, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["ok"]
    # an edit in the database is caught, and named
    with sqlite3.connect(tmp_path / "cases.db") as con:
        con.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    result = run("audit", "verify", "--db", db, "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and not report["ok"] and any("2" in p for p in report["problems"])


def test_errors(store, tmp_path):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    result = run("case", "show", "CASE-1999-0001", "--db", db)
    assert result.exit_code == 2 and "unknown case" in result.output
    result = run("case", "open", "--store", store, "--db", db, "--alert", "nope")
    assert result.exit_code == 2 and "unknown alert id" in result.output
    result = run("case", "note", "CASE-1999-0001", "x", "--db", db, "--time", "yesterday")
    assert result.exit_code == 2 and "ISO 8601" in result.output
