"""The fewest controls whose removal cuts an entry off from its targets, proved the fewest.

The question is the integer program below; the fewest are found by hitting its witnesses
(:mod:`sekimori.graph.witness`: a set-cover program over the controls, ``scipy.optimize.milp``), which
has the same cuts and needs no variable per node (the program over every node took HiGHS 3.5 s a solve
at twice the benchmark's group).

Variables: ``x_c`` (binary) control ``c`` removed; ``r_v`` (in [0, 1]) node ``v`` reached; ``k_g`` (in
[0, 1]) gate ``g`` open. Constraints, for every edge ``u → v`` with controls ``C`` (removing any one
disables it):

    r_v >= r_u - sum x_C                      (an ungated edge)
    r_v >= r_u + k_g - 1 - sum x_C            (an edge gated by g)
    k_g >= r_g,   k_g >= r_z - sum x_C        (g itself held, or a network edge z → g from a node held)
    r_start = 1,  r_t = 0 for every target

minimise sum x. With ``x`` binary, every node the least fixed point reaches (see
:mod:`sekimori.graph.reach`) is forced to 1 by induction on the steps that reach it, so a feasible ``x``
keeps every target out of reach; and the fixed point itself, as ``r`` and ``k``, satisfies the
constraints of any ``x`` that cuts. The optimum is therefore the fewest controls, and only ``x`` needs to
be integer.

Each constraint is an implication ``dst >= src1 [AND src2] unless x_C``. The program is made small
without changing its answers (a million-account group gives millions of edges, and the solver's own
presolve would redo the work on every solve):

- the nodes reached even with every candidate control removed are the constant 1 (a target among them:
  no cut exists), and so are the gates they open;
- only what a target depends on (backwards through the implications) is kept;
- nodes that imply each other through implications no control can break are one (strongly connected
  components), a node implied by exactly one such implication is its source, and a node whose only use
  is one such implication is its destination; duplicate implications are one;
- controls that appear in exactly the same implications are one choice (a cut with one can use any);
- for the cut alone (not for the reach of each target, which the singles need): a node that leads to a
  target through implications no control can break is never reached in a cut (see ``_cut_form``).

Further cuts of the same size come from re-solving with each cut found excluded (a no-good constraint
``sum x_S <= |S| - 1``), up to a bound. The solver is bounded by a node count, not a clock, so the same
question gets the same answer; when the bound stops it, the cut is labelled ``found``, not ``minimal``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from sekimori.graph.bitreach import reached_without_each
from sekimori.graph.reach import Engine, distinct
from sekimori.graph.witness import fewest_cuts


@dataclass
class Cuts:
    status: str  # 'minimal' (proved), 'found' (a solver limit hit), 'impossible', 'unknown' (none found)
    solutions: list[tuple[int, ...]]  # candidate indices; each a cut of the same size, in the order found
    complete: bool  # every cut of that size is listed (proved by the solver)
    program: dict[str, int] = field(default_factory=dict)  # its size, and the solves


@dataclass
class _Implications:
    """Rows ``dst >= src1 [AND src2] unless any of xs``: node numbers (``one``: the constant 1; src2
    -1 for none), and the candidate controls of each row (k columns, -1 padded)."""

    dst: np.ndarray
    src1: np.ndarray
    src2: np.ndarray
    xs: np.ndarray
    one: int

    def take(self, keep: np.ndarray) -> _Implications:
        return _Implications(self.dst[keep], self.src1[keep], self.src2[keep], self.xs[keep], self.one)

    @property
    def free(self) -> np.ndarray:
        """Rows no control can break, with one source that is not the constant."""
        free: np.ndarray = (self.src2 < 0) & (self.xs < 0).all(axis=1) & (self.src1 != self.one)
        return free


def _normalise(rows: _Implications, rep: np.ndarray) -> _Implications:
    """The rows with every node replaced by ``rep[node]``, in a canonical form, trivial ones dropped and
    duplicates merged."""
    one = rows.one
    dst = rep[rows.dst]
    live = dst != one  # true already
    if live.sum() < 0.9 * len(live):  # many: dropped before the rest of the work (a copy of every column)
        rows, dst = rows.take(live), dst[live]
    s1 = rep[rows.src1]
    s2 = np.where(rows.src2 >= 0, rep[np.maximum(rows.src2, 0)], -1)
    s2[s2 == one] = -1  # "AND true"
    lone = (s1 == one) & (s2 >= 0)
    s1[lone], s2[lone] = s2[lone], -1
    s2[s2 == s1] = -1
    both = s2 >= 0
    s1[both], s2[both] = np.minimum(s1[both], s2[both]), np.maximum(s1[both], s2[both])
    keep = np.flatnonzero((dst != one) & (dst != s1) & (dst != s2))  # true already, or implied by itself
    xs = _descending(rows.xs)  # (controls first, -1 padding last)
    # Duplicates: sorted by two packed keys (nodes; the second source and the controls), then dropped:
    # rows in the order of (dst, src1, src2, xs), either way. The keys are packed on every row and only
    # they are cut to the rows kept (each column gathered once, at the end: 1.4 M-row copies add up).
    size = int(one) + 2
    width = int(xs.max(initial=-1)) + 2
    if np.log2(size + 1) + xs.shape[1] * np.log2(width) > 62:  # too wide to pack: compare the rows
        table = np.unique(np.column_stack([dst, s1, s2, xs])[keep], axis=0).reshape(-1, 3 + xs.shape[1])
        return _Implications(table[:, 0], table[:, 1], table[:, 2], table[:, 3:], one)
    rest_key = s2 + 1
    for j in range(xs.shape[1]):
        rest_key = rest_key * width + xs[:, j] + 1
    nodes_key, rest_key = (dst * size + s1)[keep], rest_key[keep]
    order = np.lexsort((rest_key, nodes_key))
    nodes_key, rest_key = nodes_key[order], rest_key[order]
    first = np.ones(len(order), bool)
    first[1:] = (nodes_key[1:] != nodes_key[:-1]) | (rest_key[1:] != rest_key[:-1])
    sel = keep[order[first]]
    return _Implications(dst[sel], s1[sel], s2[sel], xs[sel], one)


def _descending(xs: np.ndarray) -> np.ndarray:
    """Each row of ``xs`` sorted in descending order; two columns (the graph's) by a max and a min, as
    NumPy's sort along rows of two was the slowest step of the reductions (1.5 s at --scale 2)."""
    if xs.shape[1] != 2:
        descending: np.ndarray = -np.sort(-xs, axis=1)
        return descending
    return np.column_stack([np.maximum(xs[:, 0], xs[:, 1]), np.minimum(xs[:, 0], xs[:, 1])])


def _needed(rows: _Implications, targets: np.ndarray, size: int) -> np.ndarray:
    """Per node: a target depends on it (backwards through the rows)."""
    src = np.concatenate([rows.dst, rows.dst[rows.src2 >= 0], np.full(len(targets), size)])
    dst = np.concatenate([rows.src1, rows.src2[rows.src2 >= 0], targets])
    graph = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(size + 1, size + 1))
    order = csgraph.breadth_first_order(graph, size, return_predecessors=False)
    needed = np.zeros(size + 1, bool)
    needed[order] = True
    return needed[:size]


