"""The part of the graph worth drawing: the attack paths, the data at stake and the cuts of a what-if."""

from __future__ import annotations

from collections.abc import Sequence

from sekimori.graph.blast import BlastRadius
from sekimori.graph.group_graph import NODE_KINDS, GroupGraph
from sekimori.graph.paths import AttackPath
from sekimori.graph.view import GraphView, NodeKind, ViewEdge, ViewNode


def paths_view(
    graph: GroupGraph,
    blast: BlastRadius,
    paths: Sequence[AttackPath],
    removed: Sequence[str] = (),
    title: str | None = None,
) -> GraphView:
    """The hops of ``paths`` (highlighted), the entry, every crown jewel and data store with personal data
    (greyed when out of reach), and the systems holding them. Hops that depend on a control in
    ``removed`` are drawn as cut."""
    model = graph.model
    reached_systems = {s.id for s in blast.systems}
    reached_stores = {d.id for d in blast.data_stores}
    nodes: dict[str, ViewNode] = {}

    def add(key: str, entry: bool = False) -> None:
        if key in nodes:
            return
        index = graph.index(key)
        kind, _, ident = key.partition(":")
        if index is None or kind not in NODE_KINDS:
            return
        store = next((d for d in model.data_stores if d.id == ident), None) if kind == "data_store" else None
        system = next((s for s in model.systems if s.id == ident), None) if kind == "system" else None
        records = 0
        if store is not None:
            records = sum(store.people().values())  # every population of the store, each once
        reached = True
        if store is not None:
            reached = ident in reached_stores
        elif system is not None:
            reached = ident in reached_systems
        nodes[key] = ViewNode(
            id=key,
            kind=_kind(kind),
            label=graph.labels[index].as_py() or ident,
            org=graph.orgs[index].as_py(),
            crown_jewel=bool(system and system.crown_jewel) or bool(store and store.personal_data),
            records=records,
            entry=entry,
            reached=reached,
        )

    for n in blast.entry.nodes:
        add(graph.keys[n].as_py(), entry=True)
    edges: list[ViewEdge] = []
    seen: set[tuple[str, str, str]] = set()
    cut = set(removed)
    for path in paths:
        for hop in path.hops:
            add(hop.src)
            add(hop.dst)
            if (hop.src, hop.dst, hop.kind) in seen:
                continue
            seen.add((hop.src, hop.dst, hop.kind))
            label = next((c.split(":", 1)[1] for c in hop.controls), hop.kind)
            edges.append(
                ViewEdge(
                    source=hop.src,
                    target=hop.dst,
                    kind=hop.kind,
                    label=label,
                    text=hop.text,
                    allowed=hop.allowed,
                    on_path=True,
                    removed=bool(cut & set(hop.controls)),
                )
            )
    for store in model.data_stores:
        if store.personal_data:
            add(f"data_store:{store.id}")
            add(f"system:{store.system}")
            key = (f"system:{store.system}", f"data_store:{store.id}", "holds")
            if key not in seen:
                seen.add(key)
                edges.append(ViewEdge(source=key[0], target=key[1], kind="holds", label="holds"))
    for system in model.systems:
        if system.crown_jewel:
            add(f"system:{system.id}")
    view_title = title or f"Attack paths from {blast.entry.label}: {blast.exposure.total:,} people exposed"
    return GraphView(
        title=view_title,
        nodes=list(nodes.values()),
        edges=[e for e in edges if e.source in nodes and e.target in nodes],
        organisations={o.id: o.name for o in model.organisations},
    )


def _kind(kind: str) -> NodeKind:
    assert kind in NODE_KINDS
    return kind  # type: ignore[return-value]
