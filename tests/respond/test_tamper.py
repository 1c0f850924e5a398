"""Someone with access to the case database edits its tables directly, as an attacker would (raw SQL,
no sekimori code): the audit trail's verify names each edit, and nothing is executed on the strength of
an edited row."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sekimori.respond.actions import Action, ActionKind
from sekimori.respond.audit import entry_hash
from sekimori.respond.cases import ActionStatus, CaseError, CaseStore
from sekimori.respond.principals import Principal
from tests.respond.conftest import Database
from tests.respond.test_cases import FakeConnector, alert

ALICE = Principal("os", "alice", "alice")
BOB = Principal("os", "bob", "bob")


def first_case(store: CaseStore) -> str:
    """The id of the first case opened (by ``action_id``)."""
    return store.list_cases()[0].id


def attacker(db: Database, *statements: str) -> None:
    """Run SQL straight on the database, outside sekimori."""
    if db.backend == "sqlite":
        with sqlite3.connect(db.url.removeprefix("sqlite:///")) as con:
            for statement in statements:
                con.execute(statement)
        return
    import psycopg

    with psycopg.connect(db.url.replace("postgresql+psycopg://", "postgresql://")) as con:
        for statement in statements:
            con.execute(statement)


@pytest.fixture
def fake() -> FakeConnector:
    return FakeConnector()


@pytest.fixture
def store(db: Database, fake: FakeConnector) -> Iterator[CaseStore]:
    cases = CaseStore(db.url, connectors={"fake": fake}, anchor=db.anchor)
    yield cases
    cases.close()


@pytest.fixture
def action_id(store: CaseStore) -> int:
    """seq 1: the case opened with one alert; seq 2: alice proposes action 1."""
    case = store.open_case("intrusion", [alert("a1", 0, account="CORP\\mallory")], ALICE)
    assert case.id == f"CASE-{case.created.year}-0001"  # the year it was opened in
    return store.propose(case.id, Action(ActionKind.disable_account, "CORP\\mallory"), "fake", ALICE).id


def problems(store: CaseStore) -> list[str]:
    report = store.verify()
    assert not report.ok
    return report.problems


def test_status_set_to_approved_in_the_table(
    db: Database, store: CaseStore, fake: FakeConnector, action_id: int
) -> None:
    assert store.verify().ok, store.verify().problems
    attacker(db, "UPDATE containment_actions SET status = 'approved', approved_by = 'bob' WHERE id = 1")
    with pytest.raises(CaseError, match="disagrees with the audit trail"):
        store.execute(action_id, ALICE)
    assert "execute" not in fake.calls and fake.applied == {}
    assert problems(store) == [
        "containment_actions row 1 field approved_by: the audit chain says None, the table has 'bob'",
        "containment_actions row 1 field status: the audit chain says 'proposed', the table has 'approved'",
    ]


def test_requester_renamed_in_the_table(db: Database, store: CaseStore, action_id: int) -> None:
    attacker(db, "UPDATE containment_actions SET requested_by = 'bob' WHERE id = 1")
    with pytest.raises(CaseError, match="disagrees with the audit trail"):
        store.approve(action_id, ALICE)
    assert store.action(action_id).status == ActionStatus.proposed
    assert problems(store) == [
        "containment_actions row 1 field requested_by: the audit chain says 'alice', the table has 'bob'"
    ]


def test_edited_plan_is_not_approved(db: Database, store: CaseStore, action_id: int) -> None:
    attacker(
        db, """UPDATE containment_actions SET changes = '["disable_account on ceo@corp"]' WHERE id = 1"""
    )
    with pytest.raises(CaseError, match="field changes"):
        store.approve(action_id, BOB)


def test_case_fields_edited(db: Database, store: CaseStore, action_id: int) -> None:
    case = first_case(store)
    attacker(
        db,
        "UPDATE cases SET title = 'nothing to see', status = 'closed'",
        "UPDATE case_entries SET text = 'x'",  # none yet: changes nothing
    )
    assert problems(store) == [
        f"cases row {case} field status: the audit chain says 'open', the table has 'closed'",
        f"cases row {case} field title: the audit chain says 'intrusion', the table has 'nothing to see'",
    ]


def test_milestone_and_entry_edited(db: Database, store: CaseStore) -> None:
    case = store.open_case("intrusion", [], ALICE)
    store.add_entry(case.id, "judgment", "true positive", BOB)
    attacker(db, "UPDATE case_entries SET text = 'false positive'", "UPDATE cases SET judged = NULL")
    found = problems(store)
    assert found[0].startswith(f"cases row {case.id} field judged: the audit chain says '20")
    assert found[0].endswith("the table has None")
    assert found[1:] == [
        "case_entries row 1 field text: the audit chain says 'true positive', the table has 'false positive'"
    ]


def test_case_deleted(db: Database, store: CaseStore, action_id: int) -> None:
    case = first_case(store)
    attacker(
        db,
        "DELETE FROM containment_actions",
        "DELETE FROM case_alerts",
        f"DELETE FROM cases WHERE id = '{case}'",
    )
    assert problems(store) == [
        f"cases row {case}: in the audit chain (seq 1) but not in the table (deleted)",
        "case_alerts row 1: in the audit chain (seq 1) but not in the table (deleted)",
        "containment_actions row 1: in the audit chain (seq 2) but not in the table (deleted)",
    ]


def test_alert_links_added_and_moved(db: Database, store: CaseStore, action_id: int) -> None:
    case = first_case(store)
    other = store.open_case("other", [alert("b1", 5)], BOB)
    attacker(
        db,
        f"UPDATE case_alerts SET case_id = '{other.id}' WHERE alert_id = 'a1'",
        "INSERT INTO case_alerts (id, case_id, alert_id, orgs, attack, evidence, added, added_by) "
        f"VALUES (9, '{case}', 'forged', '[]', '[]', '[]', '2026-01-01 00:00:00', 'alice')",
    )
    assert problems(store) == [
        f"case_alerts row 1 field case_id: the audit chain says '{case}', the table has '{other.id}'",
        "case_alerts row 9: not in the audit chain (written beside sekimori)",
    ]


def _forge_entry(db: Database, store: CaseStore, kind: str, payload: dict[str, Any]) -> None:
    case = first_case(store)
    """Append an entry with a correct hash and move the head, as someone who read audit.py would."""
    last = store.audit.entries()[-1]
    seq, when = last.seq + 1, datetime.now(UTC)
    digest = entry_hash(seq, when, "bob", case, kind, payload, last.hash)
    import json

    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f") + ("" if db.backend == "sqlite" else "+00")
    body = json.dumps(payload).replace("'", "''")
    attacker(
        db,
        "INSERT INTO audit (seq, time, actor, case_id, kind, payload, prev_hash, hash) VALUES "
        f"({seq}, '{stamp}', 'bob', '{case}', '{kind}', '{body}', '{last.hash}', '{digest}')",
        f"UPDATE audit_head SET seq = {seq}, hash = '{digest}'",
        "UPDATE containment_actions SET status = 'approved', approved_by = 'bob' WHERE id = 1",
    )


def test_forged_approval_in_the_chain_is_not_executed(
    db: Database, store: CaseStore, fake: FakeConnector, action_id: int
) -> None:
    payload = {
        "action_id": action_id,
        "changes": ["disable_account on CORP\\mallory"],
        "by": BOB.to_dict(),
        "rows": [
            {
                "op": "update",
                "table": "containment_actions",
                "id": "1",
                "set": {"approved_by": "bob", "status": "approved"},
            }
        ],
    }
    _forge_entry(db, store, "action.approve", payload)
    with pytest.raises(CaseError, match=r"seq 3\.\.3: not anchored"):
        store.execute(action_id, ALICE)
    assert "execute" not in fake.calls


def test_untouched_store_executes(store: CaseStore, fake: FakeConnector, action_id: int) -> None:
    store.approve(action_id, BOB)
    assert store.execute(action_id, ALICE).status == ActionStatus.verified
    assert fake.applied == {"CORP\\mallory": "disable_account"}
    assert store.verify().ok, store.verify().problems
