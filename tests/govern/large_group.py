"""A larger group, written out by hand, on which tests/govern/test_findings_large.py judges every kind of
finding: a parent, 3 affiliates, 6 contractors and 4 sub-contractors (a two-level chain ctr1 → sub1 →
sub2; sub3 under ctr2; sub4 under ctr3, known to the model only), 13 zones, 13 flows, 6 systems and 6 data
stores, 31 grants, and 9 Entra ID sign-ins.

Everything is placed so that the people each organisation reaches can be counted by hand from the rules of
docs/graph.md: every system is the parent's, with hosts, in p-core (partners in p-dmz); a grant opens a
system's data stores only through a flow from the party's zone carrying the access's port (application:
443; database: the store's engine port); flows do not chain; no grant names a
``via_realm`` and no realm lists ``systems`` (so a shared realm opens nothing by itself); a grant on a host
opens nothing (no host of the model is known without logons). The graph is built from the model alone, on
the day of the findings (grants expired by then open nothing). No flow says ``ports: any``: the register
cannot be merged into such a model (see test_findings_large.py, the xfail test).

Personal data (docs/graph.md, "Counting people": one figure per population and category, the largest):

=============  ==========  =================================================  ==========
store          system      people                                             engine
=============  ==========  =================================================  ==========
ds-billing     billing     user 4,000 (population ``customers``)              postgresql
ds-crm         crm         user 6,000 (``customers``), business_partner 500   mssql
ds-hr          hr          employee 300 (population ``staff``)                mssql
ds-payroll     payroll     employee 280 (``staff``: a subset), financial      postgresql
ds-partners    partners    business_partner 800                               mysql
ds-analytics   analytics   user 10,000, other 50                              (object store)
=============  ==========  =================================================  ==========
"""

from __future__ import annotations

import json
from typing import Any

