"""The fewest controls whose removal cuts an entry off from its targets, proved the fewest by an
integer program (``scipy.optimize.milp``, HiGHS).

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
- controls that appear in exactly the same implications are one choice (a cut with one can use any).

Further cuts of the same size come from re-solving with each cut found excluded (a no-good constraint
``sum x_S <= |S| - 1``), up to a bound. The solver is bounded by a node count, not a clock, so the same
question gets the same answer; when the bound stops it, the cut is labelled ``found``, not ``minimal``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csgraph

from sekimori.graph.reach import Engine


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
    dst, s1 = rep[rows.dst], rep[rows.src1]
    s2 = np.where(rows.src2 >= 0, rep[np.maximum(rows.src2, 0)], -1)
    s2[s2 == one] = -1  # "AND true"
    lone = (s1 == one) & (s2 >= 0)
    s1[lone], s2[lone] = s2[lone], -1
    s2[s2 == s1] = -1
    both = s2 >= 0
    s1[both], s2[both] = np.minimum(s1[both], s2[both]), np.maximum(s1[both], s2[both])
    keep = (dst != one) & (dst != s1) & (dst != s2)  # true already, or implied by itself
    xs = -np.sort(-rows.xs, axis=1)  # (controls first, -1 padding last)
    dst, s1, s2, xs = dst[keep], s1[keep], s2[keep], xs[keep]
    # Duplicates: sorted by two packed keys (nodes; the second source and the controls), then dropped.
    size = int(one) + 2
    nodes_key = dst * size + s1
    rest_key = s2 + 1
    width = int(xs.max(initial=-1)) + 2
    if np.log2(size + 1) + xs.shape[1] * np.log2(width) > 62:  # too wide to pack: compare the rows
        table = np.unique(np.column_stack([dst, s1, s2, xs]), axis=0).reshape(-1, 3 + xs.shape[1])
        return _Implications(table[:, 0], table[:, 1], table[:, 2], table[:, 3:], one)
    for j in range(xs.shape[1]):
        rest_key = rest_key * width + xs[:, j] + 1
    order = np.lexsort((rest_key, nodes_key))
    first = np.ones(len(order), bool)
    first[1:] = (nodes_key[order[1:]] != nodes_key[order[:-1]]) | (
        rest_key[order[1:]] != rest_key[order[:-1]]
    )
    sel = order[first]
    return _Implications(dst[sel], s1[sel], s2[sel], xs[sel], one)


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
        gates = np.unique(eng.gate[walk][gated])
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
        left = np.unique(np.concatenate([rows.dst, rows.src1, rows.src2[rows.src2 >= 0], rep[self.targets]]))
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
        net_none = np.zeros(len(self.rows.dst), bool)
        self._engine = Engine(
            self.one + 1, self.rows.src1, self.rows.dst, self.rows.src2, np.zeros(len(net_none)), net_none
        )

        self._base: np.ndarray | None = None
        # Per control, the engine edges it is on (to switch them off when it is removed).
        xs = self.rows.xs[self._engine.order]
        edge, column = np.nonzero(xs >= 0)
        control_of = xs[edge, column]
        by_control = np.argsort(control_of, kind="stable")
        self._by_control = (control_of[by_control], edge[by_control])

    def reached(self, removed: Sequence[int] = ()) -> np.ndarray:
        """Per target: still reached when the candidate controls ``removed`` are."""
        on = np.ones(len(self.rows.dst), bool)
        for c in removed:
            on[self._edges_of(c)] = False
        if on.all():  # on no implication left: nothing changes (the base reach, computed once)
            if self._base is None:
                self._base = self._engine.reach(np.array([self.one])).nodes[self.target_node]
            return self._base.copy()
        reach = self._engine.reach(np.array([self.one]), on)
        return reach.nodes[self.target_node]

    def _edges_of(self, control: int) -> np.ndarray:
        """The engine edges (rows, in the engine's order) that ``control`` is on."""
        controls, edges = self._by_control
        lo, hi = np.searchsorted(controls, [control, control + 1])
        return edges[lo:hi]

    def minimum(
        self, limit: int = 10, node_limit: int = 20_000, time_limit: float | None = None, at_least: int = 0
    ) -> Cuts:
        """The smallest sets of candidate controls that cut every target off, up to ``limit`` of them.
        ``at_least``: a size the caller proved no cut is smaller than (it bounds the search, and only
        the search: a wrong bound would show as no cut found)."""
        if not len(self.targets):
            return Cuts("minimal", [()], True)
        if self.always:
            return Cuts("impossible", [], True)
        return _solve(self.rows, self.target_node, self.candidates, limit, node_limit, time_limit, at_least)


def _solve(
    rows: _Implications,
    targets: np.ndarray,
    candidates: int,
    limit: int,
    node_limit: int,
    time_limit: float | None,
    at_least: int = 0,
) -> Cuts:
    one, k = rows.one, rows.xs.shape[1]
    # Controls in exactly the same rows: one choice. A random 64-bit value per row, summed per control.
    salt = np.random.default_rng(0).integers(1, 2**62, len(rows.dst) + 1, dtype=np.int64)
    flat_row = np.repeat(np.arange(len(rows.dst)), k)[rows.xs.ravel() >= 0]
    flat_x = rows.xs.ravel()[rows.xs.ravel() >= 0]
    signature = np.zeros(candidates, np.int64)
    np.add.at(signature, flat_x, salt[flat_row])
    used = np.unique(flat_x)
    _, class_of_used = np.unique(signature[used], return_inverse=True)
    members: list[list[int]] = [[] for _ in range(int(class_of_used.max(initial=-1)) + 1)]
    for c, cls in zip(used.tolist(), class_of_used.tolist(), strict=True):
        members[cls].append(c)
    x_class = np.full(candidates + 1, -1, np.int64)
    x_class[used] = class_of_used

    # The program: class columns, then a column per node (the constant has none).
    n_x = len(members)
    n_cols = n_x + one
    row_ids = np.arange(len(rows.dst))
    src1_is_one = rows.src1 == one
    parts = [
        (row_ids, n_x + rows.dst, -1.0),
        (row_ids[~src1_is_one], n_x + rows.src1[~src1_is_one], 1.0),
        (row_ids[rows.src2 >= 0], n_x + rows.src2[rows.src2 >= 0], 1.0),
    ]
    pairs = np.unique(np.column_stack([flat_row, x_class[flat_x]]), axis=0).reshape(-1, 2)
    parts.append((pairs[:, 0], pairs[:, 1], -1.0))
    matrix = sp.csr_matrix(
        (
            np.concatenate([np.full(len(r), v) for r, _, v in parts]),
            (np.concatenate([r for r, _, _ in parts]), np.concatenate([c for _, c, _ in parts])),
        ),
        shape=(len(rows.dst), n_cols),
    )
    # r_dst >= src1 + src2 - 1 - x  ⇔  src1 + src2 - r_dst - x <= (1 if src2) - (1 if src1 is one)
    upper = (rows.src2 >= 0).astype(np.float64) - src1_is_one
    upper_bound = np.ones(n_cols)
    upper_bound[n_x + targets] = 0.0  # targets stay out of reach
    integrality = np.zeros(n_cols)
    integrality[:n_x] = 1
    objective = np.zeros(n_cols)
    objective[:n_x] = 1.0
    program = {"controls": len(used), "choices": n_x, "variables": n_cols, "constraints": len(rows.dst)}
    program["solves"] = 0

    extra: list[LinearConstraint] = []
    if at_least > 1:
        extra.append(LinearConstraint(objective, at_least, np.inf))
    solutions: list[tuple[int, ...]] = []
    status = "unknown"
    complete = False
    options: dict[str, object] = {"node_limit": node_limit, "presolve": True, "mip_rel_gap": 0.0}
    if time_limit is not None:
        options["time_limit"] = time_limit
    while len(solutions) < limit:
        program["solves"] += 1
        result = milp(
            objective,
            integrality=integrality,
            bounds=Bounds(np.zeros(n_cols), upper_bound),
            constraints=[LinearConstraint(matrix, -np.inf, upper), *extra],
            options=options,
        )
        if result.status == 2:  # infeasible: no (further) cut of this size
            if not solutions:
                status = "impossible"
            complete = True
            break
        if result.x is None:  # a limit hit before any solution
            break
        chosen = np.flatnonzero(result.x[:n_x] > 0.5)
        proved = result.status == 0
        first = not solutions
        if first:
            status = "minimal" if proved else "found"
        # Every way to pick one control of each chosen class is a cut of the same size.
        for pick in itertools.product(*(members[c] for c in chosen)):
            solutions.append(tuple(sorted(pick)))
        if not proved:
            break  # the first not proved the smallest, or the others not proved all listed
        # Exclude these choices, and look for others of the same size.
        row = np.zeros(n_cols)
        row[chosen] = 1.0
        extra.append(LinearConstraint(row, -np.inf, len(chosen) - 1))
        if first:  # its size is proved the least: the others are found at exactly that size
            extra.append(LinearConstraint(objective, len(chosen), len(chosen)))
    complete = complete and len(solutions) <= limit
    return Cuts(status, solutions[:limit], complete, program)


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
