"""What-if: the blast radius of an entry before and after changes to the group; and :class:`Protection`,
the people each of many changes would take out of one entry's blast radius, worked out on the part of the
graph the entry reaches."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from sekimori.graph.blast import BlastRadius, blast_radius, describe, engine, exposure
from sekimori.graph.changes import Change, parse_change
from sekimori.graph.entry import Entry, GraphError, resolve_entry
from sekimori.graph.group_graph import GroupGraph
from sekimori.graph.reach import Engine


@dataclass
class WhatIf:
    before: BlastRadius
    after: BlastRadius
    changes: list[str]

    @property
    def people_protected(self) -> int:
        return self.before.exposure.total - self.after.exposure.total

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": self.changes,
            "people_protected": self.people_protected,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


def what_if(graph: GroupGraph, entry: str | Entry, changes: Sequence[str | Change]) -> WhatIf:
    """The blast radius of ``entry`` before and after ``changes``."""
    before = blast_radius(graph, entry)
    after = blast_radius(graph, entry, changes)
    return WhatIf(before=before, after=after, changes=after.changes)


class Protection:
    """The people single changes (or sets of them) would take out of one entry's blast radius.

    The entry is reached once; :meth:`blast_radius` describes that reach without another search. A change
    that cuts no edge the entry uses and takes out no node it reaches changes nothing, found without a
    search (by the edges each control is on); any other is judged on the engine restricted to what the
    entry reached, built when first needed (removing controls or nodes only shrinks what is reached, so
    this is exact). Changes that add flows or grants (model edits) are answered by :func:`blast_radius` on
    the rebuilt graph. What is kept between calls is a few bits per node and edge (and the restricted
    engine once built), as a caller may hold one per organisation of a group.
    """

    def __init__(self, graph: GroupGraph, entry: str | Entry) -> None:
        started = time.perf_counter()
        self.graph = graph
        self.entry = entry if isinstance(entry, Entry) else resolve_entry(graph, entry)
        eng = engine(graph)
        self._base = eng.reach(np.asarray(self.entry.nodes, np.int64))
        reached = np.zeros(graph.num_nodes, bool)
        reached[eng.node_ids[self._base.nodes]] = True
        self.reached = reached  # per graph node
        self.people = exposure(graph, reached).total
        self._reach_seconds = time.perf_counter() - started
        self._blast: BlastRadius | None = None
        self._used: np.ndarray | None = None  # packed bits per graph edge: used by the entry's reach
        self._sub: tuple[Engine, np.ndarray] | None = None
        self._answers: dict[tuple[str, ...], int] = {}  # changes given as text → people protected

    def blast_radius(self) -> BlastRadius:
        """The entry's blast radius (as :func:`blast_radius` gives it, from the reach already made)."""
        if self._blast is None:
            started = time.perf_counter() - self._reach_seconds
            self._blast = describe(self.graph, self.entry, self.reached, [], started)
        return self._blast

    def people_protected(self, changes: Sequence[str | Change]) -> int:
        """The people ``changes`` (made together) take out of the entry's blast radius."""
        key = tuple(c for c in changes if isinstance(c, str))
        if len(key) == len(changes) and key in self._answers:
            return self._answers[key]
        parsed = self._parse(changes)
        if any(c.add_flows or c.add_grants for c in parsed):
            answer = self.people - blast_radius(self.graph, self.entry, parsed).exposure.total
        else:
            answer = self.people - exposure(self.graph, self.reached_after(parsed)).total
        if len(key) == len(changes):
            self._answers[key] = answer
        return answer

    def release(self) -> None:
        """Let go of the restricted engine (rebuilt if another change needs it)."""
        self._sub = None

    def _uses_any(self, edges: np.ndarray) -> bool:
        if self._used is None:
            eng, base = engine(self.graph), self._base
            used = np.zeros(self.graph.num_edges, bool)
            used[eng.edge_ids[np.flatnonzero(base.traversed())]] = True
            used[eng.edge_ids[base.network_edges]] = True
            self._used = np.packbits(used)
        edges = np.asarray(edges, np.int64)
        return bool(((self._used[edges >> 3] >> (7 - (edges & 7))) & 1).any())

    def reached_after(self, changes: Sequence[str | Change]) -> np.ndarray:
        """What the entry reaches once ``changes`` are made (bool per graph node; the graph unchanged, so
        changes that add flows or grants are refused)."""
        graph = self.graph
        parsed = self._parse(changes)
        if any(c.add_flows or c.add_grants for c in parsed):
            raise GraphError("a change that adds flows or grants is judged on the rebuilt graph")
        ids = [i for i in (graph.control_index(c) for ch in parsed for c in ch.controls) if i is not None]
        removed = np.asarray([n for ch in parsed for n in ch.nodes], np.int64)
        if not self._uses_any(control_edges(graph, ids)) and not self.reached[removed].any():
            return self.reached
        if self._sub is None:
            self._sub = engine(graph).restricted(self._base.nodes | self._base.connectable)
        sub, new_id = self._sub
        edges = sub.edge_ids
        off = np.zeros(len(edges), bool)
        if ids:
            off |= np.isin(graph.control1[edges], ids) | np.isin(graph.control2[edges], ids)
        if len(removed):
            out = np.zeros(graph.num_nodes, bool)
            out[removed] = True
            off |= out[graph.src[edges]] | out[graph.dst[edges]]
        starts = new_id[[n for n in self.entry.nodes if n not in set(removed.tolist())]]
        after = sub.reach(starts[starts >= 0], ~off)
        nodes = np.zeros(graph.num_nodes, bool)
        nodes[sub.node_ids[after.nodes]] = True
        return nodes

    def _parse(self, changes: Sequence[str | Change]) -> list[Change]:
        return [c if isinstance(c, Change) else parse_change(self.graph, c) for c in changes]


