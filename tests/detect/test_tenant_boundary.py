"""Trust-boundary rules for IdP sign-ins and cloud role assumptions, on a small group written here, each
expectation worked out by hand from the model below (parent and affiliate share the tenant 'corp-idp';
the contractor has its own Okta org; the parent's HR app is granted to the affiliate, its mail is not)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sekimori.detect.detectors.tenant import judge
from sekimori.model import load_model_text

PARENT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CONTRACTOR_OKTA = "contractor.okta.com"
PARENT_AWS, CONTRACTOR_AWS = "111122223333", "444455556666"

MODEL = f"""
version: 1
group: Test group
organisations:
  - {{id: parent, name: Parent Corp, kind: parent, country: JP}}
  - {{id: affiliate, name: Affiliate, kind: affiliate, country: JP}}
  - {{id: contractor, name: Contractor, kind: contractor, country: KR}}
realms:
  - {{id: corp-idp, kind: idp_tenant, name: corp.example.jp, shared_by: [parent, affiliate], owner: parent,
     tenant_ids: ["{PARENT_TENANT.upper()}"]}}
  - {{id: contractor-okta, kind: idp_tenant, name: contractor.example.kr, shared_by: [contractor],
     tenant_ids: [{CONTRACTOR_OKTA}]}}
  - {{id: parent-aws, kind: cloud_account, name: parent prod, shared_by: [parent],
     tenant_ids: ["{PARENT_AWS}"]}}
  - {{id: contractor-aws, kind: cloud_account, name: contractor, shared_by: [contractor],
     tenant_ids: ["{CONTRACTOR_AWS}"]}}
accounts:
  - {{org: parent, upn_suffix: "@corp.example.jp"}}
  - {{org: affiliate, upn_suffix: "@aff.example.jp"}}
  - {{org: contractor, upn_suffix: "@contractor.example.kr"}}
zones:
  - {{id: parent-net, name: Parent, org: parent, cidrs: [10.1.0.0/16]}}
  - {{id: contractor-net, name: Contractor office, org: contractor, cidrs: [203.0.113.0/24]}}
systems:
  - {{id: hr, name: HR, owner: parent, zone: parent-net, applications: [Workday HR], tenant: corp-idp}}
  - {{id: mail, name: Mail, owner: parent, zone: parent-net, applications: [Office 365 Exchange Online],
     tenant: corp-idp, crown_jewel: true}}
  - {{id: billing, name: Billing, owner: parent, zone: parent-net, tenant: parent-aws}}
grants:
  - {{id: g-aff-hr, org: affiliate, systems: [hr], access: [application], owner: CISO}}
  - {{id: g-con-billing, org: contractor, systems: [billing], logon_types: [remote_interactive], owner: CISO}}
