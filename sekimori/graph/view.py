"""A small, drawable piece of the group graph: what a picture or the web view shows.

The analyses (blast radius, paths, what-if) return a :class:`GraphView` of the nodes and edges worth
showing; :mod:`sekimori.graph.draw` turns it into SVG/PNG, :mod:`sekimori.graph.cytoscape` into
Cytoscape.js JSON. It holds plain values only, so it can be built by hand in tests and serialised as is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

NodeKind = Literal["organisation", "realm", "credential", "zone", "host", "account", "system", "data_store"]


@dataclass(frozen=True)
class ViewNode:
    id: str  # unique, e.g. "host:pc02", "data_store:ds-partner-crm"
    kind: NodeKind
    label: str  # what a person reads, e.g. "PC02"
    org: str | None = None  # organisation id the node belongs to (drawn as a group); None if unknown
    crown_jewel: bool = False  # a crown-jewel system, or a data store holding personal data
    records: int = 0  # people whose personal data the node holds (data stores)
    entry: bool = False  # where the attacker starts
    reached: bool = True  # reachable from the entry (False: shown for context only)


@dataclass(frozen=True)
class ViewEdge:
    source: str  # ViewNode.id
    target: str  # ViewNode.id
    kind: str  # edge kind, e.g. "flow", "grant", "shared_realm", "logon", "credential_exposure"
    label: str  # short text drawn on the edge, e.g. "f-affiliate-to-parent"
    text: str = ""  # the hop explained in words
    allowed: bool = True  # False: observed, but no grant or flow of the model allows it
    on_path: bool = False  # part of a highlighted attack path
    removed: bool = False  # cut by a what-if change (drawn dashed)


@dataclass
class GraphView:
    title: str
    nodes: list[ViewNode] = field(default_factory=list)
    edges: list[ViewEdge] = field(default_factory=list)
    organisations: dict[str, str] = field(default_factory=dict)  # org id → display name

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "organisations": dict(self.organisations),
            "nodes": [asdict(n) for n in self.nodes],
            "edges": [asdict(e) for e in self.edges],
        }


def unique_nodes(view: GraphView) -> list[ViewNode]:
    """The view's nodes, each id once."""
    # A repeated id would break Cytoscape and the layout; the first occurrence wins.
    seen: set[str] = set()
    out: list[ViewNode] = []
    for node in view.nodes:
        if node.id not in seen:
            seen.add(node.id)
            out.append(node)
    return out


def ordered_orgs(view: GraphView, nodes: list[ViewNode]) -> list[str]:
    """Organisations that have nodes: those named in the view first (its order), then the rest sorted."""
    used = {n.org for n in nodes if n.org is not None}
    named = [org for org in view.organisations if org in used]
    return named + sorted(used - set(named))
