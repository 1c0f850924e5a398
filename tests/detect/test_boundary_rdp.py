"""RDP logons judged by their true source (tests/data/rdp, see its README; issue 10, finding 1).

For an RDP logon Windows writes the target's own name as WorkstationName; the client is IpAddress. Taken
as the source, the own name made every RDP logon look local and the boundary rules never judged it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sekimori.detect.run import run_detectors
from sekimori.graph.observed import observed_logons
from sekimori.model import GroupModel
from sekimori.store import Store
from tests.conftest import DATA, REPO
from tests.detect.test_boundary import BASE

RDP = DATA / "rdp"
DEMO_LOGS = REPO / "sekimori" / "demo" / "data" / "logs"


def _run(tmp_path: Path, model: dict[str, Any], *files: Path) -> tuple[Store, list[dict[str, Any]]]:
    store = Store(tmp_path / "store")
    store.ingest([str(f) for f in files])
    report = run_detectors(store, GroupModel.model_validate(model), only=["boundary"])
    return store, report.alerts.to_pylist()


def test_a_type_10_logon_from_a_contractors_address_with_a_parent_account_alerts(tmp_path):
    # admin01 of EXAMPLE is the parent's (BASE's last EXAMPLE rule); 10.0.2.16 is in the contractor's
    # zone; PC01 is given to the parent. The 4624 (type 10, WorkstationName "PC01" = the target itself,
    # IpAddress 10.0.2.16) gave no alert when the workstation name was taken as the source.
    model = copy.deepcopy(BASE)
    model["hosts"].append({"org": "parent", "zone": "parent-net", "name_pattern": "^pc01(\\.|$)"})
    _, alerts = _run(tmp_path, model, RDP / "contractor_rdp_type10.jsonl")
    assert [(a["rule_id"], a["account"], a["src_host"], a["src_ip"], a["target_host"]) for a in alerts] == [
        ("boundary.account_from_foreign_host", "admin01", None, "10.0.2.16", "PC01.example.corp")
    ]
    (alert,) = alerts
    assert set(alert["organisations"]) == {"parent", "ctr"}
    assert alert["description"] == "parent account used from 10.0.2.16, a host of ctr"
    assert [e["record_id"] for e in alert["evidence"]] == [227762]


# The OTRF RDP session: pgustavo of THESHIRE on WORKSTATION5 from robertos-mbp (1.2.3.4). The model
# knows the contractor's PC by name only: the type-7 unlocks, which carry only the address, are judged
# by the name the 4778 reconnect pairs with that address.
RECONNECT: dict[str, Any] = {
    "version": 1,
    "group": "rdp reconnect",
    "organisations": [
        {"id": "parent", "name": "Parent", "kind": "parent", "country": "JP"},
        {"id": "ctr", "name": "Contractor", "kind": "contractor", "country": "KR"},
    ],
    "accounts": [{"org": "parent", "domain": ["THESHIRE"]}],
    "zones": [
        {"id": "parent-net", "name": "parent", "org": "parent", "cidrs": ["172.18.39.0/24"]},
        {"id": "ctr-net", "name": "contractor", "org": "ctr", "cidrs": ["192.0.2.0/24"]},
    ],
    "hosts": [
        {"org": "ctr", "zone": "ctr-net", "name_pattern": "^robertos-mbp$"},
        {"org": "parent", "zone": "parent-net", "name_pattern": "^workstation5(\\.|$)"},
    ],
}


def test_an_rdp_reconnect_and_its_unlocks_are_judged_by_the_client_the_logs_name(tmp_path):
    store, alerts = _run(tmp_path, RECONNECT, RDP / "otrf_rdp_reconnect.json")
    found = sorted(
        (
            a["rule_id"],
            a["account"],
            str(a["src_host"]),
            a["src_ip"],
            sorted(e["record_id"] for e in a["evidence"]),
        )
        for a in alerts
    )
    assert found == [
        # the two 4624 type 7 with IpAddress 1.2.3.4 (WorkstationName is WORKSTATION5 itself)
        ("boundary.account_from_foreign_host", "pgustavo", "None", "1.2.3.4", [821760, 821762]),
        # the 4778: ClientName robertos-mbp, ClientAddress 1.2.3.4
        ("boundary.account_from_foreign_host", "pgustavo", "robertos-mbp", "1.2.3.4", [821627]),
    ]
    assert all(a["description"].endswith("a host of ctr") for a in alerts)

    # the graph sees the same source: robertos-mbp, for the unlocks (by its address) and the reconnect
    logons, _ = observed_logons(store, GroupModel.model_validate(RECONNECT))
    rows = sorted((r["src"], r["dst"], r["logon_type"], r["count"]) for r in logons.to_pylist())
    assert rows == [("robertos-mbp", "workstation5", 7, 2), ("robertos-mbp", "workstation5", 10, 1)]
    assert {r["src_org"] for r in logons.to_pylist()} == {"ctr"}


def test_an_rdp_logon_over_loopback_is_judged_and_said_to_be_over_loopback(tmp_path):
    # The real type-10 4624 (EventRecordID 227762) of the demo's RDP tunnel: admin01 onto PC01 from
    # IpAddress 127.0.0.1. The client is hidden behind the tunnel, but the account still crossed onto the
    # host: with PC01 the affiliate's and admin01 the parent's, no grant allows it.
    model = copy.deepcopy(BASE)
    model["hosts"].append({"org": "aff", "zone": "aff-net", "name_pattern": "^pc01(\\.|$)"})
    _, alerts = _run(tmp_path, model, DEMO_LOGS / "DE_RDP_Tunnel_5156.evtx")
    loopback = [a for a in alerts if a["src_ip"] == "127.0.0.1"]
    assert [(a["rule_id"], a["account"], a["src_host"]) for a in loopback] == [
        ("boundary.logon_without_grant", "admin01", None),
        ("boundary.shared_realm_crossing", "admin01", None),
    ]
    for alert in loopback:
        assert [e["record_id"] for e in alert["evidence"]] == [227762]
        assert alert["description"].endswith(
            "; over loopback 127.0.0.1 (RDP through the host itself, e.g. a tunnel: "
            "the client is not in the event)"
        )
    # the type-11 and type-7 local logons of user01 (127.0.0.1 or no address) stay the host's own
    assert not [a for a in alerts if a["account"] == "user01"]
