"""Choke points: the fewest controls that cut an entry off, against brute force over every set of
controls, on a hand-computed group and on random ones; and the words the CLI prints for them."""

from __future__ import annotations

import io
import itertools
import textwrap

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from sekimori.cli.paths import print_choke
from sekimori.graph import build_graph, choke_points, what_if
from sekimori.graph.blast import enabled_edges, engine, exposure
from sekimori.graph.cut import CutProgram, minimum_cuts
from sekimori.graph.entry import resolve_entry
from sekimori.graph.group_graph import GroupGraph
from sekimori.model import load_model_text
from tests.graph.groups import groups
from tests.graph.test_reach import _engine, reference

# Two redundant jump hosts: the contractor reaches each through its own flow and grant; from either,
# the affiliate's cached credentials and its grants reach three parent stores, each through its own
# grant. By hand: no control alone cuts the contractor off; the fewest are one of each jump host's
# three controls (its flow, the route of the flow, its grant): 3 × 3 = 9 cuts of two. The three target
# grants also cut it off, with three controls; they are the controls that protect people alone.
JUMP = """
version: 1
group: Jump
organisations:
  - {id: p, name: Parent, kind: parent, country: JP}
  - {id: a, name: Affiliate, kind: affiliate, country: JP}
  - {id: c, name: Contractor, kind: contractor, country: JP}
realms:
  - {id: pnet, kind: ad_domain, name: P, owner: p, shared_by: [p]}
  - {id: anet, kind: ad_domain, name: A, owner: a, shared_by: [a]}
  - {id: cnet, kind: ad_domain, name: C, owner: c, shared_by: [c]}
accounts:
  - {org: p, realm: pnet, domain: P}
  - {org: a, realm: anet, domain: A}
  - {org: c, realm: cnet, domain: C}
zones:
  - {id: cz, name: contractor, org: c}
  - {id: j1z, name: jump 1, org: a}
  - {id: j2z, name: jump 2, org: a}
  - {id: p1z, name: parent 1, org: p}
  - {id: p2z, name: parent 2, org: p}
  - {id: p3z, name: parent 3, org: p}
hosts:
  - {org: c, zone: cz, name_pattern: '^c-'}
  - {org: a, zone: j1z, name_pattern: '^j1-'}
  - {org: a, zone: j2z, name_pattern: '^j2-'}
  - {org: p, zone: p1z, name_pattern: '^p1-'}
  - {org: p, zone: p2z, name_pattern: '^p2-'}
  - {org: p, zone: p3z, name_pattern: '^p3-'}
systems:
  - {id: jump1, name: Jump host 1, owner: a, zone: j1z, hosts: [j1-host]}
  - {id: jump2, name: Jump host 2, owner: a, zone: j2z, hosts: [j2-host]}
  - {id: t1, name: Target 1, owner: p, zone: p1z, hosts: [p1-app]}
  - {id: t2, name: Target 2, owner: p, zone: p2z, hosts: [p2-app]}
  - {id: t3, name: Target 3, owner: p, zone: p3z, hosts: [p3-app]}
data_stores:
  - {id: d1, name: Store 1, system: t1, owner: p, kind: database,
     personal_data: [{category: user, items: [name], records: 3000}]}
  - {id: d2, name: Store 2, system: t2, owner: p, kind: database,
     personal_data: [{category: user, items: [name], records: 2000}]}
  - {id: d3, name: Store 3, system: t3, owner: p, kind: database,
     personal_data: [{category: user, items: [name], records: 1000}]}
flows:
  - {id: f-j1, from: cz, to: j1z, ports: [22], protocol: tcp}
  - {id: f-j2, from: cz, to: j2z, ports: [22], protocol: tcp}
  - {id: f-1a, from: j1z, to: p1z, ports: any, protocol: any}
  - {id: f-1b, from: j2z, to: p1z, ports: any, protocol: any}
  - {id: f-2a, from: j1z, to: p2z, ports: any, protocol: any}
  - {id: f-2b, from: j2z, to: p2z, ports: any, protocol: any}
  - {id: f-3a, from: j1z, to: p3z, ports: any, protocol: any}
  - {id: f-3b, from: j2z, to: p3z, ports: any, protocol: any}
grants:
  - {id: g-j1, org: c, systems: [jump1], logon_types: [remote_interactive], owner: IT}
  - {id: g-j2, org: c, systems: [jump2], logon_types: [remote_interactive], owner: IT}
  - {id: g-t1, org: a, systems: [t1], logon_types: [network], owner: IT}
  - {id: g-t2, org: a, systems: [t2], logon_types: [network], owner: IT}
  - {id: g-t3, org: a, systems: [t3], logon_types: [network], owner: IT}
"""


