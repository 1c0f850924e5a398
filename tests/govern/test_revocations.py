"""A revoke of a review becomes a containment action of the respond stage: proposed with the connector's
dry-run plan in the campaign's case, then approved by a second person and executed there; the audit chain
verifies after it, for the register and for the cases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from sekimori.govern import (
    Register,
    ReviewError,
    decide,
    propose_revocations,
    read_register,
    review_status,
    start_review,
)
from sekimori.respond import ActionStatus, CaseError
from tests.govern.conftest import ALICE, HANAKO, KENJI
from tests.govern.test_reviews import DEADLINE, OWNERS, START, grants_yaml
from tests.respond.conftest import Database
from tests.respond.test_cases import FakeConnector


@pytest.fixture
def fake() -> FakeConnector:
    return FakeConnector()


@pytest.fixture
def revoking(db: Database, fake: FakeConnector, tmp_path: Path) -> Iterator[Register]:
    register = Register(db.url, anchor=db.anchor, connectors={"fake": fake})
    path = tmp_path / "population.yaml"
    path.write_text(grants_yaml(OWNERS), encoding="utf-8")
    register.import_records(read_register(path), ALICE)
    start_review(register, "R", "review", DEADLINE, ALICE, today=START)
    yield register
    register.close()


def test_revokes_become_containment_actions(revoking: Register, fake: FakeConnector):
    assert propose_revocations(revoking, "R", HANAKO, connector="fake") == []  # nothing revoked yet
    decide(revoking, "R", "G2", "revoke", "left the project", HANAKO)
    decide(revoking, "R", "G6", "revoke", "contract over", KENJI)
    decide(revoking, "R", "G1", "certify", "needed", HANAKO)
    proposals = propose_revocations(revoking, "R", HANAKO, connector="fake")
    assert [(p.grant, p.changes) for p in proposals] == [
        ("G2", ["remove_grant on G2"]),
        ("G6", ["remove_grant on G6"]),
    ]
    assert fake.calls == ["plan", "plan"] and fake.applied == {}  # a dry-run only
    case_id = proposals[0].case_id
    assert proposals[1].case_id == case_id
    assert revoking.cases.get(case_id).title == "Access review R: revocations"
    action = revoking.cases.action(proposals[0].action_id)
    assert (action.kind, action.target, action.status, action.requested_by) == (
        "remove_grant",
        "G2",
        ActionStatus.proposed,
        "hanako",
    )
    assert action.reason == "access review R: revoked by hanako: left the project"
    assert action.params["subject"] == "account user2@ctr.example.jp"
    status = review_status(revoking, "R", today=START)
    assert status.pending_revokes == []
    assert [(i.grant, i.revoke_status, i.action_id) for i in status.items if i.revoke_status] == [
        ("G2", "proposed", proposals[0].action_id),
        ("G6", "proposed", proposals[1].action_id),
    ]
    assert propose_revocations(revoking, "R", HANAKO, connector="fake") == []  # not proposed twice

    # The respond stage's two-person rule and execution.
    with pytest.raises(CaseError, match="approval by the same person"):
        revoking.cases.approve(proposals[0].action_id, HANAKO)
    revoking.cases.approve(proposals[0].action_id, KENJI)
    done = revoking.cases.execute(proposals[0].action_id, KENJI)
    assert done.status == ActionStatus.verified and fake.applied == {"G2": "remove_grant"}

    assert revoking.verify().ok, revoking.verify().problems
    assert revoking.cases.verify().ok, revoking.cases.verify().problems


def test_an_unknown_connector_leaves_the_revoke_pending(revoking: Register):
    decide(revoking, "R", "G2", "revoke", "left", HANAKO)
    with pytest.raises(ReviewError, match=r"grant 'G2': .*no-such-connector"):
        propose_revocations(revoking, "R", HANAKO, connector="no-such-connector")
    assert review_status(revoking, "R", today=date(2026, 3, 2)).pending_revokes == ["G2"]
    assert revoking.verify().ok
