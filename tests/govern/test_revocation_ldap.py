"""A full review campaign whose revoke is a grant of an LDAP group membership, against the real slapd of
the LDAP connector's tests (started on 127.0.0.1 for this module; skipped without OpenLDAP, failed when
SEKIMORI_REQUIRE_SERVERS=1).

The directory gets a group of its own here, ``cn=billing-ops`` (groupOfNames: alice and bob); the register
(written by hand, below) has a contractor's two grants of that membership, owned by hanako. The campaign:
hanako certifies alice's and revokes bob's. Membership is read with ldap3 queries of this module, never
through the connector under test.

Today the revoke cannot reach the directory: ``propose_revocations`` proposes a ``remove_grant`` action,
and the LDAP connector only carries out ``reset_password``, ``disable_account`` and ``revoke_sessions``.
``test_the_ldap_connector_refuses_the_revoke`` pins that refusal (the revoke stays pending, the directory
untouched, both audit chains intact). Removing a membership through the connector is issue 13's open
work, not tested here as if it existed."""

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
    review_status,
    start_review,
)
from sekimori.respond.connectors.ldap import LdapConnector
from tests.govern.conftest import ALICE, HANAKO
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


@pytest.fixture
def campaign(db: Database, directory: Slapd, tmp_path: Path) -> Iterator[Register]:
    """The register, a campaign started on START, alice's grant certified and bob's revoked by hanako."""
    connector = LdapConnector(directory.settings())
    register = Register(db.url, anchor=db.anchor, connectors={"ldap": connector})
    path = tmp_path / "register.yaml"
    path.write_text(REGISTER, encoding="utf-8")
    register.import_records(read_register(path), ALICE)
    status = start_review(register, "R", "billing access", DEADLINE, ALICE, today=START)
    assert [(i.grant, i.owner) for i in status.items] == [("G-ALICE", "hanako"), ("G-BOB", "hanako")]
    decide(register, "R", "G-ALICE", "certify", "still runs the billing", HANAKO)
    decide(register, "R", "G-BOB", "revoke", "left the project", HANAKO)
    status = review_status(register, "R", today=START)
    assert (status.decided, status.total, status.pending_revokes) == (2, 2, ["G-BOB"])
    yield register
    register.close()


def _chains_verify(register: Register) -> None:
    report = register.verify()
    assert report.ok, report.problems
    cases = register.cases.verify()
    assert cases.ok, cases.problems


def test_the_ldap_connector_refuses_the_revoke(campaign: Register, directory: Slapd):
    with pytest.raises(ReviewError) as refused:
        propose_revocations(campaign, "R", HANAKO, connector="ldap")
    assert str(refused.value) == (
        "grant 'G-BOB': connector 'ldap' cannot remove_grant; it can: "
        "disable_account, reset_password, revoke_sessions"
    )
    assert review_status(campaign, "R", today=START).pending_revokes == ["G-BOB"]
    assert members(directory.url) == [dn("alice"), dn("bob")]  # the directory untouched
    _chains_verify(campaign)
