"""Attack paths: the easiest ways from an entry to personal data and crown jewels, each hop in words.

The search is :class:`sekimori.graph.derivation.Footholds`: a logon needs the credentials and a
connection to the target's zone, and the explanation lists, before each such hop, how the attacker got
that connection (the hops to a host in a zone a flow leads from, and the flow), each step once and
before any step that needs it. A path's cost is the sum of the steps it lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sekimori.graph.blast import enabled_edges, engine, exposure, node_mask
from sekimori.graph.changes import Change, apply_model_changes, parse_change
from sekimori.graph.derivation import Derivation, Footholds
from sekimori.graph.entry import KIND_ALIASES, Entry, GraphError, resolve_entry
from sekimori.graph.group_graph import EDGE_COST, EDGE_KIND_NAMES, NODE_KINDS, GroupGraph, edge_text


@dataclass
class Hop:
    src: str
    dst: str
    kind: str
    text: str
    controls: list[str]
    allowed: bool
    # For a hop that needs a connection to a zone: the steps taken just before it that give it (a host
    # in a zone, its place there, the flow), in words; the same steps as hops in ``before``.
    network: list[str] = field(default_factory=list)
    cost: float = 0.0
    gate: str | None = None  # the zone the hop connects to
    before: list[Hop] = field(default_factory=list)


@dataclass
class AttackPath:
    target: str
    target_label: str
    cost: float  # every step listed (the hops and what they need), each once
    hops: list[Hop]
    people: dict[str, int]
    controls: list[str]  # of every step listed

    def steps(self) -> list[Hop]:
        """Every step in the order taken: each hop after what it needs."""
        return [step for hop in self.hops for step in (*hop.before, hop)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "target_label": self.target_label,
            "cost": round(self.cost, 3),
            "people": self.people,
            "controls": self.controls,
            "hops": [asdict(h) for h in self.hops],
        }


def targets_of(graph: GroupGraph, target: str | None) -> list[int]:
    """The graph nodes a question aims at: ``target``, or every data store with personal data and
    every crown jewel."""
    if target is not None:
        kind, sep, ident = target.partition(":")
        kind = KIND_ALIASES.get(kind, kind)
        node = graph.index(f"{kind}:{ident}" if sep else f"data_store:{target}") or (
            graph.index(f"system:{target}") if not sep else None
        )
        if node is None:
            raise GraphError(
                f"target {target!r}: expected a data store or system id (data_store:ID, system:ID)"
            )
        return [node]
    stores = [graph.index(f"data_store:{d.id}") for d in graph.model.data_stores if d.personal_data]
    jewels = [graph.index(f"system:{s.id}") for s in graph.model.systems if s.crown_jewel]
    return [n for n in (*stores, *jewels) if n is not None]


def people_at(graph: GroupGraph, node: int) -> dict[str, int]:
    """The people a data store or a system (its data stores) holds, per category."""
    mask = np.zeros(graph.num_nodes, bool)
    mask[node] = True
    kind = NODE_KINDS[int(graph.kinds[node])]
    if kind == "system":
        system = graph.keys[node].as_py().split(":", 1)[1]
        for d in graph.model.data_stores:
            if d.system == system:
                mask[graph.index(f"data_store:{d.id}") or node] = True
    return exposure(graph, mask).people


def attack_paths(
    graph: GroupGraph,
    entry: str | Entry,
    target: str | None = None,
    k: int = 10,
    max_hops: int = 24,
    changes: Sequence[str | Change] = (),
) -> list[AttackPath]:
    """The ``k`` easiest paths from ``entry`` to personal data or crown jewels (or to ``target``):
    the cheapest path to each target, then the cheapest detours around the controls of the best ones.
    A logon hop that needs a network route lists before it how the attacker connects to the zone (the
    hops to a host in a zone a flow leads from, and the flow); their cost counts in the path's, once."""
    parsed = [c if isinstance(c, Change) else parse_change(graph, c) for c in changes]
    graph = apply_model_changes(graph, parsed)
    entry = entry if isinstance(entry, Entry) else resolve_entry(graph, entry)
    base_on = enabled_edges(
        graph, [c for ch in parsed for c in ch.controls], [n for ch in parsed for n in ch.nodes]
    )
    eng = engine(graph)
    reached = eng.reach(np.asarray(entry.nodes, np.int64), base_on[eng.edge_ids])
    full_nodes = node_mask(graph, reached, eng)
    targets = [t for t in targets_of(graph, target) if full_nodes[t]]
    if not targets:
        return []
    # Work on the reached part only: every path lies in it.
    sub, new_id = eng.restricted(reached.nodes | reached.connectable)
    starts = new_id[np.asarray(entry.nodes, np.int64)]
    starts = starts[starts >= 0]
    step_cost = graph.cost[sub.edge_ids].astype(np.float64)
    sub_targets = {int(new_id[t]): t for t in targets}
    people = {t: people_at(graph, t) for t in targets}
    found: list[AttackPath] = []
    seen: set[tuple[int, ...]] = set()

    def search(extra_off: Sequence[str]) -> None:
        on = (base_on & enabled_edges(graph, extra_off))[sub.edge_ids]
        footholds = Footholds(sub, starts, on, step_cost)
        for t_sub, t in sub_targets.items():
            derivation = footholds.derivation(t_sub)
            if derivation is None or not derivation.chain or len(derivation.chain) > max_hops:
                continue
            key = tuple(int(sub.edge_ids[x]) for pre, e in _taken(derivation) for x in (*pre, e))
            if key in seen:
                continue
            seen.add(key)
            found.append(_explain(graph, sub.edge_ids, t, derivation, people[t]))

    search(())
    tried: set[str] = set()
    rounds = 0
    while len(found) < k and rounds < k:
        rounds += 1
        found.sort(key=lambda p: (p.cost, -sum(p.people.values())))
        pending = [c for p in found for c in p.controls if c not in tried]
        if not pending:
            break
        tried.add(pending[0])
        search([pending[0]])
    found.sort(key=lambda p: (p.cost, -sum(p.people.values()), len(p.hops), p.target))
    return found[:k]


