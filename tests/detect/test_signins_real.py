"""The sign-in rules and the sign-in posture on real Entra ID sign-in records (Panther's rule-test
fixtures, ../shared/data/identity-cloud/entra-signin). Expectations read off the raw records by hand:
lines 24 and 25 are the only sign-ins naming a home tenant (4328f0a8-…) different from the resource
tenant (fc66a38e-…): eve@lexcorp.com and homer.simpson@springfield.org, both to "Office 365 Exchange
Online" over Authenticated SMTP (a legacy protocol), error code 0, from 12.12.12.12, with "MFA requirement
satisfied by claim in the token" in their status."""

from __future__ import annotations

import pytest

from sekimori.detect import run_detectors, signin_posture
from sekimori.model import load_model_text
from sekimori.store import Store
from tests.conftest import corpus

MODEL = """
version: 1
group: Lex and the parent
organisations:
  - {id: parent, name: Parent, kind: parent, country: US}
  - {id: lex, name: LexCorp, kind: contractor, country: US}
realms:
  - {id: parent-tenant, kind: idp_tenant, name: springfield.org, shared_by: [parent],
     tenant_ids: [FC66A38E-BCBA-4FE9-B2DE-C67918514CC5]}
  - {id: lex-tenant, kind: idp_tenant, name: lexcorp.com, shared_by: [lex],
     tenant_ids: [4328f0a8-06da-4457-b0d0-2c8e115e52cc]}
accounts:
  - {org: parent, upn_suffix: "@springfield.org"}
  - {org: lex, upn_suffix: "@lexcorp.com"}
zones:
  - {id: parent-net, name: Parent, org: parent, cidrs: [10.0.0.0/8]}
systems:
  - {id: mail, name: Mail, owner: parent, zone: parent-net, tenant: parent-tenant,
     applications: [Office 365 Exchange Online]}
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    sample = corpus("identity-cloud", "entra-signin", "panther_azure_audit.jsonl")
    store = Store(tmp_path_factory.mktemp("entra") / "store")
    report = store.ingest([str(sample)])
    assert (report.events, report.quarantined) == (48, 0)
    return store


def test_a_lexcorp_account_into_the_parents_mail_is_a_cross_tenant_sign_in(store):
    report = run_detectors(store, load_model_text(MODEL), only=["tenant_boundary"])
    alerts = report.alerts.to_pylist()
    assert [(a["rule_id"], a["account"], a["target_host"], a["organisations"]) for a in alerts] == [
        ("boundary.cross_tenant_signin", "eve", "Office 365 Exchange Online", ["lex", "parent"])
    ]
    (alert,) = alerts
    assert [e["record_id"] for e in alert["evidence"]] == [24]
    assert (
        "no grant lets lex accounts sign in to Office 365 Exchange Online (parent: mail)"
        in alert["description"]
    )


def test_with_an_application_grant_it_is_allowed(store):
    granted = (
        MODEL
        + "grants:\n  - {id: g-lex-mail, org: lex, systems: [mail], access: [application], owner: CISO}\n"
    )
    report = run_detectors(store, load_model_text(granted), only=["tenant_boundary"])
    assert report.alerts.num_rows == 0


def test_sign_in_posture_of_the_two_organisations(store):
    rows = {r.org: r for r in signin_posture(store, load_model_text(MODEL)).rows if r.org}
    assert set(rows) == {"lex", "parent"}
    for org in ("lex", "parent"):
        row = rows[org]
        assert (row.accounts, row.signins, row.failures, row.legacy_protocol) == (1, 1, 0, 1), org
        assert (row.without_mfa, row.mfa_unknown, row.accounts_never_mfa) == (0, 0, []), org
        assert row.realm == "lex-tenant"  # both accounts' home tenant is LexCorp's (4328f0a8-…)
