"""`sekimori posture signins`: the sign-in posture table as JSON and for a person."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.store import Store
from tests.conftest import corpus
from tests.detect.test_signins_real import MODEL


def test_posture_signins_json_and_table(tmp_path):
    sample = corpus("identity-cloud", "entra-signin", "panther_azure_audit.jsonl")
    Store(tmp_path / "store").ingest([str(sample)])
    model = tmp_path / "group.yaml"
    model.write_text(MODEL)
    runner = CliRunner()
    args = ["posture", "signins", "--store", str(tmp_path / "store"), "--model", str(model)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["org"]: r for r in json.loads(result.stdout)["rows"] if r["org"]}
    assert {org: (r["signins"], r["legacy_protocol"], r["share_without_mfa"]) for org, r in rows.items()} == {
        "lex": (1, 1, 0.0),
        "parent": (1, 1, 0.0),
    }
    table = runner.invoke(app, args, terminal_width=200)
    assert table.exit_code == 0 and "sign-in posture" in table.output and "lex" in table.output
