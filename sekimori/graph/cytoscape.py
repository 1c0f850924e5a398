"""A :class:`~sekimori.graph.view.GraphView` as Cytoscape.js JSON, for the web view."""

from __future__ import annotations

from typing import Any

from sekimori.graph.view import GraphView, ordered_orgs, unique_nodes

__all__ = ["to_cytoscape"]


def _group_id(org: str) -> str:
    return f"org-group:{org}"


def _class_token(text: str) -> str:
    return "-".join(text.split()) or "unknown"


def to_cytoscape(view: GraphView) -> dict[str, Any]:
    """Cytoscape.js JSON for the view; organisations are compound parents of their nodes.

    Labels are kept whole (the web view can shorten them with its style). Edges whose ends are not in
    the view are left out, as Cytoscape.js refuses them.
    """
    nodes = unique_nodes(view)
    ids = {n.id for n in nodes}
    elements_nodes: list[dict[str, Any]] = [
        {
            "data": {
                "id": _group_id(org),
                "kind": "org_group",
                "label": view.organisations.get(org, org),
                "org": org,
            },
            "classes": "org-group",
        }
        for org in ordered_orgs(view, nodes)
    ]
    for node in nodes:
        data: dict[str, Any] = {
            "id": node.id,
            "kind": node.kind,
            "label": node.label,
            "org": node.org,
            "crown_jewel": node.crown_jewel,
            "records": node.records,
            "entry": node.entry,
            "reached": node.reached,
        }
        if node.org is not None:
            data["parent"] = _group_id(node.org)
        classes = [_class_token(node.kind)]
        if node.crown_jewel:
            classes.append("crown-jewel")
        if node.entry:
            classes.append("entry")
        if not node.reached:
            classes.append("unreached")
        elements_nodes.append({"data": data, "classes": " ".join(classes)})

    elements_edges: list[dict[str, Any]] = []
    for i, edge in enumerate(view.edges):
        if edge.source not in ids or edge.target not in ids:
            continue
        classes = [_class_token(edge.kind)]
        if not edge.allowed:
            classes.append("not-allowed")
        if edge.on_path:
            classes.append("on-path")
        if edge.removed:
            classes.append("removed")
        elements_edges.append(
            {
                "data": {
                    "id": f"e{i}",
                    "source": edge.source,
                    "target": edge.target,
                    "kind": edge.kind,
                    "label": edge.label,
                    "text": edge.text,
                    "allowed": edge.allowed,
                    "on_path": edge.on_path,
                    "removed": edge.removed,
                },
                "classes": " ".join(classes),
            }
        )
    return {
        "data": {"title": view.title, "organisations": dict(view.organisations)},
        "elements": {"nodes": elements_nodes, "edges": elements_edges},
    }
