"""Reachability and cheapest paths over the graph's edge columns, in compiled code (scipy.sparse.csgraph).

Zone nodes stand for a *presence* in a zone (the attacker holds a host there). Network edges (flows,
observed routes) are not traversed: a flow from zone A to zone B lets a host in A connect to B, it does
not put the attacker in B, so flows do not chain. A zone is *connectable* when the attacker is present in
it or a network edge leads to it from a zone where it is present.

A gated edge (a logon onto a system, which needs the credentials *and* a network route to the system's
zone) is usable only once its gate zone is connectable. Reachability is therefore a fixed point: traverse
the ungated edges and the gated edges whose zone is connectable, work out the zones now connectable, and
again until no new one is (at most one round per zone; two or three in practice). Each round is one
breadth-first search over a CSR matrix built from the enabled edges with numpy masks.

An :class:`Engine` keeps the edges sorted by source once, so that building the CSR matrix for any mask
is a filter and a cumulative sum. :meth:`Engine.restricted` gives a smaller engine over the nodes one
entry reaches: removing controls only shrinks what is reached, so the what-ifs and choke points of that
entry are exact on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

# Structural steps cost 0 in the model; the shortest-path search needs a positive weight.
_EPSILON = 1e-3


@dataclass
class Reached:
    nodes: np.ndarray  # bool per node of the engine
    edges: np.ndarray  # bool per edge of the engine: traversable (enabled, from a reached node, gate open)
    connectable: np.ndarray  # bool per node: zones the attacker can open connections to
    network: np.ndarray  # bool per edge: enabled network edges from a zone the attacker is present in
    rounds: int


class Engine:
    """Traversals over (src, dst, gate, cost) edge arrays of ``n`` nodes."""

    def __init__(
        self,
        n: int,
        src: np.ndarray,
        dst: np.ndarray,
        gate: np.ndarray,
        cost: np.ndarray,
        net: np.ndarray,
        node_ids: np.ndarray | None = None,
        edge_ids: np.ndarray | None = None,
    ) -> None:
        self.n = n
        # Sorted by source, then target: a CSR matrix cut from these arrays has sorted indices already.
        order = np.lexsort((dst, src))
        self.order = order  # engine edge i is caller edge order[i] (before edge_ids)
        self.src = src[order].astype(np.int32)
        self.dst = dst[order].astype(np.int32)
        self.gate = gate[order].astype(np.int32)
        self.cost = cost[order].astype(np.float64) + _EPSILON
        self.net = net[order].astype(bool)  # network edges: open gates, are not traversed
        self.net_edges = np.flatnonzero(self.net)  # few (zone to zone): work on their indices
        self.gated_edges = np.flatnonzero(self.gate >= 0)
        # The caller's node and edge numbers (a restricted engine renumbers both).
        self.node_ids = np.arange(n) if node_ids is None else node_ids
        self.edge_ids = order if edge_ids is None else edge_ids[order]

    def _csr(self, mask: np.ndarray, starts: np.ndarray, weights: bool = False) -> sp.csr_matrix:
        # Row n is a virtual source with an edge to every start node.
        src, dst = self.src[mask], self.dst[mask]
        cost = self.cost[mask] if weights else None
        if cost is not None and len(src):
            # Parallel edges (one per logon type…): keep the cheapest, as scipy would sum duplicates.
            first = np.ones(len(src), bool)
            first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
            starts_of_groups = np.flatnonzero(first)
            cost = np.minimum.reduceat(cost, starts_of_groups)
            src, dst = src[starts_of_groups], dst[starts_of_groups]
        counts = np.bincount(src, minlength=self.n)
        indptr = np.zeros(self.n + 2, np.int64)
        np.cumsum(counts, out=indptr[1 : self.n + 1])
        indptr[-1] = indptr[-2] + len(starts)
        indices = np.concatenate([dst, starts.astype(np.int32)])
        # float64 data: what csgraph works in, so that its validation does not convert a copy
        data = (
            np.concatenate([cost, np.full(len(starts), _EPSILON)])
            if cost is not None
            else np.ones(len(indices), np.float64)
        )
        matrix = sp.csr_matrix((data, indices, indptr), shape=(self.n + 1, self.n + 1), copy=False)
        # Rows are sorted by construction (and, with weights, without duplicates): spare scipy the
        # check, the sort and the summing of duplicates (which BFS does not care about).
        matrix.has_sorted_indices = True
        matrix.has_canonical_format = True
        return matrix

    def reach(self, starts: np.ndarray, enabled: np.ndarray | None = None) -> Reached:
        """What ``starts`` (engine node numbers) reach through the ``enabled`` edges (engine order)."""
        on = np.ones(len(self.src), bool) if enabled is None else enabled
        walk = on & ~self.net
        net_edges = self.net_edges[on[self.net_edges]]
        gated = self.gated_edges[walk[self.gated_edges]]  # usable once their zone is connectable
        gated_open = np.zeros(len(gated), bool)
        open_edges = walk.copy()
        open_edges[gated] = False
        reached = np.zeros(self.n, bool)
        connectable = np.zeros(self.n, bool)
        frontier = np.unique(starts)
        rounds = 0
        # Each round searches only from what the last round opened, over edges into nodes not reached
        # yet: reach is monotone, so the nodes already reached are closed under the open edges.
        while len(frontier):
            rounds += 1
            mask = open_edges & ~reached[self.dst]
            order = csgraph.breadth_first_order(self._csr(mask, frontier), self.n, return_predecessors=False)
            reached[order[order < self.n]] = True
            connectable = reached.copy()  # present in a zone: can connect to it; and along its network edges
            connectable[self.dst[net_edges[reached[self.src[net_edges]]]]] = True
            opening = ~gated_open & connectable[self.gate[gated]]
            gated_open |= opening
            opened = gated[opening]
            open_edges[opened] = True
            fresh = opened[reached[self.src[opened]] & ~reached[self.dst[opened]]]
            frontier = np.unique(self.dst[fresh])
        network = np.zeros(len(self.src), bool)
        network[net_edges[reached[self.src[net_edges]]]] = True
        return Reached(
            nodes=reached,
            edges=open_edges & reached[self.src],
            connectable=connectable,
            network=network,
            rounds=rounds,
        )

    def cheapest(self, starts: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance, predecessor) of every node from ``starts`` over the ``mask`` edges (Dijkstra).
        A predecessor of ``n`` means a start node; -9999 means unreached."""
        csr = self._csr(mask, np.unique(starts), weights=True)
        dist, pred = csgraph.dijkstra(csr, directed=True, indices=self.n, return_predecessors=True)
        return dist[: self.n], pred[: self.n]

    def hop_edge(self, u: int, v: int, mask: np.ndarray) -> int:
        """The cheapest enabled engine edge u → v."""
        lo, hi = np.searchsorted(self.src, [u, u + 1])
        candidates = np.arange(lo, hi)[(self.dst[lo:hi] == v) & mask[lo:hi]]
        return int(candidates[np.argmin(self.cost[candidates])])

    def path(self, pred: np.ndarray, target: int, mask: np.ndarray) -> list[int]:
        """The engine edges of the cheapest path to ``target`` (empty when it is a start)."""
        hops: list[int] = []
        v = target
        while pred[v] >= 0 and pred[v] != self.n:
            u = int(pred[v])
            hops.append(self.hop_edge(u, v, mask))
            v = u
        return hops[::-1]

    def restricted(self, keep_nodes: np.ndarray) -> tuple[Engine, np.ndarray]:
        """An engine over ``keep_nodes`` (bool) and the edges between them, and the old → new node map
        (-1 for dropped nodes)."""
        new_id = np.full(self.n, -1, np.int64)
        kept = np.flatnonzero(keep_nodes)
        new_id[kept] = np.arange(len(kept))
        edge_keep = keep_nodes[self.src] & keep_nodes[self.dst]
        gate = self.gate[edge_keep]
        gate_new = np.where(gate >= 0, new_id[np.maximum(gate, 0)], -1)
        # A gate outside the kept nodes was never reached: the edge can never be used.
        usable = ~((gate >= 0) & (gate_new < 0))
        sel = np.flatnonzero(edge_keep)[usable]
        engine = Engine(
            len(kept),
            new_id[self.src[sel]],
            new_id[self.dst[sel]],
            gate_new[usable],
            self.cost[sel] - _EPSILON,
            self.net[sel],
            node_ids=self.node_ids[kept],
            edge_ids=self.edge_ids[sel],
        )
        return engine, new_id
