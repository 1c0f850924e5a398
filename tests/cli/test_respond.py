"""``sekimori case …`` and ``sekimori audit verify`` on the demo's real logs: JSON that scripts read,
the two-person rule between operating-system users, opening cases once, and tampering caught."""

import json
import os
import pwd
import sqlite3
from datetime import datetime
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.demo import build_demo_store, demo_model, demo_model_path, detect
from sekimori.respond.actions import CONNECTORS, Action, ActionKind, Connector, Outcome, Plan
from sekimori.respond.cases import CaseStore

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    st, _ = build_demo_store(tmp_path_factory.mktemp("demo") / "store")
    detect(st, demo_model())
    return str(st.root)


def run(*args: str) -> object:
    result = runner.invoke(app, list(args))
    return result


@pytest.fixture
def login_as(monkeypatch, tmp_path):
    """Run the commands as the operating-system user named (the real uid is what sekimori reads), with
    a principals file (owned by root, as the tests run) in which daemon and sys are one person, dana."""
    people = tmp_path / "principals.yaml"
    people.write_text("people:\n  dana: [daemon, sys]\n", encoding="utf-8")
    monkeypatch.setenv("SEKIMORI_PRINCIPALS", str(people))

    def login(user: str) -> None:
        monkeypatch.setattr(os, "getuid", lambda: pwd.getpwnam(user).pw_uid)

    return login


def test_case_lifecycle(store, tmp_path, login_as):
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    login_as("daemon")
    result = run("case", "open", "--store", store, "--db", db, "--source", "boundary", "--json")
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

    login_as("games")
    result = run(
        "case", "note", case_id, "judged: external unauthorized access", "--kind", "judgment", "--db", db
    )
    assert result.exit_code == 0, result.output
    result = run("case", "timeline", case_id, "--db", db, "--json")
    timeline = json.loads(result.stdout)
    assert timeline["first_activity"] and timeline["detected"] and timeline["judged"]
    # detection: the case's first alert (2019, as the logs), not its opening (now); dwell time up to it
    case_json = json.loads(run("case", "show", case_id, "--db", db, "--json").stdout)
    first_alert = min(datetime.fromisoformat(a["time"]) for a in case_json["alerts"])
    assert datetime.fromisoformat(timeline["detected"]) == first_alert
    assert timeline["detected_source"] == "first alert"
    assert datetime.fromisoformat(timeline["opened"]) == datetime.fromisoformat(case_json["created"])
    assert timeline["dwell_time_seconds"] == 0 and timeline["time_to_triage_seconds"] > 86400
    assert timeline["time_to_contain_seconds"] is None and "containment" in timeline["missing"]
    kinds = [i["kind"] for i in timeline["items"]]
    assert {"alert", "detection", "judgment", "opened"} <= set(kinds)
    text = run("case", "timeline", case_id, "--db", db).output
    assert f"detected: {first_alert:%Y-%m-%d %H:%M:%S}Z (first alert)" in text
    assert "dwell time (first activity → detection): 0 s" in text and "not contained yet" in text

    # the containment plan, dry-run: nftables plans without touching anything; LDAP says it is not set up
    result = run("case", "contain", case_id, "-m", str(demo_model_path()), "--db", db, "--json")
    plan = json.loads(result.stdout)
    routes = [p for p in plan if p["action"]["kind"] == "block_route"]
    assert routes and all(any("drop" in c for c in p["changes"]) for p in routes)
    assert any(p["connector"] == "ldap" and "url" in p.get("note", "") for p in plan)

    # stored for approval: the requester cannot approve; another person can
    login_as("daemon")
    result = run("case", "contain", case_id, "-m", str(demo_model_path()), "--db", db, "--propose", "--json")
    stored = [p for p in json.loads(result.stdout) if "id" in p]
    assert stored and all(p["status"] == "proposed" for p in stored)
    action_id = str(stored[0]["id"])
    result = run("case", "approve", action_id, "--db", db)
    assert result.exit_code == 2 and "same person" in result.output
    result = run("case", "execute", action_id, "--db", db)
    assert result.exit_code == 2 and "approved" in result.output
    login_as("bin")
    result = run("case", "approve", action_id, "--db", db)
    assert result.exit_code == 0 and "approved" in result.output

    result = run("case", "show", case_id, "--db", db, "--json")
    shown = json.loads(result.stdout)
    assert shown["actions"][0]["requested_by"] == "dana (os:daemon)"
    assert shown["actions"][0]["approved_by"] == "bin" and shown["scope"]["hosts"]

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


def _proposed(store, db, login_as):
    login_as("daemon")
    result = run("case", "open", "--store", store, "--db", db, "--source", "boundary", "--json")
    case_id = json.loads(result.stdout)[0]["id"]
    model = str(demo_model_path())
    assert run("case", "scope", case_id, "--store", store, "-m", model, "--db", db).exit_code == 0
    result = run("case", "contain", case_id, "-m", model, "--db", db, "--propose", "--json")
    return str(next(p["id"] for p in json.loads(result.stdout) if "id" in p))