def _taken(derivation: Derivation) -> list[tuple[list[int], int]]:
    return list(zip(derivation.before, derivation.chain, strict=True))


def _controls_of_edge(graph: GroupGraph, e: int) -> list[str]:
    return [graph.controls[c] for c in (int(graph.control1[e]), int(graph.control2[e])) if c >= 0]


def _hop(graph: GroupGraph, e: int, before: list[Hop]) -> Hop:
    gate = int(graph.gate[e])
    return Hop(
        src=graph.keys[int(graph.src[e])].as_py(),
        dst=graph.keys[int(graph.dst[e])].as_py(),
        kind=EDGE_KIND_NAMES[int(graph.kind[e])],
        text=edge_text(graph, e),
        controls=list(dict.fromkeys(_controls_of_edge(graph, e) + [c for h in before for c in h.controls])),
        allowed=bool(graph.allowed[e]),
        network=[h.text for h in before],
        cost=float(EDGE_COST[int(graph.kind[e])]),
        gate=graph.keys[gate].as_py() if gate >= 0 else None,
        before=before,
    )


def _explain(
    graph: GroupGraph, edge_ids: np.ndarray, target: int, derivation: Derivation, people: dict[str, int]
) -> AttackPath:
    hops: list[Hop] = []
    controls: list[str] = []
    for pre, e in _taken(derivation):
        before = [_hop(graph, int(edge_ids[x]), []) for x in pre]
        hop = _hop(graph, int(edge_ids[e]), before)
        hops.append(hop)
        for c in hop.controls:
            if c not in controls:
                controls.append(c)
    return AttackPath(
        target=graph.keys[target].as_py(),
        target_label=graph.labels[target].as_py(),
        cost=derivation.cost,
        hops=hops,
        people=people,
        controls=controls,
    )
