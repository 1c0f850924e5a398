"""A full review campaign whose revoke is a grant of an LDAP group membership, against the real slapd of
the LDAP connector's tests (started on 127.0.0.1 for this module; skipped without OpenLDAP, failed when
SEKIMORI_REQUIRE_SERVERS=1).

The directory gets a group of its own here, ``cn=billing-ops`` (groupOfNames: alice and bob); the register
(written by hand, below) has a contractor's two grants of that membership, owned by hanako. The campaign:
hanako certifies alice's and revokes bob's; the revoke is proposed to the LDAP connector (a dry-run),
approved by kenji (hanako may not approve her own request), executed, verified, copied back into the
campaign and rolled back. The directory is read with ldap3 queries of this module, never through the
connector under test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import ldap3
import pytest

from sekimori.govern import (
    Register,
    ReviewError,
    decide,
    propose_revocations,
    read_register,
    record_revocation_outcomes,
    review_status,
    start_review,
)
from sekimori.respond import ActionStatus, CaseError
from sekimori.respond.connectors.ldap import LdapConnector
from tests.govern.conftest import ALICE, HANAKO, KENJI
from tests.respond.conftest import Database
from tests.respond.test_connector_ldap import ADMIN_DN, ADMIN_PW, BASE, Slapd, dn, slapd  # noqa: F401

GROUPS = f"ou=groups,{BASE}"
GROUP = f"cn=billing-ops,{GROUPS}"
START, DEADLINE = date(2026, 3, 1), date(2026, 3, 31)

REGISTER = f"""\
parties:
  - {{id: parent, name: Parent Corp, kind: parent, country: JP, risk_tier: low}}
  - {{id: ctr, name: Contractor A, kind: contractor, country: JP, risk_tier: medium}}
contracts:
  - id: C-1
    party: ctr
    entrusting: parent
    purpose: billing operations
    data_categories: [customers]
    people: 5000
    start: 2025-01-01
    end: 2026-12-31
    reentrustment_allowed: false
    audit_rights: true
    status: active
grants:
  - id: G-ALICE
    party: ctr
    subject_kind: account
    subject: alice
    object_kind: application
    object: "{GROUP}"
    access: application
    justification: billing run
    owner: hanako
    contract: C-1
    created: 2025-01-01
    expires: 2026-12-31
  - id: G-BOB
    party: ctr
    subject_kind: account
    subject: bob
    object_kind: application
    object: "{GROUP}"
    access: application
    justification: billing run
    owner: hanako
    contract: C-1
    created: 2025-01-01
    expires: 2026-12-31
"""


def _admin(url: str) -> ldap3.Connection:
    return ldap3.Connection(ldap3.Server(url, get_info=ldap3.NONE), ADMIN_DN, ADMIN_PW, auto_bind=True)


def members(url: str) -> list[str]:
    """The group's members as the directory holds them (lower-cased DNs)."""
    with _admin(url) as conn:
        conn.search(GROUP, "(objectClass=groupOfNames)", ldap3.BASE, attributes=["member"])
        return sorted(v.decode().lower() for v in conn.response[0]["raw_attributes"].get("member", []))


@pytest.fixture
def directory(slapd: Slapd) -> Iterator[Slapd]:  # noqa: F811  (the imported fixture)
    """The group, with alice and bob, made afresh for each test."""
    with _admin(slapd.url) as conn:
        if not conn.search(GROUPS, "(objectClass=*)", ldap3.BASE):
            conn.add(GROUPS, "organizationalUnit", {"ou": "groups"})
        conn.delete(GROUP)
        assert conn.add(GROUP, "groupOfNames", {"cn": "billing-ops", "member": [dn("alice"), dn("bob")]})
    assert members(slapd.url) == [dn("alice"), dn("bob")]
    yield slapd
    with _admin(slapd.url) as conn:
        conn.delete(GROUP)


def snapshot(url: str) -> dict[str, dict[str, list[bytes]]]:
    """Every entry of the directory with its user and operational attributes (modifyTimestamp, entryCSN):
    equal snapshots mean nothing was written."""
    with _admin(url) as conn:
        conn.search(BASE, "(objectClass=*)", ldap3.SUBTREE, attributes=["*", "+"])
        return {
            r["dn"].lower(): {k: sorted(v) for k, v in r["raw_attributes"].items()} for r in conn.response
        }


def _start(db: Database, directory: Slapd, tmp_path: Path, text: str) -> Register:
    """The register from ``text``, a campaign started on START, alice's grant certified and bob's
    revoked by hanako."""
    connector = LdapConnector(directory.settings())
    register = Register(db.url, anchor=db.anchor, connectors={"ldap": connector})
    path = tmp_path / "register.yaml"
    path.write_text(text, encoding="utf-8")
    register.import_records(read_register(path), ALICE)
    status = start_review(register, "R", "billing access", DEADLINE, ALICE, today=START)
    assert [(i.grant, i.owner) for i in status.items] == [("G-ALICE", "hanako"), ("G-BOB", "hanako")]
    decide(register, "R", "G-ALICE", "certify", "still runs the billing", HANAKO)
    decide(register, "R", "G-BOB", "revoke", "left the project", HANAKO)
    status = review_status(register, "R", today=START)
    assert (status.decided, status.total, status.pending_revokes) == (2, 2, ["G-BOB"])
    return register