MODEL_YAML = """\
version: 1
group: Large Group
organisations:
  - {id: parent, name: Parent HD, kind: parent, country: JP}
  - {id: aff1, name: Affiliate One, kind: affiliate, country: JP}
  - {id: aff2, name: Affiliate Two, kind: affiliate, country: JP}
  - {id: aff3, name: Affiliate Three, kind: affiliate, country: KR}
  - {id: ctr1, name: Contractor One, kind: contractor, country: JP}
  - {id: ctr2, name: Contractor Two, kind: contractor, country: JP}
  - {id: ctr3, name: Contractor Three, kind: contractor, country: VN}
  - {id: ctr4, name: Contractor Four, kind: contractor, country: JP}
  - {id: ctr5, name: Contractor Five, kind: contractor, country: JP}
  - {id: ctr6, name: Contractor Six, kind: contractor, country: IN}
  - {id: sub1, name: Sub One, kind: contractor, country: JP}
  - {id: sub2, name: Sub Two, kind: contractor, country: PH}
  - {id: sub3, name: Sub Three, kind: contractor, country: JP}
  - {id: sub4, name: Sub Four, kind: contractor, country: VN}
contracts:
  # replaced by the register (ctr1 and sub1 are register parties)
  - {id: C-M-C1, entrusting: parent, entrusted: ctr1, scope: billing operation, start: 2024-04-01}
  - {id: C-M-S1, entrusting: ctr1, entrusted: sub1, scope: billing overflow, start: 2024-05-01}
  # kept: sub4 is not in the register
  - {id: C-M-S4, entrusting: ctr3, entrusted: sub4, scope: data labelling, start: 2025-01-01}
realms:
  - {id: corp-ad, kind: ad_domain, name: CORP.LARGE.EXAMPLE, owner: parent, shared_by: [parent, aff1, aff2]}
  - id: group-entra
    kind: idp_tenant
    name: large.example
    owner: parent
    shared_by: [parent, aff3]
    tenant_ids: [tid-parent]
  - {id: ctr1-ad, kind: ad_domain, name: CTR1.EXAMPLE, owner: ctr1, shared_by: [ctr1]}
  - {id: ctr2-ad, kind: ad_domain, name: CTR2.EXAMPLE, owner: ctr2, shared_by: [ctr2]}
  - {id: ctr3-ad, kind: ad_domain, name: CTR3.EXAMPLE, owner: ctr3, shared_by: [ctr3]}
  - {id: ctr4-ad, kind: ad_domain, name: CTR4.EXAMPLE, owner: ctr4, shared_by: [ctr4]}
  - {id: ctr5-ad, kind: ad_domain, name: CTR5.EXAMPLE, owner: ctr5, shared_by: [ctr5]}
  - {id: ctr6-ad, kind: ad_domain, name: CTR6, owner: ctr6, shared_by: [ctr6]}
  - {id: sub1-ad, kind: ad_domain, name: SUB1.EXAMPLE, owner: sub1, shared_by: [sub1]}
  - {id: sub2-ad, kind: ad_domain, name: SUB2.EXAMPLE, owner: sub2, shared_by: [sub2]}
  - {id: sub4-ad, kind: ad_domain, name: SUB4.EXAMPLE, owner: sub4, shared_by: [sub4]}
accounts:
  - {org: aff1, realm: corp-ad, upn_suffix: aff1.example.jp}
  - {org: aff2, realm: corp-ad, upn_suffix: aff2.example.jp}
  - {org: parent, realm: corp-ad, domain: CORP}
  - {org: aff3, realm: group-entra, upn_suffix: aff3.example.jp}
  - {org: ctr1, realm: ctr1-ad, upn_suffix: ctr1.example}
  - {org: ctr2, realm: ctr2-ad, upn_suffix: ctr2.example}
  - {org: ctr4, realm: ctr4-ad, upn_suffix: ctr4.example}
  - {org: ctr5, realm: ctr5-ad, upn_suffix: ctr5.example}
  - {org: ctr6, realm: ctr6-ad, domain: CTR6}
zones:
  - {id: p-core, name: parent core, org: parent, cidrs: 10.0.0.0/24}
  - {id: p-dmz, name: parent dmz, org: parent, cidrs: 10.0.1.0/24}
  - {id: a1-net, name: aff1, org: aff1, cidrs: 10.1.0.0/24}
  - {id: a2-net, name: aff2, org: aff2, cidrs: 10.2.0.0/24}
  - {id: a3-net, name: aff3, org: aff3, cidrs: 10.3.0.0/24}
  - {id: c1-net, name: ctr1, org: ctr1, cidrs: 10.11.0.0/24}
  - {id: c2-net, name: ctr2, org: ctr2, cidrs: 10.12.0.0/24}
  - {id: c3-net, name: ctr3, org: ctr3, cidrs: 10.13.0.0/24}
  - {id: c4-net, name: ctr4, org: ctr4, cidrs: 10.14.0.0/24}
  - {id: c5-net, name: ctr5, org: ctr5, cidrs: 10.15.0.0/24}
  - {id: c6-net, name: ctr6, org: ctr6, cidrs: 10.16.0.0/24}
  - {id: s1-net, name: sub1, org: sub1, cidrs: 10.21.0.0/24}
  - {id: s2-net, name: sub2, org: sub2, cidrs: 10.22.0.0/24}
flows:
  - {id: f-a1, from: a1-net, to: p-core, ports: [443], protocol: tcp}
  - {id: f-a2, from: a2-net, to: p-core, ports: [443, 3389], protocol: tcp}
  - {id: f-a3, from: a3-net, to: p-core, ports: [443], protocol: tcp}
  - {id: f-c1, from: c1-net, to: p-core, ports: [443, 5432], protocol: tcp}
  - {id: f-c2, from: c2-net, to: p-core, ports: [1433], protocol: tcp}
  - {id: f-c3, from: c3-net, to: p-core, ports: [22, 443, 1433, 3389, 5432], protocol: tcp}
  - {id: f-c4, from: c4-net, to: p-dmz, ports: [443], protocol: tcp}
  - {id: f-c6, from: c6-net, to: p-core, ports: [3389, 443], protocol: tcp}
  - {id: f-s2, from: s2-net, to: p-core, ports: [443], protocol: tcp}
  # not into a parent: no finding
  - {id: f-c4-c5, from: c4-net, to: c5-net, ports: [22], protocol: tcp}
  - {id: f-s1-c1, from: s1-net, to: c1-net, ports: [22], protocol: tcp}
  - {id: f-a1-a2, from: a1-net, to: a2-net, ports: [445], protocol: tcp, bidirectional: true}
  - {id: f-core-dmz, from: p-core, to: p-dmz, ports: [443], protocol: tcp}
systems:
  - {id: billing, name: Billing, owner: parent, zone: p-core, hosts: ['bill-*'],
     applications: [Billing Portal]}
  - {id: crm, name: CRM, owner: parent, zone: p-core, hosts: ['crm-*'], applications: [CRM]}
  - {id: hr, name: HR, owner: parent, zone: p-core, hosts: ['hr-*'], applications: [HR Portal]}
  - {id: payroll, name: Payroll, owner: parent, zone: p-core, hosts: ['pay-*'], applications: [Payroll]}
  - {id: analytics, name: Analytics, owner: parent, zone: p-core, hosts: ['ana-*'], applications: [Analytics]}
  - {id: partners, name: Partners, owner: parent, zone: p-dmz, hosts: ['prt-*'], applications: [Partner Hub]}
data_stores:
  - id: ds-billing
    name: Billing DB
    system: billing
    owner: parent
    kind: database
    engine: postgresql
    personal_data: [{category: user, items: [name, address], records: 4000, population: customers}]
  - id: ds-crm
    name: CRM DB
    system: crm
    owner: parent
    kind: database
    engine: mssql
    personal_data:
      - {category: user, items: [name, email], records: 6000, population: customers}
      - {category: business_partner, items: [name, phone], records: 500}
  - id: ds-hr
    name: HR DB
    system: hr
    owner: parent
    kind: database
    engine: mssql
    personal_data: [{category: employee, items: [name], records: 300, population: staff}]
  - id: ds-payroll
    name: Payroll DB
    system: payroll
    owner: parent
    kind: database
    engine: postgresql
    personal_data:
      - {category: employee, items: [name, bank_account], records: 280, population: staff, financial: true}
  - id: ds-partners
    name: Partners DB
    system: partners
    owner: parent
    kind: database
    engine: mysql
    personal_data: [{category: business_partner, items: [name, email], records: 800}]
  - id: ds-analytics
    name: Analytics lake
    system: analytics
    owner: parent
    kind: object_store
    personal_data:
      - {category: user, items: [internal_id], records: 10000}
      - {category: other, items: [device_id], records: 50}
"""


