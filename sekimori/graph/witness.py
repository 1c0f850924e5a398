"""The fewest controls that cut the constant off from a target, by hitting the ways it is reached.

Rows are implications ``dst >= src1 [AND src2] unless any of xs`` (see :mod:`sekimori.graph.cut`). A
*witness* is the controls on the rows of one derivation of the target: a cut must remove one of them,
or that derivation still stands. So the smallest set of controls that hits every witness found so far
(a set-cover integer program over the controls, not over the graph) is never larger than the fewest
that cut; and when removing it leaves the target out of reach, it is a cut, hence the fewest. When it
does not, the derivation that still reaches the target is a new witness, and the program is solved
again. Cuts of the same size are listed the same way, each found one excluded (``sum x_S <= |S| - 1``)
and the size fixed, until the program has no other solution (then the list is every cut of that size).

At twice the benchmark's group the integer program over the whole graph (0.3 million rows even after
the exact reductions of :mod:`sekimori.graph.cut`) took HiGHS 3.5 s per solve; five witnesses of two
to five controls decide the same question in well under a second.
"""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from sekimori.graph.bitreach import ranges

# (status, solutions, complete, program): see sekimori.graph.cut.Cuts.
Found = tuple[str, list[tuple[int, ...]], bool, dict[str, int]]


class _Derivations:
    """The least fixed point from ``one`` with some rows blocked, and the row that first gave each node."""

    def __init__(self, one: int, dst: np.ndarray, src1: np.ndarray, src2: np.ndarray) -> None:
        self.one, self.dst, self.src1, self.src2 = one, dst, src1, src2
        self.second = np.where(src2 >= 0, src2, one)
        size = one + 1
        self.by_src1 = np.argsort(src1, kind="stable")
        self.ptr1 = np.searchsorted(src1[self.by_src1], np.arange(size + 1))
        self.by_src2 = np.argsort(self.second, kind="stable")
        self.ptr2 = np.searchsorted(self.second[self.by_src2], np.arange(size + 1))

    def first_rows(self, blocked: np.ndarray) -> np.ndarray:
        """Per node: the row that reached it first (-1: not reached; the constant: -2)."""
        dst, src1, second = self.dst, self.src1, self.second
        reached = np.zeros(self.one + 1, bool)
        reached[self.one] = True
        pred = np.full(self.one + 1, -1, np.int64)
        pred[self.one] = -2
        touched = np.zeros(len(dst), bool)  # scratch mask of the rows to look at again
        changed = np.array([self.one])
        while len(changed):
            touched[ranges(self.ptr1, self.by_src1, changed)] = True
            touched[ranges(self.ptr2, self.by_src2, changed)] = True
            rows = np.flatnonzero(touched)
            touched[rows] = False
            rows = rows[reached[src1[rows]] & reached[second[rows]] & ~blocked[rows] & ~reached[dst[rows]]]
            # The first row of each newly reached node (rows in order: the same answer every time).
            order = np.argsort(dst[rows], kind="stable")
            rows = rows[order]
            first = np.ones(len(rows), bool)
            first[1:] = dst[rows[1:]] != dst[rows[:-1]]
            rows = rows[first]
            pred[dst[rows]] = rows
            reached[dst[rows]] = True
            changed = dst[rows]
        return pred

    def rows_of(self, pred: np.ndarray, node: int) -> list[int]:
        """The rows of the derivation of ``node`` that ``pred`` records (a few: walked in Python)."""
        out: list[int] = []
        seen: set[int] = set()
        stack = [node]
        while stack:
            v = stack.pop()
            if v in seen or v == self.one:
                continue
            seen.add(v)
            row = int(pred[v])
            out.append(row)
            stack.append(int(self.src1[row]))
            if self.src2[row] >= 0:
                stack.append(int(self.src2[row]))
        return out