def test_actor_option_and_environment_do_not_change_who_acts(store, tmp_path, login_as, monkeypatch):
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    action_id = _proposed(store, db, login_as)  # asked for by daemon, that is dana
    result = run("case", "approve", action_id, "--db", db, "--actor", "bin")
    assert result.exit_code == 2 and "you are dana (os:daemon)" in result.output
    for name in ("SEKIMORI_ACTOR", "SUDO_USER", "USER", "LOGNAME"):
        monkeypatch.setenv(name, "bin")
    result = run("case", "approve", action_id, "--db", db)
    assert result.exit_code == 2 and "same person" in result.output
    login_as("sys")  # another login of dana's
    result = run("case", "approve", action_id, "--db", db, "--actor", "sys")
    assert result.exit_code == 2 and "same person" in result.output
    login_as("bin")
    result = run("case", "approve", action_id, "--db", db, "--actor", "BIN")  # naming yourself is fine
    assert result.exit_code == 0, result.output
    shown = json.loads(run("case", "show", json.loads(_cases(db))[0], "--db", db, "--json").stdout)
    assert [(a["requested_by"], a["approved_by"]) for a in shown["actions"] if a["approved_by"]] == [
        ("dana (os:daemon)", "bin")
    ]


def _cases(db):
    return json.dumps([c["id"] for c in json.loads(run("case", "list", "--db", db, "--json").stdout)])


def test_case_open_is_idempotent(store, tmp_path, login_as):
    from sekimori.store import Store

    boundary = (
        Store(store).sql("SELECT count(*) AS n FROM alerts WHERE source = 'boundary'").to_pylist()[0]["n"]
    )
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    login_as("daemon")
    opened = json.loads(
        run("case", "open", "--store", store, "--db", db, "--source", "boundary", "--json").stdout
    )
    assert opened and sum(c["alerts"] for c in opened) == boundary
    for _ in range(2):
        result = run("case", "open", "--store", store, "--db", db, "--source", "boundary", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == []
        assert f"{boundary} alerts already in cases" in result.stderr
    assert json.loads(_cases(db)) == [c["id"] for c in opened]
    again = run("case", "open", "--store", store, "--db", db, "--source", "boundary", "--new", "--json")
    assert len(json.loads(again.stdout)) == len(opened)
    assert len(json.loads(_cases(db))) == 2 * len(opened)


def test_new_alerts_join_the_case_of_their_group(store, tmp_path, login_as):
    from sekimori.store import Store

    alerts = (
        Store(store).sql("SELECT alert_id FROM alerts WHERE source = 'boundary' ORDER BY time").to_pylist()
    )
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    login_as("daemon")
    first = alerts[0]["alert_id"]
    one = json.loads(run("case", "open", "--store", store, "--db", db, "--alert", first, "--json").stdout)
    assert [c["alerts"] for c in one] == [1]
    rest = json.loads(
        run("case", "open", "--store", store, "--db", db, "--source", "boundary", "--json").stdout
    )
    joined = [c for c in rest if c["id"] == one[0]["id"]]
    assert len(joined) == 1 and not joined[0]["new"] and joined[0]["alerts"] == joined[0]["added"] + 1
    assert sum(c["added"] for c in rest) == len(alerts) - 1


class Recording(Connector):
    """A connector that only records that it was asked to act."""

    name: ClassVar[str] = "recording"
    description: ClassVar[str] = "test"
    kinds: ClassVar[frozenset[ActionKind]] = frozenset(ActionKind)
    executed: ClassVar[list[str]] = []

    def plan(self, action):
        return Plan(action, self.name, [f"{action.kind} {action.target}"])

    def execute(self, plan):
        self.executed.append(plan.action.target)
        return Outcome(True, "done")

    def verify(self, plan, outcome):
        return Outcome(True, "in effect")

    def rollback(self, plan, outcome):
        return Outcome(True, "undone")


def test_table_edits_caught_and_not_executed(tmp_path, monkeypatch):
    from sekimori.respond.principals import Principal

    CONNECTORS.all()
    monkeypatch.setitem(CONNECTORS._classes, "recording", Recording)
    Recording.executed.clear()
    path = tmp_path / "cases.db"
    with CaseStore(f"sqlite:///{path}", connectors={"recording": Recording({})}) as cases:
        alice = Principal("os", "alice", "alice")
        case = cases.open_case("intrusion", [], alice)
        cases.propose(case.id, Action(ActionKind.disable_account, "CORP\\mallory"), "recording", alice)
    with sqlite3.connect(path) as con:  # approved, and the requester renamed, in the table only
        con.execute("UPDATE containment_actions SET status = 'approved', approved_by = 'bob' WHERE id = 1")
        con.execute("UPDATE containment_actions SET requested_by = 'carol' WHERE id = 1")
        con.execute(f"UPDATE cases SET title = 'nothing to see' WHERE id = '{case.id}'")
    db = f"sqlite:///{path}"
    result = run("case", "execute", "1", "--db", db)
    assert result.exit_code == 2 and "disagrees with the audit trail" in result.output
    assert Recording.executed == []
    result = run("audit", "verify", "--db", db, "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and not report["ok"]
    assert report["problems"] == [
        f"cases row {case.id} field title: the audit chain says 'intrusion', the table has 'nothing to see'",
        "containment_actions row 1 field approved_by: the audit chain says None, the table has 'bob'",
        "containment_actions row 1 field requested_by: the audit chain says 'alice', the table has 'carol'",
        "containment_actions row 1 field status: the audit chain says 'proposed', the table has 'approved'",
    ]
