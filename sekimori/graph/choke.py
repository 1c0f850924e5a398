"""Choke points: the controls whose removal protects the most people from an entry, one at a time, and
the fewest controls that cut the entry off from all personal data and crown jewels, proved the fewest.

Everything is evaluated on the part of the graph the entry reaches, which is exact: removing controls
only shrinks what is reached.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sekimori.graph.blast import Exposure, engine, exposure
from sekimori.graph.cut import CutProgram, Cuts
from sekimori.graph.entry import Entry, resolve_entry
from sekimori.graph.group_graph import GroupGraph

KINDS = ("flow", "route", "grant", "realm", "contract", "admin")


@dataclass
class ChokePoint:
    controls: list[str]
    people_protected: int
    crown_jewels_cut: list[str]
    cuts_off: bool  # nothing personal and no crown jewel left reachable

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ChokeReport:
    entry: Entry
    before: Exposure
    crown_jewels: list[str]
    singles: list[ChokePoint]  # one control each, by people protected
    cut: ChokePoint | None  # the fewest controls that cut the entry off (see status); None if none found
    alternatives: list[ChokePoint]  # other cuts of the same size, ranked like ``cut``
    # 'minimal' (proved the fewest), 'found' (a solver limit hit: a cut, not proved the fewest),
    # 'impossible' (no set of the controls considered cuts it off), 'unknown' (none found within the
    # limit), 'nothing to cut' (the entry reaches no personal data or crown jewel)
    status: str
    method: str  # how, in words
    complete: bool  # ``cut`` and ``alternatives`` are every cut of that size
    candidates: int
    evaluated: int
    seconds: float
    program: dict[str, int] = field(default_factory=dict)  # the integer program's size, when one ran

    @property
    def minimal(self) -> bool:
        return self.status == "minimal" and self.cut is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry.to_dict(),
            "before": self.before.to_dict(),
            "crown_jewels": self.crown_jewels,
            "status": self.status,
            "cut": self.cut.to_dict() if self.cut else None,
            "alternatives": [a.to_dict() for a in self.alternatives],
            "complete": self.complete,
            "singles": [s.to_dict() for s in self.singles],
            "method": self.method,
            "candidates": self.candidates,
            "evaluated": self.evaluated,
            "program": self.program,
            "seconds": round(self.seconds, 3),
        }


def control_columns(graph: GroupGraph, edges: np.ndarray | None = None) -> np.ndarray:
    """(edges × k) the control indices of every edge (or of ``edges``), -1 for none: removing any one
    disables the edge."""
    if edges is None:
        return np.stack([graph.control1, graph.control2], axis=1).astype(np.int64)
    return np.stack([graph.control1[edges], graph.control2[edges]], axis=1).astype(np.int64)


def _enabled_in(graph: GroupGraph, columns: np.ndarray, removed: Sequence[str]) -> np.ndarray:
    """``enabled_edges(graph, removed)`` on the edges whose ``control_columns`` are ``columns``: a look-up
    of each column in a table of the controls removed (np.isin over the graph's edges took 1.4 s of
    the 12 evaluations at --scale 2)."""
    ids = [i for i in (graph.control_index(c) for c in removed) if i is not None]
    if not ids:
        return np.ones(len(columns), bool)
    off = np.zeros(len(graph.controls) + 1, bool)  # (the last: -1, no control)
    off[ids] = True
    on: np.ndarray = ~off[columns].any(axis=1)
    return on


def choke_points(
    graph: GroupGraph,
    entry: str | Entry,
    kinds: Sequence[str] = KINDS,
    budget_seconds: float | None = None,
    top: int = 10,
    alternatives: int = 10,
    node_limit: int = 20_000,
) -> ChokeReport:
    """The controls (flows, grants, shared realms, …) of ``kinds`` whose removal cuts ``entry`` off from
    personal data and crown jewels: each removed alone (exactly), ranked by people protected; and the
    fewest that cut it off entirely, with up to ``alternatives`` cuts of that size in all. The fewest
    are proved by an integer program (:mod:`sekimori.graph.cut`) bounded by ``node_limit`` branch-and-
    bound nodes (and, if given, ``budget_seconds``); a cut the bound stopped is labelled ``found``."""
    started = time.perf_counter()
    entry = entry if isinstance(entry, Entry) else resolve_entry(graph, entry)
    eng = engine(graph)
    # Every edge enabled: the engine's shared walk serves (a mask of all edges built a new one).
    base = eng.reach(np.asarray(entry.nodes, np.int64))
    sub, new_id = eng.restricted(base.nodes | base.connectable)
    starts = new_id[np.asarray(entry.nodes, np.int64)]
    starts = starts[starts >= 0]
    jewel_names = {graph.index(f"system:{s.id}"): s.id for s in graph.model.systems if s.crown_jewel}

    columns = control_columns(graph, sub.edge_ids)

    def evaluate(removed: Sequence[str]) -> tuple[Exposure, list[str]]:
        on = _enabled_in(graph, columns, removed)
        r = sub.reach(starts, on)
        mask = np.zeros(graph.num_nodes, bool)
        mask[sub.node_ids[r.nodes]] = True
        return exposure(graph, mask), [
            name for node, name in jewel_names.items() if node is not None and mask[node]
        ]

    # Nothing removed: what the entry reaches already (the part kept is exactly that), not searched again.
    reached_before = np.zeros(graph.num_nodes, bool)
    reached_before[eng.node_ids[base.nodes]] = True
    before = exposure(graph, reached_before)
    jewels_before = [name for node, name in jewel_names.items() if node is not None and reached_before[node]]
    used = np.unique(columns[columns >= 0])
    candidates = [graph.controls[int(c)] for c in used if graph.controls[int(c)].split(":", 1)[0] in kinds]
    index = {c: i for i, c in enumerate(candidates)}
    evaluated = 0

    counting = threading.Lock()

    def point(removed: Sequence[str], after: Exposure, jewels: list[str]) -> ChokePoint:
        nonlocal evaluated
        with counting:
            evaluated += 1
        return ChokePoint(
            controls=list(removed),
            people_protected=before.total - after.total,
            crown_jewels_cut=[j for j in jewels_before if j not in jewels],
            cuts_off=after.total == 0 and not jewels,
        )

    # The people at stake are in the data stores with records and the crown jewels: the program's targets.
    as_candidate = np.full(len(graph.controls) + 1, -1, np.int64)  # (+1: a graph with no control)
    for c, i in index.items():
        as_candidate[graph.control_index(c)] = i
    target_nodes = np.array(
        [
            n
            for n in [graph.index(f"system:{s.id}") for s in graph.model.systems if s.crown_jewel]
            + [
                graph.index(f"data_store:{d.id}")
                for d in graph.model.data_stores
                if any(pd.records for pd in d.personal_data)
            ]
            if n is not None and new_id[n] >= 0
        ],
        np.int64,
    )
    program = None
    if before.total or jewels_before:
        program = CutProgram(
            sub,
            starts,
            new_id[target_nodes],
            np.where(columns >= 0, as_candidate[np.maximum(columns, 0)], -1),
            len(candidates),
        )

    def outcome(reached: np.ndarray) -> tuple[Exposure, list[str]]:
        """The people and crown jewels left, from the targets the program says stay reached."""
        mask = np.zeros(graph.num_nodes, bool)
        mask[target_nodes[reached]] = True
        return exposure(graph, mask), [
            name for node, name in jewel_names.items() if node is not None and mask[node]
        ]

    def single(control: str) -> ChokePoint:
        assert alone is not None
        return point([control], *outcome(alone[index[control]]))

    singles: list[ChokePoint] = []
    alone: np.ndarray | None = None
    searched: Future[Cuts] | None = None
    if program is not None:
        stop = threading.Event()
        # each alone is independent of the others; numpy and csgraph release the GIL for most of it
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            # The fewest cut searched meanwhile, kept only if no control alone cuts it off (each alone
            # is evaluated below, so none is smaller than two): the search (1-2 s of CPU at --scale 2)
            # overlaps the singles instead of following them.
            searched = pool.submit(
                program.minimum,
                limit=alternatives + 1,  # one more: to know whether those listed are all
                node_limit=node_limit,
                time_limit=budget_seconds,
                at_least=2,
                stop=stop,
            )
            # Exactly as the graph says (the program keeps every target's reach), every candidate in
            # one pass.
            alone = program.reached_without_each()
            singles = list(pool.map(single, candidates))
            if any(p.cuts_off for p in singles):
                stop.set()
    singles.sort(key=lambda p: (-p.people_protected, -len(p.crown_jewels_cut), p.controls))

    def report(status: str, method: str, cuts: list[ChokePoint], complete: bool, **extra: Any) -> ChokeReport:
        alone = {p.controls[0]: p.people_protected for p in singles}
        # Cuts of one size all cut everything off: rank those whose controls matter most alone first.
        cuts.sort(
            key=lambda p: (
                -p.people_protected,
                -len(p.crown_jewels_cut),
                -sum(alone.get(c, 0) for c in p.controls),
                p.controls,
            )
        )
        return ChokeReport(
            entry=entry,
            before=before,
            crown_jewels=jewels_before,
            singles=singles[:top],
            cut=cuts[0] if cuts else None,
            alternatives=cuts[1:alternatives],
            status=status,
            method=method,
            complete=complete and len(cuts) <= alternatives,
            candidates=len(candidates),
            evaluated=evaluated,
            seconds=time.perf_counter() - started,
            **extra,
        )

    if not (before.total or jewels_before):
        return report("nothing to cut", "the entry reaches no personal data or crown jewel", [], True)
    ones = [p for p in singles if p.cuts_off]
    if ones:  # no cut has fewer than one control: minimal, and every single that cuts is listed
        return report("minimal", "one control cuts it off (each evaluated alone)", ones, True)

    # Two or more: the integer program.
    assert program is not None
    assert searched is not None
    found = searched.result()
    # Each cut checked on the program kept for the reach of each target (one bitset pass for all: a
    # search of the graph each took 1.3 s of the 11 at --scale 2), the first on the graph itself too.
    left = program.reached_without_each(list(found.solutions))
    outcomes = [outcome(reached) for reached in left]
    cuts = [point([candidates[i] for i in s], *o) for s, o in zip(found.solutions, outcomes, strict=True)]
    if cuts:  # the people and crown jewels left as the engine says, for the first
        after, jewels = evaluate(cuts[0].controls)
        if (after.total, jewels) != (outcomes[0][0].total, outcomes[0][1]):
            raise AssertionError(f"the program's reach differs from the graph's: {cuts[0].controls}")
    if any(not p.cuts_off for p in cuts):  # the program and the reachability engine disagree: a bug
        raise AssertionError(f"the integer program's cut does not cut: {[p.controls for p in cuts]}")
    size = len(cuts[0].controls) if cuts else 0
    method = {
        "minimal": f"{size} controls, proved the fewest by an integer program",
        "found": f"{size} controls; not proved the fewest: the solver's limit was hit first",
        "impossible": f"no set of controls of the kinds considered ({', '.join(kinds)}) cuts it off",
        "unknown": "no cut found within the solver's limit",
    }[found.status]
    return report(found.status, method, cuts, found.complete, program=found.program)