def fewest_cuts(
    one: int,
    dst: np.ndarray,
    src1: np.ndarray,
    src2: np.ndarray,
    xs: np.ndarray,
    target: int,
    candidates: int,
    limit: int,
    node_limit: int,
    time_limit: float | None,
    at_least: int = 0,
    stop: threading.Event | None = None,
) -> Found:
    """Up to ``limit`` smallest sets of candidate controls (``xs``: rows x k, -1 padded) whose removal
    keeps ``target`` out of the least fixed point from ``one``; ``at_least``: a size no cut is below.
    The first is proved the fewest unless a solver limit stopped it (status ``found``)."""
    started = time.perf_counter()
    members, x_class = controls_as_choices(xs, candidates)
    flat_row = np.repeat(np.arange(len(dst)), xs.shape[1])[xs.ravel() >= 0]
    pairs = np.unique(np.column_stack([flat_row, x_class[xs.ravel()[xs.ravel() >= 0]]]), axis=0)
    pair_row, pair_class = pairs[:, 0], pairs[:, 1]
    n_x = len(members)
    # (row, choice) pairs by choice (the rows a choice blocks) and by row (the choices on a row).
    by_class = np.argsort(pair_class, kind="stable")
    class_rows, class_ptr = pair_row[by_class], np.searchsorted(pair_class[by_class], np.arange(n_x + 1))
    by_row = np.argsort(pair_row, kind="stable")
    row_classes, row_ptr = pair_class[by_row], np.searchsorted(pair_row[by_row], np.arange(len(dst) + 1))
    derive = _Derivations(one, dst, src1, src2)
    program = {"controls": sum(len(m) for m in members), "choices": n_x, "rows": len(dst)}
    witnesses: list[np.ndarray] = []
    objective = np.ones(n_x)
    fixed: list[LinearConstraint] = [LinearConstraint(objective, at_least, np.inf)] if at_least > 1 else []
    solutions: list[tuple[int, ...]] = []
    status, complete, solves = "unknown", False, 0

    def witness(chosen: np.ndarray) -> np.ndarray | None:
        """The choices on a derivation left when ``chosen`` are removed (None: they cut it off)."""
        blocked = np.zeros(len(dst), bool)
        blocked[ranges(class_ptr, class_rows, chosen)] = True
        pred = derive.first_rows(blocked)
        if pred[target] == -1:
            return None
        rows = np.asarray(derive.rows_of(pred, target), np.int64)
        return np.unique(ranges(row_ptr, row_classes, rows))

    # Removing nothing first: the target is reached, so this finds the first witness.
    chosen, proved = np.zeros(0, np.int64), True
    while True:
        if stop is not None and stop.is_set():
            return "unknown", [], False, program
        found = witness(chosen)
        if found is not None:
            if not len(found):  # a derivation no candidate breaks: nothing cuts it off
                status, complete = ("impossible", True) if not solutions else (status, complete)
                break
            witnesses.append(found)
        else:
            first = not solutions
            if first:
                status = "minimal" if proved else "found"
            # Every way to pick one control of each chosen class is a cut of the same size.
            for pick in itertools.product(*(members[c] for c in chosen)):
                solutions.append(tuple(sorted(pick)))
            if not proved or len(solutions) >= limit:
                break  # not proved the fewest (or the others not proved all listed); or enough
            # Exclude these choices, and look for others of exactly that size.
            row = np.zeros(n_x)
            row[chosen] = 1.0
            fixed.append(LinearConstraint(row, -np.inf, len(chosen) - 1))
            if first:
                fixed.append(LinearConstraint(objective, len(chosen), len(chosen)))
        solves += 1
        answer = _cover(witnesses, n_x, fixed, node_limit, time_limit, started)
        if answer is None:  # infeasible: no (further) set of this size
            if not solutions:
                status = "impossible"
            complete = True
            break
        chosen, maybe = answer
        if maybe is None:  # a limit hit before any solution
            break
        proved = maybe
    program.update(witnesses=len(witnesses), solves=solves)
    complete = complete and len(solutions) <= limit
    return status, solutions[:limit], complete, program


def _cover(
    witnesses: list[np.ndarray],
    n_x: int,
    fixed: list[LinearConstraint],
    node_limit: int,
    time_limit: float | None,
    started: float,
) -> tuple[np.ndarray, bool | None] | None:
    """The fewest choices hitting every witness under ``fixed``: (chosen, proved the fewest; None when a
    limit stopped the solver before any solution), or None when there is none."""
    if not n_x:  # no control: every sum is 0 (and the solver refuses an empty program)
        ok = all(bool(np.all(c.lb <= 0) and np.all(c.ub >= 0)) for c in fixed) and not witnesses
        return (np.zeros(0, np.int64), True) if ok else None
    matrix = np.zeros((len(witnesses), n_x))
    for i, w in enumerate(witnesses):
        matrix[i, w] = 1.0
    constraints = [LinearConstraint(matrix, 1, np.inf)] if witnesses else []
    options: dict[str, object] = {"node_limit": node_limit, "presolve": True, "mip_rel_gap": 0.0}
    if time_limit is not None:
        options["time_limit"] = max(0.0, time_limit - (time.perf_counter() - started))
    result = milp(
        np.ones(n_x),
        integrality=np.ones(n_x),
        bounds=Bounds(np.zeros(n_x), np.ones(n_x)),
        constraints=[*constraints, *fixed],
        options=options,
    )
    if result.status == 2:
        return None
    if result.x is None:
        return np.zeros(0, np.int64), None
    return np.flatnonzero(result.x > 0.5), result.status == 0


def controls_as_choices(xs: np.ndarray, candidates: int) -> tuple[list[list[int]], np.ndarray]:
    """Controls on exactly the same rows of ``xs`` are one choice (a cut with one can use any): the
    members of each choice, and each candidate's choice (-1: on no row). A random 64-bit value per row,
    summed per control (seeded: the same choices every time)."""
    n_rows, k = xs.shape
    salt = np.random.default_rng(0).integers(1, 2**62, n_rows + 1, dtype=np.int64)
    flat_row = np.repeat(np.arange(n_rows), k)[xs.ravel() >= 0]
    flat_x = xs.ravel()[xs.ravel() >= 0]
    signature = np.zeros(candidates, np.int64)
    np.add.at(signature, flat_x, salt[flat_row])
    used = np.unique(flat_x)
    _, class_of_used = np.unique(signature[used], return_inverse=True)
    class_of_used = class_of_used.ravel()
    members: list[list[int]] = [[] for _ in range(int(class_of_used.max(initial=-1)) + 1)]
    for c, cls in zip(used.tolist(), class_of_used.tolist(), strict=True):
        members[cls].append(c)
    x_class = np.full(candidates + 1, -1, np.int64)
    x_class[used] = class_of_used
    return members, x_class
