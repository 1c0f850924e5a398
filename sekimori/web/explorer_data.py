"""What the graph explorer reads: entries checked against the reader's organisations, and the graph stage's
answers shaped as JSON (the group graph itself is :mod:`sekimori.web.explorer_graph`'s).

A reader not assigned to every organisation (not ``sees_all``) may start only from an entry of their own
organisations. What their entry reaches in other organisations is shown at the level of the group model
(organisations, zones, systems, data stores and the people in them, the flows, grants and realms that
connect them): that is the answer to "what does our foothold expose", and the controls to change. The
hosts and accounts of other organisations, which come from those organisations' logs, are never named:
an attack path's hop through one reads "a host of ORG" and loses its logon details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.graph import GraphError, resolve_entry
from sekimori.web.explorer_graph import Explorer, ExplorerError

if TYPE_CHECKING:
    from sekimori.graph import AttackPath, BlastRadius, ChokeReport, Entry, GroupGraph, Hop
    from sekimori.web.accounts import Account

MAX_CHANGES = 10
MAX_TEXT = 200
MAX_MATCHES = 20
ZONE_HOSTS = 200  # hosts listed when a zone is expanded; the rest are counted
SEARCHED_KINDS = ("host", "account", "zone", "system")
# A control of the graph → the what-if change that removes it, in the graph stage's words.
CHANGE_VERBS = {
    "flow": "block flow {}",
    "grant": "remove grant {}",
    "realm": "separate realm {}",
    "contract": "end contract {}",
    "admin": "remove admin {}",
}


def change_of_control(control: str) -> str:
    """The change text that removes ``control`` ('flow:F' → 'block flow F', 'route:A->B' → 'block flow
    A -> B')."""
    kind, _, ident = control.partition(":")
    if kind == "route":
        a, _, z = ident.partition("->")
        return f"block flow {a} -> {z}"
    return CHANGE_VERBS.get(kind, "{}").format(ident if kind in CHANGE_VERBS else control)


# --- entries and what the reader may see ---


def may_see(reader: Account, org: str | None) -> bool:
    return reader.sees_all or (org is not None and org in reader.orgs)


def entry_for(graph: GroupGraph, reader: Account, spec: str) -> Entry:
    """The entry ``spec`` if ``reader`` may start from it; unknown and not theirs look the same to a
    scoped reader (the graph's message lists other organisations' ids)."""
    spec = spec.strip()[:MAX_TEXT]
    if not spec:
        raise ExplorerError(400, "no entry given: expected KIND:ID, e.g. org:contractor-kr")
    try:
        entry = resolve_entry(graph, spec)
    except GraphError as exc:
        if reader.sees_all:
            raise ExplorerError(404, str(exc)) from None
        raise ExplorerError(404, "not found") from None
    if not may_see(reader, entry.org):
        raise ExplorerError(404, "not found")
    return entry


def changes_of(reader: Account, given: list[str]) -> list[str]:
    changes = [c.strip()[:MAX_TEXT] for c in given if c.strip()]
    if len(changes) > MAX_CHANGES:
        raise ExplorerError(400, f"at most {MAX_CHANGES} changes at a time")
    return changes


def change_error(reader: Account, exc: GraphError) -> ExplorerError:
    """A change the graph cannot parse: its message to a reader who sees all (it lists every flow,
    grant, …); the syntax only to a scoped reader."""
    if reader.sees_all:
        return ExplorerError(400, str(exc))
    return ExplorerError(
        400,
        "change not understood: expected 'separate realm R', 'block flow F|ZONE -> ZONE', 'block flows "
        "ORG -> ORG', 'remove grant G', 'end contract C', 'remove admin A', 'disable account X', "
        "'isolate host H', 'add flow ZONE -> ZONE' or 'add grant ORG -> SYSTEM'",
    )


def organisations(graph: GroupGraph, reader: Account) -> list[dict[str, str]]:
    return [{"id": o.id, "name": o.name} for o in graph.model.organisations if may_see(reader, o.id)]


def search_entries(graph: GroupGraph, reader: Account, text: str) -> dict[str, Any]:
    """Hosts, accounts, zones and systems whose key or label contains ``text`` (case-insensitive), of the
    reader's organisations, the first :data:`MAX_MATCHES`; and how many more there are."""
    text = text.strip()[:MAX_TEXT]
    if not text:
        return {"matches": [], "more": 0}
    mask = np.zeros(graph.num_nodes, bool)
    for kind in SEARCHED_KINDS:
        mask[graph.nodes_of_kind(kind)] = True
    mask &= _bools(
        pc.or_(
            pc.match_substring(graph.labels, text, ignore_case=True),
            pc.match_substring(graph.keys, text, ignore_case=True),
        )
    )
    mask &= ~_bools(pc.match_substring(graph.keys, "/"))  # the engine's gates are not entries
    if not reader.sees_all:
        mask &= _bools(pc.is_in(graph.orgs, value_set=pa.array(sorted(reader.orgs), pa.string())))
    found = np.flatnonzero(mask)
    matches = []
    for node in found[:MAX_MATCHES]:
        kind, _, key = graph.keys[int(node)].as_py().partition(":")
        matches.append(
            {
                "spec": f"{kind}:{key}",
                "kind": kind,
                "label": graph.labels[int(node)].as_py() or key,
                "org": graph.orgs[int(node)].as_py(),
            }
        )
    return {"matches": matches, "more": max(0, len(found) - MAX_MATCHES)}


def _bools(values: pa.Array) -> np.ndarray:
    return np.asarray(values.fill_null(False).to_numpy(zero_copy_only=False), bool)


# --- the answers as JSON ---


def blast_json(blast: BlastRadius, before_total: int) -> dict[str, Any]:
    """The blast radius: people by category, systems and data stores reached (the model's names)."""
    data = blast.to_dict()
    data.pop("seconds", None)
    data["zones"] = [z for z in data["zones"] if "/" not in z]  # the gates are the engine's, not zones
    data["people_before"] = before_total
    data["people_protected"] = before_total - blast.exposure.total
    return data


class Redactor:
    """Hides from a scoped reader the hosts and accounts of organisations not theirs."""

    def __init__(self, graph: GroupGraph, reader: Account) -> None:
        self.graph, self.reader = graph, reader
        self.names = {o.id: o.name for o in graph.model.organisations}

    def hidden(self, key: str) -> str | None:
        """What a hidden node is called instead ('a host of Parent Corp'), or None if it is shown."""
        kind = key.partition(":")[0]
        if self.reader.sees_all or kind not in ("host", "account"):
            return None
        node = self.graph.index(key)
        org = self.graph.orgs[node].as_py() if node is not None else None
        if may_see(self.reader, org):
            return None
        owner = self.names.get(org or "", "another organisation")
        return f"a host of {owner}" if kind == "host" else f"an account of {owner}"

    def label(self, key: str) -> str:
        node = self.graph.index(key)
        return (self.graph.labels[node].as_py() if node is not None else None) or key.partition(":")[2]

    def hop(self, hop: Hop) -> dict[str, Any]:
        src, dst = self.hidden(hop.src), self.hidden(hop.dst)
        shown = {
            "src": hop.src,
            "dst": hop.dst,
            "kind": hop.kind,
            "text": hop.text,
            "controls": hop.controls,
            "allowed": hop.allowed,
            "cost": hop.cost,
        }
        if src is None and dst is None:
            return shown
        # The graph's sentence names the node and, for an observed logon, its counts and times: replaced.
        a, b = src or self.label(hop.src), dst or self.label(hop.dst)
        return {
            **shown,
            "src": "hidden" if src else hop.src,
            "dst": "hidden" if dst else hop.dst,
            "text": f"{a} → {b} ({hop.kind.replace('_', ' ')})",
        }


def paths_json(graph: GroupGraph, reader: Account, paths: list[AttackPath]) -> list[dict[str, Any]]:
    """Each path's steps in the order taken (each after what it needs), in words."""
    redact = Redactor(graph, reader)
    return [
        {
            "target": p.target,
            "target_label": p.target_label,
            "cost": round(p.cost, 3),
            "people": p.people,
            "controls": p.controls,
            "steps": [redact.hop(h) for h in p.steps()],
        }
        for p in paths
    ]


def choke_json(report: ChokeReport) -> dict[str, Any]:
    """The choke points, each with the change text that removes its controls (the what-if toggles)."""

    def point(p: Any) -> dict[str, Any]:
        return {**p.to_dict(), "changes": [change_of_control(c) for c in p.controls]}

    return {
        "entry": report.entry.to_dict(),
        "people": report.before.total,
        "crown_jewels": report.crown_jewels,
        "status": report.status,
        "method": report.method,
        "cut": point(report.cut) if report.cut else None,
        "alternatives": [point(a) for a in report.alternatives],
        "singles": [point(s) for s in report.singles],
    }


# --- the neighbourhood view (Cytoscape.js elements) ---


def _group(org: str) -> str:
    return f"org-group:{org}"


@dataclass
class ViewBuilder:
    """Organisations as compound nodes holding their zones; a zone holds its systems and data stores
    (and its hosts once expanded), so a group of any size draws as a few dozen nodes."""

    graph: GroupGraph
    reader: Account
    explorer: Explorer
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[str, dict[str, Any]] = field(default_factory=dict)

    def org(self, org: str | None) -> str | None:
        if org is None:
            return None
        key = _group(org)
        if key not in self.nodes:
            name = next((o.name for o in self.graph.model.organisations if o.id == org), org)
            self.nodes[key] = {"id": key, "kind": "organisation", "label": name, "org": org}
        return key

    def zone(self, zone_id: str, reached: bool) -> str:
        key = f"zone:{zone_id}"
        if key not in self.nodes:
            zone = next((z for z in self.graph.model.zones if z.id == zone_id), None)
            org = zone.org if zone is not None else None
            self.nodes[key] = {
                "id": key,
                "kind": "zone",
                "label": zone.name if zone is not None else zone_id,
                "org": org,
                "parent": self.org(org),
                # another organisation's hosts are not counted for a scoped reader either
                "hosts": len(self.explorer.hosts_in_zone(zone_id)) if may_see(self.reader, org) else None,
                "expandable": may_see(self.reader, org),
                "reached": reached,
            }
        return key

    def add(self, key: str, kind: str, label: str, org: str, zone: str | None, **data: Any) -> None:
        parent = self.zone(zone, data.get("reached", False)) if zone else self.org(org)
        self.nodes.setdefault(
            key, {"id": key, "kind": kind, "label": label, "org": org, "parent": parent, **data}
        )

    def edge(self, source: str, target: str, kind: str, label: str, **data: Any) -> None:
        if source not in self.nodes or target not in self.nodes:
            return
        if source in self.ancestry(target) or target in self.ancestry(source):
            return  # a group and what it holds: drawn by nesting (an edge into one's own box breaks layouts)
        key = f"{kind}:{source}->{target}"
        self.edges.setdefault(
            key, {"id": key, "source": source, "target": target, "kind": kind, "label": label, **data}
        )

    def ancestry(self, key: str) -> list[str]:
        """``key`` and the groups holding it, innermost first."""
        chain = [key]
        while (parent := self.nodes.get(chain[-1], {}).get("parent")) is not None:
            chain.append(parent)
        return chain

    def shown(self, key: str) -> str | None:
        """The node of the view standing for graph node ``key``: a host's zone, an account's or
        credential's organisation, the zone of an engine gate."""
        kind, _, ident = key.partition(":")
        node = self.graph.index(key)
        if kind == "organisation":
            return self.org(ident)
        if kind == "zone":
            return f"zone:{ident.partition('/')[0]}"
        if kind == "host" and node is not None:
            zone = self.graph.zones[node].as_py()
            return f"zone:{zone}" if zone else self.org(self.graph.orgs[node].as_py())
        if kind in ("account", "credential", "realm") and node is not None:
            return self.org(self.graph.orgs[node].as_py())
        return key


def view_json(
    explorer: Explorer,
    reader: Account,
    entry: Entry,
    blast: BlastRadius,
    paths: list[AttackPath],
    removed: set[str],
) -> dict[str, Any]:
    """The entry's neighbourhood: what it reaches and the data at stake (greyed when out of reach; of
    other organisations only what is reached for a scoped reader), flows between the zones shown
    (dashed when a what-if removes them) and the attack paths' hops drawn between the nodes shown."""
    graph = explorer.graph()
    model = graph.model
    view = ViewBuilder(graph, reader, explorer)
    zones = set(blast.zones)
    systems = {s.id for s in blast.systems}
    stores = {d.id for d in blast.data_stores}

    def wanted(org: str, reached: bool) -> bool:
        return reached or may_see(reader, org)

    for zone in model.zones:
        if zone.org == entry.org or zone.id in zones:
            view.zone(zone.id, zone.id in zones)
    zone_of = {s.id: s.zone for s in model.systems}
    for system in model.systems:
        reached = system.id in systems
        holds_people = any(d.system == system.id and d.personal_data for d in model.data_stores)
        if (reached or system.crown_jewel or holds_people) and wanted(system.owner, reached):
            view.add(
                f"system:{system.id}",
                "system",
                system.name,
                system.owner,
                system.zone,
                reached=reached,
                crown_jewel=system.crown_jewel,
            )
    for store in model.data_stores:
        reached = store.id in stores
        if store.personal_data and wanted(store.owner, reached):
            people = sum(store.people().values())
            view.add(
                f"data_store:{store.id}",
                "data_store",
                store.name,
                store.owner,
                zone_of.get(store.system),
                reached=reached,
                people=people,
            )
            view.edge(f"system:{store.system}", f"data_store:{store.id}", "holds", "holds")
    for flow in model.flows:
        cut = f"flow:{flow.id}" in removed or f"route:{flow.from_zone}->{flow.to_zone}" in removed
        view.edge(f"zone:{flow.from_zone}", f"zone:{flow.to_zone}", "flow", flow.id, removed=cut)
    for path in paths:
        for hop in path.steps():
            source, target = view.shown(hop.src), view.shown(hop.dst)
            if source and target:
                cut = bool(removed & set(hop.controls))
                view.edge(source, target, "path", hop.kind.replace("_", " "), removed=cut)
    start = view.shown(graph.keys[entry.nodes[0]].as_py()) if entry.nodes else None
    if start in view.nodes:
        view.nodes[start]["entry"] = True
    return {
        "nodes": [{"data": n} for n in view.nodes.values()],
        "edges": [{"data": e} for e in view.edges.values()],
    }


def zone_hosts_json(
    explorer: Explorer, reader: Account, zone_id: str, reached: np.ndarray | None
) -> dict[str, Any]:
    """The hosts of an expanded zone (the reached first, at most :data:`ZONE_HOSTS`) and how many more;
    ``reached``: bool per graph node, None when unknown (a change that rebuilds the graph)."""
    graph = explorer.graph()
    zone = next((z for z in graph.model.zones if z.id == zone_id), None)
    if zone is None or not may_see(reader, zone.org):
        raise ExplorerError(404, "not found")
    hosts = explorer.hosts_in_zone(zone_id)
    if reached is not None:
        hosts = np.concatenate([hosts[reached[hosts]], hosts[~reached[hosts]]])
    shown = hosts[:ZONE_HOSTS]
    return {
        "zone": zone_id,
        "hosts": [
            {
                "data": {
                    "id": graph.keys[int(n)].as_py(),
                    "kind": "host",
                    "label": graph.labels[int(n)].as_py(),
                    "org": zone.org,
                    "parent": f"zone:{zone_id}",
                    "reached": None if reached is None else bool(reached[int(n)]),
                }
            }
            for n in shown
        ],
        "more": int(len(hosts) - len(shown)),
    }
