"""Attack paths: every step's prerequisites come before it and the cost is the steps' own, on a
hand-computed group and on random groups; the search against brute force on random small graphs."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sekimori.graph import attack_paths, build_graph
from sekimori.graph.derivation import Footholds
from sekimori.graph.group_graph import EDGE_KIND, GroupGraph
from sekimori.graph.paths import AttackPath
from sekimori.graph.reach import Engine
from sekimori.model import load_model_text
from tests.graph.groups import groups
from tests.graph.test_reach import reference

# The contractor's only connection into the parent's zone is the affiliate's flow: it must first take
# the affiliate host, through a third company. By hand, each step with its cost:
#   c's people hold credentials in cnet 0.5; c's hosts sit in cz 0; flow f-cx 0;
#   grant g-cx onto X (interactive) 1; X runs on x-1 0.5; x's credentials cached on x-1 2; x-1 is in
#   xz 0; flow f-xa 0; grant g-xa onto A (interactive) 1; A runs on a-1 0.5; a-1 is in az 0; flow f-ap 0;
#   grant g-ct: a session on T's database 1                                                 = 6.5
# Taking T first and then "being in" T's zone (through T's own host) is circular: it cost 2.
CIRCLE = """
version: 1
group: Circle
organisations:
  - {id: p, name: Parent, kind: parent, country: JP}
  - {id: a, name: Affiliate, kind: affiliate, country: JP}
  - {id: x, name: Other, kind: affiliate, country: JP}
  - {id: c, name: Contractor, kind: contractor, country: JP}
realms:
  - {id: pnet, kind: ad_domain, name: P, owner: p, shared_by: [p]}
  - {id: anet, kind: ad_domain, name: A, owner: a, shared_by: [a]}
  - {id: xnet, kind: ad_domain, name: X, owner: x, shared_by: [x]}
  - {id: cnet, kind: ad_domain, name: C, owner: c, shared_by: [c]}
accounts:
  - {org: p, realm: pnet, domain: P}
  - {org: a, realm: anet, domain: A}
  - {org: x, realm: xnet, domain: X}
  - {org: c, realm: cnet, domain: C}
zones:
  - {id: cz, name: contractor, org: c}
  - {id: xz, name: other, org: x}
  - {id: az, name: affiliate, org: a}
  - {id: pz, name: parent, org: p}
hosts:
  - {org: c, zone: cz, name_pattern: '^c-'}
  - {org: x, zone: xz, name_pattern: '^x-'}
  - {org: a, zone: az, name_pattern: '^a-'}
  - {org: p, zone: pz, name_pattern: '^p-'}
systems:
  - {id: sx, name: X, owner: x, zone: xz, hosts: [x-1]}
  - {id: sa, name: A, owner: a, zone: az, hosts: [a-1]}
  - {id: st, name: T, owner: p, zone: pz, hosts: [p-1]}
data_stores:
  - {id: users, name: Users, system: st, owner: p, kind: database,
     personal_data: [{category: user, items: [name], records: 1000}]}
flows:
  - {id: f-cx, from: cz, to: xz, ports: any, protocol: any}
  - {id: f-xa, from: xz, to: az, ports: any, protocol: any}
  - {id: f-ap, from: az, to: pz, ports: any, protocol: any}
grants:
  - {id: g-cx, org: c, systems: [sx], logon_types: [remote_interactive], owner: IT}
  - {id: g-xa, org: x, systems: [sa], logon_types: [remote_interactive], owner: IT}
  - {id: g-ct, org: c, systems: [st], logon_types: [network], owner: IT}
