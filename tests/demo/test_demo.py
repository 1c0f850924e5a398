"""The demo, end to end on its bundled real logs and its group model."""

import re

from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.demo import build_demo_store, demo_logs, demo_model, detect


def test_demo_store_holds_every_bundled_record_and_the_boundary_rules_find_the_chain(tmp_path):
    store, report = build_demo_store(tmp_path / "store")
    assert len(report.files) == len(demo_logs()) >= 7
    assert report.events > 200 and report.quarantined == 0
    alerts = detect(store, demo_model()).alerts.to_pylist()
    boundary = {
        (a["rule_id"], a["account"].lower(), a["src_host"] or a["src_ip"]): a
        for a in alerts
        if a["source"] == "boundary"
    }

    # contractor PC → affiliate: an affiliate account used from the contractor's host
    contractor = boundary[("boundary.account_from_foreign_host", "admin01", "PC02")]
    assert set(contractor["organisations"]) == {"contractor-kr", "affiliate-kr"}
    assert "T1078" in contractor["attack"]

    # affiliate → the parent's domain controller through the shared realm, no grant: critical (crown jewel)
    no_grant = boundary[("boundary.logon_without_grant", "user01", "10.0.2.17")]
    assert no_grant["level"] == "critical" and no_grant["target_host"] == "WIN-77LTAPHIQ1R.example.corp"
    assert {"T1199", "T1078", "T1021"} <= set(no_grant["attack"])
    shared = boundary[("boundary.shared_realm_crossing", "user01", "10.0.2.17")]
    assert "example-ad" in shared["description"]

    # the affiliate's accounts reading the parent's employee directory share for the first time
    first = [a for a in alerts if a["rule_id"] == "boundary.first_personal_data_access"]
    assert {a["account"] for a in first} == {"admin01", "user01"}
    assert all(len(a["evidence"]) == 1 and a["evidence"][0]["record_id"] for a in first)

    # every alert's evidence points at real records in the store
    uids = {e["uid"] for a in alerts for e in a["evidence"]}
    found = store.sql("SELECT uid FROM events").column("uid").to_pylist()
    assert uids <= set(found)


def test_demo_command_runs_twice_and_counts_once(tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--store", str(tmp_path / "s")])
    assert first.exit_code == 0, first.output
    assert "critical" in first.output and "boundary" in first.output
    # the graph part: the path, the blast radius in people, choke points, and the separation
    text = " ".join(first.output.split())
    assert "attack paths from the contractor" in text and "needs: flow f-affiliate-to-parent" in text
    assert "519,506 │ in all" in text and "of which 通信の秘密 22,239" in text
    assert "fewest controls that cut it off" in text
    assert "blast radius drops to zero" in text
    # each separation alone, then both: separating the realm alone leaves the affiliate's flow and grant open
    assert "separate realm example-ad alone changes nothing: 519,506 people stay exposed" in text
    assert "still open: EXAMPLE\\admin01 was used from PC02" in text and "grant g-affiliate-ops lets" in text
    assert "block flows affiliate-kr -> parent: the contractor's blast radius drops to zero" in text
    assert (tmp_path / "s" / "attack-paths.svg").stat().st_size > 10_000
    # the response part: a case from the alerts, its scope, timeline and a dry-run containment plan
    assert "case CASE-" in text and "used from compromised host pc01" in text
    assert "dwell time (first activity → detection)" in text
    assert "containment plan (dry-run: nothing changed)" in text and "block_route" in text
    # the seed case's reports, with deadlines, in the store's reports folder
    reports = tmp_path / "s" / "reports"
    for name in ("ppc_preliminary.ja.pdf", "ppc_final.ja.pdf", "mic_first.ja.pdf", "mic_detailed.ja.pdf"):
        assert (reports / name).stat().st_size > 5_000, name
    assert sorted(p.name for p in reports.glob("individual_notice-*.ja.pdf"))
    assert "the seed case's reports" in text and "due_soon" in text
    second = runner.invoke(app, ["demo", "--store", str(tmp_path / "s")])
    assert second.exit_code == 0
    assert "already in" in second.output
    case_ids = re.findall(r"case (CASE-\d{4}-\d{4})", first.output)
    assert case_ids and re.findall(r"case (CASE-\d{4}-\d{4})", second.output) == case_ids  # not opened twice
