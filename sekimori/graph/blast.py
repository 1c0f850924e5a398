"""Blast radius: every system and data store reachable from an entry, and the people whose personal
data is exposed there (each person once); and the reach engine and edge masks the other answers share.

Every answer is a dataclass with ``to_dict()`` (the JSON the CLI prints) and is computed over the
graph's columns by :class:`sekimori.graph.reach.Engine`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.graph.changes import Change, apply_model_changes, parse_change
from sekimori.graph.entry import Entry, resolve_entry
from sekimori.graph.group_graph import EDGE_KIND, KIND, GroupGraph
from sekimori.graph.reach import Engine, Reached

# --- the engine and the masks the answers share ---


def engine(graph: GroupGraph) -> Engine:
    cached = graph.__dict__.get("_engine")
    if cached is None:
        net = np.isin(graph.kind, [EDGE_KIND["flow"], EDGE_KIND["observed_route"]])
        cached = Engine(graph.num_nodes, graph.src, graph.dst, graph.gate, graph.cost, net)
        graph.__dict__["_engine"] = cached
    return cached


def enabled_edges(graph: GroupGraph, controls: Sequence[str] = (), nodes: Sequence[int] = ()) -> np.ndarray:
    """Per graph edge: not cut by removing ``controls`` and taking out ``nodes``."""
    on = np.ones(graph.num_edges, bool)
    ids = [i for i in (graph.control_index(c) for c in controls) if i is not None]
    if ids:
        on &= ~(np.isin(graph.control1, ids) | np.isin(graph.control2, ids))
    if nodes:
        out = np.zeros(graph.num_nodes, bool)
        out[list(nodes)] = True
        on &= ~(out[graph.src] | out[graph.dst])
    return on


# --- blast radius ---


@dataclass
class Exposure:
    """People whose personal data is exposed, per category (users, business partners, …), each person
    counted once; secrecy-of-communications and sensitive records apart (they are also in ``people``)."""

    people: dict[str, int] = field(default_factory=dict)
    secrecy_of_communications: dict[str, int] = field(default_factory=dict)
    sensitive: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.people.values())

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


def _personal_rows(graph: GroupGraph) -> pa.Table:
    cached = graph.__dict__.get("_personal")
    if cached is None:
        rows = []
        for store in graph.model.data_stores:
            node = graph.index(f"data_store:{store.id}")
            for pd in store.personal_data:
                rows.append(
                    {
                        "node": node,
                        "store": store.id,
                        "category": pd.category,
                        "records": pd.records,
                        "population": pd.population or f"{store.id}.{pd.category}",
                        "soc": pd.secrecy_of_communications,
                        "sensitive": pd.sensitive,
                    }
                )
        cached = pa.Table.from_pylist(
            rows,
            schema=pa.schema(
                [
                    ("node", pa.int64()),
                    ("store", pa.string()),
                    ("category", pa.string()),
                    ("records", pa.int64()),
                    ("population", pa.string()),
                    ("soc", pa.bool_()),
                    ("sensitive", pa.bool_()),
                ]
            ),
        )
        graph.__dict__["_personal"] = cached
    return cached


def exposure(graph: GroupGraph, reached: np.ndarray) -> Exposure:
    """The people exposed when the data stores marked in ``reached`` (bool per graph node) are."""
    rows = _personal_rows(graph)
    if len(rows) == 0:
        return Exposure()
    hit = rows.filter(pa.array(reached[rows["node"].to_numpy()]))

    def count(table: pa.Table) -> dict[str, int]:
        # Same population and category: the same people, each store a subset of the largest.
        if len(table) == 0:
            return {}
        per_population = table.group_by(["category", "population"], use_threads=False).aggregate(
            [("records", "max")]
        )
        per_category = per_population.group_by("category", use_threads=False).aggregate(
            [("records_max", "sum")]
        )
        return dict(
            sorted(
                zip(
                    per_category["category"].to_pylist(),
                    per_category["records_max_sum"].to_pylist(),
                    strict=True,
                )
            )
        )

    return Exposure(
        people=count(hit),
        secrecy_of_communications=count(hit.filter(hit["soc"])),
        sensitive=count(hit.filter(hit["sensitive"])),
    )


@dataclass(frozen=True)
class ReachedSystem:
    """A system the entry reaches."""

    id: str
    name: str
    owner: str
    crown_jewel: bool


@dataclass(frozen=True)
class ReachedDataStore:
    """A data store the entry reaches, and the people it holds per category."""

    id: str
    name: str
    owner: str
    people: dict[str, int]


@dataclass
class BlastRadius:
    entry: Entry
    exposure: Exposure
    systems: list[ReachedSystem]
    data_stores: list[ReachedDataStore]
    crown_jewels: list[str]
    organisations: list[str]
    zones: list[str]
    hosts: int
    accounts: int
    changes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def is_zero(self) -> bool:
        return self.exposure.total == 0 and not self.crown_jewels

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry.to_dict(),
            "changes": self.changes,
            "exposure": self.exposure.to_dict(),
            "crown_jewels": self.crown_jewels,
            "systems": [asdict(s) for s in self.systems],
            "data_stores": [asdict(d) for d in self.data_stores],
            "organisations": self.organisations,
            "zones": self.zones,
            "hosts": self.hosts,
            "accounts": self.accounts,
            "seconds": round(self.seconds, 4),
        }


def _reach(graph: GroupGraph, entry: Entry, on: np.ndarray | None) -> Reached:
    eng = engine(graph)
    # None: every edge enabled, the engine's cached walk serves.
    return eng.reach(np.asarray(entry.nodes, np.int64), None if on is None else on[eng.edge_ids])


def node_mask(graph: GroupGraph, reached: Reached, eng: Engine) -> np.ndarray:
    mask = np.zeros(graph.num_nodes, bool)
    mask[eng.node_ids[reached.nodes]] = True
    return mask


def describe(
    graph: GroupGraph, entry: Entry, nodes: np.ndarray, changes: list[str], started: float
) -> BlastRadius:
    """The blast radius of ``entry`` that reached ``nodes`` (bool per graph node) after ``changes``;
    ``started``: when the work began (``perf_counter``), for its seconds."""
    model = graph.model
    systems = [s for s in model.systems if nodes[graph.index(f"system:{s.id}") or 0]]
    stores = [d for d in model.data_stores if nodes[graph.index(f"data_store:{d.id}") or 0]]
    people_of = {d.id: d.people() for d in stores}  # by population: own and shared people both count
    org_ids = {o for o in pc.unique(graph.orgs.filter(pa.array(nodes))).drop_null().to_pylist() if o}
    kinds = graph.kinds[nodes]
    zone_nodes = np.flatnonzero(nodes & (graph.kinds == KIND["zone"]))
    return BlastRadius(
        entry=entry,
        exposure=exposure(graph, nodes),
        systems=[ReachedSystem(s.id, s.name, s.owner, s.crown_jewel) for s in systems],
        data_stores=[ReachedDataStore(d.id, d.name, d.owner, people_of.get(d.id, {})) for d in stores],
        crown_jewels=[s.id for s in systems if s.crown_jewel],
        organisations=sorted(str(o) for o in org_ids),
        zones=sorted(graph.keys[int(z)].as_py().split(":", 1)[1] for z in zone_nodes),
        hosts=int((kinds == KIND["host"]).sum()),
        accounts=int((kinds == KIND["account"]).sum()),
        changes=changes,
        seconds=time.perf_counter() - started,
    )


def blast_radius(graph: GroupGraph, entry: str | Entry, changes: Sequence[str | Change] = ()) -> BlastRadius:
    """Every system and data store reachable from ``entry``, and the people exposed."""
    started = time.perf_counter()
    parsed = [c if isinstance(c, Change) else parse_change(graph, c) for c in changes]
    graph = apply_model_changes(graph, parsed)
    entry = entry if isinstance(entry, Entry) else resolve_entry(graph, entry)
    controls = [c for ch in parsed for c in ch.controls]
    removed = [n for ch in parsed for n in ch.nodes]
    on = enabled_edges(graph, controls, removed) if controls or removed else None
    starts = tuple(n for n in entry.nodes if n not in {x for ch in parsed for x in ch.nodes})
    entry = Entry(entry.spec, entry.kind, entry.label, entry.org, starts)
    reached = _reach(graph, entry, on)
    return describe(graph, entry, node_mask(graph, reached, engine(graph)), [c.text for c in parsed], started)
