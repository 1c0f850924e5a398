"""Cases and containment actions on SQLite and PostgreSQL, with in-memory fake connectors."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import text

from sekimori.detect import Alert
from sekimori.respond.actions import Action, ActionKind, Connector, ConnectorError, Outcome, Plan
from sekimori.respond.audit import AuditError
from sekimori.respond.cases import ActionStatus, CaseError, CaseStore, group_alerts
from sekimori.respond.principals import Principal
from sekimori.respond.scope import Scope, Scoped
from tests.respond.conftest import Database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# An action executing on another host (so not known to be dead), since :t.
EXECUTING_ELSEWHERE = (
    "UPDATE containment_actions SET status = 'executing', executor = 'elsewhere/1/42', started_at = :t"
)


def who(login: str) -> Principal:
    """A principal as the command line would authenticate it (an OS login, its own person)."""
    return Principal("os", login, login.strip())


def alert(aid: str, minutes: float, **fields: Any) -> Alert:
    return Alert.from_row(
        {
            "alert_id": aid,
            "rule_id": f"rule-{aid}",
            "title": f"alert {aid}",
            "source": "sigma",
            "level": "high",
            "attack": ["T1078"],
            "time": T0 + timedelta(minutes=minutes),
            "evidence": [{"path": "Security.evtx", "record_id": 7, "uid": f"u-{aid}"}],
            **fields,
        }
    )


# -- fake connectors -----------------------------------------------------------------------------------


class FakeConnector(Connector):
    """Applies actions to a dict: target → kind."""

    name: ClassVar[str] = "fake"
    description: ClassVar[str] = "in memory"
    kinds: ClassVar[frozenset[ActionKind]] = frozenset(ActionKind)

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings if settings is not None else {})
        self.applied: dict[str, str] = {}
        self.calls: list[str] = []

    def plan(self, action: Action) -> Plan:
        self.calls.append("plan")
        return Plan(
            action,
            self.name,
            [f"{action.kind} on {action.target}"],
            reversible=action.kind != ActionKind.reset_password,
            state={"before": self.applied.get(action.target)},
        )

    def execute(self, plan: Plan) -> Outcome:
        self.calls.append("execute")
        self.applied[plan.action.target] = str(plan.action.kind)
        return Outcome(True, f"applied {plan.action.kind}", {"targets": [plan.action.target]})

    def verify(self, plan: Plan, outcome: Outcome) -> Outcome:
        self.calls.append("verify")
        present = plan.action.target in self.applied
        return Outcome(present, "in effect" if present else "not in effect")

    def rollback(self, plan: Plan, outcome: Outcome) -> Outcome:
        self.calls.append("rollback")
        for target in outcome.state.get("targets", []):
            self.applied.pop(target, None)
        return Outcome(True, "undone")


class FailingExecute(FakeConnector):
    def __init__(self) -> None:
        super().__init__({"bind_password": "hunter2"})

    def execute(self, plan: Plan) -> Outcome:
        self.calls.append("execute")
        raise ConnectorError("fake: bind refused with password hunter2")


class VerifyFails(FakeConnector):
    def verify(self, plan: Plan, outcome: Outcome) -> Outcome:
        self.calls.append("verify")
        return Outcome(False, "not in effect")


class PartialError(ConnectorError):
    def __init__(self, message: str, state: dict[str, Any]) -> None:
        super().__init__(message)
        self.state = state


class PartialFailure(FakeConnector):
    def execute(self, plan: Plan) -> Outcome:
        self.calls.append("execute")
        first = plan.action.target + "#1"
        self.applied[first] = str(plan.action.kind)
        raise PartialError("second change refused", {"targets": [first]})


class ExitingConnector(FakeConnector):
    def execute(self, plan: Plan) -> Outcome:
        os._exit(3)  # the process dies mid-execution


@pytest.fixture
def open_store(db: Database) -> Iterator[Callable[..., CaseStore]]:
    stores: list[CaseStore] = []

    def make(**connectors: Connector) -> CaseStore:
        store = CaseStore(db.url, connectors=dict(connectors), anchor=db.anchor)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


def audit_kinds(store: CaseStore, case_id: str) -> list[str]:
    return [e.kind for e in store.audit.entries(case_id)]


def proposed(
    store: CaseStore, kind: ActionKind = ActionKind.disable_account, target: str = "CORP\\alice"
) -> int:
    case = store.open_case("intrusion", [alert("a1", 0, account="CORP\\alice")], who("alice"))
    return store.propose(case.id, Action(kind, target, "hop via a1"), "fake", who("alice")).id


# -- grouping ------------------------------------------------------------------------------------------


def ids(groups: list[list[Alert]]) -> list[list[str]]:
    return [[a.alert_id for a in g] for g in groups]


def test_group_by_shared_account_host_and_org() -> None:
    alerts = [
        alert("acct2", 30, account="CORP\\alice", host="WS2"),
        alert("acct1", 0, account="corp\\ALICE", host="WS1"),
        alert("host", 60, account="CORP\\bob", host="ws2"),
        alert("org1", 10, account="X\\carol", host="H1", organisations=["Subsidiary B"]),
        alert("org2", 20, account="Y\\dave", host="H2", organisations=["subsidiary b", "Contractor C"]),
        alert("alone", 5, account="Z\\erin", host="H9"),
    ]
    assert ids(group_alerts(alerts)) == [["acct1", "acct2", "host"], ["alone"], ["org1", "org2"]]


def test_group_transitive_and_by_source_or_target_host() -> None:
    alerts = [
        alert("a", 0, account="CORP\\alice", host="WS1"),
        alert("b", 600, account="CORP\\bob", src_host="WS1", host="SRV"),  # WS1 → SRV
        alert("c", 1200, account="CORP\\carol", host="SRV"),
    ]
    assert ids(group_alerts(alerts)) == [["a", "b", "c"]]


def test_group_time_window_splits() -> None:
    alerts = [
        alert("d1", 0, account="CORP\\alice"),
        alert("d2", 23 * 60, account="CORP\\alice"),
        alert("d4", 3 * 24 * 60, account="CORP\\alice"),
    ]
    assert ids(group_alerts(alerts)) == [["d1", "d2"], ["d4"]]
    assert ids(group_alerts(alerts, window=timedelta(hours=1))) == [["d1"], ["d2"], ["d4"]]
    # transitive through the middle one: each link within the window
    chain = [alert("x", 0, host="H"), alert("y", 20 * 60, host="H"), alert("z", 40 * 60, host="H")]
    assert ids(group_alerts(chain)) == [["x", "y", "z"]]


def test_group_ignores_generic_values_and_untimed_alerts() -> None:
    alerts = [
        alert("s1", 0, account="NT AUTHORITY\\SYSTEM", host="A"),
        alert("s2", 1, account="SYSTEM", host="B"),
        alert("s3", 2, account="-", host="localhost"),
        replace(alert("untimed", 0, account="CORP\\alice"), time=None),
        alert("t1", 3, account="CORP\\alice"),
        alert("iso", 4, account="CORP\\alice", time="2026-03-02T09:04:00Z"),
    ]
    assert ids(group_alerts(alerts)) == [["s1"], ["s2"], ["s3"], ["t1", "iso"], ["untimed"]]


# -- cases ---------------------------------------------------------------------------------------------


def test_open_add_get_round_trip(open_store: Callable[..., CaseStore]) -> None:
    store = open_store()
    alerts = [
        alert("a2", 30, account="CORP\\alice", host="WS1", organisations=["Parent"]),
        alert("a1", 0, account="CORP\\alice", host="WS1"),
    ]
    case = store.open_case("Alice's account used from the contractor network", alerts, who("alice"))
    year = case.created.year  # the year it was opened in (not the test's: it may start on 31 December)
    assert case.id == f"CASE-{year}-0001"
    assert case.status == "open" and case.opened_by == "alice"
    assert case.created.tzinfo is not None
    assert [a.alert_id for a in case.alerts] == ["a1", "a2"]
    assert case.alerts[1].orgs == ["Parent"]
    assert case.alerts[0].evidence == [{"path": "Security.evtx", "record_id": 7, "uid": "u-a1"}]
    assert case.alerts[0].time == T0 and case.first_activity == T0
    assert case.detected == case.created

    store.add_entry(case.id, "note", "called the contractor", who("bob"))
    store.add_entry(
        case.id, "judgment", "true positive", who("bob"), time=T0 + timedelta(hours=2), data={"tp": True}
    )
    scope = Scope(
        window=(T0 - timedelta(days=1), T0 + timedelta(days=90)),
        accounts=[Scoped("corp\\alice", "CORP\\alice", T0, 0, "CORP\\alice: named by alert 'alert a1'")],
        hosts=[Scoped("ws1", "WS1", T0 + timedelta(minutes=30), 0, "WS1: named by alert 'alert a2'")],
        data_stores=[],
        rounds=1,
    )
    store.set_scope(case.id, scope, who("scoper"))
    got = store.get(case.id)
    assert [e.kind for e in got.entries] == ["judgment", "note"]  # by when it happened
    assert got.entries[0].data == {"tp": True} and got.entries[0].actor == "bob"
    assert got.entries[0].recorded > got.entries[0].time
    assert got.judged == T0 + timedelta(hours=2)
    assert got.scope == scope.to_dict() and Scope.from_dict(got.scope) == scope

    second = store.open_case("another", [], who("carol"))
    number = "0002" if second.created.year == year else "0001"  # numbers start again each year
    assert second.id == f"CASE-{second.created.year}-{number}"
    assert [c.id for c in store.list_cases()] == [case.id, second.id]
    assert audit_kinds(store, case.id) == ["case.open", "note", "judgment", "case.scope"]
    with pytest.raises(CaseError, match="unknown case"):
        store.get("CASE-1999-0001")
    with pytest.raises(CaseError, match="unknown entry kind"):
        store.add_entry(case.id, "gossip", "x", who("bob"))
    assert store.audit.verify().ok
    assert store.verify().ok, store.verify().problems


def test_add_alerts_is_idempotent(open_store: Callable[..., CaseStore]) -> None:
    store = open_store()
    case = store.open_case("t", [alert("a1", 10)], who("alice"))
    assert store.add_alerts(case.id, [alert("a1", 10), alert("a0", 0), alert("a0", 0)], who("bob")) == ["a0"]
    assert store.add_alerts(case.id, [alert("a1", 10), alert("a0", 0)], who("bob")) == []
    got = store.get(case.id)
    assert [a.alert_id for a in got.alerts] == ["a0", "a1"]
    assert got.first_activity == T0
    assert audit_kinds(store, case.id) == ["case.open", "case.alerts"]


def test_write_and_audit_entry_are_one_transaction(open_store: Callable[..., CaseStore]) -> None:
    store = open_store()
    case = store.open_case("t", [], who("alice"))

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AuditError("refused")

    store.audit.append = refuse  # type: ignore[method-assign]
    with pytest.raises(AuditError):
        store.add_entry(case.id, "note", "not recorded", who("bob"))  # the audit append fails: nothing stored
    del store.audit.append
    assert store.get(case.id).entries == []
    assert audit_kinds(store, case.id) == ["case.open"]


# -- containment actions -------------------------------------------------------------------------------


def test_propose_errors(open_store: Callable[..., CaseStore]) -> None:
    store = open_store(fake=FakeConnector())
    case = store.open_case("t", [], who("alice"))
    act = Action(ActionKind.disable_account, "CORP\\alice")
    with pytest.raises(CaseError, match="unknown case"):
        store.propose("CASE-1999-0001", act, "fake", who("alice"))
    with pytest.raises(CaseError, match="unknown connector"):
        store.propose(case.id, act, "no-such-connector", who("alice"))
    assert store.actions(case.id) == []


def test_approval_by_the_requester_refused(open_store: Callable[..., CaseStore]) -> None:
    store = open_store(fake=FakeConnector())
    action_id = proposed(store)
    with pytest.raises(CaseError, match="approval by the same person who asked"):
        store.approve(action_id, who(" Alice "))
    assert store.action(action_id).status == ActionStatus.proposed
    store.approve(action_id, who("bob"))
    with pytest.raises(CaseError, match="only a proposed action"):
        store.approve(action_id, who("carol"))


def test_execute_without_approval_refused(open_store: Callable[..., CaseStore]) -> None:
    fake = FakeConnector()
    store = open_store(fake=fake)
    action_id = proposed(store)
    with pytest.raises(CaseError, match="only an approved action"):
        store.execute(action_id, who("alice"))
    assert store.action(action_id).status == ActionStatus.proposed
    assert "execute" not in fake.calls and fake.applied == {}


def test_happy_path(open_store: Callable[..., CaseStore]) -> None:
    fake = FakeConnector()
    store = open_store(fake=fake)
    action_id = proposed(store)
    row = store.action(action_id)
    assert row.status == "proposed" and row.changes == ["disable_account on CORP\\alice"]
    assert row.plan().action == Action(ActionKind.disable_account, "CORP\\alice", "hop via a1")
    store.approve(action_id, who("bob"))
    done = store.execute(action_id, who("bob"))
    assert done.status == ActionStatus.verified
    assert fake.applied == {"CORP\\alice": "disable_account"}
    assert done.approved_by == "bob" and done.requested_by == "alice"
    assert done.state == {"targets": ["CORP\\alice"]}
    assert done.proposed_at <= done.approved_at <= done.started_at <= done.executed_at <= done.verified_at  # type: ignore[operator]
    entries = store.audit.entries(done.case_id)
    assert [e.kind for e in entries] == [
        "case.open",
        "action.propose",
        "action.approve",
        "action.execute",
        "action.execute",
        "action.verify",
    ]
    assert [e.payload.get("phase") for e in entries[3:5]] == ["start", "done"]
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)
    assert [a.id for a in store.actions(done.case_id)] == [action_id]
    report = store.verify()  # the chain, and the tables against it
    assert report.ok, report.problems


def test_failed_execute_is_recorded(open_store: Callable[..., CaseStore]) -> None:
    store = open_store(fake=FailingExecute())
    action_id = proposed(store)
    store.approve(action_id, who("bob"))
    row = store.execute(action_id, who("bob"))
    assert row.status == ActionStatus.failed and row.failed_phase == "execute"
    assert row.error is not None and "bind refused" in row.error
    assert "hunter2" not in row.error and "***" in row.error
    again = store.action(action_id)
    assert again.status == ActionStatus.failed
    kinds = audit_kinds(store, row.case_id)
    assert kinds[-2:] == ["action.execute", "action.fail"]
    assert all("hunter2" not in str(e.payload) for e in store.audit.entries())
    with pytest.raises(CaseError, match="only an approved action"):
        store.execute(action_id, who("bob"))
    assert store.audit.verify().ok
    assert store.verify().ok, store.verify().problems


def test_failed_verification(open_store: Callable[..., CaseStore]) -> None:
    fake = VerifyFails()
    store = open_store(fake=fake)
    action_id = proposed(store)
    store.approve(action_id, who("bob"))
    row = store.execute(action_id, who("bob"))
    assert row.status == ActionStatus.failed and row.failed_phase == "verify"
    assert audit_kinds(store, row.case_id)[-3:] == ["action.execute", "action.verify", "action.fail"]
    # the change may be in effect: it can still be rolled back
    rolled = store.rollback(action_id, who("bob"))
    assert rolled.status == ActionStatus.rolled_back and fake.applied == {}


def test_partial_execute_is_rolled_back(open_store: Callable[..., CaseStore]) -> None:
    fake = PartialFailure()
    store = open_store(fake=fake)
    action_id = proposed(store)
    store.approve(action_id, who("bob"))
    row = store.execute(action_id, who("bob"))
    assert row.status == ActionStatus.failed and row.failed_phase == "execute"
    assert "rollback" in fake.calls and fake.applied == {}
    assert row.detail is not None and row.detail.startswith("rolled back")
    fail = store.audit.entries(row.case_id)[-1]
    assert fail.kind == "action.fail" and fail.payload["partial"] is True


def _execute_and_die(url: str, anchor: str | None, action_id: int) -> None:
    store = CaseStore(url, connectors={"fake": ExitingConnector()}, anchor=anchor, recover=False)
    store.execute(action_id, who("bob"))


def test_recover_an_interrupted_execution(db: Database, open_store: Callable[..., CaseStore]) -> None:
    store = open_store(fake=FakeConnector())
    action_id = proposed(store)
    store.approve(action_id, who("bob"))
    anchor = str(db.anchor) if db.anchor else None
    child = multiprocessing.get_context("spawn").Process(
        target=_execute_and_die, args=(db.url, anchor, action_id)
    )
    child.start()
    child.join(120)
    assert child.exitcode == 3
    assert store.action(action_id).status == ActionStatus.executing
    assert store.recover() == [action_id]
    row = store.action(action_id)
    assert row.status == ActionStatus.failed and row.failed_phase == "interrupted"
    assert audit_kinds(store, row.case_id)[-2:] == ["action.execute", "action.fail"]
    assert store.recover() == []
    assert store.audit.verify().ok
    assert store.verify().ok, store.verify().problems


def test_recover_leaves_a_live_execution_until_stale(open_store: Callable[..., CaseStore]) -> None:
    store = open_store(fake=FakeConnector())
    action_id = proposed(store)
    with store.engine.begin() as conn:  # executing on another host, just now
        conn.execute(text(EXECUTING_ELSEWHERE), {"t": datetime.now(UTC)})
    assert store.recover() == []
    assert store.recover(stale_after=timedelta(0)) == [action_id]


def test_opening_a_store_recovers(db: Database, open_store: Callable[..., CaseStore]) -> None:
    store = open_store(fake=FakeConnector())
    action_id = proposed(store)
    with store.engine.begin() as conn:
        conn.execute(text(EXECUTING_ELSEWHERE), {"t": datetime.now(UTC) - timedelta(hours=2)})
    assert open_store().action(action_id).status == ActionStatus.failed


def test_rollback(open_store: Callable[..., CaseStore]) -> None:
    fake = FakeConnector()
    store = open_store(fake=fake)
    action_id = proposed(store)
    with pytest.raises(CaseError, match="only an executed action"):
        store.rollback(action_id, who("bob"))
    store.approve(action_id, who("bob"))
    store.execute(action_id, who("bob"))
    row = store.rollback(action_id, who("carol"))
    assert row.status == ActionStatus.rolled_back and row.rolled_back_by == "carol"
    assert fake.applied == {}
    assert fake.calls[-2:] == ["rollback", "verify"]  # verified after the rollback
    assert audit_kinds(store, row.case_id)[-2:] == ["action.rollback", "action.rollback"]
    with pytest.raises(CaseError, match="only an executed action"):
        store.rollback(action_id, who("carol"))
    assert store.audit.verify().ok
    assert store.verify().ok, store.verify().problems


def test_irreversible_action_not_rolled_back(open_store: Callable[..., CaseStore]) -> None:
    store = open_store(fake=FakeConnector())
    action_id = proposed(store, ActionKind.reset_password)
    store.approve(action_id, who("bob"))
    assert store.execute(action_id, who("bob")).status == ActionStatus.verified
    with pytest.raises(CaseError, match="not reversible"):
        store.rollback(action_id, who("bob"))