def _grant(
    gid: str,
    party: str,
    subject: tuple[str, str],
    obj: tuple[str, str],
    access: str,
    owner: str,
    contract: str | None = None,
    created: str = "2024-06-01",
    expires: str | None = None,
) -> str:
    line = (
        f"  - {{id: {gid}, party: {party}, subject_kind: {subject[0]}, subject: '{subject[1]}', "
        f"object_kind: {obj[0]}, object: '{obj[1]}', access: {access}, justification: work, "
        f"owner: {owner}, created: {created}"
    )
    if contract:
        line += f", contract: {contract}"
    if expires:
        line += f", expires: {expires}"
    return line + "}\n"


# The 31 grants: (id, party, (subject kind, subject), (object kind, object), access, owner, contract,
# created, expires). Every subject kind and every object kind is used.
GRANTS: list[tuple[Any, ...]] = [
    # aff1 (corp-ad, f-a1 443): crm and billing by application
    ("G-A1-CRM", "aff1", ("organisation", "aff1.example.jp"), ("system", "crm"), "application", "kenji"),
    ("G-A1-CRM2", "aff1", ("group", "aff1-sales"), ("system", "crm"), "application", "kenji"),
    ("G-A1-BILL-APP", "aff1", ("account", "kenta@aff1.example.jp"), ("application", "Billing Portal"),
     "application", "kenji"),
    ("G-A1-BILL2", "aff1", ("group", "aff1-finance"), ("data_store", "ds-billing"), "application", "kenji"),
    # aff2 (corp-ad, f-a2 443+3389): hr and payroll by application; an old host grant
    ("G-A2-HR", "aff2", ("group", "aff2-hr-staff"), ("data_store", "ds-hr"), "application", "kenji"),
    ("G-A2-PAY", "aff2", ("group", "aff2-hr"), ("application", "Payroll"), "application", "kenji"),
    ("G-A2-EXP", "aff2", ("account", "nao@aff2.example.jp"), ("host", "fs01.corp.example"), "network",
     "kenji", None, "2023-01-01", "2024-12-31"),
    # aff3 (group-entra, f-a3 443): analytics as IdP guests
    ("G-A3-ANA", "aff3", ("idp_guest", "guest.mika@aff3.example.jp"), ("application", "Analytics"),
     "application", "kenji"),
    ("G-A3-ANA2", "aff3", ("group", "aff3-bi"), ("system", "analytics"), "application", "kenji"),
    ("G-A3-HOST", "aff3", ("idp_guest", "guest.rin@aff3.example.jp"), ("host", "ana-web01"), "network",
     "kenji"),
    # ctr1 (f-c1 443+5432): billing and payroll databases (postgresql 5432); an expired CRM grant
    ("G-C1-BILL", "ctr1", ("account", "taro@ctr1.example"), ("data_store", "ds-billing"), "database",
     "hanako", "C-C1", "2024-06-01", "2026-03-31"),
    ("G-C1-BILL2", "ctr1", ("group", "ctr1-billing"), ("system", "billing"), "database", "hanako", "C-C1",
     "2024-06-01", "2026-03-31"),
    ("G-C1-PAY", "ctr1", ("group", "ctr1-payroll"), ("system", "payroll"), "database", "hanako", "C-C1",
     "2024-06-01", "2026-03-31"),
    ("G-C1-OLD", "ctr1", ("organisation", "ctr1.example"), ("application", "CRM"), "application", "hanako",
     "C-C1", "2024-04-01", "2025-03-31"),
    # sub1: a host outside every system (opens nothing)
    ("G-S1-HOST", "sub1", ("account", "jiro@sub1.example"), ("host", "legacy-ftp.example"), "interactive",
     "hanako"),
    # sub2 (f-s2 443): hr by application
    ("G-S2-HR", "sub2", ("account", "ken@sub2.example"), ("application", "HR Portal"), "application",
     "hanako"),
    ("G-S2-HR2", "sub2", ("group", "sub2-staff"), ("system", "hr"), "application", "hanako"),
    # ctr2 (f-c2 1433 only): hr's database (mssql 1433); CRM by application needs 443: closed
    ("G-C2-HR", "ctr2", ("organisation", "ctr2.example"), ("system", "hr"), "database", "hanako", "C-C2",
     "2024-01-01"),
    ("G-C2-CRM", "ctr2", ("account", "sato@ctr2.example"), ("application", "CRM"), "application", "hanako",
     "C-C2", "2024-01-01", "2025-12-31"),
    ("G-C2-HR2", "ctr2", ("group", "ctr2-payroll"), ("data_store", "ds-hr"), "database", "hanako"),
    # ctr3 (f-c3 22, 443, 1433, 3389, 5432): analytics by application, hr by database
    ("G-C3-ANA", "ctr3", ("group", "ctr3-analysts"), ("data_store", "ds-analytics"), "application",
     "hanako", "C-C3", "2024-01-01", "2026-12-31"),
    ("G-C3-ANA2", "ctr3", ("group", "ctr3-ops"), ("system", "analytics"), "application", "hanako", "C-C3",
     "2024-01-01", "2026-12-31"),
    ("G-C3-HR", "ctr3", ("group", "ctr3-hr"), ("system", "hr"), "database", "hanako", "C-C3", "2024-01-01",
     "2026-12-31"),
    # ctr4 (f-c4 443 into p-dmz): partners by application; a host grant outliving its contract
    ("G-C4-PRT", "ctr4", ("organisation", "ctr4.example"), ("application", "Partner Hub"), "application",
     "hanako", "C-C4", "2025-01-01", "2025-12-31"),
    ("G-C4-PRT2", "ctr4", ("group", "ctr4-support"), ("data_store", "ds-partners"), "application",
     "hanako", "C-C4", "2025-01-01", "2025-12-31"),
    ("G-C4-HOST", "ctr4", ("account", "ito@ctr4.example"), ("host", "prt-web01"), "network", "hanako",
     "C-C4", "2025-01-01", "2026-06-30"),
    # ctr5 (no flow out of c5-net): nothing reached
    ("G-C5-CRM", "ctr5", ("organisation", "ctr5.example"), ("system", "crm"), "application", "hanako",
     "C-C5", "2024-01-01"),
    ("G-C5-HOST", "ctr5", ("group", "ctr5-ops"), ("host", "c5-file01"), "network", "hanako"),
    # ctr6 (f-c6 3389+443): payroll by application
    ("G-C6-PAY", "ctr6", ("account", "CTR6\\admin01"), ("application", "Payroll"), "application",
     "hanako"),
    ("G-C6-PAY2", "ctr6", ("group", "ctr6-ops"), ("system", "payroll"), "application", "hanako"),
    # the parent's own staff
    ("G-P-HR", "parent", ("group", "hr-staff"), ("system", "hr"), "application", "kenji"),
]  # fmt: skip