"""


def signin(principal: str, domain: str, **fields: Any) -> dict[str, Any]:
    when = datetime(2023, 10, 1, 9, 0, tzinfo=UTC)
    row = {
        "principal": principal,
        "domain": domain,
        "tenant": None,
        "resource_tenant": None,
        "cross_tenant": None,
        "application": None,
        "application_shown": None,
        "role": None,
        "src_ip": None,
        "events": 1,
        "first_time": when,
        "last_time": when,
        "host": None,
        "edge": 1,
    }
    row.update(fields)
    if row["application"]:
        row["application_shown"], row["application"] = row["application"], row["application"].lower()
    return row


@pytest.fixture(scope="module")
def model():
    return load_model_text(MODEL)


def found(model, *rows) -> set[tuple[str, str | None]]:
    return {(f["rule_id"], f["system"]) for f in judge(model, list(rows))}


def test_the_affiliate_in_the_shared_tenant_using_a_granted_app_is_a_shared_tenant_crossing_only(model):
    row = signin(
        "kim", "aff.example.jp", tenant=PARENT_TENANT, resource_tenant=PARENT_TENANT, application="Workday HR"
    )
    assert found(model, row) == {("boundary.shared_tenant_crossing", "hr")}
    (finding,) = judge(model, [row])
    assert "grant g-aff-hr" in finding["reason"] and finding["account_org"] == "affiliate"


def test_the_affiliate_in_the_parents_mail_has_no_grant_and_mail_is_a_crown_jewel(model):
    row = signin(
        "kim",
        "aff.example.jp",
        tenant=PARENT_TENANT,
        resource_tenant=PARENT_TENANT,
        application="Office 365 Exchange Online",
    )
    findings = {f["rule_id"]: f for f in judge(model, [row])}
    assert set(findings) == {"boundary.cross_tenant_signin", "boundary.shared_tenant_crossing"}
    assert findings["boundary.cross_tenant_signin"]["escalate"] is True
    assert "(no grant)" in findings["boundary.shared_tenant_crossing"]["reason"]


def test_a_contractor_guest_from_its_own_okta_into_the_parents_tenant(model):
    # home tenant the contractor's; the account rule says contractor too; resource: the parent's tenant,
    # application not in the model -> the parent's systems signing in through corp-idp: hr, mail; no grant
    row = signin(
        "lee",
        "contractor.example.kr",
        tenant=CONTRACTOR_OKTA,
        resource_tenant=PARENT_TENANT,
        cross_tenant="b2bCollaboration",
        application="Some SaaS",
        src_ip="203.0.113.7",
    )
    findings = {f["rule_id"]: f for f in judge(model, [row])}
    # corp-idp is shared, but not with the contractor: a guest's crossing, not a shared tenant's
    assert set(findings) == {"boundary.cross_tenant_signin"}
    assert findings["boundary.cross_tenant_signin"]["resource_org"] == "parent"
    assert "(b2bCollaboration)" in findings["boundary.cross_tenant_signin"]["reason"]


def test_own_organisation_and_own_network_is_no_crossing(model):
    row = signin(
        "sato",
        "corp.example.jp",
        tenant=PARENT_TENANT,
        resource_tenant=PARENT_TENANT,
        application="Workday HR",
        src_ip="10.1.2.3",
    )
    assert found(model, row) == set()


def test_a_parent_account_signing_in_from_the_contractors_office(model):
    row = signin(
        "sato",
        "corp.example.jp",
        tenant=PARENT_TENANT,
        resource_tenant=PARENT_TENANT,
        application="Workday HR",
        src_ip="203.0.113.50",
    )
    (finding,) = judge(model, [row])
    assert finding["rule_id"] == "boundary.signin_from_foreign_network"
    assert finding["source_org"] == "contractor" and "contractor-net" in finding["reason"]


def test_a_cross_account_role_is_judged_by_the_roles_account_and_host_grants_do_not_cover_it(model):
    # contractor identity assumes a role in the parent's AWS account; its only grant on billing is an RDP
    # logon, which does not cover using the account's services
    role = f"arn:aws:iam::{PARENT_AWS}:role/BillingAdmin"
    row = signin("ops-bot", None, tenant=CONTRACTOR_AWS, resource_tenant=CONTRACTOR_AWS, role=role)
    findings = judge(model, [row])
    assert [(f["rule_id"], f["account_org"], f["resource_org"]) for f in findings] == [
        ("boundary.cross_tenant_signin", "contractor", "parent")
    ]


def test_an_expired_grant_does_not_allow(model):
    expired = MODEL.replace(
        "access: [application], owner: CISO}", "access: [application], owner: CISO, expires: 2023-09-30}"
    )
    row = signin(
        "kim", "aff.example.jp", tenant=PARENT_TENANT, resource_tenant=PARENT_TENANT, application="Workday HR"
    )
    assert found(load_model_text(expired), row) == {
        ("boundary.cross_tenant_signin", "hr"),
        ("boundary.shared_tenant_crossing", "hr"),
    }


def test_a_tenant_id_in_two_realms_is_refused():
    twice = MODEL.replace(f"tenant_ids: [{CONTRACTOR_OKTA}]", f'tenant_ids: ["{PARENT_TENANT}"]')
    with pytest.raises(Exception, match="already realm 'corp-idp'"):
        load_model_text(twice)


def test_a_guest_into_two_resource_tenants_is_two_alerts(model):
    """The sign-ins are grouped by resource tenant and kind of cross-tenant access: a contractor guest
    signing in to the same application from the same address, once into the parent's tenant and once
    into the parent's AWS account, or once as a guest and once by direct connect, is one alert each
    (before, their ids were one: the id did not name the resource tenant)."""
    from sekimori.detect.detectors.tenant import _alert

    base = {
        "tenant": CONTRACTOR_OKTA,
        "cross_tenant": "b2bCollaboration",
        "application": "Some SaaS",
        "src_ip": "203.0.113.7",
    }
    rows = [
        signin("lee", "contractor.example.kr", **{**base, "resource_tenant": PARENT_TENANT}),
        signin("lee", "contractor.example.kr", **{**base, "resource_tenant": PARENT_AWS}),
        signin(
            "lee",
            "contractor.example.kr",
            **{**base, "resource_tenant": PARENT_TENANT, "cross_tenant": "b2bDirectConnect"},
        ),
    ]
    findings = judge(model, rows)
    crossings = [f for f in findings if f["rule_id"] == "boundary.cross_tenant_signin"]
    assert sorted((f["resource_tenant"], f["cross_tenant"]) for f in crossings) == sorted(
        (r["resource_tenant"], r["cross_tenant"]) for r in rows
    )
    ids = [_alert(f, [])["alert_id"] for f in findings]
    assert len(set(ids)) == len(findings)