def protections(
    graph: GroupGraph,
    asks: Mapping[str, Sequence[str]],
    workers: int | None = None,
    radius: bool = True,
) -> dict[str, Protection | None]:
    """A :class:`Protection` of every entry of ``asks`` (None: not an entry of the graph), its blast
    radius described if ``radius``, and the single changes asked of it answered already (one the graph
    cannot judge, a :class:`GraphError`, is left to raise when asked again). The entries are worked out
    on ``workers`` threads (default: the CPUs this process may use), an entry per task: the searches spend
    their time in NumPy and SciPy, which release the GIL (2 threads: 1.75× on the govern benchmark's
    group)."""
    engine(graph).warm()
    exposure(graph, np.zeros(graph.num_nodes, bool))  # the people per store: shared, built once here
    control_edges(graph, [])

    def one(entry: str) -> Protection | None:
        try:
            protection = Protection(graph, entry)
        except GraphError:
            return None
        if radius:
            protection.blast_radius()
        for change in asks[entry]:
            with contextlib.suppress(GraphError):
                protection.people_protected([change])
        protection.release()  # the answers asked are kept; an engine per entry would add up
        return protection

    count = workers or len(os.sched_getaffinity(0))
    if count <= 1 or len(asks) <= 1:
        return {entry: one(entry) for entry in asks}
    with ThreadPoolExecutor(min(count, len(asks))) as pool:
        return dict(zip(asks, pool.map(one, asks), strict=True))


def control_edges(graph: GroupGraph, controls: Sequence[int]) -> np.ndarray:
    """The graph edges the controls (numbers) are on, by an index of the edges per control built once."""
    index = graph.__dict__.get("_control_edges")
    if index is None:
        # Every (edge, control) pair of both control columns, sorted by control, with row pointers.
        edge = np.concatenate([np.flatnonzero(graph.control1 >= 0), np.flatnonzero(graph.control2 >= 0)])
        control = np.concatenate([graph.control1[graph.control1 >= 0], graph.control2[graph.control2 >= 0]])
        order = np.argsort(control, kind="stable")
        pointers = np.zeros(len(graph.controls) + 1, np.int64)
        np.cumsum(np.bincount(control, minlength=len(graph.controls)), out=pointers[1:])
        index = graph.__dict__["_control_edges"] = (edge[order], pointers)
    edges, pointers = index
    if not len(controls):
        return np.zeros(0, np.int64)
    return np.concatenate([edges[pointers[c] : pointers[c + 1]] for c in controls])
