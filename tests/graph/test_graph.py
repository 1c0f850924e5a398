"""The group graph: its semantics on small models written for each rule, and the demo's real logs."""

from __future__ import annotations

import textwrap
from typing import Any

import pyarrow as pa
import pytest

from sekimori.graph import (
    LOGON_SCHEMA,
    GraphError,
    attack_paths,
    blast_radius,
    build_graph,
    choke_points,
    graph_from_store,
    what_if,
)
from sekimori.graph.observed import observed_logons
from sekimori.model import load_model_text

BASE = """
version: 1
group: Test
organisations:
  - {id: p, name: Parent, kind: parent, country: JP}
  - {id: a, name: Affiliate, kind: affiliate, country: KR}
  - {id: c, name: Contractor, kind: contractor, country: KR}
realms:
  - {id: corp, kind: ad_domain, name: CORP.EXAMPLE, owner: p, shared_by: [p, a], systems: [dc]}
  - {id: cnet, kind: ad_domain, name: C.EXAMPLE, owner: c, shared_by: [c]}
accounts:
  - {org: c, realm: cnet, domain: C}
  - {org: a, realm: corp, domain: CORP, name_pattern: '^a-'}
  - {org: p, realm: corp, domain: CORP}
zones:
  - {id: pz, name: parent net, org: p}
  - {id: az, name: affiliate net, org: a}
  - {id: cz, name: contractor net, org: c}
hosts:
  - {org: c, zone: cz, name_pattern: '^c-'}
  - {org: a, zone: az, name_pattern: '^a-'}
  - {org: p, zone: pz, name_pattern: '^p-'}
systems:
  - {id: aops, name: Affiliate ops, owner: a, zone: az, hosts: ['a-ops1']}
  - {id: dc, name: Domain controller, owner: p, zone: pz, hosts: ['p-dc1'], crown_jewel: true}
  - {id: app, name: Parent app, owner: p, zone: pz, hosts: ['p-app*']}
data_stores:
  - id: users-db
    name: Users
    system: app
    owner: p
    kind: database
    personal_data:
      - {category: user, items: [name], records: 1000}
      - {category: user, items: [call_log], records: 40, secrecy_of_communications: true}
  - id: users-copy
    name: Users extract
    system: aops
    owner: a
    kind: database
    personal_data:
      - {category: user, items: [name], records: 300, population: users}
  - id: staff
    name: Staff directory
    system: dc
    owner: p
    kind: file_share
    personal_data:
      - {category: employee, items: [name], records: 50}
"""


def model(extra: str = "", base: str = BASE) -> Any:
    return load_model_text(textwrap.dedent(base) + textwrap.dedent(extra), "test.yaml")


def logons(*rows: dict[str, Any]) -> pa.Table:
    full = [{**{n: None for n in LOGON_SCHEMA.names}, "count": 1, **r} for r in rows]
    return pa.Table.from_pylist(full, schema=LOGON_SCHEMA)


CHAIN = """
flows:
  - {id: f-ca, from: cz, to: az, ports: [3389], protocol: tcp}
  - {id: f-ap, from: az, to: pz, ports: any, protocol: any}
grants:
  - {id: g-c, org: c, systems: [aops], logon_types: [remote_interactive], owner: IT}
  - {id: g-a, org: a, systems: [app], logon_types: [network], via_realm: corp, owner: IT}
contracts:
  - {id: k-ac, entrusting: a, entrusted: c, scope: support, start: 2020-01-01, systems: [aops]}
"""


