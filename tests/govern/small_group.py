"""A small group, written by hand, on which the findings, least privilege and posture tests judge.

Parent Corp runs two systems in its zone p-net: ``crm`` (its applications: Custom Graph App, Legacy
Application; data store ds-crm: 1,000 users) and ``hr`` (ds-hr: 200 employees). The affiliate ``aff``
shares the AD domain corp-ad with the parent; flows open a-net → p-net (443) and c-net → p-net (1433).
The contractor ``ctr`` re-entrusted work to ``sub`` (a model contract the register does not know).
The register (below) gives aff two grants on crm and ctr two grants (hr, and an old host)."""

from __future__ import annotations

MODEL_YAML = """\
version: 1
group: Small Group
organisations:
  - {id: parent, name: Parent, kind: parent, country: JP}
  - {id: aff, name: Affiliate, kind: affiliate, country: JP}
  - {id: ctr, name: Contractor, kind: contractor, country: JP}
  - {id: sub, name: Sub, kind: contractor, country: VN}
contracts:
  - {id: C-SUB, entrusting: ctr, entrusted: sub, scope: overflow, start: 2024-01-01}
realms:
  - {id: corp-ad, kind: ad_domain, name: CORP.EXAMPLE, owner: parent, shared_by: [parent, aff]}
  - {id: ctr-ad, kind: ad_domain, name: CTR.EXAMPLE, owner: ctr, shared_by: [ctr]}
accounts:
  - {org: aff, realm: corp-ad, domain: CORP, name_pattern: '^aff-'}
  - {org: parent, realm: corp-ad, domain: CORP}
  - {org: ctr, realm: ctr-ad, domain: CTR}
zones:
  - {id: p-net, name: parent, org: parent, cidrs: 10.1.0.0/24}
  - {id: a-net, name: affiliate, org: aff, cidrs: 10.2.0.0/24}
  - {id: c-net, name: contractor, org: ctr, cidrs: 10.3.0.0/24}
  - {id: s-net, name: sub, org: sub, cidrs: 10.4.0.0/24}
flows:
  - {id: f-aff-parent, from: a-net, to: p-net, ports: [443], protocol: tcp}
  - {id: f-ctr-parent, from: c-net, to: p-net, ports: [1433], protocol: tcp}
systems:
  - id: crm
    name: CRM
    owner: parent
    zone: p-net
    hosts: ['crm-*']
    applications: [Custom Graph App, Legacy Application]
  - {id: hr, name: HR, owner: parent, zone: p-net, hosts: ['hr-*']}
data_stores:
  - id: ds-crm
    name: CRM database
    system: crm
    owner: parent
    kind: database
    hosts: ['crm-db*']
    personal_data: [{category: user, items: [name, email], records: 1000}]
  - id: ds-hr
    name: HR database
    system: hr
    owner: parent
    kind: database
    hosts: ['hr-db*']
    personal_data: [{category: employee, items: [name], records: 200}]
"""

REGISTER_YAML = """\
parties:
  - {id: parent, name: Parent, kind: parent, country: JP, risk_tier: low}
  - {id: aff, name: Affiliate, kind: affiliate, country: JP, risk_tier: high}
  - {id: ctr, name: Contractor, kind: contractor, country: JP, risk_tier: medium}
  - {id: sub2, name: Sub Two, kind: subcontractor, country: JP, parent: ctr, risk_tier: high}
contracts:
  - id: C-AFF
    party: aff
    entrusting: parent
    purpose: infrastructure operation
    people: 0
    start: 2024-01-01
    reentrustment_allowed: false
    audit_rights: true
    status: active
  - id: C-CTR
    party: ctr
    entrusting: parent
    purpose: payroll
    data_categories: [employees]
    data_items: [name]
    people: 200
    start: 2024-01-01
    end: 2025-12-31
    reentrustment_allowed: false
    audit_rights: true
    status: active
    systems: [hr]
grants:
  - id: G-AFF-APP
    party: aff
    subject_kind: account
    subject: gandalf@lotr.com
    object_kind: application
    object: Legacy Application
    access: application
    justification: reports
    owner: kenji
    created: 2024-01-01
  - id: G-AFF-CRM
    party: aff
    subject_kind: organisation
    subject: aff.example.jp
    object_kind: system
    object: crm
    access: database
    justification: batch export
    owner: kenji
    created: 2024-01-01
  - id: G-CTR-HR
    party: ctr
    subject_kind: group
    subject: ctr-admins
    object_kind: data_store
    object: ds-hr
    access: database
    justification: payroll
    owner: hanako
    contract: C-CTR
    created: 2024-01-01
    expires: 2026-06-30
  - id: G-CTR-OLD
    party: ctr
    subject_kind: account
    subject: frodo@ctr.example
    object_kind: host
    object: old-host
    access: network
    justification: migration
    owner: hanako
    created: 2023-01-01
    expires: 2024-12-31
"""
