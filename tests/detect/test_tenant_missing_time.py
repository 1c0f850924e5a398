"""``tenant_boundary`` on sign-ins without a time: CloudTrail role assumptions written here with no
``eventTime`` (the reader keeps them, time missing), ingested into a store and judged by the detector.
A grant that expires cannot be shown to have covered a crossing none of whose sign-ins has a time, so the
crossing alerts (as the AD logons' rules judge an edge without a time); a grant that never expires covers
it. Every expected field worked out by hand from the events and the model below."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from sekimori.detect import run_detectors
from sekimori.model import load_model_text
from sekimori.store import Store

PARENT_AWS, CONTRACTOR_AWS = "111122223333", "444455556666"
ROLE = f"arn:aws:iam::{PARENT_AWS}:role/BillingAdmin"

MODEL = f"""
version: 1
group: Test group
organisations:
  - {{id: parent, name: Parent Corp, kind: parent, country: JP}}
  - {{id: contractor, name: Contractor, kind: contractor, country: KR}}
realms:
  - {{id: parent-aws, kind: cloud_account, name: parent prod, shared_by: [parent],
     tenant_ids: ["{PARENT_AWS}"]}}
  - {{id: contractor-aws, kind: cloud_account, name: contractor, shared_by: [contractor],
     tenant_ids: ["{CONTRACTOR_AWS}"]}}
zones:
  - {{id: parent-net, name: Parent, org: parent, cidrs: [10.1.0.0/16]}}
systems:
  - {{id: billing, name: Billing, owner: parent, zone: parent-net, tenant: parent-aws}}
grants:
  - {{id: g-con-billing, org: contractor, systems: [billing], access: [application], owner: CISO,
     expires: 2030-12-31}}
"""


def assume_role(user: str, event_id: str, when: str | None = None) -> str:
    """A contractor IAM user assuming the parent's billing role (``when``: its eventTime, if any)."""
    event: dict[str, Any] = {
        "eventVersion": "1.08",
        "eventName": "AssumeRole",
        "eventSource": "sts.amazonaws.com",
        "userIdentity": {
            "type": "IAMUser",
            "accountId": CONTRACTOR_AWS,
            "userName": user,
            "arn": f"arn:aws:iam::{CONTRACTOR_AWS}:user/{user}",
        },
        "recipientAccountId": PARENT_AWS,
        "sourceIPAddress": "198.51.100.7",
        "requestParameters": {"roleArn": ROLE, "roleSessionName": user},
        "eventID": event_id,
    }
    if when is not None:
        event["eventTime"] = when
    return json.dumps(event)


@pytest.fixture
def store(tmp_path: Path) -> tuple[Store, Path]:
    """ops-bot's two role assumptions without a time (records 1 and 2), audit-bot's one at a time
    within the grant (record 3)."""
    path = tmp_path / "cloudtrail.jsonl"
    lines = [
        assume_role("ops-bot", "e1"),
        assume_role("ops-bot", "e2"),
        assume_role("audit-bot", "e3", "2023-10-01T09:00:00Z"),
    ]
    path.write_text("\n".join(lines) + "\n")
    store = Store(tmp_path / "store")
    (result,) = store.ingest([str(path)]).files
    assert (result.events, result.quarantined) == (3, 0)
    con = store.connect()
    try:
        times = con.sql("SELECT principal, time FROM events ORDER BY record_id").fetchall()
    finally:
        con.close()
    assert [(p, t is None) for p, t in times] == [("ops-bot", True), ("ops-bot", True), ("audit-bot", False)]
    return store, path


def test_a_crossing_without_a_time_alerts_when_its_only_grant_expires(store: tuple[Store, Path]) -> None:
    s, path = store
    (alert,) = run_detectors(s, load_model_text(MODEL), only=["tenant_boundary"]).alerts.to_pylist()
    # audit-bot's timed sign-in (2023-10-01) is within g-con-billing (to 2030-12-31): no alert
    key = f"boundary.cross_tenant_signin|ops-bot||{CONTRACTOR_AWS}|sts.amazonaws.com|{ROLE}|198.51.100.7"
    assert alert["alert_id"] == hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()[:24]
    assert alert["rule_id"] == "boundary.cross_tenant_signin"
    assert (alert["level"], alert["source"]) == ("high", "boundary")  # billing is no crown jewel
    assert (alert["time"], alert["last_time"]) == (None, None)
    assert (alert["account"], alert["domain"], alert["host"]) == ("ops-bot", None, None)
    assert (alert["src_ip"], alert["target_host"]) == ("198.51.100.7", "sts.amazonaws.com")
    assert alert["organisations"] == ["contractor", "parent"]
    assert alert["description"] == (
        "no grant lets contractor accounts sign in to sts.amazonaws.com (parent) (crossAccount); "
        "its sign-ins have no time to check grant g-con-billing (expires 2030-12-31) against"
    )
    # both without a time: by record id; a uid is the file's digest's first 16 hex digits : line index
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert alert["evidence"] == [
        {"path": str(path), "record_id": 1, "uid": f"{digest}:0"},
        {"path": str(path), "record_id": 2, "uid": f"{digest}:1"},
    ]
    assert json.loads(alert["details"]) == {
        "events": 2,
        "account_org": "contractor",
        "resource_org": "parent",
        "system": None,
        "tenant": CONTRACTOR_AWS,
        "resource_tenant": PARENT_AWS,
        "cross_tenant": "crossAccount",
        "role": ROLE,
    }


def test_a_grant_that_never_expires_covers_a_crossing_without_a_time(store: tuple[Store, Path]) -> None:
    s, _ = store
    forever = MODEL.replace(",\n     expires: 2030-12-31}", "}")
    assert "expires" not in forever
    alerts = run_detectors(s, load_model_text(forever), only=["tenant_boundary"]).alerts
    assert alerts.num_rows == 0