def _settle(rep: np.ndarray) -> np.ndarray:
    """``rep`` with chains followed to their end (a node pointing at a node that points on…)."""
    for _ in range(64):
        nxt = rep[rep]
        if np.array_equal(nxt, rep):
            return rep
        rep = nxt
    return rep


def _reduce(rows: _Implications, targets: np.ndarray, size: int) -> tuple[_Implications, np.ndarray]:
    """Rows after the exact reductions of the module docstring (until a round shrinks them by less than 5 %),
    and what each node became."""
    identity = np.arange(size)
    rep = identity.copy()
    while True:
        before = len(rows.dst)
        # one strongly connected component of unbreakable implications: one node
        free = rows.free
        graph = sp.csr_matrix(
            (np.ones(int(free.sum())), (rows.src1[free], rows.dst[free])), shape=(size, size)
        )
        count, label = csgraph.connected_components(graph, directed=True, connection="strong")
        first = np.full(count, size, np.int64)
        np.minimum.at(first, label, identity)
        step = first[label]
        step[rows.one] = rows.one
        rows, rep = _normalise(rows, step), step[rep]
        # implied by exactly one unbreakable implication: its source
        step = identity.copy()
        into = np.bincount(rows.dst, minlength=size)
        single = rows.free & (into[rows.dst] == 1)
        step[rows.dst[single]] = rows.src1[single]
        step = _settle(step)
        rows, rep = _normalise(rows, step), step[rep]
        # used only by one unbreakable implication, and no target: its destination
        step = identity.copy()
        uses = np.bincount(np.concatenate([rows.src1, rows.src2[rows.src2 >= 0]]), minlength=size)
        is_target = np.zeros(size, bool)
        is_target[rep[targets]] = True
        single = rows.free & (uses[rows.src1] == 1) & ~is_target[rows.src1]
        step[rows.src1[single]] = rows.dst[single]
        step = _settle(step)
        rows, rep = _normalise(rows, step), step[rep]
        rows = rows.take(_needed(rows, rep[targets], size)[rows.dst])
        if len(rows.dst) >= 0.95 * before:
            return rows, rep


