"""Trust-boundary rules on real logs (tests/data) with small group models written for them."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from sekimori.detect.run import run_detectors
from sekimori.model import GroupModel
from sekimori.store import Store
from tests.conftest import DATA

# The lab in the fixtures: 10.0.2.16 and 10.0.2.17 are workstations, WIN-77LTAPHIQ1R is the domain
# controller of EXAMPLE. The model gives them to three companies sharing the EXAMPLE domain.
BASE: dict[str, Any] = {
    "version": 1,
    "group": "test group",
    "organisations": [
        {"id": "parent", "name": "Parent", "kind": "parent", "country": "JP"},
        {"id": "aff", "name": "Affiliate", "kind": "affiliate", "country": "KR"},
        {"id": "ctr", "name": "Contractor", "kind": "contractor", "country": "KR"},
    ],
    "realms": [
        {"id": "example", "kind": "ad_domain", "name": "EXAMPLE.CORP", "shared_by": ["parent", "aff"]}
    ],
    "accounts": [
        {"org": "aff", "realm": "example", "domain": ["EXAMPLE"], "name_pattern": "^administrator$"},
        {"org": "ctr", "name_pattern": "^app$"},
        {"org": "parent", "realm": "example", "domain": ["EXAMPLE"]},
        {"org": "parent", "name_pattern": "^analyst$"},
    ],
    "zones": [
        {"id": "ctr-net", "name": "contractor", "org": "ctr", "cidrs": ["10.0.2.16/32"]},
        {"id": "aff-net", "name": "affiliate", "org": "aff", "cidrs": ["10.0.2.17/32"]},
        {"id": "parent-net", "name": "parent", "org": "parent", "cidrs": ["10.0.3.0/24"]},
    ],
    "hosts": [{"org": "parent", "zone": "parent-net", "name_pattern": "^win-77ltaphiq1r(\\.|$)"}],
    "systems": [
        {
            "id": "dc",
            "name": "domain controller",
            "owner": "parent",
            "zone": "parent-net",
            "hosts": ["WIN-77LTAPHIQ1R*"],
            "crown_jewel": True,
        },
        {"id": "crm", "name": "CRM", "owner": "parent", "zone": "parent-net", "hosts": ["db-*"]},
    ],
    "data_stores": [
        {
            "id": "crm-db",
            "name": "CRM database",
            "system": "crm",
            "owner": "parent",
            "kind": "database",
            "hosts": ["db-*"],
            "personal_data": [
                {"category": "user", "items": ["name", "email"], "records": 2, "tables": ["customers"]}
            ],
        },
    ],
}


def _alerts(tmp_path, model: dict[str, Any], *files: str) -> list[dict[str, Any]]:
    store = Store(tmp_path / "store")
    store.ingest([str(DATA / f) for f in files])
    report = run_detectors(store, GroupModel.model_validate(model), only=["boundary"])
    return report.alerts.to_pylist()


def _rules(alerts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for a in alerts:
        out.setdefault(a["rule_id"], []).append(a)
    return out


LOGONS = "evtx/LM_ScheduledTask_ATSVC_target_host.evtx"


def test_a_logon_no_grant_allows_is_critical_on_a_crown_jewel_and_the_shared_realm_is_named(tmp_path):
    rules = _rules(_alerts(tmp_path, BASE, LOGONS))
    # two alerts: the logons from 10.0.2.17, and one whose source the log does not say (still a crossing)
    assert sorted(str(a["src_ip"]) for a in rules["boundary.logon_without_grant"]) == ["10.0.2.17", "None"]
    (no_grant,) = [a for a in rules["boundary.logon_without_grant"] if a["src_ip"] == "10.0.2.17"]
    assert no_grant["account"] == "Administrator" and len(no_grant["evidence"]) == 2
    assert no_grant["level"] == "critical"  # the DC is a crown jewel
    assert set(no_grant["organisations"]) == {"aff", "parent"}
    assert no_grant["evidence"] and all(
        e["path"].endswith(".evtx") and e["record_id"] for e in no_grant["evidence"]
    )
    shared = rules["boundary.shared_realm_crossing"]
    assert all("realm example" in a["description"] and "no grant" in a["description"] for a in shared)
    # an affiliate account from an affiliate host is not "from a foreign host"
    assert "boundary.account_from_foreign_host" not in rules


def test_a_grant_allows_it_and_an_expired_grant_does_not(tmp_path):
    granted = copy.deepcopy(BASE)
    granted["grants"] = [
        {"id": "g-aff-dc", "org": "aff", "systems": ["dc"], "logon_types": ["network"], "owner": "IT"}
    ]
    rules = _rules(_alerts(tmp_path / "a", granted, LOGONS))
    assert "boundary.logon_without_grant" not in rules
    shared = rules["boundary.shared_realm_crossing"]  # still the weakness, even when allowed
    assert shared and all("allowed by g-aff-dc" in a["description"] for a in shared)

    expired = copy.deepcopy(granted)
    expired["grants"][0]["expires"] = "2019-01-01"  # the logons are from March 2019
    rules = _rules(_alerts(tmp_path / "b", expired, LOGONS))
    no_grant = rules["boundary.logon_without_grant"]
    assert len(no_grant) == 2 and all("g-aff-dc (expired 2019-01-01)" in a["description"] for a in no_grant)


def test_an_account_used_from_another_organisations_host(tmp_path):
    model = copy.deepcopy(BASE)
    model["accounts"][0]["org"] = "parent"  # now Administrator is the parent's
    rules = _rules(_alerts(tmp_path, model, LOGONS))
    (foreign,) = [a for a in rules["boundary.account_from_foreign_host"] if a["src_ip"] == "10.0.2.17"]
    assert foreign["description"] == "parent account used from 10.0.2.17, a host of aff"
    assert "boundary.logon_without_grant" not in rules  # parent account onto a parent host


def test_traffic_between_zones_needs_a_flow(tmp_path):
    network = "evtx/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx"  # 10.0.2.16 → 10.0.2.17:55683/tcp
    rules = _rules(_alerts(tmp_path / "a", BASE, network))
    (flow,) = rules["boundary.flow_not_allowed"]
    assert flow["description"] == "no flow allows ctr-net → aff-net port 55683/tcp"
    allowed = copy.deepcopy(BASE)
    allowed["flows"] = [
        {
            "id": "f",
            "from": "aff-net",
            "to": "ctr-net",
            "ports": "any",
            "protocol": "tcp",
            "bidirectional": True,
        }
    ]
    assert "boundary.flow_not_allowed" not in _rules(_alerts(tmp_path / "b", allowed, network))
    one_way = copy.deepcopy(allowed)
    one_way["flows"][0]["bidirectional"] = False
    assert "boundary.flow_not_allowed" in _rules(_alerts(tmp_path / "c", one_way, network))


def test_first_read_of_personal_data_by_a_contractor_principal(tmp_path):
    rules = _rules(_alerts(tmp_path, BASE, "pgaudit/pg15-csvlog.csv"))
    (first,) = rules["boundary.first_personal_data_access"]
    assert first["account"] == "app" and first["level"] == "high"
    assert "crm-db" in first["description"] and "user 2" in first["description"]
    assert len(first["evidence"]) == 1  # the first access only
    details = __import__("json").loads(first["details"])
    assert details["account_org"] == "ctr"


def test_without_a_model_the_boundary_rules_are_skipped_not_failed(tmp_path):
    store = Store(tmp_path / "store")
    store.ingest([str(DATA / LOGONS)])
    report = run_detectors(store, None, only=["boundary"])
    runs = {r.name: r.skipped for r in report.runs}
    assert runs == {
        "boundary": "needs a group model (--model)",
        "tenant_boundary": "needs a group model (--model)",  # the same source: chosen with it
        "behaviour": "not chosen (--only)",
        "sigma": "not chosen (--only)",
    }
    assert report.alerts.num_rows == 0


@pytest.mark.parametrize("level", ["critical"])
def test_alerts_are_kept_in_the_store(tmp_path, level):
    store = Store(tmp_path / "store")
    store.ingest([str(DATA / LOGONS)])
    run_detectors(store, GroupModel.model_validate(BASE), only=["boundary"])
    rows = store.sql("SELECT level, count(*) AS n FROM alerts GROUP BY level").to_pylist()
    assert {r["level"] for r in rows} >= {level}


def _first_reads(tmp_path, paths: list[str] | None) -> set[tuple[str, str]]:
    """(account, first object) of the first-access alerts on the demo's real logs, with the directory
    store on the domain controller naming ``paths`` (None: neither paths nor tables)."""

    from sekimori.demo import build_demo_store, demo_model

    store, _ = build_demo_store(tmp_path / "s")
    model = demo_model()
    raw = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    (directory,) = [d for d in raw["data_stores"] if d["id"] == "ds-employee-directory"]
    for pd in directory["personal_data"]:
        pd.pop("paths", None)
        if paths is not None:
            pd["paths"] = paths
    alerts = run_detectors(store, GroupModel.model_validate(raw), only=["boundary"], save=False).alerts
    objects = dict(store.connect().execute("SELECT uid, object FROM events").fetchall())
    found = set()
    for a in alerts.to_pylist():
        if a["rule_id"] == "boundary.first_personal_data_access":
            (evidence,) = a["evidence"]  # the first access only
            found.add((a["account"], objects[evidence["uid"]]))
    return found


def test_first_access_is_judged_on_the_paths_the_model_names(tmp_path):
    # In the demo's logs (real, discovery_bloodhound.evtx and others) the affiliate's admin01 and user01
    # call the DC's \\*\IPC$\samr and \\*\IPC$\srvsvc pipes; nobody but the DC itself touches SYSVOL.
    assert _first_reads(tmp_path / "a", [r"\\WIN-77LTAPHIQ1R\SYSVOL"]) == set()
    samr = _first_reads(tmp_path / "b", [r"\\WIN-77LTAPHIQ1R\IPC$\samr"])
    assert samr == {("admin01", r"\\*\IPC$\samr"), ("user01", r"\\*\IPC$\samr")}
    # a store that names neither paths nor tables is read by any access to its hosts: the first one each
    from sekimori.store import Store

    anything = _first_reads(tmp_path / "c", None)
    earliest = Store(tmp_path / "c" / "s").sql(
        """SELECT principal, arg_min(object, time) AS object FROM events
           WHERE category = 'data_access' AND principal IN ('admin01', 'user01') GROUP BY principal"""
    )
    assert anything == {(r["principal"], r["object"]) for r in earliest.to_pylist()}


def test_a_grant_naming_the_short_host_allows_a_logon_logged_with_the_fqdn(tmp_path):
    # Issue 10, finding 2: the logs name the DC 'WIN-77LTAPHIQ1R.example.corp'; a grant names it short.
    model = copy.deepcopy(BASE)
    model["systems"][0]["hosts"] = []  # no system covers the DC: only the grant's host names it
    model["grants"] = [
        {"id": "g-dc", "org": "aff", "hosts": ["win-77ltaphiq1r"], "logon_types": ["network"], "owner": "IT"}
    ]
    rules = _rules(_alerts(tmp_path / "a", model, LOGONS))
    assert "boundary.logon_without_grant" not in rules
    # the same grant written with the FQDN, in capitals, allows the same logons
    model["grants"][0]["hosts"] = ["WIN-77LTAPHIQ1R.EXAMPLE.CORP"]
    assert "boundary.logon_without_grant" not in _rules(_alerts(tmp_path / "b", model, LOGONS))
    # and a grant for another host does not
    model["grants"][0]["hosts"] = ["win-77ltaphiq1"]
    assert "boundary.logon_without_grant" in _rules(_alerts(tmp_path / "c", model, LOGONS))


def _first_access_levels(tmp_path, **flags: bool) -> set[str]:
    """Levels of the first-access alerts on the demo's real logs, the directory's entry flagged."""
    from sekimori.demo import build_demo_store, demo_model

    store, _ = build_demo_store(tmp_path / "s")
    raw = demo_model().model_dump(mode="json", by_alias=True, exclude_none=True)
    (directory,) = [d for d in raw["data_stores"] if d["id"] == "ds-employee-directory"]
    for pd in directory["personal_data"]:
        pd.update(flags)
    alerts = run_detectors(store, GroupModel.model_validate(raw), only=["boundary"], save=False).alerts
    return {a["level"] for a in alerts.to_pylist() if a["rule_id"] == "boundary.first_personal_data_access"}


def test_a_first_access_to_financial_data_is_critical(tmp_path):
    # Card or bank data is an APPI reporting trigger, as 通信の秘密 and 要配慮 are (breach-reporting.md)
    plain = _first_access_levels(
        tmp_path / "a", financial=False, sensitive=False, secrecy_of_communications=False
    )
    assert plain and "critical" not in plain
    assert _first_access_levels(tmp_path / "b", financial=True) == {"critical"}


def test_first_accesses_at_one_time_give_the_same_alert_whatever_the_order_of_the_lines(tmp_path):
    # The contractor's first read of customers (line 29 of the real log) made again at the same time from
    # eight other clients: before, the first access kept whichever edge the window met first, so the
    # alert's source (and its id) followed the order of the lines. Now the edge first in key order:
    # the smallest src_ip of the tied ones, whatever the order.
    lines = (DATA / "pgaudit" / "pg15-csvlog.csv").read_text().splitlines(keepends=True)
    read = lines[28]
    assert "127.0.0.1:59422" in read and "public.customers" in read
    again = [
        read.replace("127.0.0.1:59422", f"10.0.3.{i}:5{i:03d}").replace(
            ",6b04a687.2168,14,", f",6b04a687.2168,{90 + i},"
        )
        for i in range(1, 9)
    ]
    seen = set()
    for seed in range(6):
        tied = [read, *again]
        random.Random(seed).shuffle(tied)
        (tmp_path / f"{seed}").mkdir()
        log = tmp_path / f"{seed}" / "pg.csv"
        log.write_text("".join(lines[:28] + tied + lines[29:]))
        store = Store(tmp_path / f"{seed}" / "store")
        store.ingest([str(log)])
        alerts = run_detectors(store, GroupModel.model_validate(BASE), only=["boundary"], save=False).alerts
        (first,) = [a for a in alerts.to_pylist() if a["rule_id"] == "boundary.first_personal_data_access"]
        seen.add((first["alert_id"], first["src_ip"]))
    assert [ip for _, ip in seen] == [min(["127.0.0.1"] + [f"10.0.3.{i}" for i in range(1, 9)])]


def test_the_expired_grants_of_a_logon_are_named_in_order(tmp_path):
    # Before, the expired grants were joined in whatever order the aggregate met them: the description
    # of one alert could list them differently from one run to the next.
    expired = copy.deepcopy(BASE)
    names = [f"g-aff-dc-{n:02d}" for n in range(12)]
    random.Random(5).shuffle(names)
    expired["grants"] = [
        {
            "id": g,
            "org": "aff",
            "systems": ["dc"],
            "logon_types": ["network"],
            "owner": "IT",
            "expires": "2019-01-01",
        }
        for g in names
    ]
    listed = ", ".join(f"{g} (expired 2019-01-01)" for g in sorted(names))
    no_grant = _rules(_alerts(tmp_path, expired, LOGONS))["boundary.logon_without_grant"]
    assert len(no_grant) == 2 and all(listed in a["description"] for a in no_grant)
