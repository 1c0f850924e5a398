"""The demo, end to end on its bundled real logs and its group model."""

from typer.testing import CliRunner

from sekimori.cli import _finding, app
from sekimori.demo import boundary_crossings, build_demo_store, demo_logs, demo_model


def test_demo_store_holds_every_bundled_record_and_finds_the_chain(tmp_path):
    store, report = build_demo_store(tmp_path / "store")
    assert len(report.files) == len(demo_logs()) >= 7
    assert report.events > 200 and report.quarantined == 0
    crossings = boundary_crossings(store, demo_model())
    by_account = {(r["principal"].lower(), r["source"], r["target"]): r for r in crossings}

    # contractor PC → affiliate: an affiliate account used from the contractor's host
    contractor = by_account[("admin01", "PC02", "PC01.example.corp")]
    assert contractor["source_org"] == "contractor-kr" and contractor["account_org"] == "affiliate-kr"
    assert contractor["grants"] == "g-affiliate-ops"

    # affiliate → parent domain controller through the shared realm: no grant allows it
    affiliate = by_account[("user01", "10.0.2.17", "WIN-77LTAPHIQ1R.example.corp")]
    assert affiliate["account_org"] == "affiliate-kr" and affiliate["target_org"] == "parent"
    assert affiliate["grants"] is None and "corp-ad" in affiliate["target_systems"]
    assert _finding(affiliate) == "no grant allows affiliate-kr accounts onto parent"
    assert _finding(contractor) == "affiliate-kr account used from a host of contractor-kr"

    # the parent's administrator credentials used from the affiliate's PC
    admin = [
        r for r in crossings if r["principal"].lower() == "administrator" and r["source_org"] != "parent"
    ]
    assert admin and all(r["account_org"] == "parent" and r["target_org"] == "parent" for r in admin)


def test_demo_command_runs_twice_and_counts_once(tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--store", str(tmp_path / "s")])
    assert first.exit_code == 0, first.output
    assert "no grant" in first.output and "contractor-kr" in first.output
    second = runner.invoke(app, ["demo", "--store", str(tmp_path / "s")])
    assert second.exit_code == 0
    assert "already in" in second.output
