"""A review campaign on a population built here by hand: seven grants, six in force on the start day
(G7 expired), four owned by hanako (aragorn may decide for her), two by kenji. Decisions: G1 certified by
hanako, G2 revoked by hanako, G3 certified by aragorn as her delegate, G5 changed by kenji; G4 and G6 left
open. So, by hand: 4 of 6 decided (completion 4/6), hanako 3 of 4 and kenji 1 of 2, nothing overdue on the
deadline day, G4 and G6 overdue the day after, and G2 a pending revoke."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sekimori.govern import Register, ReviewError, decide, read_register, review_status, start_review
from tests.govern.conftest import ALICE, ARAGORN, HANAKO, KENJI

START, DEADLINE = date(2026, 3, 1), date(2026, 3, 31)


def grants_yaml(owners: dict[str, str]) -> str:
    lines = [
        "parties:",
        "  - {id: parent, name: Parent, kind: parent, country: JP, risk_tier: low}",
        "  - {id: ctr, name: Contractor, kind: contractor, country: JP, risk_tier: medium}",
        "grants:",
    ]
    for number, owner in owners.items():
        subject = "aragorn@lotr.com" if number == "G1" else f"user{number[1:]}@ctr.example.jp"
        expires = "2025-12-31" if number == "G7" else "2027-03-31"
        lines.append(
            f"  - {{id: {number}, party: ctr, subject_kind: account, subject: {subject}, object_kind: host,"
            f" object: h{number[1:]}, access: interactive, justification: ops, owner: {owner},"
            f" created: 2025-01-01, expires: {expires}}}"
        )
    return "\n".join(lines) + "\n"


OWNERS = {"G1": "hanako", "G2": "hanako", "G3": "hanako", "G4": "hanako", "G5": "kenji", "G6": "kenji"}


@pytest.fixture
def campaign(register: Register, tmp_path: Path) -> Register:
    path = tmp_path / "population.yaml"
    path.write_text(grants_yaml({**OWNERS, "G7": "kenji"}), encoding="utf-8")
    register.import_records(read_register(path), ALICE)
    status = start_review(
        register, "2026-Q1", "first quarter", DEADLINE, ALICE, delegates={"hanako": ["aragorn"]}, today=START
    )
    assert [(i.grant, i.owner) for i in status.items] == sorted(OWNERS.items())
    assert status.total == 6 and status.decided == 0 and status.completion == 0.0
    return register


def test_a_full_campaign(campaign: Register, tmp_path: Path):
    decide(campaign, "2026-Q1", "G1", "certify", "still on the support rota", HANAKO)
    revoked = decide(campaign, "2026-Q1", "G2", "revoke", "left the project", HANAKO)
    delegated = decide(campaign, "2026-Q1", "G3", "certify", "checked with the team", ARAGORN)
    changed = decide(campaign, "2026-Q1", "G5", "change", "shorter", KENJI, change={"expires": "2026-06-30"})
    assert revoked.revoke_status == "pending" and revoked.decided_by == "hanako"
    assert delegated.decided_by == "aragorn"
    assert changed.change == {"expires": "2026-06-30"}

    on_deadline = review_status(campaign, "2026-Q1", today=DEADLINE)
    assert (on_deadline.decided, on_deadline.total) == (4, 6)
    assert on_deadline.completion == pytest.approx(4 / 6)
    assert on_deadline.overdue is False
    assert on_deadline.by_owner == {"hanako": (3, 4), "kenji": (1, 2)}
    assert on_deadline.pending_revokes == ["G2"]

    after = review_status(campaign, "2026-Q1", today=date(2026, 4, 1))
    assert after.overdue is True
    assert [i.grant for i in after.items if i.overdue] == ["G4", "G6"]
    assert after.to_dict()["overdue_items"] == 2

    report = campaign.verify()
    assert report.ok, report.problems
    decisions = [(e.kind, e.actor, e.payload["grant"]) for e in campaign.cases.audit.entries()[2:]]
    assert decisions == [
        ("review.decide", "hanako", "G1"),
        ("review.decide", "hanako", "G2"),
        ("review.decide", "aragorn", "G3"),
        ("review.decide", "kenji", "G5"),
    ]


def test_the_population_is_frozen_at_the_start(campaign: Register, tmp_path: Path):
    path = tmp_path / "later.yaml"
    path.write_text(grants_yaml({**OWNERS, "G4": "kenji", "G8": "kenji"}), encoding="utf-8")
    campaign.import_records(read_register(path), ALICE)
    status = review_status(campaign, "2026-Q1", today=START)
    assert [i.grant for i in status.items] == ["G1", "G2", "G3", "G4", "G5", "G6"]  # no G8
    g4 = next(i for i in status.items if i.grant == "G4")
    assert g4.owner == "hanako" and g4.frozen["owner"] == "hanako"
    with pytest.raises(ReviewError, match="kenji is neither the owner of grant 'G4' \\(hanako\\)"):
        decide(campaign, "2026-Q1", "G4", "certify", "mine now", KENJI)
    decide(campaign, "2026-Q1", "G4", "certify", "reviewed as frozen", HANAKO)


def test_who_may_not_decide(campaign: Register):
    with pytest.raises(ReviewError, match="kenji is neither the owner of grant 'G1'"):
        decide(campaign, "2026-Q1", "G1", "certify", "x", KENJI)
    with pytest.raises(ReviewError, match="aragorn is the subject of grant 'G1'"):
        decide(campaign, "2026-Q1", "G1", "certify", "my own access", ARAGORN)
    with pytest.raises(ReviewError, match="alice is neither the owner"):
        decide(campaign, "2026-Q1", "G5", "revoke", "x", ALICE)
    decide(campaign, "2026-Q1", "G1", "certify", "ok", HANAKO)
    with pytest.raises(ReviewError, match="'G1' was decided already \\(certify by hanako\\)"):
        decide(campaign, "2026-Q1", "G1", "revoke", "changed my mind", HANAKO)
    assert review_status(campaign, "2026-Q1", today=START).decided == 1
    assert campaign.verify().ok


def test_bad_decisions(campaign: Register):
    with pytest.raises(ReviewError, match="unknown decision 'approve'"):
        decide(campaign, "2026-Q1", "G1", "approve", "x", HANAKO)
    with pytest.raises(ReviewError, match="a decision needs a reason"):
        decide(campaign, "2026-Q1", "G1", "certify", " ", HANAKO)
    with pytest.raises(ReviewError, match="expires: expected a day on or after the creation"):
        decide(campaign, "2026-Q1", "G5", "change", "x", KENJI, change={"expires": "2024-01-01"})
    with pytest.raises(ReviewError, match="cannot change colour"):
        decide(campaign, "2026-Q1", "G5", "change", "x", KENJI, change={"colour": "red"})
    with pytest.raises(ReviewError, match="grant 'G7' is not in review"):
        decide(campaign, "2026-Q1", "G7", "certify", "x", KENJI)
    with pytest.raises(ReviewError, match="unknown review 'nope'"):
        review_status(campaign, "nope")
    with pytest.raises(ReviewError, match="exists already"):
        start_review(campaign, "2026-Q1", "again", DEADLINE, ALICE, today=START)
    assert review_status(campaign, "2026-Q1", today=START).decided == 0
    assert campaign.verify().ok