@pytest.fixture
def campaign(db: Database, directory: Slapd, tmp_path: Path) -> Iterator[Register]:
    register = _start(db, directory, tmp_path, REGISTER)
    yield register
    register.close()


def _chains_verify(register: Register) -> None:
    report = register.verify()
    assert report.ok, report.problems
    cases = register.cases.verify()
    assert cases.ok, cases.problems


def _revoke_status(register: Register) -> str | None:
    return next(
        i.revoke_status for i in review_status(register, "R", today=START).items if i.grant == "G-BOB"
    )


PLANNED = f"delete member {dn('bob')} from {GROUP} (that value only: the other members stay as they are)"


def test_a_revoke_removes_the_membership_and_rolls_back(campaign: Register, directory: Slapd):
    before = snapshot(directory.url)
    proposals = propose_revocations(campaign, "R", HANAKO, connector="ldap")
    # The dry-run names the one value of the one group, and writes nothing.
    assert [(p.grant, p.changes) for p in proposals] == [("G-BOB", [PLANNED])]
    assert snapshot(directory.url) == before
    action_id = proposals[0].action_id
    action = campaign.cases.action(action_id)
    assert (action.kind, action.target, action.connector, action.reversible) == (
        "remove_grant",
        "G-BOB",
        "ldap",
        True,
    )
    assert action.plan_state == {"grant": "G-BOB", "group": GROUP, "attribute": "member", "member": dn("bob")}
    assert _revoke_status(campaign) == "proposed"

    # Two people: hanako asked, so hanako may not approve; nor can an unapproved action run.
    with pytest.raises(CaseError, match="approval by the same person"):
        campaign.cases.approve(action_id, HANAKO)
    with pytest.raises(CaseError, match="only an approved action can be executed"):
        campaign.cases.execute(action_id, HANAKO)
    assert campaign.cases.action(action_id).status == ActionStatus.proposed
    assert snapshot(directory.url) == before
    campaign.cases.approve(action_id, KENJI)

    done = campaign.cases.execute(action_id, KENJI)
    assert done.status == ActionStatus.verified, (done.error, done.verify_detail)
    assert members(directory.url) == [dn("alice")]
    assert done.state["removed"] is True
    assert record_revocation_outcomes(campaign, "R", KENJI) == {"G-BOB": "verified"}
    assert _revoke_status(campaign) == "verified"
    assert record_revocation_outcomes(campaign, "R", KENJI) == {}  # nothing new: no second write
    _chains_verify(campaign)

    undone = campaign.cases.rollback(action_id, KENJI)
    assert undone.status == ActionStatus.rolled_back, (undone.error, undone.verify_detail)
    assert members(directory.url) == [dn("alice"), dn("bob")]
    assert record_revocation_outcomes(campaign, "R", KENJI) == {"G-BOB": "rolled_back"}
    assert _revoke_status(campaign) == "rolled_back"
    assert review_status(campaign, "R", today=START).pending_revokes == []  # not proposed again by itself
    _chains_verify(campaign)


def test_a_member_added_after_the_plan_survives(campaign: Register, directory: Slapd):
    (proposal,) = propose_revocations(campaign, "R", HANAKO, connector="ldap")
    # Someone else adds carol between the dry-run and the execution: only bob's value may go.
    with _admin(directory.url) as conn:
        assert conn.modify(GROUP, {"member": [(ldap3.MODIFY_ADD, [dn("carol")])]})
    assert members(directory.url) == [dn("alice"), dn("bob"), dn("carol")]
    campaign.cases.approve(proposal.action_id, KENJI)
    done = campaign.cases.execute(proposal.action_id, KENJI)
    assert done.status == ActionStatus.verified, (done.error, done.verify_detail)
    assert members(directory.url) == [dn("alice"), dn("carol")]
    _chains_verify(campaign)


def test_a_grant_of_a_missing_group_is_refused(db: Database, directory: Slapd, tmp_path: Path):
    missing = f"cn=billing-gone,{GROUPS}"
    text = REGISTER.replace(
        f'subject: bob\n    object_kind: application\n    object: "{GROUP}"',
        f'subject: bob\n    object_kind: application\n    object: "{missing}"',
    )
    assert text.count(missing) == 1
    register = _start(db, directory, tmp_path, text)
    try:
        before = snapshot(directory.url)
        with pytest.raises(ReviewError) as refused:
            propose_revocations(register, "R", HANAKO, connector="ldap")
        assert str(refused.value) == (
            "grant 'G-BOB': connector 'ldap' could not plan remove_grant G-BOB: ConnectorError: ldap: "
            f"grant 'G-BOB': group {missing}, account 'bob': the group is not found under {BASE}"
        )
        assert snapshot(directory.url) == before  # the directory untouched
        assert review_status(register, "R", today=START).pending_revokes == ["G-BOB"]
        _chains_verify(register)
    finally:
        register.close()
