"""``sekimori govern …`` end to end: import (and a refused import naming file, row and field), export,
show with last use from a store, a review started, decided and its status, the chain verified; who acts
is the operating-system user."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.store import Store
from tests.govern.conftest import DATA
from tests.govern.test_files import GRANTS_CSV

runner = CliRunner()


def run(*args: str) -> object:
    return runner.invoke(app, list(args))


@pytest.fixture
def login_as(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Act as the operating-system user named; daemon is the person 'hanako' (the grants' owner)."""
    people = tmp_path / "principals.yaml"
    people.write_text("people:\n  hanako: [daemon]\n", encoding="utf-8")
    monkeypatch.setenv("SEKIMORI_PRINCIPALS", str(people))

    def login(user: str) -> None:
        monkeypatch.setattr(os, "getuid", lambda: pwd.getpwnam(user).pw_uid)

    return login


def test_register_and_review_from_the_command_line(tmp_path: Path, register_file: Path, login_as):
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    login_as("bin")
    result = run("govern", "register", "import", str(register_file), "--db", db, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inserted"]["grants"] == ["G-AFF", "G-AR", "G-OLD"]

    bad = tmp_path / "grants.csv"
    bad.write_text(GRANTS_CSV.replace(",C-1,2025-01-01", ",C-404,2025-01-01"), encoding="utf-8")
    result = run("govern", "register", "import", str(bad), "--db", db)
    assert result.exit_code == 2
    assert f"{bad} row 3 field contract: unknown contract 'C-404'" in result.output.replace("\n", "")
    assert "nothing was stored" in result.output

    out = tmp_path / "export"
    assert run("govern", "register", "export", str(out), "--db", db).exit_code == 0
    assert (out / "grants.csv").read_text(encoding="utf-8") == GRANTS_CSV

    store = Store(tmp_path / "store")
    store.ingest([str(DATA / "entra-signins.jsonl")])
    # G-AR names system 'crm', which the sign-ins do not: known, never used.
    result = run("govern", "register", "show", "grants", "--db", db, "--store", str(store.root), "--json")
    assert result.exit_code == 0, result.output
    usage = {row["id"]: row["usage"] for row in json.loads(result.stdout)}
    assert usage["G-AR"]["uses"] == 0 and usage["G-AR"]["known"] is True
    assert usage["G-OLD"]["known"] is False

    result = run("govern", "review", "start", "R1", "--deadline", "2099-12-31", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == 2  # G-OLD expired in 2024
    result = run("govern", "review", "decide", "R1", "G-AR", "revoke", "--reason", "left", "--db", db)
    assert result.exit_code == 2 and "bin is neither the owner of grant 'G-AR'" in result.output
    login_as("daemon")  # hanako
    result = run("govern", "review", "decide", "R1", "G-AR", "revoke", "--reason", "left", "--db", db)
    assert result.exit_code == 0, result.output
    assert "revoke by hanako (os:daemon)" in result.output and "revoke pending" in result.output
    result = run("govern", "review", "status", "R1", "--db", db, "--json")
    status = json.loads(result.stdout)
    assert (status["decided"], status["total"], status["overdue"]) == (1, 2, False)
    assert status["pending_revokes"] == ["G-AR"]
    result = run("govern", "review", "status", "R1", "--db", db)
    assert result.exit_code == 0 and "1/2 decided (50%)" in result.output
    result = run("govern", "review", "revoke", "R1", "--connector", "no-such", "--db", db)
    assert result.exit_code == 2 and "grant 'G-AR': " in result.output

    # nothing proposed, so no outcome to record (and nothing written: the entries below stay 5)
    result = run("govern", "review", "outcomes", "R1", "--db", db, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == {}, result.output
    result = run("govern", "review", "outcomes", "no-such-review", "--db", db)
    assert result.exit_code == 2 and "no-such-review" in result.output

    result = run("govern", "register", "verify", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    # import, review start, decision; then the revocations' case opened and named in the campaign
    assert json.loads(result.stdout) == {"ok": True, "entries": 5, "problems": []}