class CutProgram:
    """The program of one entry (engine numbers): built and reduced once, then asked which targets stay
    reached when some controls are removed (exactly: the reductions keep every target's reach under
    every removal), and for the fewest controls that cut every target off."""

    def __init__(
        self, eng: Engine, starts: np.ndarray, targets: np.ndarray, controls: np.ndarray, candidates: int
    ) -> None:
        starts = np.unique(np.asarray(starts, np.int64))
        self.targets = np.asarray(targets, np.int64)
        self.candidates = candidates
        n, k = eng.n, controls.shape[1]
        removable = controls >= 0
        forced = eng.reach(starts, np.asarray(~removable.any(axis=1), bool))
        # Nodes: r_v is v, k_g is n + g, the constant 1 is 2n.
        one, size = 2 * n, 2 * n + 1
        rep = np.arange(size)
        rep[np.flatnonzero(forced.nodes)] = one
        rep[n + np.flatnonzero(forced.connectable)] = one
        walk = np.flatnonzero(~eng.net)
        net = np.flatnonzero(eng.net)
        gated = eng.gate[walk] >= 0
        gates = distinct(eng.gate[walk][gated])
        rows = _Implications(
            dst=np.concatenate([eng.dst[walk], n + eng.dst[net], n + gates]),
            src1=np.concatenate([eng.src[walk], eng.src[net], gates]),
            src2=np.concatenate(
                [np.where(gated, n + eng.gate[walk], -1), np.full(len(net) + len(gates), -1)]
            ),
            xs=np.concatenate([controls[walk], controls[net], np.full((len(gates), k), -1)]),
            one=one,
        )
        rows = _normalise(rows, rep)
        rows = rows.take(_needed(rows, rep[self.targets], size)[rows.dst])
        rows, more = _reduce(rows, rep[self.targets], size)
        rep = more[rep]
        # Compact numbering: the nodes left, the constant last.
        left = distinct(np.concatenate([rows.dst, rows.src1, rows.src2[rows.src2 >= 0], rep[self.targets]]))
        left = left[left != one]
        number = np.full(size, -1, np.int64)
        number[left] = np.arange(len(left))
        number[one] = len(left)
        self.one = len(left)
        self.rows = _Implications(
            number[rows.dst],
            number[rows.src1],
            np.where(rows.src2 >= 0, number[np.maximum(rows.src2, 0)], -1),
            rows.xs,
            self.one,
        )
        self.target_node = number[rep[self.targets]]  # per target: its node (``one``: always reached)
        self.always = bool((self.target_node == self.one).any())
        self._base: np.ndarray | None = None
        # The engine of :meth:`reached`, built when first asked (the choke points use the bitsets).
        self._lazy: tuple[Engine, np.ndarray, np.ndarray] | None = None

    def _reach_index(self) -> tuple[Engine, np.ndarray, np.ndarray]:
        """An engine over the rows, and per control the engine edges it is on (sorted by control)."""
        if self._lazy is None:
            net_none = np.zeros(len(self.rows.dst), bool)
            eng = Engine(
                self.one + 1, self.rows.src1, self.rows.dst, self.rows.src2, np.zeros(len(net_none)), net_none
            )
            xs = self.rows.xs[eng.order]
            edge, column = np.nonzero(xs >= 0)
            control_of = xs[edge, column]
            by_control = np.argsort(control_of, kind="stable")
            self._lazy = (eng, control_of[by_control], edge[by_control])
        return self._lazy

    def reached(self, removed: Sequence[int] = ()) -> np.ndarray:
        """Per target: still reached when the candidate controls ``removed`` are."""
        eng = self._reach_index()[0]
        on = np.ones(len(self.rows.dst), bool)
        for c in removed:
            on[self._edges_of(c)] = False
        if on.all():  # on no implication left: nothing changes (the base reach, computed once)
            if self._base is None:
                self._base = eng.reach(np.array([self.one])).nodes[self.target_node]
            return self._base.copy()
        reach = eng.reach(np.array([self.one]), on)
        return reach.nodes[self.target_node]

    def reached_without_each(self, sets: list[tuple[int, ...]] | None = None) -> np.ndarray:
        """(candidates x targets): each target still reached when each candidate alone is removed; given
        ``sets`` of candidates, (sets x targets) when each set is."""
        rows = self.rows
        return reached_without_each(
            self.one, rows.dst, rows.src1, rows.src2, rows.xs, self.candidates, self.target_node, sets
        )

    def _edges_of(self, control: int) -> np.ndarray:
        """The engine edges (rows, in the engine's order) that ``control`` is on."""
        _, controls, edges = self._reach_index()
        lo, hi = np.searchsorted(controls, [control, control + 1])
        return edges[lo:hi]

    def minimum(
        self,
        limit: int = 10,
        node_limit: int = 20_000,
        time_limit: float | None = None,
        at_least: int = 0,
        stop: threading.Event | None = None,
    ) -> Cuts:
        """The smallest sets of candidate controls that cut every target off, up to ``limit`` of them.
        ``at_least``: a size the caller proved no cut is smaller than (it bounds the search, and only
        the search: a wrong bound would show as no cut found). ``stop``: when set, the search gives up
        (status ``unknown``), for a caller that started it before knowing it needs it."""
        if not len(self.targets):
            return Cuts("minimal", [()], True)
        if self.always:
            return Cuts("impossible", [], True)
        rows, targets = _cut_form(self.rows, self.target_node)
        if targets[0] == rows.one:  # (not expected: the constant's free steps were merged into it)
            return Cuts("impossible", [], True)
        status, solutions, complete, program = fewest_cuts(
            rows.one,
            rows.dst,
            rows.src1,
            rows.src2,
            rows.xs,
            int(targets[0]),
            self.candidates,
            limit,
            node_limit,
            time_limit,
            at_least,
            stop,
        )
        return Cuts(status, solutions, complete, program)


