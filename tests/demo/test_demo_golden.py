"""The demo's figures, as the demo printed them before its story moved out of the command line (main at
31d5303, read off `sekimori demo` by hand): the same logs, alerts, graph answers, case and reports. A golden
test of the figures, not of the layout.

Changes on purpose since: the seed case's reports are judged as of 2023-10-30, and the publication of
2023-11-27 was not known then, so each report to an authority now lists 'Public announcement' as missing
(issue 11: a report as of a date shows only what was known by that date); the demo gained two real Entra ID
sign-in records (logs/entra-signins.json) and the group's cloud tenants, which add 2 events and 3 alerts of
the sign-in rules (issue 12); Windows' own process-creation events are judged by the Sigma rules of that
category (issue 12), which adds Sigma alerts; and SigmaHQ's Entra ID sign-in rules run on the two sign-ins
(issue 12): "Azure AD Only Single Factor Authentication Required", "Sign-ins by Unknown Devices" and
"Potential MFA Bypass Using Legacy Client Authentication" fire on both (each record: error code 0,
singleFactorAuthentication, no device id, no network location, user agent BAV2ROPC), 6 alerts.
"""

from collections import Counter

import pytest
from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.demo import (
    CaseStory,
    DemoPart,
    Detected,
    GovernanceStory,
    GraphStory,
    ReportsStory,
    StoredLogs,
    run_demo,
)

SIGMA_ALERTS = 34


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    shown: list[DemoPart] = []
    found = run_demo(tmp_path_factory.mktemp("demo") / "store", show=shown.append)
    return found, shown


def test_parts_are_shown_in_the_order_of_the_story(demo):
    found, shown = demo
    assert [type(p) for p in shown] == [
        StoredLogs,
        Detected,
        GraphStory,
        CaseStory,
        ReportsStory,
        GovernanceStory,  # added since (the govern stage)
    ]
    assert found.failed == []


def test_logs_and_alerts(demo):
    found, _ = demo
    ingest = found.logs.ingest
    assert (len(ingest.files), ingest.events, ingest.quarantined) == (8, 237, 0)
    assert {(r.category, r.host): r.events for r in found.logs.overview} == {
        ("authentication", "WIN-77LTAPHIQ1R.example.corp"): 21,
        ("authentication", "PC01.example.corp"): 14,
        ("authentication", None): 2,  # the Entra ID sign-ins: recorded by the cloud, no host
        ("data_access", "WIN-77LTAPHIQ1R.example.corp"): 21,
        ("generic", "PC01.example.corp"): 92,
        ("generic", "WIN-77LTAPHIQ1R.example.corp"): 8,
        ("network", "PC01.example.corp"): 42,
        ("process", "PC01.example.corp"): 31,
        ("process", "WIN-77LTAPHIQ1R.example.corp"): 6,
    }
    assert found.detected.counts() == {
        "behaviour": 1,
        "boundary": 10,
        "sigma": SIGMA_ALERTS,
        "tenant_boundary": 3,
    }
    rules = Counter(a.rule_id for a in found.detected.alerts if a.source != "sigma")
    assert rules == {
        "boundary.account_from_foreign_host": 5,
        "boundary.first_personal_data_access": 2,
        "boundary.flow_not_allowed": 1,
        "boundary.logon_without_grant": 1,
        "boundary.shared_realm_crossing": 1,
        "behaviour.new_source": 1,
        # the Entra ID sign-ins into the parent's mail: the contractor's eve (a guest, no grant) and the
        # affiliate's homer (no grant, through the tenant the affiliate shares with the parent)
        "boundary.cross_tenant_signin": 2,
        "boundary.shared_tenant_crossing": 1,
    }
    sigma = Counter(a.title for a in found.detected.alerts if a.source == "sigma")
    assert sigma["Security Eventlog Cleared"] == 5 and sigma["RDP over Reverse SSH Tunnel WFP"] == 4
    assert sigma["Azure AD Only Single Factor Authentication Required"] == 2
    assert sigma["Sign-ins by Unknown Devices"] == 2
    assert sigma["Potential MFA Bypass Using Legacy Client Authentication"] == 2
    # boundary crossings first, then behaviour, then Sigma
    sources = [a.source for a in found.detected.alerts]
    assert sources == ["boundary"] * 13 + ["behaviour"] + ["sigma"] * SIGMA_ALERTS