def test_the_chain_contractor_affiliate_shared_realm_parent():
    graph = build_graph(model(CHAIN))
    blast = blast_radius(graph, "org:c")
    # contractor → (flow f-ca, grant g-c) affiliate ops host → affiliate credentials cached there →
    # (flow f-ap) grant g-a onto the parent app, and the shared realm onto the DC
    assert blast.crown_jewels == ["dc"]
    assert {d.id for d in blast.data_stores} == {"users-db", "users-copy", "staff"}
    assert blast.exposure.people == {"employee": 50, "user": 1000 + 300}
    assert blast.exposure.secrecy_of_communications == {"user": 40}
    paths = attack_paths(graph, "org:c", target="data_store:users-db")
    assert paths, "a path to the users database"
    best = paths[0]
    kinds = [h.kind for h in best.hops]
    # a network logon without admin rights is a session: the database's data, not its host
    assert "logon_session" in kinds and best.hops[-1].dst == "data_store:users-db"
    assert {"flow:f-ap", "grant:g-a"} <= set(best.controls)
    assert any("f-ap" in step for hop in best.hops for step in hop.network)


def test_flows_do_not_chain_without_a_host_in_between():
    # A flow c→a and a→p, but nothing lets the contractor hold a host in a: no route into p.
    extra = """
    flows:
      - {id: f-ca, from: cz, to: az, ports: any, protocol: any}
      - {id: f-ap, from: az, to: pz, ports: any, protocol: any}
    grants:
      - {id: g-cp, org: c, systems: [app], logon_types: [network], owner: IT}
    """
    graph = build_graph(model(extra))
    assert blast_radius(graph, "org:c").exposure.total == 0
    # With a direct flow, the granted logon works.
    direct_flow = "      - {id: f-cp, from: cz, to: pz, ports: any, protocol: any}\n    grants:"
    direct = build_graph(model(extra.replace("    grants:", direct_flow)))
    assert blast_radius(direct, "org:c").exposure.people == {"user": 1000}


def test_credentials_without_a_network_route_go_nowhere_and_add_flow_opens_it():
    extra = """
    grants:
      - {id: g-cp, org: c, systems: [app], logon_types: [network], owner: IT}
    """
    graph = build_graph(model(extra))
    assert blast_radius(graph, "org:c").exposure.total == 0
    result = what_if(graph, "org:c", ["add flow cz -> pz"])
    assert result.after.exposure.people == {"user": 1000} and result.people_protected == -1000


def test_population_counts_people_once_and_keeps_soc_apart():
    graph = build_graph(model(CHAIN))
    # the affiliate reaches everything: users-db (1000 users, 40 of them with SoC records), its own
    # extract (declared another population: 300 more people), staff (50)
    blast = blast_radius(graph, "org:a")
    assert blast.exposure.people == {"employee": 50, "user": 1300}
    assert blast.exposure.secrecy_of_communications == {"user": 40}
    assert blast.exposure.total == 1350
    # the extract declared as the users-db's population: its 300 are among the 1000
    same = model(CHAIN, base=BASE.replace("population: users", "population: users-db.user"))
    assert blast_radius(build_graph(same), "org:a").exposure.people == {"employee": 50, "user": 1000}
    # the parent has no flow into the affiliate's zone: the extract is out of its reach
    assert blast_radius(graph, "org:p").exposure.people == {"employee": 50, "user": 1000}


def test_separating_the_realm_and_blocking_the_affiliate_flows():
    graph = build_graph(model(CHAIN))
    realm_only = what_if(graph, "org:c", ["separate realm corp"])
    # the DC was reached through the shared realm only; the granted app stays reachable
    assert "dc" not in realm_only.after.crown_jewels
    assert realm_only.after.exposure.people.get("user") == 1300
    both = what_if(graph, "org:c", ["separate realm corp", "block flows a -> p"])
    # left: the affiliate's own extract, which the contractor's grant is for
    assert both.after.exposure.people == {"user": 300} and both.after.crown_jewels == []
    assert both.people_protected == both.before.exposure.total - 300
    ended = what_if(graph, "org:c", ["end contract k-ac"])
    assert ended.after.is_zero  # the contract's grant was the contractor's only way in