def _cut_form(rows: _Implications, targets: np.ndarray) -> tuple[_Implications, np.ndarray]:
    """The rows a cut must satisfy, fewer (1.42 million -> 0.32 million at twice the benchmark's group):
    a node that leads to a target through implications no control breaks is never reached in a cut, so
    those nodes are one node out of reach, and a row from one of them always holds. The same cuts; the
    per-target reach is lost, which only the cut does not need."""
    one = rows.one
    size = one + 1
    zero = _needed(rows.take(rows.free), targets, size)
    zero[targets] = True
    target = int(targets.min())
    keep = ~zero[rows.src1] & ~((rows.src2 >= 0) & zero[np.maximum(rows.src2, 0)])
    rep = np.arange(size)
    rep[zero] = target
    cut = _normalise(rows.take(keep), rep)
    cut = cut.take(_needed(cut, np.array([target]), size)[cut.dst])
    cut, more = _reduce(cut, np.array([target]), size)
    target = int(more[target])
    left = distinct(np.concatenate([cut.dst, cut.src1, cut.src2[cut.src2 >= 0], [target]]))
    left = left[left != one]
    number = np.full(size, -1, np.int64)
    number[left] = np.arange(len(left))
    number[one] = len(left)
    src2 = np.where(cut.src2 >= 0, number[np.maximum(cut.src2, 0)], -1)
    compact = _Implications(number[cut.dst], number[cut.src1], src2, cut.xs, len(left))
    return compact, np.array([number[target]])


def minimum_cuts(
    eng: Engine,
    starts: np.ndarray,
    targets: np.ndarray,
    controls: np.ndarray,
    candidates: int,
    limit: int = 10,
    node_limit: int = 20_000,
    time_limit: float | None = None,
) -> Cuts:
    """The smallest sets of candidate controls that cut ``starts`` off from every node of ``targets``
    (engine numbers). ``controls`` is (engine edges × k): the candidate index of each of an edge's
    controls, -1 for none or one that cannot be removed. Up to ``limit`` sets of the smallest size."""
    program = CutProgram(eng, starts, targets, controls, candidates)
    return program.minimum(limit, node_limit, time_limit)
