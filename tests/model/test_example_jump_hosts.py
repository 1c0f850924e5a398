"""The jump-host example (sekimori/model/examples/jump_hosts): the code against the figures its README
computes by hand from the documented rules (docs/model.md, docs/graph.md, the boundary detector's rules).

Every expected value below is the README's, derived by hand before the code ran; a disagreement is the
code's to explain (see the README's "Checking" section).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from sekimori.detect.run import run_detectors
from sekimori.graph import (
    ReachedDataStore,
    ReachedSystem,
    attack_paths,
    blast_radius,
    build_graph,
    choke_points,
    what_if,
)
from sekimori.graph.group_graph import EDGE_KIND, GroupGraph
from sekimori.model import GroupModel, json_schema, load_model
from sekimori.store import Store
from tests.model.test_model_schema import _check

EXAMPLE = Path(__file__).resolve().parents[2] / "sekimori" / "model" / "examples" / "jump_hosts"
MODEL = EXAMPLE / "group.yaml"
LOGS = EXAMPLE / "logs" / "windows-events.json"

# README §2: the people (customers 120,000 counted once over four stores; operators 450 once over two).
PEOPLE = {"business_partner": 300, "employee": 450, "user": 120_000}
STORE_PEOPLE = [
    ("crm-db", {"employee": 450, "user": 120_000}),
    ("crm-attachments", {"user": 30_000}),
    ("crm-replica", {"employee": 450, "user": 95_000}),
    ("billing-db", {"business_partner": 300, "user": 90_000}),
]
# README §4: one control of each jump host's way in.
EAST = {"flow:f-kumo-tokyo-rdp", "route:kumo-office->tokyo", "grant:g-kumo-jmp-east"}
WEST = {"flow:f-kumo-osaka-rdp", "route:kumo-office->osaka", "grant:g-kumo-jmp-west"}
OTHERS = {
    "grant:g-kumo-crm-app",
    "flow:f-replication",
    "route:tokyo->osaka",
    "route:osaka->tokyo",
    "grant:g-tsubame-dr",
    "contract:c-crm-ops",
}


@pytest.fixture(scope="module")
def model() -> GroupModel:
    return load_model(MODEL)


@pytest.fixture(scope="module")
def graph(model: GroupModel) -> GroupGraph:
    return build_graph(model)


def test_the_example_is_in_the_package_and_validates_against_the_json_schema() -> None:
    import sekimori.model

    assert MODEL.parent == Path(sekimori.model.__file__).parent / "examples" / "jump_hosts"
    assert MODEL.read_text(encoding="utf-8").splitlines()[0] == (
        "# yaml-language-server: $schema=../../group.schema.json"
    )
    schema = json_schema()
    _check(yaml.safe_load(MODEL.read_text(encoding="utf-8")), schema, schema["$defs"], "jump_hosts")


# --- §2 blast radius ---


@pytest.mark.parametrize("entry", ["org:kumo", "host:kumo-pc-01"])
def test_blast_radius(graph: GroupGraph, entry: str) -> None:
    blast = blast_radius(graph, entry)
    assert blast.exposure.people == PEOPLE
    assert blast.exposure.total == 120_750
    assert blast.exposure.secrecy_of_communications == {"user": 8000}
    assert blast.exposure.sensitive == {}
    assert [(d.id, d.people) for d in blast.data_stores] == STORE_PEOPLE
    assert [s.id for s in blast.systems] == ["jump-east", "jump-west", "crm-dr"]
    assert blast.crown_jewels == []  # crm's data, not crm: no logon onto its hosts
    assert blast.hosts == 3 and blast.accounts == 0
    assert blast.zones == ["kumo-office", "osaka", "tokyo"]
    assert blast.organisations == ["hikari", "kumo", "tsubame"]


def test_the_application_grant_gives_data_stores_never_a_system_or_host(graph: GroupGraph) -> None:
    grant = graph.control_index("grant:g-kumo-crm-app")
    edges = (graph.control1 == grant) | (graph.control2 == grant)
    assert {graph.keys[int(d)].as_py() for d in graph.dst[edges]} == {
        "data_store:crm-db",
        "data_store:crm-attachments",
    }
    assert set(graph.kind[edges].tolist()) == {EDGE_KIND["app_use"]}


# --- §3 attack paths ---


def _jump(path: Any) -> str:
    (logon,) = [h for h in path.hops if h.kind == "logon_interactive"][:1]
    return str(logon.dst)


def test_cheapest_paths_from_the_organisation(graph: GroupGraph) -> None:
    paths = attack_paths(graph, "org:kumo")
    assert [(p.target, p.cost) for p in paths] == [
        ("data_store:crm-db", 3.0),
        ("data_store:crm-db", 3.0),
        ("data_store:crm-attachments", 3.0),
        ("data_store:billing-db", 4.5),
        ("data_store:crm-replica", 5.0),
    ]
    crm_db = paths[:2]
    assert {_jump(p) for p in crm_db} == {"system:jump-east", "system:jump-west"}
    for p in crm_db:
        assert [h.kind for h in p.hops] == ["member", "logon_interactive", "runs_on", "credential_use"]
        assert p.people == {"employee": 450, "user": 120_000}
    east, west = sorted(crm_db, key=_jump)
    assert [h.dst for h in east.hops] == [
        "credential:kumo@partner-ad",
        "system:jump-east",
        "host:tky-jmp-01",
        "data_store:crm-db",
    ]
    assert [h.dst for h in west.hops][1:3] == ["system:jump-west", "host:osk-jmp-01"]
    assert [s.kind for s in east.steps()] == [
        "member",
        "org_zone",
        "flow",
        "logon_interactive",
        "runs_on",
        "in_zone",
        "flow",
        "credential_use",
    ]
    assert sum(s.cost for s in east.steps()) == 3.0
    assert set(east.controls) == EAST
    assert set(west.controls) == WEST | {"flow:f-replication", "route:osaka->tokyo"}

    attachments, billing, replica = paths[2:]
    assert [h.kind for h in attachments.hops] == ["member", "app_use"]
    assert {s.dst for s in attachments.steps()} >= {"system:jump-east", "host:tky-jmp-01", "zone:tokyo"}
    assert [h.kind for h in billing.hops] == ["member", "logon_interactive", "runs_on", "credential_use"]
    assert _jump(billing) == "system:jump-west"
    assert {s.dst for s in billing.steps()} >= {"system:jump-east", "zone:tokyo"}  # the gate: presence
    assert [(h.kind, h.dst) for h in replica.hops] == [
        ("member", "credential:kumo@partner-ad"),
        ("logon_interactive", "system:jump-west"),
        ("runs_on", "host:osk-jmp-01"),
        ("cached_credentials", "credential:tsubame@hikari-ad"),
        ("logon_interactive", "system:crm-dr"),
        ("holds", "data_store:crm-replica"),
    ]


def test_cheapest_paths_from_a_contractor_pc(graph: GroupGraph) -> None:
    costs = [(p.target, p.cost) for p in attack_paths(graph, "host:kumo-pc-01")]
    assert costs == [
        ("data_store:crm-db", 2.5),
        ("data_store:crm-db", 2.5),
        ("data_store:crm-attachments", 2.5),
        ("data_store:billing-db", 4.0),
        ("data_store:crm-replica", 4.5),
    ]


# --- §4 choke points ---


@pytest.mark.parametrize("entry", ["org:kumo", "host:kumo-pc-01"])
def test_choke_points(graph: GroupGraph, entry: str) -> None:
    report = choke_points(graph, entry, top=20)
    assert report.before.total == 120_750 and report.crown_jewels == []
    singles = {p.controls[0]: p for p in report.singles}
    assert set(singles) == EAST | WEST | OTHERS  # the 12 candidates
    assert not any(p.cuts_off for p in report.singles)
    assert {c: p.people_protected for c, p in singles.items()} == {
        **dict.fromkeys(EAST | WEST, 300),
        **dict.fromkeys(OTHERS, 0),
    }
    assert report.status == "minimal" and report.complete
    assert report.cut is not None and len(report.cut.controls) == 2
    listed = [report.cut, *report.alternatives]
    assert {frozenset(p.controls) for p in listed} == {frozenset({e, w}) for e in EAST for w in WEST}
    assert len(listed) == 9
    assert all(p.cuts_off and p.people_protected == 120_750 for p in listed)


# --- §5 what-ifs ---


def _ids(items: Sequence[ReachedSystem | ReachedDataStore]) -> list[str]:
    return [i.id for i in items]


def test_what_ifs(graph: GroupGraph) -> None:
    entry = "org:kumo"
    app = what_if(graph, entry, ["remove grant g-kumo-crm-app"])
    assert app.people_protected == 0
    assert _ids(app.after.data_stores) == ["crm-db", "crm-replica", "billing-db"]
    assert app.after.systems == app.before.systems and app.after.hosts == app.before.hosts == 3
    assert app.after.zones == app.before.zones

    replication = what_if(graph, entry, ["block flow f-replication"])
    assert replication.people_protected == 0
    assert _ids(replication.after.data_stores) == _ids(replication.before.data_stores)

    east = what_if(graph, entry, ["remove grant g-kumo-jmp-east"])
    assert east.people_protected == 300
    assert east.after.exposure.people == {"employee": 450, "user": 120_000}
    assert _ids(east.after.data_stores) == ["crm-db", "crm-replica"]
    assert _ids(east.after.systems) == ["jump-west", "crm-dr"] and east.after.hosts == 2
    assert east.after.zones == ["kumo-office", "osaka"]

    both = what_if(graph, entry, ["remove grant g-kumo-jmp-east", "block flow f-replication"])
    assert both.people_protected == 25_300
    assert both.after.exposure.people == {"employee": 450, "user": 95_000}
    assert _ids(both.after.data_stores) == ["crm-replica"]

    dba = what_if(graph, entry, ["end contract c-crm-dba"])  # Tsubame's contract: no edge depends on it
    assert dba.people_protected == 0 and dba.after.data_stores == dba.before.data_stores

    ops = what_if(graph, entry, ["end contract c-crm-ops"])
    assert ops.people_protected == 0
    assert _ids(ops.after.data_stores) == ["crm-db", "crm-attachments", "billing-db"]
    assert _ids(ops.after.systems) == ["jump-east", "jump-west"] and ops.after.hosts == 2

    cut = what_if(graph, entry, ["remove grant g-kumo-jmp-east", "block flow f-kumo-osaka-rdp"])
    assert cut.after.is_zero and cut.after.data_stores == [] and cut.people_protected == 120_750


# --- §6 boundary alerts on the synthetic logs ---


def test_boundary_alerts_on_the_synthetic_logs(tmp_path: Path, model: GroupModel) -> None:
    store = Store(tmp_path / "store")
    store.ingest([str(LOGS)])
    alerts = run_detectors(store, model, only=["boundary"]).alerts.to_pylist()
    got = sorted(
        (
            a["rule_id"],
            a["account"],
            a["level"],
            tuple(e["record_id"] for e in a["evidence"]),
            a["description"],
        )
        for a in alerts
    )
    assert got == sorted(
        [
            (
                "boundary.logon_without_grant",
                "kumo.nguyen",
                "critical",
                (1003,),
                "no grant allows kumo accounts onto tky-crm-app-01.hikari.example (hikari: crm)",
            ),
            (
                "boundary.account_from_foreign_host",
                "kumo.nguyen",
                "medium",
                (1003,),
                "kumo account used from TKY-JMP-01, a host of hikari",
            ),
            (
                "boundary.first_personal_data_access",
                "kumo.nguyen",
                "high",
                (1004,),
                "first access by kumo (contractor) to crm-attachments holding user 30000",
            ),
            (
                "boundary.flow_not_allowed",
                "kumo.nguyen",  # Sysmon's User 'PARTNER\\kumo.nguyen', split by the reader
                "medium",
                (1007,),
                "no flow allows tokyo → osaka port 3389/tcp",
            ),
            (
                "boundary.flow_not_allowed",
                "nguyen",  # Sysmon's User 'KUMO-PC-01\\nguyen', a local account of the PC
                "medium",
                (1008,),
                "no flow allows kumo-office → tokyo port 3389/tcp; f-kumo-tokyo-rdp allows it between "
                "other hosts only",
            ),
            (
                "boundary.logon_without_grant",
                "ts-sato",
                "critical",
                (1010,),
                "no grant allows tsubame accounts onto tky-crm-sql-01.hikari.example (hikari: crm)",
            ),
            (
                "boundary.shared_realm_crossing",
                "ts-sato",
                "medium",
                (1010,),
                "realm hikari-ad (shared by 2 organisations) carries an account of tsubame onto "
                "tky-crm-sql-01.hikari.example of hikari (no grant)",
            ),
        ]
    )
    assert all(e["path"].endswith("windows-events.json") for a in alerts for e in a["evidence"])
    cited = {e["record_id"] for a in alerts for e in a["evidence"]}
    assert cited.isdisjoint({1001, 1002, 1005, 1006, 1009})  # the records that fire nothing
    flows = [json.loads(a["details"]) for a in alerts if a["rule_id"] == "boundary.flow_not_allowed"]
    assert sorted((f["source_zone"], f["target_zone"]) for f in flows) == [
        ("kumo-office", "tokyo"),
        ("tokyo", "osaka"),
    ]
