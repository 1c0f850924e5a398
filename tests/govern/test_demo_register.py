"""The demo group's register (sekimori/demo/data/register.yaml) merged into the demo model, the demo's
logs detected against it, and the findings on 2024-04-01, derived by hand from the YAML and the logs:

* people: both outside parties reach the three stores of group.yaml (the contractor's PC02 → the
  affiliate's PC01 → the shared domain's administrator, the chain of the logs): 302,980 users (the larger
  entry of ds-messaging-users; the call logs are the same users) + 86,211 business partners + 130,315
  employees = 519,506;
* the seed's finding: the affiliate's only contract, c-infra-ops, entrusts no personal data
  (no_entrustment_contract, critical); so is the contractor's (c-desktop-support, ended);
* the contractor is re-entrusted by the affiliate without approval (reentrustment_not_approved);
* the affiliate shares example-ad and group-entra with the parent (shared_authentication), and the flow
  f-affiliate-to-parent (SMB, RDP, RPC: high) opens the parent's zone: blocking it protects all 519,506
  (every store is in parent-internal); separating either realm alone protects none (the flow and the
  register's grants on messaging-ops still reach them);
* g-contractor-support expired on 2024-03-31; g-affiliate-mail (springfield.org on Exchange Online) was
  last used on 2019-03-18 (homer.simpson's sign-in, with MFA): not recently used; the affiliate's
  group grants cannot be measured (a group);
* access no grant allows: the boundary alerts of the logs with the register merged. homer.simpson's
  cross-tenant sign-in is now granted (g-affiliate-mail), so only eve's (the contractor's) remains;
* no audit recorded: both parties reach personal data, so an audit is due for each.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sekimori.demo import build_demo_store, demo_model, detect
from sekimori.govern import Finding, Register, findings, merge_register, read_register
from tests.govern.conftest import ALICE

REGISTER = Path(__file__).resolve().parents[2] / "sekimori" / "demo" / "data" / "register.yaml"
PEOPLE = 302_980 + 86_211 + 130_315


@pytest.fixture(scope="module")
def demo_findings(tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    root = tmp_path_factory.mktemp("demo-register")
    store, _ = build_demo_store(root / "store")
    with Register(f"sqlite:///{root / 'cases.db'}") as register:
        register.import_records(read_register(REGISTER), ALICE)
        merged = merge_register(demo_model(), register)
        assert merged.resolved == [
            "grant g-affiliate-mail: application Office 365 Exchange Online → system parent-mail"
        ]
        assert merged.dropped == {
            "contracts": ["c-infra-ops", "c-desktop-support"],
            "grants": ["g-contractor-support", "g-affiliate-ops"],
        }
        detect(store, merged.model)
        return findings(register, merged.model, store, as_of=date(2024, 4, 1))


def test_the_seed_findings(demo_findings: list[Finding]):
    got = [(str(f.severity), str(f.kind), f.organisation, f.subject, f.people) for f in demo_findings]
    aff, ctr = "affiliate-kr", "contractor-kr"
    assert got == [
        ("critical", "no_entrustment_contract", aff, "party affiliate-kr", PEOPLE),
        ("critical", "no_entrustment_contract", ctr, "party contractor-kr", PEOPLE),
        ("high", "access_without_grant", aff, "boundary.account_from_foreign_host", PEOPLE),
        ("high", "access_without_grant", aff, "boundary.flow_not_allowed", PEOPLE),
        ("high", "access_without_grant", aff, "boundary.logon_without_grant", PEOPLE),
        ("high", "flow_into_parent", aff, "flow f-affiliate-to-parent", PEOPLE),
        ("high", "shared_authentication", aff, "realm example-ad", PEOPLE),
        ("high", "shared_authentication", aff, "realm group-entra", PEOPLE),
        ("high", "access_without_grant", ctr, "boundary.account_from_foreign_host", PEOPLE),
        ("high", "access_without_grant", ctr, "boundary.cross_tenant_signin", PEOPLE),
        ("high", "access_without_grant", ctr, "boundary.flow_not_allowed", PEOPLE),
        ("high", "reentrustment_not_approved", ctr, "party contractor-kr", PEOPLE),
        ("medium", "audit_overdue", aff, "audit of affiliate-kr", PEOPLE),
        ("medium", "audit_overdue", ctr, "audit of contractor-kr", PEOPLE),
        ("low", "grant_not_recently_used", aff, "grant g-affiliate-mail", PEOPLE),
        ("low", "grant_expired", ctr, "grant g-contractor-support", PEOPLE),
    ]
    f = {(str(x.kind), x.subject): x for x in demo_findings}
    seed = f[("no_entrustment_contract", "party affiliate-kr")]
    assert seed.evidence["contracts"] == {"c-infra-ops": "no personal data entrusted"}
    assert seed.people_by_category == {"business_partner": 86_211, "employee": 130_315, "user": 302_980}
    assert (
        seed.evidence["observed_access"]["alerts"] >= 1
    )  # the logs show the affiliate reading personal data
    assert f[("flow_into_parent", "flow f-affiliate-to-parent")].evidence["people_protected"] == PEOPLE
    assert f[("shared_authentication", "realm example-ad")].evidence["people_protected"] == 0
    mail = f[("grant_not_recently_used", "grant g-affiliate-mail")].evidence
    assert (mail["uses"], mail["with_mfa"], str(mail["last_used"].date())) == (1, 1, "2019-03-18")
    approval = f[("reentrustment_not_approved", "party contractor-kr")].evidence
    assert approval == {
        "parent": "affiliate-kr",
        "approved_by": None,
        "approved_on": None,
        "contracts_allowing": [],
    }
    assert (
        "not supervised as an entrusted party" in seed.text["en"]
        and "委託先として監督されていない" in seed.text["ja"]
    )
