"""``sekimori govern findings | least-privilege | supervise | posture`` end to end on the small group
(tests/govern/small_group.py): the same answers as the functions (test_findings.py, test_least_privilege.py,
test_posture.py), as JSON and as tables, the report written, a snapshot kept and the chain verified."""

from __future__ import annotations

import json
from pathlib import Path

from sekimori.govern import Register, posture_history
from tests.govern.small_group import MODEL_YAML, REGISTER_YAML
from tests.govern.test_cli import login_as, run  # noqa: F401  (fixture)


def setup(tmp_path: Path) -> tuple[str, str]:
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    (tmp_path / "group.yaml").write_text(MODEL_YAML, encoding="utf-8")
    (tmp_path / "register.yaml").write_text(REGISTER_YAML, encoding="utf-8")
    result = run("govern", "register", "import", str(tmp_path / "register.yaml"), "--db", db)
    assert result.exit_code == 0, result.output
    return db, str(tmp_path / "group.yaml")


def test_findings_least_privilege_and_posture(tmp_path: Path, login_as):  # noqa: F811
    login_as("bin")
    db, model = setup(tmp_path)
    result = run("govern", "findings", "-m", model, "--db", db, "--as-of", "2025-06-30", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    # without a store: test_findings.py's second test, the same kinds
    assert {f["kind"] for f in found} == {
        "no_entrustment_contract", "shared_authentication", "flow_into_parent", "grant_outlives_contract",
        "grant_expired", "reentrustment_not_approved", "reentrustment_unknown", "audit_overdue",
    }  # fmt: skip
    seed = next(f for f in found if f["kind"] == "no_entrustment_contract")
    assert (seed["organisation"], seed["people"]) == ("aff", 1000)
    table = run("govern", "findings", "-m", model, "--db", db, "--as-of", "2025-06-30", "--lang", "ja")
    assert table.exit_code == 0 and "critical" in table.stdout and "は" in table.stdout

    result = run("govern", "least-privilege", "-m", model, "--db", db, "--budget", "2", "--json")
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.stdout)
    assert ranked["best_protected"] == 1200 and ranked["exact"]  # test_least_privilege.py, by hand

    html = tmp_path / "posture.html"
    result = run(
        "govern", "posture", "-m", model, "--db", db, "--as-of", "2025-06-30", "--save", "--json",
        "--html", str(html), "--lang", "en", "--progress", str(tmp_path / "public"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    # the group's parts, by hand from the eight kinds found without a store:
    # critical 10 (aff entrustment), high 5 (shared), flows 2 × medium = 4, outlives medium 2,
    # expired low 1, re-entrustment 2 × high = 10, audits of aff and ctr (none recorded) 2 × medium = 4
    # → 36 points: 64
    assert [(p["kind"], p["points"]) for p in body["group"]["parts"]] == [
        ("no_entrustment_contract", 10), ("shared_authentication", 5), ("flow_into_parent", 4),
        ("grant_outlives_contract", 2), ("grant_expired", 1), ("reentrustment_not_approved", 5),
        ("reentrustment_unknown", 5), ("audit_overdue", 4),
    ]  # fmt: skip
    assert body["group"]["score"] == 64
    assert "Group security posture" in html.read_text(encoding="utf-8")
    assert (tmp_path / "public" / "progress.ja.html").is_file()
    with Register(db) as register:
        assert register.verify().ok
        assert [h["score"] for h in posture_history(register)] == [64]


def test_supervision_from_the_command_line(tmp_path: Path, login_as):  # noqa: F811
    login_as("bin")
    db, _ = setup(tmp_path)
    result = run("govern", "supervise", "questionnaire", "--json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 18
    assert run("govern", "supervise", "assess", "ctr", "S1", "--db", db).exit_code == 0
    proof = tmp_path / "proof.txt"
    proof.write_text("policy", encoding="utf-8")
    result = run(
        "govern", "supervise", "answer", "S1", "policy", "yes", "--evidence", str(proof), "--db", db, "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["bytes"] == 6
    result = run(
        "govern", "supervise", "audit", "ctr", "A1", "--as-of", "2025-03-01", "--db", db,
        "--finding", "shared admin|high|2025-04-30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = run(
        "govern", "supervise", "show", "ctr", "--as-of", "2025-06-30", "--check", "--db", db, "--json"
    )
    shown = json.loads(result.stdout)
    assert shown["parties"][0]["overdue_remediations"] == ["A1/1"]
    assert [e["status"] for e in shown["evidence"]] == ["ok"]
    bad = run("govern", "supervise", "answer", "S1", "nothing", "yes", "--db", db)
    assert bad.exit_code == 2 and "unknown item" in bad.output
