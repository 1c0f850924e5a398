"""What the faces call: opening cases from alerts, the containment plan as a dry-run or as proposals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sekimori.respond import (
    ActionKind,
    CaseError,
    CaseStore,
    DryRun,
    Proposal,
    Scope,
    Scoped,
    case_record,
    containment_plan,
    dry_run,
    open_cases,
    select_alerts,
    stored_scope,
)
from sekimori.respond.actions import Action
from tests.respond.test_cases import FakeConnector, alert, who

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def cases(tmp_path: Path) -> Iterator[CaseStore]:
    connectors = {"ldap": FakeConnector(), "nftables": FakeConnector()}
    with CaseStore(f"sqlite:///{tmp_path / 'cases.db'}", connectors=dict(connectors)) as store:
        yield store


def test_open_cases_groups_then_joins_and_skips_alerts_already_in_a_case(cases: CaseStore) -> None:
    first = [alert("a1", 0, account="CORP\\alice"), alert("b1", 5, account="CORP\\bob")]
    opened = open_cases(cases, first, who("alice"))
    assert [(o.added, o.new) for o in opened.cases] == [(1, True), (1, True)] and opened.already == 0
    alice_case = opened.cases[0].case.id

    again = open_cases(cases, [*first, alert("a2", 30, account="CORP\\alice")], who("alice"))
    assert [(o.case.id, o.added, o.new) for o in again.cases] == [(alice_case, 1, False)]
    assert again.already == 2 and len(again.already_in) == 2
    assert again.cases[0].to_dict() == {
        "id": alice_case,
        "title": "alert a1 (1 alerts)",
        "alerts": 2,
        "added": 1,
        "new": False,
    }
    one = open_cases(cases, first, who("alice"), title="both", new=True, one_case=True)
    assert [(o.case.title, o.added) for o in one.cases] == [("both", 2)]


def test_select_alerts_names_the_unknown_ids() -> None:
    alerts = [alert("a1", 0), alert("a2", 1)]
    assert [a.alert_id for a in select_alerts(alerts, ["a2"])] == ["a2"]
    with pytest.raises(CaseError, match="unknown alert id\\(s\\): x, y"):
        select_alerts(alerts, ["a1", "y", "x"])


def test_dry_run_says_why_it_shows_no_changes() -> None:
    unknown = dry_run(Proposal(Action(ActionKind.reset_password, "CORP\\alice"), "no-such-connector"))
    assert unknown.changes == [] and unknown.note and "no-such-connector not configured" in unknown.note
    assert set(unknown.to_dict()) == {"changes", "note"}
    assert DryRun(["x"], True).to_dict() == {"changes": ["x"], "reversible": True}


def test_containment_plan_needs_a_scope_then_dry_runs_or_proposes(cases: CaseStore) -> None:
    case = cases.open_case("t", [alert("a1", 0, account="CORP\\alice")], who("alice"))
    with pytest.raises(CaseError, match="has no scope yet"):
        containment_plan(cases, case.id)
    scope = Scope(
        window=(T0 - timedelta(days=1), T0 + timedelta(days=90)),
        accounts=[Scoped("corp\\alice", "CORP\\alice", T0, 0, "CORP\\alice: named by alert 'alert a1'")],
        hosts=[],
        data_stores=[],
        rounds=1,
    )
    cases.set_scope(case.id, scope, who("alice"))
    assert stored_scope(cases.get(case.id)) == scope

    shown = containment_plan(cases, case.id)
    assert [(s.action.kind, s.connector) for s in shown] == [
        (ActionKind.reset_password, "ldap"),
        (ActionKind.revoke_sessions, "ldap"),
    ]
    assert all(s.dry_run is not None and s.proposed is None for s in shown)
    assert cases.actions(case.id) == []  # a dry-run stores nothing

    proposed = containment_plan(cases, case.id, propose_as=who("alice"))
    rows = [s.to_dict() for s in proposed]
    assert [r["status"] for r in rows] == ["proposed", "proposed"]
    assert [r["id"] for r in rows] == [a.id for a in cases.actions(case.id)]
    assert rows[0]["action"] == {
        "kind": "reset_password",
        "target": "CORP\\alice",
        "reason": scope.accounts[0].via,
        "params": {},
    }
    record = case_record(cases.get(case.id), cases.actions(case.id))
    assert [a["status"] for a in record["actions"]] == ["proposed", "proposed"]
    assert record["scope"] == scope.to_dict()
