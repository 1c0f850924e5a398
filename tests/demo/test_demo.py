"""The demo, end to end on its bundled real logs and its group model."""

import re
from datetime import date

import pytest
from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.demo import (
    DEMO_GOVERN_AS_OF,
    build_demo_store,
    demo_logs,
    demo_model,
    detect,
    governance_story,
)


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
    # the governance part: the seed's findings first, the review, its revoke proposed, the posture
    assert "governance: the group's register of entrusted parties (as of 2023-10-30)" in text
    assert "register: register.yaml imported in one transaction (3 parties, 2 contracts, 5 grants)" in text
    assert "• critical: affiliate-kr can reach personal data (519,506 people)" in text
    assert "separating realm example-ad alone protects no one" in text
    assert "blocking flow f-affiliate-to-parent protects 519,506 people" in text
    assert "on 2023-11-14: 3/5 decided (60%); overdue: g-affiliate-ops" in text
    assert "5/5 decided (100%); nothing overdue" in text
    assert "revoke of g-contractor-support proposed as action 1" in text and "proposed, not executed" in text
    assert "two-person rule: the proposer's own approval is refused" in text
    assert "group posture on 2023-10-30: score 26/100" in text and "audit chain: verified" in text
    second = runner.invoke(app, ["demo", "--store", str(tmp_path / "s")])
    assert second.exit_code == 0
    assert "already in" in second.output
    case_ids = re.findall(r"case (CASE-\d{4}-\d{4})", first.output)
    assert case_ids and re.findall(r"case (CASE-\d{4}-\d{4})", second.output) == case_ids  # not opened twice
    # the review and its proposed revoke are made once: the second run shows the same action
    again = " ".join(second.output.split())
    assert "register: imported by an earlier run of the demo" in again
    assert "revoke of g-contractor-support proposed as action 1 in" in again
    assert "5/5 decided (100%); nothing overdue" in again and "audit chain: verified, 11 entries" in again


# --- the governance part, once for the module: the store, its alerts and the register's story ---


@pytest.fixture(scope="module")
def governance(tmp_path_factory):
    folder = tmp_path_factory.mktemp("governance")
    store, _ = build_demo_store(folder / "store")
    model = demo_model()
    detect(store, model)
    return governance_story(store, model, folder / "register.db")


# The people the affiliate reaches, from group.yaml's data stores (each person once):
#   ds-messaging-users  user              302,980  (its call_logs, 22,239, are the same users: not added)
#   ds-partner-crm      business_partner   86,211
#   ds-employee-directory employee        130,315
#   302,980 + 86,211 + 130,315 = 519,506
AFFILIATE_PEOPLE = {"user": 302_980, "business_partner": 86_211, "employee": 130_315}


def test_governance_shows_the_seed_findings_first_with_the_people_they_expose(governance):
    assert sum(AFFILIATE_PEOPLE.values()) == 519_506
    assert governance.as_of == DEMO_GOVERN_AS_OF == date(2023, 10, 30)
    seed = [(str(f.kind), f.organisation, f.subject) for f in governance.seed]
    assert seed == [
        ("no_entrustment_contract", "affiliate-kr", "party affiliate-kr"),
        ("shared_authentication", "affiliate-kr", "realm example-ad"),
        ("shared_authentication", "affiliate-kr", "realm group-entra"),
        ("flow_into_parent", "affiliate-kr", "flow f-affiliate-to-parent"),
    ]
    assert governance.findings[: len(seed)] == governance.seed
    for finding in governance.seed:
        assert finding.people == 519_506 and finding.people_by_category == AFFILIATE_PEOPLE
    entrust, realm, tenant, flow = governance.seed
    assert entrust.severity == "critical"
    # c-infra-ops entrusts the affiliate with the parent's systems, but with no personal data (people: 0)
    assert entrust.evidence["contracts"] == {"c-infra-ops": "no personal data entrusted"}
    # separating a shared realm alone protects no one: the affiliate keeps its own grants into the
    # parent's systems and its network flow (the graph story's answer for the contractor, too); the
    # flow f-affiliate-to-parent is the only way from the affiliate's zone into the parent's, so blocking
    # it takes the whole radius out of reach
    assert realm.evidence["people_protected"] == tenant.evidence["people_protected"] == 0
    assert flow.evidence["people_protected"] == 519_506


def test_governance_reviews_the_grants_in_force_and_proposes_one_revoke(governance):
    # register.yaml's grants in force on 2023-10-30 (created on or before it, not expired before it):
    #   g-contractor-support (2018-10-01 … 2024-03-31), g-affiliate-ops, g-affiliate-portal,
    #   g-affiliate-pcs (2019-04-01 …), g-affiliate-mail (2019-01-01 …): 5
    review = governance.review
    assert review.total == 5 and review.completion == 1.0 and not review.overdue
    assert governance.at_deadline is not None
    late = [i.grant for i in governance.at_deadline.items if i.overdue]
    assert late == ["g-affiliate-ops", "g-affiliate-portal"] and governance.at_deadline.decided == 3
    # the grant the findings show as never used and outliving its contract (ended) is the one revoked
    assert governance.revoked == "g-contractor-support"
    decisions = {i.grant: i.decision for i in review.items}
    assert decisions.pop("g-contractor-support") == "revoke"
    assert set(decisions.values()) == {"certify"}
    assert all(i.decided_by == i.owner for i in review.items)  # each grant's owner decided
    (revocation,) = governance.revocations
    assert revocation.grant == "g-contractor-support" and revocation.status == "proposed"
    assert revocation.requested_by == "demo-governance"
    assert "remove_grant g-contractor-support" in revocation.changes[0]
    assert "approval by the same person who asked" in governance.refused  # not approved, not executed


def test_governance_posture_and_audit_chain(governance):
    group = governance.posture.group
    assert group.findings == len(governance.findings)
    assert group.score == max(0, 100 - sum(p.points for p in group.parts))
    assert {o.organisation for o in governance.posture.organisations} == {"affiliate-kr", "contractor-kr"}
    assert governance.audit.ok and not governance.audit.problems
    # import, review start, 5 decisions, the revocations' case, the case's name in the review, the
    # proposal and its mark on the review item: 11 entries
    assert governance.audit.entries == 11
