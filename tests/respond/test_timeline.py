"""Dwell time and time to contain, by their definitions (sekimori/respond/timeline.py): dwell time is
first malicious activity → detection, where detection is a recorded ``detected`` milestone or else the
case's first alert, never the case's opening; time to contain is detection → a recorded ``contained``
milestone or else the first verified containment action; never negative.

The demo case is checked against times read from the store with this test's own SQL (and written out
after reading them off the EVTX logs), not through the timeline's code."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from sekimori.cli.respond import print_timeline
from sekimori.demo import build_demo_store, demo_model, detect
from sekimori.detect import Alert, alerts_from_table
from sekimori.report.facts import facts_from_case
from sekimori.respond import Entry, case_timeline
from sekimori.respond.actions import Action, ActionKind
from sekimori.respond.audit import utcnow
from sekimori.respond.cases import CaseStore, group_alerts
from sekimori.respond.principals import Principal
from sekimori.respond.scope import scope_from_alerts
from sekimori.respond.timeline import build_timeline
from tests.respond.conftest import Database
from tests.respond.test_cases import FakeConnector

ANALYST = Principal("os", "alice", "alice")
APPROVER = Principal("os", "bob", "bob")

# Read off the demo's logs: DE_RDP_Tunnel_5156.evtx, record 227740, a 4624 logon of EXAMPLE\admin01 on
# PC01 from the contractor's PC02 (the first event of the boundary alert 'Account used from a host of
# another organisation', which fires on it).
FIRST_MALICIOUS_EVENT = datetime(2019, 2, 13, 18, 4, 43, 171852, tzinfo=UTC)


def printed(timeline: Any) -> str:
    out = io.StringIO()
    print_timeline(Console(file=out, width=200, color_system=None), timeline)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo_case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[str], Any]]:
    """The demo's case (as ``sekimori demo`` opens it) in an SQLite database: its store, alert ids, and
    the case store."""
    folder = tmp_path_factory.mktemp("demo")
    store, _ = build_demo_store(folder / "store")
    model = demo_model()
    detect(store, model)
    alerts = alerts_from_table(store.sql("SELECT * FROM alerts WHERE source = 'boundary' ORDER BY time"))
    group = next(g for g in group_alerts(alerts) if any(a.src_host for a in g))
    cases = CaseStore(f"sqlite:///{folder / 'cases.db'}")
    case = cases.open_case("Contractor PC → affiliate → shared domain → parent", group, ANALYST)
    cases.set_scope(case.id, scope_from_alerts(store, group, model), ANALYST)
    yield store, [a.alert_id for a in group], cases
    cases.close()


def test_demo_case_dwell_time_runs_to_the_first_alert_not_to_the_case_opening(demo_case) -> None:
    store, ids, cases = demo_case
    quoted = ", ".join(f"'{i}'" for i in ids)
    evidence = store.sql(
        f"""SELECT e.time, e.record_id, e.source_file FROM events e
            JOIN (SELECT unnest(evidence) AS ev FROM alerts WHERE alert_id IN ({quoted})) x
              ON e.uid = x.ev.uid
            ORDER BY e.time LIMIT 1"""
    ).to_pylist()
    first_event, record, path = evidence[0]["time"], evidence[0]["record_id"], evidence[0]["source_file"]
    alerts = store.sql(f"SELECT min(time) AS t FROM alerts WHERE alert_id IN ({quoted})").to_pylist()
    first_alert = alerts[0]["t"]
    assert (first_event, record, path.rsplit("/", 1)[-1]) == (
        FIRST_MALICIOUS_EVENT,
        227740,
        "DE_RDP_Tunnel_5156.evtx",
    )
    assert first_alert == FIRST_MALICIOUS_EVENT  # the boundary rule fires on that very logon

    case = cases.list_cases()[0]
    timeline = case_timeline(cases, case.id)
    assert timeline.first_activity == first_event
    assert timeline.dwell_time == first_alert - first_event == timedelta(0)  # not 2,851 days
    assert timeline.detected == first_alert and timeline.detected_source == "first alert"
    # the case's opening (years after the logs) is its own milestone: time to triage
    assert timeline.opened == case.created and timeline.time_to_triage == case.created - first_alert
    assert timeline.contained is None and timeline.time_to_contain is None
    assert "containment" in timeline.missing and timeline.notes == []
    data = timeline.to_dict()
    assert data["dwell_time_seconds"] == 0.0 and data["detected_source"] == "first alert"
    assert data["detected"] == first_alert.isoformat() and data["opened"] == case.created.isoformat()
    text = printed(timeline)
    assert "detected: 2019-02-13 18:04:43Z (first alert)" in text
    assert "dwell time (first activity → detection): 0 s" in text
    assert "time to contain (detection → containment): not contained yet" in text
    # the report facts read the same detection, not the opening
    facts = facts_from_case(case)
    assert facts.first_activity == first_event and facts.detected == first_alert
    assert facts.extra["detected_source"] == "first alert" and facts.contained is None


def _case(cases: CaseStore, start: datetime) -> str:
    """A case of two alerts, at ``start`` and 10 minutes later."""
    alerts = [
        Alert.from_row(
            {
                "alert_id": f"a{n}",
                "rule_id": "r",
                "title": f"alert {n}",
                "source": "sigma",
                "level": "high",
                "time": start + timedelta(minutes=10 * n),
                "account": "CORP\\mallory",
                "evidence": [],
            }
        )
        for n in (1, 0)
    ]
    return cases.open_case("intrusion", alerts, ANALYST).id


def test_a_recorded_detected_milestone_is_used(db: Database) -> None:
    start = datetime(2023, 9, 24, 1, 0, tzinfo=UTC)
    with CaseStore(db.url, anchor=db.anchor) as cases:
        case_id = _case(cases, start)
        before = case_timeline(cases, case_id)
        assert before.detected == start and before.dwell_time == timedelta(0)  # not the opening
        assert before.detected_source == "first alert"

        detected = datetime(2023, 10, 27, 9, 30, tzinfo=UTC)  # the SOC's detection, from its records
        cases.set_milestone(case_id, "detected", detected, ANALYST)
        timeline = case_timeline(cases, case_id)
        assert timeline.dwell_time == detected - start == timedelta(days=33, hours=8, minutes=30)
        assert (timeline.detected, timeline.detected_source) == (detected, "milestone")
        assert "dwell time (first activity → detection): 33 d 8 h" in printed(timeline)
        assert facts_from_case(cases.get(case_id)).detected == detected

    # a detection entry recorded after the case was opened is that milestone too
    with CaseStore(db.url, anchor=db.anchor) as cases:
        other = _case(cases, start)
        noted = utcnow() + timedelta(minutes=5)
        cases.add_entry(other, "detection", "SOC ticket 4711", ANALYST, time=noted)
        timeline = case_timeline(cases, other)
        assert (timeline.detected, timeline.detected_source) == (noted, "milestone")
        assert facts_from_case(cases.get(other)).detected == noted


def test_time_to_contain_from_a_recorded_contained_milestone(db: Database) -> None:
    start = datetime(2023, 9, 24, 1, 0, tzinfo=UTC)
    fake = FakeConnector()
    with CaseStore(db.url, connectors={"fake": fake}, anchor=db.anchor) as cases:
        case_id = _case(cases, start)
        cases.set_milestone(case_id, "detected", start + timedelta(hours=6), ANALYST)
        contained = start + timedelta(hours=9, minutes=15)
        cases.add_entry(case_id, "containment", "contractor VPN cut at the firewall", ANALYST, time=contained)
        # an action verified now (years later) does not move the recorded containment
        action = cases.propose(case_id, Action(ActionKind.disable_account, "CORP\\mallory"), "fake", ANALYST)
        cases.approve(action.id, APPROVER)
        assert cases.execute(action.id, APPROVER).status == "verified"
        timeline = case_timeline(cases, case_id)
        assert timeline.contained == contained and timeline.time_to_contain == timedelta(hours=3, minutes=15)
        assert timeline.contained_source == "milestone"
        assert "time to contain (detection → containment): 3 h 15 min" in printed(timeline)
        assert facts_from_case(cases.get(case_id), actions=cases.actions(case_id)).contained == contained


def test_time_to_contain_from_the_first_verified_action(db: Database) -> None:
    start = utcnow().replace(microsecond=0) - timedelta(hours=5)
    fake = FakeConnector()
    with CaseStore(db.url, connectors={"fake": fake}, anchor=db.anchor) as cases:
        case_id = _case(cases, start)
        assert case_timeline(cases, case_id).contained is None
        ids = []
        for target in ("CORP\\mallory", "CORP\\mallory-adm"):
            action = cases.propose(case_id, Action(ActionKind.disable_account, target), "fake", ANALYST)
            cases.approve(action.id, APPROVER)
            ids.append(action.id)
        first = cases.execute(ids[0], APPROVER)
        second = cases.execute(ids[1], APPROVER)
        assert first.verified_at is not None and second.verified_at is not None
        assert first.verified_at < second.verified_at
        timeline = case_timeline(cases, case_id)
        assert timeline.contained == first.verified_at  # the first verified action, not the last
        assert timeline.time_to_contain == first.verified_at - start  # from the first alert
        assert (timeline.detected_source, timeline.contained_source) == ("first alert", "action")
        assert "containment" not in timeline.missing
        facts = facts_from_case(cases.get(case_id), actions=cases.actions(case_id))
        assert facts.contained == first.verified_at and facts.extra["contained_source"] == "action"


def test_containment_before_detection_is_said_not_counted_negative() -> None:
    start = datetime(2023, 9, 24, 1, 0, tzinfo=UTC)
    alerts = [Alert.from_row({"alert_id": "a", "title": "x", "level": "high", "time": start})]
    entries = [
        Entry(time=start + timedelta(hours=5), kind="detection", text="ticket", actor="soc"),
        Entry(time=start + timedelta(hours=1), kind="containment", text="port shut", actor="noc"),
    ]
    timeline = build_timeline(alerts, entries)
    assert timeline.detected == start + timedelta(hours=5)
    assert timeline.contained == start + timedelta(hours=1)
    assert timeline.time_to_contain is None and timeline.to_dict()["time_to_contain_seconds"] is None
    assert timeline.notes == [
        "containment (2023-09-24 02:00:00Z) precedes detection (2023-09-24 06:00:00Z) in the data"
    ]
    text = printed(timeline)
    assert "time to contain (detection → containment): containment precedes detection in the data" in text
