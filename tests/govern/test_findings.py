"""Every kind of finding on the small group (tests/govern/small_group.py) and its register, with a tiny
real store (the seven Entra sign-in records of test_usage.py) and two boundary alerts written by hand.
Each expectation is derived by hand, on 2025-06-30:

people (blast radius, from the model): aff reaches ds-crm through its grants on crm (1,000 users); ctr
reaches ds-hr through G-CTR-HR (200 employees); sub and sub2 hold no grant (0).

1. no_entrustment_contract aff: reaches 1,000 people; its only contract C-AFF entrusts no personal data.
   ctr is not one: C-CTR (employees, 2024-01-01 – 2025-12-31, active) is in force.
2. shared_authentication aff: realm corp-ad is shared by parent (its owner) and aff; separating it
   protects 0 (aff's grants name crm directly); the hand-written shared_realm_crossing alert is evidence.
3. flow_into_parent aff (f-aff-parent, port 443: medium; blocking it protects 1,000: aff's only way in)
   and ctr (f-ctr-parent, 1433: medium; protects 200).
4. grant_without_mfa and grant_not_recently_used G-AFF-APP: gandalf@lotr.com on Legacy Application is
   line 7 of the store only: one use, single factor, 2025-01-15 (166 days before 2025-06-30 > 90).
5. grant_never_used G-AFF-CRM: no event names tenant/app/host "crm".
6. grant_outlives_contract G-CTR-HR: expires 2026-06-30, its contract C-CTR ends 2025-12-31.
7. grant_expired G-CTR-OLD: expired 2024-12-31. (G-CTR-HR's use is unknown: a group.)
8. access_without_grant ctr: the hand-written logon_without_grant alert names ctr and parent (parent is
   the victim side: no finding for it).
9. reentrustment_not_approved sub2: re-entrusted by ctr, no approval, C-CTR does not allow it.
10. reentrustment_unknown sub: the model's contract C-SUB (ctr → sub), sub not in the register.
11. review_overdue aff: review R (deadline 2025-03-31) left G-AFF-APP and G-AFF-CRM undecided; ctr's
    G-CTR-HR was certified. (G-CTR-OLD had expired when the review started: not in it.)
12. audit_overdue aff (no audit; reaches people) and ctr's remediation A1/1 (due 2025-03-31, open): high.
    ctr's audit on 2025-01-10 is within 365 days; sub and sub2 reach nobody and have no contract.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from sekimori.govern import (
    Finding,
    Register,
    decide,
    findings,
    merge_register,
    read_yaml,
    record_audit,
    start_review,
)
from sekimori.model import GroupModel, load_model_text
from sekimori.store import Store
from tests.govern.conftest import ALICE, DATA, HANAKO
from tests.govern.small_group import MODEL_YAML, REGISTER_YAML

AS_OF = date(2025, 6, 30)
EVIDENCE = pa.struct([("path", pa.string()), ("record_id", pa.int64()), ("uid", pa.string())])
ALERTS = pa.schema(
    [
        ("alert_id", pa.string()),
        ("rule_id", pa.string()),
        ("source", pa.string()),
        ("time", pa.timestamp("us", tz="UTC")),
        ("last_time", pa.timestamp("us", tz="UTC")),
        ("organisations", pa.list_(pa.string())),
        ("evidence", pa.list_(EVIDENCE)),
    ]
)
T1 = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
T2 = datetime(2025, 1, 15, 9, 35, tzinfo=UTC)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("findings") / "store")
    store.ingest([str(DATA / "entra-signins.jsonl")])
    uids = store.sql("SELECT uid FROM events ORDER BY time")["uid"].to_pylist()
    alerts = pa.Table.from_pylist(
        [
            {
                "alert_id": "a-logon",
                "rule_id": "boundary.logon_without_grant",
                "source": "boundary",
                "time": T1,
                "last_time": T2,
                "organisations": ["ctr", "parent"],
                "evidence": [{"path": "x", "record_id": 1, "uid": uids[0]}],
            },
            {
                "alert_id": "a-shared",
                "rule_id": "boundary.shared_realm_crossing",
                "source": "boundary",
                "time": T2,
                "last_time": T2,
                "organisations": ["aff", "parent"],
                "evidence": [{"path": "x", "record_id": 2, "uid": uids[1]}],
            },
        ],
        schema=ALERTS,
    )
    store.put_table("alerts", alerts)
    return store


def small_register(register: Register, tmp_path: Path) -> GroupModel:
    path = tmp_path / "register.yaml"
    path.write_text(REGISTER_YAML, encoding="utf-8")
    register.import_records(read_yaml(path), ALICE)
    return merge_register(load_model_text(MODEL_YAML), register).model


def by_key(found: list[Finding]) -> dict[tuple[str, str, str], Finding]:
    keys = [(str(f.kind), f.organisation, f.subject) for f in found]
    assert len(set(keys)) == len(keys)
    return dict(zip(keys, found, strict=True))


def test_every_kind_of_finding(register: Register, tmp_path: Path, small_store: Store):
    model = small_register(register, tmp_path)
    start_review(register, "R", "review", date(2025, 3, 31), ALICE, today=date(2025, 3, 1))
    decide(register, "R", "G-CTR-HR", "certify", "payroll", HANAKO)
    record_audit(
        register, "A1", "ctr", date(2025, 1, 10), "onsite", ALICE,
        findings=[("no MFA on VPN", "high", date(2025, 3, 31))],
    )  # fmt: skip
    found = findings(register, model, small_store, as_of=AS_OF)
    got = {k: (str(f.severity), f.people) for k, f in by_key(found).items()}
    assert got == {
        ("no_entrustment_contract", "aff", "party aff"): ("critical", 1000),
        ("shared_authentication", "aff", "realm corp-ad"): ("high", 1000),
        ("flow_into_parent", "aff", "flow f-aff-parent"): ("medium", 1000),
        ("flow_into_parent", "ctr", "flow f-ctr-parent"): ("medium", 200),
        ("grant_without_mfa", "aff", "grant G-AFF-APP"): ("high", 1000),
        ("grant_not_recently_used", "aff", "grant G-AFF-APP"): ("low", 1000),
        ("grant_never_used", "aff", "grant G-AFF-CRM"): ("medium", 1000),
        ("grant_outlives_contract", "ctr", "grant G-CTR-HR"): ("medium", 200),
        ("grant_expired", "ctr", "grant G-CTR-OLD"): ("low", 200),
        ("access_without_grant", "ctr", "boundary.logon_without_grant"): ("high", 200),
        ("reentrustment_not_approved", "sub2", "party sub2"): ("high", 0),
        ("reentrustment_unknown", "sub", "party sub"): ("high", 0),
        ("review_overdue", "aff", "review R"): ("medium", 1000),
        ("audit_overdue", "aff", "audit of aff"): ("medium", 1000),
        ("audit_overdue", "ctr", "remediation A1/1"): ("high", 200),
    }
    f = by_key(found)
    assert f[("no_entrustment_contract", "aff", "party aff")].evidence["contracts"] == {
        "C-AFF": "no personal data entrusted"
    }
    assert f[("no_entrustment_contract", "aff", "party aff")].people_by_category == {"user": 1000}
    shared = f[("shared_authentication", "aff", "realm corp-ad")].evidence
    assert shared["people_protected"] == 0 and shared["observed_crossings"]["alert_ids"] == ["a-shared"]
    assert f[("flow_into_parent", "aff", "flow f-aff-parent")].evidence["people_protected"] == 1000
    assert f[("flow_into_parent", "ctr", "flow f-ctr-parent")].evidence["people_protected"] == 200
    mfa = f[("grant_without_mfa", "aff", "grant G-AFF-APP")].evidence
    assert (mfa["uses"], mfa["without_mfa"], mfa["with_mfa"]) == (1, 1, 0)
    assert mfa["last_used"] == datetime(2025, 1, 15, 9, 30, 25, 123456, tzinfo=UTC)
    access = f[("access_without_grant", "ctr", "boundary.logon_without_grant")].evidence
    assert (access["alerts"], access["alert_ids"], access["first_time"], access["last_time"]) == (
        1, ["a-logon"], T1, T2,
    )  # fmt: skip
    assert len(access["event_uids"]) == 1
    review = f[("review_overdue", "aff", "review R")].evidence
    assert (review["overdue"], review["grants"]) == (2, ["G-AFF-APP", "G-AFF-CRM"])
    assert f[("reentrustment_unknown", "sub", "party sub")].evidence["model_contracts"] == ["C-SUB"]
    # most severe first
    ranks = ["critical", "high", "medium", "low"]
    assert [ranks.index(str(x.severity)) for x in found] == sorted(
        ranks.index(str(x.severity)) for x in found
    )
    # both languages, the numbers in them
    text = f[("no_entrustment_contract", "aff", "party aff")].text
    assert "1,000" in text["en"] and "1,000人" in text["ja"]


def test_without_a_store_only_the_model_and_register_speak(register: Register, tmp_path: Path):
    model = small_register(register, tmp_path)
    kinds = {str(f.kind) for f in findings(register, model, None, as_of=AS_OF)}
    # no usage, MFA or alerts without a store; the review and audit kinds need records not made here
    assert kinds == {
        "no_entrustment_contract",
        "shared_authentication",
        "flow_into_parent",
        "grant_outlives_contract",
        "grant_expired",
        "reentrustment_not_approved",
        "reentrustment_unknown",
        "audit_overdue",
    }


def test_an_entrustment_contract_and_an_approval_remove_their_findings(register: Register, tmp_path: Path):
    model = small_register(register, tmp_path)
    fixed = (
        REGISTER_YAML.replace(
            "    purpose: infrastructure operation\n    people: 0\n",
            "    purpose: infrastructure operation\n    data_categories: [users]\n    people: 1000\n",
        )
        .replace(
            "parent: ctr, risk_tier: high}",
            "parent: ctr, reentrustment_approved_by: kenji, risk_tier: high}",
        )
        .replace(
            "    end: 2025-12-31\n    reentrustment_allowed: false",
            "    end: 2025-12-31\n    reentrustment_allowed: true",
        )
    )
    path = tmp_path / "fixed.yaml"
    path.write_text(fixed, encoding="utf-8")
    register.import_records(read_yaml(path), ALICE)
    kinds = {(str(f.kind), f.organisation) for f in findings(register, model, None, as_of=AS_OF)}
    assert ("no_entrustment_contract", "aff") not in kinds
    assert ("reentrustment_not_approved", "sub2") not in kinds
    assert ("shared_authentication", "aff") in kinds