def test_two_redundant_jump_hosts_are_cut_with_two_controls_proved_the_fewest():
    graph = build_graph(load_model_text(textwrap.dedent(JUMP), "jump.yaml"))
    report = choke_points(graph, "org:c")
    assert report.before.total == 6000
    assert not any(p.cuts_off for p in report.singles)
    # (before: the greedy fallback's three target grants)
    assert report.cut is not None and len(report.cut.controls) == 2
    assert report.status == "minimal"
    jump1 = {"flow:f-j1", "route:cz->j1z", "grant:g-j1"}
    jump2 = {"flow:f-j2", "route:cz->j2z", "grant:g-j2"}
    expected = {frozenset({x, y}) for x in jump1 for y in jump2}
    listed = [report.cut, *report.alternatives]
    assert {frozenset(p.controls) for p in listed} == expected and len(listed) == 9 and report.complete
    assert all(p.cuts_off and p.people_protected == 6000 for p in listed)
    for p in listed:
        assert what_if(graph, "org:c", p.controls).after.is_zero
    # the three target grants cut it off too, but with one control more
    assert what_if(
        graph, "org:c", ["remove grant g-t1", "remove grant g-t2", "remove grant g-t3"]
    ).after.is_zero


# --- against brute force ---


def people_left(graph: GroupGraph, spec: str, removed: tuple[str, ...]) -> tuple[int, int]:
    """(people exposed, crown jewels reached) from the entry with ``removed`` controls removed."""
    entry = resolve_entry(graph, spec)
    eng = engine(graph)
    jewels = np.array([graph.index(f"system:{s.id}") for s in graph.model.systems if s.crown_jewel], int)
    on = enabled_edges(graph, removed)
    reached = eng.reach(np.array(entry.nodes), on[eng.edge_ids])
    mask = np.zeros(graph.num_nodes, bool)
    mask[eng.node_ids[reached.nodes]] = True
    return exposure(graph, mask).total, int(mask[jewels].sum())


def brute_force_cuts(graph: GroupGraph, spec: str) -> tuple[int | None, set[frozenset[str]]]:
    """(the fewest controls that leave the entry no personal data and no crown jewel, every set of that
    size), trying every set of controls by size; (None, ∅) when not even all of them do."""
    entry = resolve_entry(graph, spec)
    eng = engine(graph)

    def cuts(removed: tuple[str, ...]) -> bool:
        return people_left(graph, spec, removed) == (0, 0)

    # Only controls on edges from a node the entry reaches can matter.
    full = eng.reach(np.array(entry.nodes))
    mask = np.zeros(graph.num_nodes, bool)
    mask[eng.node_ids[full.nodes]] = True
    used = {
        graph.controls[c]
        for e in np.flatnonzero(mask[graph.src])
        for c in (int(graph.control1[e]), int(graph.control2[e]))
        if c >= 0
    }
    pool = sorted(used)
    if not cuts(tuple(pool)):
        return None, set()
    for size in range(len(pool) + 1):
        found = {frozenset(combo) for combo in itertools.combinations(pool, size) if cuts(combo)}
        if found:
            return size, found
    raise AssertionError("unreachable")


@settings(max_examples=120, deadline=None)
@given(groups())
def test_choke_points_equal_brute_force_on_random_groups(group):
    graph = build_graph(group)
    report = choke_points(graph, "org:c", top=100)  # up to 10 cuts of the fewest controls
    size, optimal = brute_force_cuts(graph, "org:c")
    # each control alone: the people it protects, as the graph says (the program is reduced)
    for p in report.singles:
        left, jewels = people_left(graph, "org:c", tuple(p.controls))
        assert p.people_protected == report.before.total - left
        assert len(p.crown_jewels_cut) == len(report.crown_jewels) - jewels
    if size is None or size == 0:
        assert report.cut is None
        assert report.status == ("impossible" if size is None else "nothing to cut")
        return
    assert report.cut is not None and len(report.cut.controls) == size
    assert report.status == "minimal"
    listed = [report.cut, *report.alternatives]
    assert all(len(p.controls) == size and p.cuts_off for p in listed)
    if len(optimal) <= 10:
        assert {frozenset(p.controls) for p in listed} == optimal and report.complete
    else:
        assert {frozenset(p.controls) for p in listed} <= optimal and len(listed) == 10
        assert not report.complete