PARTIES_YAML = """\
parties:
  - {id: parent, name: Parent HD, kind: parent, country: JP, risk_tier: low}
  - {id: aff1, name: Affiliate One, kind: affiliate, country: JP, risk_tier: medium}
  - {id: aff2, name: Affiliate Two, kind: affiliate, country: JP, risk_tier: high}
  - {id: aff3, name: Affiliate Three, kind: affiliate, country: KR, risk_tier: medium}
  - {id: ctr1, name: Contractor One, kind: contractor, country: JP, risk_tier: medium}
  - {id: ctr2, name: Contractor Two, kind: contractor, country: JP, risk_tier: medium}
  - {id: ctr3, name: Contractor Three, kind: contractor, country: VN, risk_tier: high}
  - {id: ctr4, name: Contractor Four, kind: contractor, country: JP, risk_tier: low}
  - {id: ctr5, name: Contractor Five, kind: contractor, country: JP, risk_tier: low}
  - {id: ctr6, name: Contractor Six, kind: contractor, country: IN, risk_tier: high}
  - {id: sub1, name: Sub One, kind: subcontractor, country: JP, parent: ctr1,
     reentrustment_approved_by: hanako, reentrustment_approved_on: 2024-05-01, risk_tier: medium}
  - {id: sub2, name: Sub Two, kind: subcontractor, country: PH, parent: sub1, risk_tier: high}
  - {id: sub3, name: Sub Three, kind: subcontractor, country: JP, parent: ctr2,
     reentrustment_approved_by: hanako, reentrustment_approved_on: 2024-02-01, risk_tier: medium}
"""