"""


def check_steps(graph: GroupGraph, starts: Sequence[str], path: AttackPath) -> None:
    """Every step of ``path``, in the order listed, is an edge of the graph taken from something held
    already; a gated step's zone is held, or a network step listed earlier leads to it from a zone held;
    the hops chain from the entry to the target; the cost is the steps' own, each once."""
    net_kinds = {EDGE_KIND["flow"], EDGE_KIND["observed_route"]}
    edges = {}
    for e in range(graph.num_edges):
        key = (graph.keys[int(graph.src[e])].as_py(), graph.keys[int(graph.dst[e])].as_py())
        gate = int(graph.gate[e])
        edges.setdefault(key, []).append(
            (int(graph.kind[e]), graph.keys[gate].as_py() if gate >= 0 else None, float(graph.cost[e]))
        )
    held = set(starts)
    connectable: set[str] = set()
    steps = path.steps()
    for step in steps:
        assert step.src in held, f"{step.text}: {step.src} not held before it"
        matches = [
            e for e in edges[(step.src, step.dst)] if e[0] == EDGE_KIND[step.kind] and e[1] == step.gate
        ]
        assert matches and step.cost == min(c for *_, c in matches)
        if EDGE_KIND[step.kind] in net_kinds:
            connectable.add(step.dst)
            continue
        if step.gate is not None:
            assert step.gate in held or step.gate in connectable, f"{step.text}: no way into {step.gate} yet"
        held.add(step.dst)
    assert all(not s.before for h in path.hops for s in h.before)  # listed flat, in order
    assert path.hops[0].src in starts and path.hops[-1].dst == path.target
    assert all(a.dst == b.src or b.src in starts for a, b in itertools.pairwise(path.hops))
    assert abs(path.cost - sum(s.cost for s in steps)) < 1e-9
    assert len({(s.src, s.dst, s.kind) for s in steps}) == len(steps)  # each step once


def test_a_hop_into_a_zone_is_justified_by_what_came_before_it():
    graph = build_graph(load_model_text(textwrap.dedent(CIRCLE), "circle.yaml"))
    best = attack_paths(graph, "org:c", target="data_store:users")[0]
    assert best.cost == 6.5  # (before: 2.0, by a hop into the parent's zone through T itself)
    check_steps(graph, ["organisation:c"], best)
    grant = next(h for h in best.hops if "g-ct" in h.text)
    # the hops: c's credentials, then the grant onto T's store; the way into T's network comes first
    assert best.hops[-1] is grant and grant.dst == "data_store:users"
    flows = [s.split(" allows")[0] for s in grant.network if s.startswith("flow")]
    assert flows == ["flow f-cx", "flow f-xa", "flow f-ap"]
    assert grant.network[-2] == "a-1 is in network zone affiliate"
    assert grant.before[-1].dst == grant.gate and grant.before[-1].src == "zone:az"
    assert "flow:f-ap" in best.controls and "grant:g-xa" in best.controls


@settings(max_examples=150, deadline=None)
@given(groups(), st.sampled_from(["org:c", "org:a"]))
def test_every_step_of_every_path_is_valid_on_random_groups(group, entry):
    graph = build_graph(group)
    starts = [graph.keys[n].as_py() for n in _entry_nodes(graph, entry)]
    for path in attack_paths(graph, entry, k=6):
        check_steps(graph, starts, path)


def _entry_nodes(graph: GroupGraph, spec: str) -> tuple[int, ...]:
    from sekimori.graph.entry import resolve_entry

    return resolve_entry(graph, spec).nodes


# --- the search against brute force, on random small graphs ---

# Engine edges as (src, dst, gate, network, cost); nodes 0..zones-1 are zones.
Edge = tuple[int, int, int, bool, float]


@st.composite
def footing_graphs(draw: st.DrawFn) -> tuple[int, int, list[Edge], set[int], int]:
    zones = draw(st.integers(1, 3))
    n = zones + draw(st.integers(2, 5))
    zone, other = st.integers(0, zones - 1), st.integers(zones, n - 1)
    place = st.tuples(other, zone).map(lambda e: (e[0], e[1], -1, False, 0.0))  # a host in its zone
    step = st.tuples(other, other, st.one_of(st.just(-1), zone), st.sampled_from([0.0, 0.5, 1.0, 2.0])).map(
        lambda e: (e[0], e[1], e[2], False, e[3])
    )
    flow = st.tuples(zone, zone).map(lambda e: (e[0], e[1], -1, True, 0.0))
    # (places weighed up: gated steps need a foothold to be usable)
    edges = draw(
        st.lists(st.one_of(place, place, step, step, step, flow), min_size=4, max_size=11, unique=True)
    )
    starts = draw(st.sets(other, min_size=1, max_size=2))
    target = draw(other)
    return n, zones, edges, starts, target


def _as_engine(n: int, edges: list[Edge]) -> Engine:
    cols = list(zip(*edges, strict=True)) if edges else [(), (), (), (), ()]
    return Engine(
        n,
        np.array(cols[0], np.int64),
        np.array(cols[1], np.int64),
        np.array(cols[2], np.int64),
        np.array(cols[4], np.float64),
        np.array(cols[3], bool),
    )