def test_graph(demo):
    found, _ = demo
    graph = found.graph
    assert graph is not None
    assert graph.blast.exposure.people == {"business_partner": 86_211, "employee": 130_315, "user": 302_980}
    assert graph.blast.exposure.total == 519_506
    assert graph.blast.exposure.secrecy_of_communications == {"user": 22_239}
    targets = [p.target for p in graph.paths[:3]]
    assert targets == ["system:messaging-ops", "system:messaging-ops", "data_store:ds-messaging-users"]
    choke = graph.choke
    assert choke.status == "minimal" and choke.cut is not None
    assert choke.cut.controls == ["flow:f-affiliate-to-parent"] and choke.cut.people_protected == 519_506
    assert [a.controls for a in choke.alternatives] == [
        ["flow:f-contractor-support"],
        ["route:affiliate-net->parent-internal"],
        ["route:contractor-net->affiliate-net"],
    ]
    after = [(s.result.changes, s.result.after.exposure.total) for s in graph.separations]
    assert after == [
        (["separate realm example-ad"], 519_506),
        (["block flows affiliate-kr -> parent"], 0),
        (["separate realm example-ad", "block flows affiliate-kr -> parent"], 0),
    ]
    assert graph.separations[0].still is not None and graph.separations[1].still is None


def test_case(demo):
    found, _ = demo
    case = found.case
    assert case is not None
    scope = case.scope
    assert (len(scope.accounts), len(scope.hosts), len(scope.data_stores), scope.rounds) == (3, 3, 1, 4)
    assert {s.label for s in scope.hosts} == {"PC02", "PC01.example.corp", "WIN-77LTAPHIQ1R.example.corp"}
    actions = Counter((step["action"]["kind"], step["connector"]) for step in case.plan)
    assert actions == {
        ("reset_password", "ldap"): 3,
        ("revoke_sessions", "ldap"): 3,
        ("disable_account", "ldap"): 2,
        ("isolate_host", "nftables"): 2,
        ("block_route", "nftables"): 3,
    }


def test_reports(demo):
    found, _ = demo
    reports = found.reports
    assert reports is not None
    listed = [(p.kind, p.lang, [d["status"] for d in p.deadlines]) for p in reports.produced]
    due = [
        ("ppc_preliminary", ["due_soon"]),
        ("ppc_final", ["ok"]),
        ("mic_first", ["due_soon"]),
        ("mic_detailed", ["ok"]),
        ("individual_notice", []),
        ("individual_notice", []),
        ("individual_notice", []),
    ]
    assert listed == [(k, "ja", s) for k, s in due] + [(k, "en", s) for k, s in due] + [
        ("progress_page", "ja/en", [])
    ]
    missing = {(p.kind, p.lang): p.missing for p in reports.produced if p.lang == "en"}
    assert missing[("ppc_preliminary", "en")] == ["Public announcement"]
    assert missing[("mic_first", "en")] == ["Registration or notification number", "Public announcement"]
    assert reports.progress_page is not None and reports.progress_page.name == "progress.ja.html"


def test_help_lists_the_same_commands():
    result = CliRunner().invoke(app, ["--help"], terminal_width=120)
    rows = [line.split() for line in result.output.splitlines() if line.startswith("│ ") and line[2] != " "]
    names = [row[1] for row in rows if not row[1].startswith("-")]
    assert names == [
        "ingest",
        "stats",
        "query",
        "demo",
        "detect",
        "watch",
        "alerts",
        "timeline",
        "serve",  # added since (issue 14)
        "readers",
        "model",
        "paths",
        "case",
        "audit",
        "report",
        "posture",  # added since (issue 12)
        "sigma",  # added since (issue 12)
        "govern",  # added since (issue 13)
    ]
