"""Cheapest honest derivations over the engine's edges: every step's prerequisites come before it.

A gated step (a logon onto a system, say) needs its gate open: the attacker holds the gate node, or a
node a network edge (a flow) leads to it from (see :mod:`sekimori.graph.reach`). Searching paths as if
every gate the fixed point opens were open from the start lets a step be justified by a host reached
only after it, at a cost below any real path. Here the search runs over *states* (node, foothold): the
foothold is the last node on the way that opens gates (a host, or a zone), together with what it
stands in at no cost (a host's zone), the place the attacker connects from. A gated step its foothold
opens costs its own cost; one it does not pays, on top, for the cheapest node that opens the gate (a
*side* derivation, explained the same way). Footholds that open the same gates are one foothold.

Side costs are found in rounds, each one compiled Dijkstra over the states (Knuth's generalisation of
Dijkstra to costs that depend on other costs): round 1 prices the steps that need a side derivation at
infinity; every round then prices each gate at the cheapest opener the last round found, until no price
falls. A step is priced above the opener that justifies it (every search cost is positive), so a
justification is always strictly cheaper than what it justifies: nothing is justified by what comes
after it, and a gate's price is final after at most one round per gate.

An explanation lists the main chain and, before each gated step, the steps it needs that are not listed
yet (the side derivation, the step to the zone a host stands in, the flow), each once. Its cost is the
sum of the listed steps' model costs, each once: what the attacker pays. It is never below the cheapest
set of steps that reaches the target (the explanation is such a set), and never above the cheapest
chain that moves from foothold to foothold (the search finds that chain); a side derivation may repeat
steps of the main chain, which the search prices twice and the explanation counts once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from sekimori.graph.reach import Engine, distinct


@dataclass
class Derivation:
    """How the attacker gets ``target`` (engine numbers): the main chain, and the steps each chain step
    needs listed just before it (side derivations, a host's zone, network edges)."""

    target: int
    chain: list[int]  # engine edges from a start to the target
    before: list[list[int]]  # per chain edge: engine edges taken just before it, none listed twice
    cost: float  # the model cost of every step listed, each once


def _out(indptr: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the out-edges of ``nodes`` in a CSR edge list, the index in ``nodes`` of each)."""
    lo, hi = indptr[nodes], indptr[nodes + 1]
    counts = hi - lo
    rep = np.repeat(np.arange(len(nodes)), counts)
    first = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return first + np.arange(int(counts.sum())), rep


def _first_of_groups(*keys: np.ndarray) -> np.ndarray:
    """Mask of the first row of each run of equal ``keys`` (rows sorted by them)."""
    first = np.ones(len(keys[0]), bool)
    if len(first) > 1:
        first[1:] = np.logical_or.reduce([k[1:] != k[:-1] for k in keys])
    return first


def _place_sets(nodes: np.ndarray, places: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(carriers, the number of each one's set of places, the distinct sets as rows padded with -1),
    from (carrier, place) pairs sorted by carrier."""
    first = _first_of_groups(nodes) if len(nodes) else np.zeros(0, bool)
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    width = int(np.diff(np.append(starts, len(nodes))).max(initial=1))
    rows = np.full((len(starts), width), -1, np.int64)
    rows[group, np.arange(len(nodes)) - starts[group]] = places
    sets, set_of = np.unique(rows, axis=0, return_inverse=True)
    return nodes[starts], set_of.ravel(), sets.reshape(-1, width)


class Footholds:
    """Cheapest derivations from ``starts`` over the ``on`` edges of ``eng`` (engine order);
    ``step_cost`` is each engine edge's model cost (what an explanation's cost sums)."""

    def __init__(self, eng: Engine, starts: np.ndarray, on: np.ndarray, step_cost: np.ndarray) -> None:
        self.eng, self.step_cost = eng, step_cost
        n = eng.n
        self.starts = np.unique(np.asarray(starts, np.int64))
        walk = np.flatnonzero(eng.reach(self.starts, on).edges)  # steps the fixed point can take
        # Gates, and what opens each: the gate node itself, or the source of an enabled network edge.
        gated = eng.gate >= 0
        gates = distinct(eng.gate[gated & on])
        gidx = np.full(n, -1, np.int64)
        gidx[gates] = np.arange(len(gates))
        net = np.flatnonzero(on & eng.net)
        net = net[gidx[eng.dst[net]] >= 0]
        net = net[np.lexsort((step_cost[net], eng.dst[net], eng.src[net]))]
        opener = np.zeros(n, bool)
        opener[gates] = True
        opener[eng.src[net]] = True
        # What holding a node opens through at no cost (a host: its zone): its places.
        place = np.flatnonzero(on & ~eng.net & ~gated & opener[eng.dst] & (step_cost == 0))
        place = place[np.lexsort((eng.dst[place], eng.src[place]))]
        place = place[_first_of_groups(eng.src[place], eng.dst[place])]
        carried_v = np.concatenate([np.flatnonzero(opener), eng.src[place]])
        carried_z = np.concatenate([np.flatnonzero(opener), eng.dst[place]])
        carried_e = np.concatenate([np.full(int(opener.sum()), -1), place])  # the step there (-1: itself)
        order = np.lexsort((carried_z, carried_v))
        self.carried_v, self.carried_z, self.carried_e = carried_v[order], carried_z[order], carried_e[order]
        # The gates each opener opens directly (itself, or along its network edges).
        open_src = np.concatenate([gates, eng.src[net]])
        open_g = np.concatenate([np.arange(len(gates)), gidx[eng.dst[net]]])
        by_src = np.argsort(open_src, kind="stable")
        open_src, open_g = open_src[by_src], open_g[by_src]
        src_ptr = np.searchsorted(open_src, np.arange(n + 1))
        # Carriers with the same places (the hosts of a zone: the zone) open the same gates: the pairs
        # are worked out once per set of places (per carrier, they were 10^7 at twice the benchmark).
        carriers, set_of, place_set = _place_sets(self.carried_v, self.carried_z)
        flat = np.flatnonzero(place_set.ravel() >= 0)
        at, rep = _out(src_ptr, place_set.ravel()[flat])
        g_count = max(len(gates), 1)
        pairs = distinct(flat[rep] // place_set.shape[1] * g_count + open_g[at])
        pair_s, pair_g = pairs // g_count, pairs % g_count
        # A foothold is what it opens: carriers that open the same gates share one (a random 64-bit
        # value per gate, XORed: a collision between two sets has odds of 2^-64; seeded: deterministic).
        salt = np.random.default_rng(0).integers(1, 2**63, len(gates) + 1, dtype=np.int64)
        set_signature = np.zeros(len(place_set), np.int64)
        if len(pairs):
            starts_of_s = np.flatnonzero(_first_of_groups(pair_s))
            set_signature[pair_s[starts_of_s]] = np.bitwise_xor.reduceat(salt[pair_g], starts_of_s)
        sigs, foothold_of = np.unique(set_signature[set_of], return_inverse=True)
        self.n_footholds = len(sigs)
        self.foothold = np.full(n, -1, np.int64)  # per node: its foothold when it is a carrier
        self.foothold[carriers] = foothold_of
        set_foothold = np.zeros(len(place_set), np.int64)
        set_foothold[set_of] = foothold_of
        self.open_codes = distinct(set_foothold[pair_s] * g_count + pair_g)
        self.gates, self.gidx, self.g_count = gates, gidx, g_count
        self.net_into: dict[int, list[tuple[int, int]]] = {}  # gate node → [(opener, network edge)]
        for e in net.tolist():
            self.net_into.setdefault(int(eng.dst[e]), []).append((int(eng.src[e]), e))

        # States (node, foothold) the steps can lead to; foothold n_footholds: none yet.
        width = self.n_footholds + 1
        fh = np.where(self.foothold >= 0, self.foothold, self.n_footholds)
        indptr = np.searchsorted(eng.src[walk], np.arange(n + 1))
        self.start_codes = distinct(self.starts * width + fh[self.starts])
        known, frontier = self.start_codes, self.start_codes
        while len(frontier):
            at, rep = _out(indptr, frontier // width)
            v = eng.dst[walk[at]].astype(np.int64)
            reached = distinct(v * width + np.where(self.foothold[v] >= 0, fh[v], (frontier % width)[rep]))
            frontier = np.setdiff1d(reached, known, assume_unique=True)
            known = np.sort(np.concatenate([known, frontier]))  # (disjoint)
        self.codes, self.width = known, width
        # The steps between states; a gated step is free when the foothold opens its gate.
        at, rep = _out(indptr, known // width)
        edge = walk[at]
        v = eng.dst[edge].astype(np.int64)
        here = known[rep] % width
        p_dst = np.searchsorted(known, v * width + np.where(self.foothold[v] >= 0, fh[v], here))
        g = np.where(eng.gate[edge] >= 0, gidx[np.maximum(eng.gate[edge], 0)], -1)
        free = (g < 0) | np.isin(here * g_count + g, self.open_codes)
        # Parallel steps (one per logon type…) with the same footing: the cheapest is enough.
        order = np.lexsort((eng.cost[edge], g, free, p_dst, rep))
        sel = order[_first_of_groups(rep[order], p_dst[order], free[order], g[order])]
        self.p_src, self.p_dst, self.p_edge, self.p_free, self.p_gate = (
            rep[sel],
            p_dst[sel],
            edge[sel],
            free[sel],
            g[sel],
        )
        self._solve(net)

    def _solve(self, net: np.ndarray) -> None:
        eng = self.eng
        n_states = len(self.codes)
        starts = np.searchsorted(self.codes, self.start_codes)
        node_of_state = self.codes // self.width
        node_first = np.flatnonzero(_first_of_groups(node_of_state))
        side = np.full(len(self.gates) + 1, np.inf)  # the last: no gate
        for _ in range(len(self.gates) + 2):
            weight = eng.cost[self.p_edge] + np.where(self.p_free, 0.0, side[self.p_gate])
            ok = np.flatnonzero(np.isfinite(weight))
            order = ok[np.lexsort((weight[ok], self.p_dst[ok], self.p_src[ok]))]
            chosen = order[_first_of_groups(self.p_src[order], self.p_dst[order])]
            indptr = np.zeros(n_states + 1, np.int64)
            np.cumsum(np.bincount(self.p_src[chosen], minlength=n_states), out=indptr[1:])
            matrix = sp.csr_matrix(
                (weight[chosen], self.p_dst[chosen].astype(np.int32), indptr), shape=(n_states, n_states)
            )
            matrix.has_sorted_indices = True
            matrix.has_canonical_format = True
            dist, pred, _ = csgraph.dijkstra(
                matrix, directed=True, indices=starts, return_predecessors=True, min_only=True
            )
            node_cost = np.full(eng.n, np.inf)
            node_cost[node_of_state[node_first]] = np.minimum.reduceat(dist, node_first)
            new_side = np.full(len(self.gates) + 1, np.inf)
            new_side[: len(self.gates)] = node_cost[self.gates]
            np.minimum.at(new_side, self.gidx[eng.dst[net]], node_cost[eng.src[net]])
            if np.array_equal(new_side, side):
                break
            side = new_side
        self.dist, self.pred, self.node_cost = dist, pred, node_cost
        self.chosen_key = self.p_src[chosen] * n_states + self.p_dst[chosen]  # sorted: source, then target
        self.chosen = chosen

    # --- explanations ---

    def _states(self, node: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.codes, [node * self.width, (node + 1) * self.width])
        return np.arange(lo, hi)

    def _best_state(self, node: int) -> int | None:
        states = self._states(node)
        if not len(states) or not np.isfinite(self.dist[states]).any():
            return None
        return int(states[np.argmin(self.dist[states])])

    def _chain(self, state: int) -> list[int]:
        """The product steps (indices of ``p_*``) from a start state to ``state``."""
        steps: list[int] = []
        n_states = len(self.codes)
        while self.pred[state] >= 0:
            a = int(self.pred[state])
            at = int(np.searchsorted(self.chosen_key, a * n_states + state))
            steps.append(int(self.chosen[at]))
            state = a
        return steps[::-1]

    def derivation(self, target: int) -> Derivation | None:
        """The explanation of the cheapest way to ``target`` found (None when out of reach)."""
        best = self._best_state(target)
        if best is None:
            return None
        listed: dict[int, None] = {}  # engine edges in the order taken
        held = set(self.starts.tolist())
        chain: list[int] = []
        before: list[list[int]] = []
        for step in self._chain(best):
            pre: list[int] = []
            self._prerequisites(step, pre, listed, held)
            edge = int(self.p_edge[step])
            chain.append(edge)
            before.append(pre)
            self._take(edge, listed, held)
        cost = float(sum(self.step_cost[e] for e in listed))
        return Derivation(target=target, chain=chain, before=before, cost=cost)

    def _take(self, edge: int, listed: dict[int, None], held: set[int], out: list[int] | None = None) -> None:
        if edge in listed:
            return
        listed[edge] = None
        if out is not None:
            out.append(edge)
        if not self.eng.net[edge]:
            held.add(int(self.eng.dst[edge]))

    def _prerequisites(self, step: int, out: list[int], listed: dict[int, None], held: set[int]) -> None:
        """List (into ``out``, and take) what product step ``step`` needs and is not held yet."""
        gate = int(self.eng.gate[int(self.p_edge[step])])
        if gate < 0:
            return
        ways = [(gate, -1), *self.net_into.get(gate, [])]  # (opener, network edge; -1: the gate itself)
        mine = [e for z, e in ways if z in held]
        if mine:
            self._open(mine[0], out, listed, held)
        elif self.p_free[step]:
            self._open_from_foothold(gate, int(self.p_src[step]), ways, out, listed, held)
        else:
            # The cheapest opener, priced below this step: its own derivation first.
            opener, via = min(ways, key=lambda w: self.node_cost[w[0]])
            state = self._best_state(opener)
            assert state is not None, "a side derivation's opener is reached"
            for side_step in self._chain(state):
                edge = int(self.p_edge[side_step])
                if edge in listed or int(self.eng.dst[edge]) in held:
                    continue
                self._prerequisites(side_step, out, listed, held)
                self._take(edge, listed, held, out)
            self._open(via, out, listed, held)

    def _open(self, via: int, out: list[int], listed: dict[int, None], held: set[int]) -> None:
        if via >= 0:
            self._take(via, listed, held, out)

    def _open_from_foothold(
        self,
        gate: int,
        state: int,
        ways: list[tuple[int, int]],
        out: list[int],
        listed: dict[int, None],
        held: set[int],
    ) -> None:
        """The gate opened by the foothold of ``state``: the last carrier on the way there (held),
        through one of the nodes it stands in (the step there listed if new), and a network edge."""
        while self.foothold[int(self.codes[state] // self.width)] < 0:
            state = int(self.pred[state])
        carrier = int(self.codes[state] // self.width)
        lo, hi = np.searchsorted(self.carried_v, [carrier, carrier + 1])
        stands_in = dict(zip(self.carried_z[lo:hi].tolist(), self.carried_e[lo:hi].tolist(), strict=True))
        opener, via = next((z, e) for z, e in ways if z in stands_in)
        if stands_in[opener] >= 0 and opener not in held:
            self._take(stands_in[opener], listed, held, out)
        self._open(via, out, listed, held)