def test_choke_points_single_and_pair():
    graph = build_graph(model(CHAIN))
    report = choke_points(graph, "org:c")
    assert report.cut is not None and report.cut.cuts_off and len(report.cut.controls) == 1
    assert report.singles[0].people_protected == report.before.total
    cutting = {p.controls[0] for p in report.singles if p.cuts_off}
    assert cutting == {"flow:f-ca", "route:cz->az", "grant:g-c", "contract:k-ac"}
    # blocking the affiliate's flow protects the parent's people but not the affiliate's extract
    f_ap = next(p for p in report.singles if p.controls == ["flow:f-ap"])
    assert f_ap.people_protected == 1050 and f_ap.crown_jewels_cut == ["dc"] and not f_ap.cuts_off
    # two parallel flows from the affiliate, each carrying the logons (SMB, RDP): no single flow cuts it
    # off, the pair does (an HTTPS-only second flow would not: a logon needs a logon port)
    parallel = CHAIN.replace(
        "grants:", "  - {id: f-ap2, from: az, to: pz, ports: [445, 3389], protocol: tcp}\ngrants:"
    )
    # (the affiliate's extract moved to the parent's app, so that the affiliate host holds nothing itself)
    graph2 = build_graph(model(parallel, base=BASE.replace("system: aops", "system: app")))
    report2 = choke_points(graph2, "host:a-ops1", kinds=("flow",))
    assert report2.cut is not None and sorted(report2.cut.controls) == ["flow:f-ap", "flow:f-ap2"]
    assert what_if(graph2, "host:a-ops1", ["block flow f-ap", "block flow f-ap2"]).after.is_zero


def test_observed_logons_join_the_model_and_are_judged():
    rows = logons(
        # an affiliate account used from the contractor PC onto the affiliate host (no grant for a→aops)
        {
            "account": "corp\\a-op",
            "account_label": "CORP\\a-op",
            "account_org": "a",
            "account_realm": "corp",
            "src": "c-pc1",
            "src_org": "c",
            "src_zone": "cz",
            "dst": "a-ops1",
            "dst_org": "a",
            "dst_zone": "az",
            "logon_type": 10,
        },
        # a parent admin using RDP onto the affiliate ops host (crosses organisations through the realm)
        {
            "account": "corp\\padmin",
            "account_label": "CORP\\padmin",
            "account_org": "p",
            "account_realm": "corp",
            "src": "p-app1",
            "src_org": "p",
            "src_zone": "pz",
            "dst": "a-ops1",
            "dst_org": "a",
            "dst_zone": "az",
            "logon_type": 10,
        },
    )
    graph = build_graph(model(CHAIN), rows)
    summary = graph.summary()
    assert summary.node_kinds["account"] == 2
    assert summary.observed_not_allowed >= 1  # the parent admin onto the affiliate host
    # the admin's credentials are left on a-ops1 (RDP caches them): from the contractor PC the admin
    # account, and with it the parent's grants (none here) and the realm's admin rights are in reach
    from_pc = blast_radius(graph, "host:c-pc1")
    # c-pc1, a-ops1, then p-dc1 (through the realm); p-app1 is not held: the affiliate's network grant
    # without an admin right is a session (the users database), no control of the host (issue 10)
    assert from_pc.accounts == 2 and from_pc.hosts == 3
    assert "p" in from_pc.organisations
    # an observed route no flow allows is marked
    stray = logons(
        {
            "account": "c\\x",
            "account_org": "c",
            "account_realm": "cnet",
            "src": "c-pc1",
            "src_org": "c",
            "src_zone": "cz",
            "dst": "p-app1",
            "dst_org": "p",
            "dst_zone": "pz",
            "logon_type": 3,
        }
    )
    graph2 = build_graph(model(CHAIN), stray)
    assert "route:cz->pz" in graph2.controls
    blocked = what_if(graph2, "host:c-pc1", ["block flow cz -> pz"])
    assert blocked.before.exposure.people == {"employee": 50, "user": 1300}
    # the contractor's granted way into the affiliate (f-ca, g-c) and the affiliate's flow into the
    # parent still reach the parent app: blocking the stray route alone protects no one
    assert blocked.after.exposure == blocked.before.exposure and blocked.after.crown_jewels == ["dc"]
    # the route and the contract the contractor works in the affiliate under, together, cut it off
    both = what_if(graph2, "host:c-pc1", ["block flow cz -> pz", "end contract k-ac"])
    assert both.after.is_zero and both.people_protected == 1350


