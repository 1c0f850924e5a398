"""The govern tests' databases: the respond tests' fixtures (SQLite in tmp_path, and a real PostgreSQL on
127.0.0.1, skipped without PostgreSQL unless SEKIMORI_REQUIRE_SERVERS=1), a register on each, the people
who act, and the register every test starts from (written by hand, below)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sekimori.govern import Register
from sekimori.respond import Principal
from tests.respond.conftest import Database, db, postgres_server  # noqa: F401  (fixtures)

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

HANAKO = Principal("os", "hanako", "hanako")  # owner of the contractor's grants
KENJI = Principal("os", "kenji", "kenji")  # owner of the affiliate's grant
ARAGORN = Principal("os", "aragorn", "aragorn")  # the subject of grant G-AR, also a delegate of hanako
ALICE = Principal("os", "alice", "alice")  # the register's administrator

REGISTER_YAML = """\
parties:
  - id: parent
    name: Parent Corp
    kind: parent
    country: JP
    risk_tier: low
  - id: aff
    name: Affiliate KK
    kind: affiliate
    country: JP
    contacts: [soumu@aff.example.jp]
    risk_tier: high
  - id: ctr
    name: Contractor A
    kind: contractor
    country: JP
    contacts: [it@ctr.example.jp, "Taro Yamada <taro@ctr.example.jp>"]
    risk_tier: medium
  - id: sub
    name: Sub-contractor B
    kind: subcontractor
    country: VN
    parent: ctr
    reentrustment_approved_by: hanako
    reentrustment_approved_on: 2025-04-01
    risk_tier: high
    notes: call centre overflow
contracts:
  - id: C-1
    party: ctr
    entrusting: parent
    purpose: customer support
    data_categories: [customers]
    data_items: [name, phone, address]
    people: 120000
    start: 2025-01-01
    end: 2026-12-31
    reentrustment_allowed: true
    safety_clauses: [access control, logging, deletion on end]
    audit_rights: true
    status: active
    systems: [crm]
grants:
  - id: G-AR
    party: ctr
    subject_kind: account
    subject: aragorn@lotr.com
    object_kind: system
    object: crm
    access: application
    justification: support tickets
    owner: hanako
    contract: C-1
    created: 2025-01-01
    expires: 2026-12-31
  - id: G-AFF
    party: aff
    subject_kind: organisation
    subject: aff.example.jp
    object_kind: host
    object: fs01.corp.example.jp
    access: network
    justification: shared file server
    owner: kenji
    created: 2024-04-01
  - id: G-OLD
    party: ctr
    subject_kind: group
    subject: ctr-admins
    object_kind: application
    object: Billing
    access: application
    justification: migration
    owner: hanako
    contract: C-1
    created: 2024-01-01
    expires: 2024-12-31
"""


@pytest.fixture
def register(db: Database) -> Iterator[Register]:  # noqa: F811
    reg = Register(db.url, anchor=db.anchor)
    yield reg
    reg.close()


@pytest.fixture
def register_file(tmp_path: Path) -> Path:
    path = tmp_path / "register.yaml"
    path.write_text(REGISTER_YAML, encoding="utf-8")
    return path