def _contract(
    cid: str,
    party: str,
    entrusting: str,
    categories: list[str],
    people: int,
    start: str,
    end: str | None = None,
    reentrust: bool = False,
    status: str = "active",
) -> str:
    cats = f"[{', '.join(categories)}]"
    end_part = f", end: {end}" if end else ""
    return (
        f"  - {{id: {cid}, party: {party}, entrusting: {entrusting}, purpose: work, data_categories: {cats}, "
        f"people: {people}, start: {start}{end_part}, reentrustment_allowed: {str(reentrust).lower()}, "
        f"audit_rights: true, status: {status}}}\n"
    )


CONTRACTS: list[tuple[Any, ...]] = [
    ("C-A1", "aff1", "parent", ["customers"], 6000, "2024-01-01"),
    ("C-A2", "aff2", "parent", [], 0, "2024-01-01"),  # no personal data entrusted
    ("C-A3", "aff3", "parent", ["users"], 10000, "2024-01-01"),
    ("C-C1", "ctr1", "parent", ["customers", "employees"], 4280, "2024-04-01", "2026-03-31", True),
    ("C-S1", "sub1", "ctr1", ["customers"], 4000, "2024-05-01", "2026-03-31", False),
    ("C-S2", "sub2", "sub1", [], 0, "2024-06-01"),  # no personal data entrusted
    ("C-C2", "ctr2", "parent", ["employees"], 300, "2024-01-01", "2025-03-31"),  # ended on 2025-03-31
    ("C-C3", "ctr3", "parent", ["users", "employees"], 10300, "2024-01-01", "2026-12-31", True),
    ("C-C4", "ctr4", "parent", ["business_partners"], 800, "2025-01-01", "2025-12-31"),
    ("C-C5", "ctr5", "parent", ["customers"], 6000, "2024-01-01", None, False, "suspended"),
    # ctr6: no contract at all
]


