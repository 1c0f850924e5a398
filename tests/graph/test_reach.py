"""The reachability engine against a plain-Python reading of its rules, on random graphs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sekimori.graph.reach import Engine


def reference(n: int, edges: list[tuple[int, int, int, bool]], starts: set[int]) -> tuple[set[int], set[int]]:
    """(reached, connectable) by the rules, one step at a time: walk non-network edges whose gate is
    connectable; a node reached is connectable, and so is the end of a network edge from a reached node."""
    reached = set(starts)
    while True:
        connectable = set(reached) | {d for s, d, _, net in edges if net and s in reached}
        grown = {d for s, d, g, net in edges if not net and s in reached and (g < 0 or g in connectable)}
        if grown <= reached:
            return reached, connectable
        reached |= grown


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, int, bool]], set[int]]:
    n = draw(st.integers(2, 14))
    node = st.integers(0, n - 1)
    edges = draw(
        st.lists(
            st.tuples(node, node, st.one_of(st.just(-1), node), st.booleans()).map(
                lambda e: (e[0], e[1], -1 if e[3] else e[2], e[3])  # network edges have no gate
            ),
            max_size=40,
        )
    )
    starts = draw(st.sets(node, min_size=1, max_size=3))
    return n, edges, starts


def _engine(n: int, edges: list[tuple[int, int, int, bool]]) -> Engine:
    cols = list(zip(*edges, strict=True)) if edges else [(), (), (), ()]
    return Engine(
        n,
        np.array(cols[0], np.int64),
        np.array(cols[1], np.int64),
        np.array(cols[2], np.int64),
        np.ones(len(edges), np.float32),
        np.array(cols[3], bool),
    )


@settings(max_examples=400, deadline=None)
@given(graphs())
def test_engine_reach_equals_the_rules(case):
    n, edges, starts = case
    result = _engine(n, edges).reach(np.array(sorted(starts)))
    # the engine sorts edges by source; compare sets of nodes
    reached, connectable = reference(n, edges, starts)
    assert set(np.flatnonzero(result.nodes)) == reached
    assert set(np.flatnonzero(result.connectable)) == connectable
    # the traversable edges: not network, from a reached node, gate open (caller's edge numbers)
    traversable = {
        i
        for i, (s, _, g, net) in enumerate(edges)
        if not net and s in reached and (g < 0 or g in connectable)
    }
    assert set(engine_edges_to_caller(result.engine, result.edges)) == traversable


@settings(max_examples=200, deadline=None)
@given(graphs(), st.data())
def test_removing_edges_never_grows_reach_and_restriction_is_exact(case, data):
    n, edges, starts = case
    engine = _engine(n, edges)
    full = engine.reach(np.array(sorted(starts)))
    off = data.draw(st.lists(st.booleans(), min_size=len(edges), max_size=len(edges)))
    enabled = ~np.array(off, bool)[engine.order] if edges else np.ones(0, bool)
    cut = engine.reach(np.array(sorted(starts)), enabled)
    assert not (cut.nodes & ~full.nodes).any()
    reached, connectable = reference(n, [e for e, o in zip(edges, off, strict=True) if not o], starts)
    assert set(np.flatnonzero(cut.nodes)) == reached
    traversable = {
        i
        for i, (s, _, g, net) in enumerate(edges)
        if not off[i] and not net and s in reached and (g < 0 or g in connectable)
    }
    assert set(engine_edges_to_caller(engine, cut.edges)) == traversable
    # the same question on the engine restricted to what the entry reaches gives the same answer
    sub, new_id = engine.restricted(full.nodes | full.connectable)
    sub_cut = sub.reach(new_id[np.array(sorted(starts))], _sub_mask(engine, sub, enabled))
    assert set(sub.node_ids[sub_cut.nodes]) == set(np.flatnonzero(cut.nodes))


def _sub_mask(engine: Engine, sub: Engine, enabled: np.ndarray) -> np.ndarray:
    # map the parent engine's per-edge mask (engine order) to the restricted engine's edges
    by_caller = np.empty(len(engine.edge_ids), bool)
    by_caller[engine.edge_ids] = enabled
    return by_caller[sub.edge_ids]


def engine_edges_to_caller(engine: Engine, mask: np.ndarray) -> list[int]:
    return [int(i) for i in engine.edge_ids[np.flatnonzero(mask)]]