@st.composite
def controlled_graphs(
    draw: st.DrawFn,
) -> tuple[int, list[tuple[int, int, int, bool]], list[tuple[int, int]], set[int], set[int], int]:
    """A random engine graph (as in test_reach) whose edges carry up to two of ``m`` controls, with
    starts and targets."""
    n = draw(st.integers(2, 10))
    node = st.integers(0, n - 1)
    edges = draw(
        st.lists(
            st.tuples(node, node, st.one_of(st.just(-1), node), st.booleans()).map(
                lambda e: (e[0], e[1], -1 if e[3] else e[2], e[3])
            ),
            max_size=24,
        )
    )
    m = draw(st.integers(1, 6))
    control = st.one_of(st.just(-1), st.integers(0, m - 1))
    controls = draw(st.lists(st.tuples(control, control), min_size=len(edges), max_size=len(edges)))
    starts = draw(st.sets(node, min_size=1, max_size=2))
    targets = draw(st.sets(node, min_size=1, max_size=3))
    return n, edges, controls, starts, targets, m


@settings(max_examples=300, deadline=None)
@given(controlled_graphs())
def test_integer_program_equals_brute_force_over_control_sets(case):
    n, edges, controls, starts, targets, m = case

    def cuts(removed: set[int]) -> bool:
        kept = [e for e, cs in zip(edges, controls, strict=True) if not (set(cs) & removed)]
        reached, _ = reference(n, kept, starts)
        return not (reached & targets)

    optimal: set[tuple[int, ...]] = set()
    for size in range(m + 1):
        optimal = {c for c in itertools.combinations(range(m), size) if cuts(set(c))}
        if optimal:
            break
    eng = _engine(n, edges)
    columns = np.array(controls, np.int64).reshape(-1, 2)[eng.order]
    found = minimum_cuts(eng, np.array(sorted(starts)), np.array(sorted(targets)), columns, m, limit=5)
    if not optimal:
        assert found.status == "impossible" and not found.solutions
        return
    assert found.status == "minimal"
    assert {len(s) for s in found.solutions} == {len(next(iter(optimal)))}
    assert set(found.solutions) <= optimal and len(set(found.solutions)) == len(found.solutions)
    assert len(found.solutions) == min(len(optimal), 5)
    assert found.complete == (len(optimal) < 5)  # the bound reached: maybe more


@settings(max_examples=300, deadline=None)
@given(controlled_graphs())
def test_controls_removed_alone_or_together_leave_the_targets_the_rules_reach(case):
    n, edges, controls, starts, targets, m = case
    eng = _engine(n, edges)
    columns = np.array(controls, np.int64).reshape(-1, 2)[eng.order]
    ordered = np.array(sorted(targets))
    program = CutProgram(eng, np.array(sorted(starts)), ordered, columns, m)
    alone = program.reached_without_each()
    for c in range(m):
        kept = [e for e, cs in zip(edges, controls, strict=True) if c not in cs]
        reached, _ = reference(n, kept, starts)
        assert alone[c].tolist() == [int(t) in reached for t in ordered]
    # and sets of controls removed together (how the cuts found are checked)
    sets = [(), *itertools.combinations(range(m), 2)]
    together = program.reached_without_each(sets)
    for s, row in zip(sets, together, strict=True):
        kept = [e for e, cs in zip(edges, controls, strict=True) if not set(cs) & set(s)]
        reached, _ = reference(n, kept, starts)
        assert row.tolist() == [int(t) in reached for t in ordered]


# --- what the CLI says ---


def test_the_fewest_is_said_only_when_proved():
    graph = build_graph(load_model_text(textwrap.dedent(JUMP), "jump.yaml"))
    report = choke_points(graph, "org:c")

    def printed(r) -> str:
        out = io.StringIO()
        print_choke(Console(file=out, width=200), r)
        return " ".join(out.getvalue().split())

    text = printed(report)
    assert "fewest controls that cut it off:" in text and "minimal" in text
    assert "other cuts of the same size, by people protected:" in text
    report.status, report.method = "found", "not proved the fewest: the solver's limit was hit first"
    text = printed(report)
    assert "fewest" not in text.replace("not proved the fewest", "")
    assert "controls that cut it off:" in text and "found" in text
