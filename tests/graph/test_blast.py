"""The graph's answers are typed objects; their JSON (``to_dict``) is what the CLI prints."""

from __future__ import annotations

import json
import textwrap

from sekimori.graph import (
    BlastRadius,
    GraphSummary,
    ReachedDataStore,
    ReachedSystem,
    blast_radius,
    build_graph,
    what_if,
)
from sekimori.model import load_model_text

MODEL = """
version: 1
group: Typed answers
organisations:
  - {id: p, name: Parent, kind: parent, country: JP}
  - {id: c, name: Contractor, kind: contractor, country: JP}
realms:
  - {id: cnet, kind: ad_domain, name: C.EXAMPLE, owner: c, shared_by: [c]}
zones:
  - {id: cz, name: contractor, org: c}
  - {id: pz, name: parent, org: p}
hosts:
  - {org: c, zone: cz, name_pattern: '^c-'}
  - {org: p, zone: pz, name_pattern: '^p-'}
flows: [{id: f-rdp, from: cz, to: pz, ports: [3389], protocol: tcp}]
systems:
  - {id: crm, name: CRM, owner: p, zone: pz, hosts: [p-crm1], crown_jewel: true}
grants: [{id: g-rdp, org: c, systems: [crm], logon_types: [remote_interactive], owner: IT}]
data_stores:
  - {id: crm-db, name: CRM DB, system: crm, owner: p, kind: database,
     personal_data: [{category: user, items: [name], records: 300}]}
"""


def blast() -> BlastRadius:
    graph = build_graph(load_model_text(textwrap.dedent(MODEL), "typed.yaml"))
    return blast_radius(graph, "org:c")


def test_reached_systems_and_data_stores_are_typed() -> None:
    found = blast()
    assert found.systems == [ReachedSystem("crm", "CRM", "p", crown_jewel=True)]
    assert found.data_stores == [ReachedDataStore("crm-db", "CRM DB", "p", {"user": 300})]


def test_the_json_of_a_blast_radius_holds_plain_values() -> None:
    data = blast().to_dict()
    assert data["systems"] == [{"id": "crm", "name": "CRM", "owner": "p", "crown_jewel": True}]
    assert data["data_stores"] == [{"id": "crm-db", "name": "CRM DB", "owner": "p", "people": {"user": 300}}]
    json.dumps(data)  # serialisable as is


def test_what_if_and_summary_are_typed() -> None:
    graph = build_graph(load_model_text(textwrap.dedent(MODEL), "typed.yaml"))
    answer = what_if(graph, "org:c", ["block flow f-rdp"])
    assert answer.people_protected == 300 and answer.after.data_stores == []
    summary = graph.summary()
    assert isinstance(summary, GraphSummary)
    assert summary.to_dict()["nodes"] == summary.nodes > 0
    assert list(summary.to_dict()) == [
        "nodes",
        "edges",
        "node_kinds",
        "edge_kinds",
        "observed_not_allowed",
        "controls",
    ]