def test_errors_name_what_is_wrong():
    graph = build_graph(model(CHAIN))
    with pytest.raises(GraphError, match=r"unknown realm 'crop'.*corp"):
        what_if(graph, "org:c", ["separate realm crop"])
    with pytest.raises(GraphError, match="expected KIND:ID"):
        blast_radius(graph, "contractor")
    with pytest.raises(GraphError, match="unknown organisation"):
        blast_radius(graph, "org:nobody")
    with pytest.raises(GraphError, match="no host rule"):
        blast_radius(graph, "host:zz-unknown")
    with pytest.raises(GraphError, match="expected 'separate realm R'"):
        what_if(graph, "org:c", ["paint it black"])
    # a host the logs never showed, placed by the model's rules
    assert blast_radius(graph, "host:c-newpc").exposure == blast_radius(graph, "org:c").exposure


def test_the_demo_logs_make_the_seed_chain(tmp_path):
    from sekimori.demo import DEMO_ENTRY, DEMO_SEPARATION, build_demo_store, demo_model

    store, _ = build_demo_store(tmp_path / "store")
    group = demo_model()
    rows, hosts = observed_logons(store, group)
    seen = {(r["account"], r["src"], r["dst"]) for r in rows.to_pylist()}
    # from the real EVTX: admin01 from the contractor PC onto the affiliate PC; the parent's
    # administrator from the affiliate PC onto the domain controller
    assert ("example\\admin01", "pc02", "pc01") in seen
    assert ("example\\administrator", "pc01", "win-77ltaphiq1r") in seen
    assert {h["host"]: h["org"] for h in hosts.to_pylist()}["pc02"] == "contractor-kr"
    graph = graph_from_store(store, group)
    blast = blast_radius(graph, DEMO_ENTRY)
    # each demo store holds one population per category; its SoC records are among its users
    expected: dict[str, int] = {}
    for ds in group.data_stores:
        for pd in ds.personal_data:
            if not pd.secrecy_of_communications:
                expected[pd.category] = expected.get(pd.category, 0) + pd.records
    assert blast.exposure.people == dict(sorted(expected.items()))
    soc = [pd.records for ds in group.data_stores for pd in ds.personal_data if pd.secrecy_of_communications]
    assert blast.exposure.secrecy_of_communications == {"user": sum(soc)}
    assert set(blast.crown_jewels) == {s.id for s in group.systems if s.crown_jewel}
    assert what_if(graph, DEMO_ENTRY, list(DEMO_SEPARATION)).after.is_zero
    paths = attack_paths(graph, DEMO_ENTRY, k=5)
    assert len(paths) == 5 and all(p.hops[0].src == "host:pc02" for p in paths)
    assert [p.cost for p in paths] == sorted(p.cost for p in paths)


def test_the_graph_of_a_store_does_not_depend_on_the_order_of_its_files(tmp_path):
    """The same logs ingested in the opposite order give the same graph, node for node and in the same
    order (CI once saw two builds of one store list its hosts in different orders: the logons'
    aggregate was read in whatever order DuckDB's threads produced it)."""
    from sekimori.demo import demo_model
    from sekimori.demo.parts import demo_logs
    from sekimori.store import Store

    group = demo_model()
    files = list(demo_logs())
    forward, backward = Store(tmp_path / "forward"), Store(tmp_path / "backward")
    forward.ingest(files)
    backward.ingest(files[::-1])
    one, other = graph_from_store(forward, group), graph_from_store(backward, group)
    assert len(one.keys) > 30
    assert one.keys.to_pylist() == other.keys.to_pylist()