def cheapest_set(n: int, edges: list[Edge], starts: set[int], target: int) -> float:
    """The cheapest set of steps that, taken in some order by the rules, reaches ``target``."""
    best = np.inf
    for mask in range(1 << len(edges)):
        chosen = [e for i, e in enumerate(edges) if mask >> i & 1]
        cost = sum(e[4] for e in chosen)
        if cost < best and target in reference(n, [e[:4] for e in chosen], starts)[0]:
            best = cost
    return float(best)


def cheapest_foothold_chain(n: int, zones: int, edges: list[Edge], starts: set[int], target: int) -> float:
    """The cheapest simple chain of steps from a start to ``target`` where every gated step connects
    from the zone of the last node on the chain that has a place (a zone it is in): that zone itself,
    or a network edge from it."""
    places: dict[int, set[int]] = {}
    for s, d, g, net, _ in edges:
        if not net and g < 0 and d < zones <= s:
            places.setdefault(s, set()).add(d)
    place = {s: next(iter(z)) for s, z in places.items() if len(z) == 1}
    opens = {(s, d) for s, d, _, net, _ in edges if net} | {(z, z) for z in range(zones)}
    best = np.inf

    def walk(node: int, foothold: int | None, seen: set[int], cost: float) -> None:
        nonlocal best
        if node == target:
            best = min(best, cost)
            return
        for s, d, g, net, c in edges:
            if s != node or net or d in seen:
                continue
            if g >= 0 and (foothold is None or (foothold, g) not in opens):
                continue
            walk(d, d if d < zones else place.get(d, foothold), seen | {d}, cost + c)

    for start in starts:
        walk(start, start if start < zones else place.get(start), {start}, 0.0)
    return float(best)


@settings(max_examples=300, deadline=None)
@given(footing_graphs())
def test_the_search_is_never_cheaper_than_any_way_and_never_dearer_than_a_foothold_chain(case):
    n, zones, edges, starts, target = case
    eng = _as_engine(n, edges)
    step_cost = np.array([e[4] for e in edges])[eng.order]
    found = Footholds(eng, np.array(sorted(starts)), np.ones(len(edges), bool), step_cost)
    derivation = found.derivation(target)
    truth = cheapest_set(n, edges, starts, target)
    if derivation is None:
        assert truth == np.inf or target in starts
        return
    # the steps in the order listed, by the rules
    held, connectable = set(starts), set()
    taken = [e for pre, hop in zip(derivation.before, derivation.chain, strict=True) for e in (*pre, hop)]
    for e in taken:
        s, d, g = int(eng.src[e]), int(eng.dst[e]), int(eng.gate[e])
        assert s in held
        if eng.net[e]:
            connectable.add(d)
            continue
        assert g < 0 or g in held or g in connectable
        held.add(d)
    assert target in held and len(set(taken)) == len(taken)
    assert abs(derivation.cost - sum(step_cost[e] for e in taken)) < 1e-9
    assert derivation.cost >= truth - 1e-9  # the steps listed are a way: never below the cheapest
    assert derivation.cost <= cheapest_foothold_chain(n, zones, edges, starts, target) + 1e-9


@settings(max_examples=300, deadline=None)
@given(footing_graphs())
def test_carriers_share_a_foothold_exactly_when_they_open_the_same_gates(case):
    n, _, edges, starts, _ = case
    eng = _as_engine(n, edges)
    step_cost = np.array([e[4] for e in edges])[eng.order]
    found = Footholds(eng, np.array(sorted(starts)), np.ones(len(edges), bool), step_cost)
    # By the docstring's words: a gate is opened by itself or by the source of a network edge into it; a
    # node stands in itself (an opener) and in the openers it steps to ungated, for free, off the network.
    gates = {g for _, _, g, net, _ in edges if not net and g >= 0}
    openers = gates | {s for s, d, _, net, _ in edges if net and d in gates}
    places: dict[int, set[int]] = {v: {v} for v in openers}
    for s, d, g, net, cost in edges:
        if not net and g < 0 and cost == 0 and d in openers:
            places.setdefault(s, set()).add(d)
    opened = {
        v: {z for z in zs if z in gates} | {d for s, d, _, net, _ in edges if net and s in zs and d in gates}
        for v, zs in places.items()
    }
    assert set(np.flatnonzero(found.foothold >= 0).tolist()) == set(opened)
    for v, w in itertools.combinations(opened, 2):
        assert (found.foothold[v] == found.foothold[w]) == (opened[v] == opened[w])
    codes = {int(found.foothold[v]) * found.g_count + int(found.gidx[g]) for v in opened for g in opened[v]}
    assert set(found.open_codes.tolist()) == codes