def register_yaml(contracts: list[tuple[Any, ...]] | None = None) -> str:
    """The register as YAML (``contracts``: to import other contracts than :data:`CONTRACTS`)."""
    chosen = CONTRACTS if contracts is None else contracts
    return (
        PARTIES_YAML
        + "contracts:\n"
        + "".join(_contract(*c) for c in chosen)
        + "grants:\n"
        + "".join(_grant(*g) for g in GRANTS)
    )


def _signin(when: str, upn: str, app: str, mfa: str | None, result: str = "0") -> dict[str, Any]:
    props: dict[str, Any] = {"userPrincipalName": upn, "appDisplayName": app}
    if mfa is not None:
        props["authenticationRequirement"] = mfa
    return {
        "time": when,
        "category": "SignInLogs",
        "tenantId": "tid-parent",
        "operationName": "Sign-in activity",
        "resultType": result,
        "properties": props,
    }


MFA, SINGLE = "multiFactorAuthentication", "singleFactorAuthentication"

# The sign-ins, each read by hand in the test's docstring (E1…E9).
SIGNINS = [
    _signin("2025-06-01T10:00:00Z", "yui@aff1.example.jp", "CRM", MFA),  # E1
    _signin("2025-06-10T10:00:00Z", "kenta@aff1.example.jp", "Billing Portal", SINGLE),  # E2
    _signin("2025-01-20T10:00:00Z", "guest.mika@aff3.example.jp", "Analytics", MFA),  # E3
    _signin("2025-06-20T10:00:00Z", "ken@sub2.example", "HR Portal", None),  # E4
    _signin("2025-06-15T10:00:00Z", "sato@ctr2.example", "CRM", SINGLE),  # E5
    _signin("2025-02-01T10:00:00Z", "ito@ctr4.example", "Partner Hub", MFA),  # E6
    _signin("2025-03-15T10:00:00Z", "ito@ctr4.example", "Partner Hub", SINGLE),  # E7
    _signin("2025-06-25T10:00:00Z", "mori@ctr5.example", "CRM", MFA),  # E8
    _signin("2025-06-02T10:00:00Z", "admin01@ctr6", "Payroll", SINGLE, result="50126"),  # E9: failed
]


def signins_jsonl() -> str:
    return "".join(json.dumps(s) + "\n" for s in SIGNINS)
