"""What-if changes: a change in words ('separate realm R', 'block flows ORG -> ORG', …) parsed into the
controls it removes, the nodes it takes out or the model edits it rebuilds the graph with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sekimori.graph.build import build_graph
from sekimori.graph.entry import GraphError
from sekimori.graph.group_graph import CONTROL_KINDS, GroupGraph
from sekimori.model import Flow, Grant, account_key, host_key


@dataclass(frozen=True)
class Change:
    """One what-if change: controls to remove, nodes to take out, or a model edit to rebuild with."""

    text: str
    controls: tuple[str, ...] = ()
    nodes: tuple[int, ...] = ()
    add_flows: tuple[tuple[str, str], ...] = ()
    add_grants: tuple[tuple[str, str], ...] = ()


def parse_change(graph: GroupGraph, text: str) -> Change:
    """A change in words: 'separate realm R', 'block flow F', 'block flow ZONE -> ZONE', 'block flows
    ORG -> ORG', 'remove grant G', 'end contract C', 'remove admin A', 'disable account NAME',
    'isolate host NAME', 'add flow ZONE -> ZONE', 'add grant ORG -> SYSTEM'; or a control id
    ('flow:F', 'realm:R', …)."""
    model = graph.model
    words = text.replace("→", "->").split()
    if len(words) == 1 and ":" in words[0]:
        kind, _, ident = words[0].partition(":")
        return _control_change(graph, text, kind, ident)
    verb = " ".join(words[:2]).lower()
    rest = " ".join(words[2:])
    arrow = [p.strip() for p in rest.split("->")] if "->" in rest else None
    if verb == "separate realm":
        return _control_change(graph, text, "realm", rest)
    if verb in ("block flow", "block route", "block flows"):
        if arrow is None:
            return _control_change(graph, text, "flow", rest)
        a, z = arrow
        zones = {zone.id: zone.org for zone in model.zones}
        orgs = {o.id for o in model.organisations}
        from_zones = (
            [a] if a in zones else [zid for zid, org in zones.items() if org == a] if a in orgs else None
        )
        to_zones = (
            [z] if z in zones else [zid for zid, org in zones.items() if org == z] if z in orgs else None
        )
        if not from_zones or not to_zones:
            bad = a if not from_zones else z
            raise GraphError(f"change {text!r}: {bad!r} is neither a zone nor an organisation with zones")
        controls = tuple(f"route:{x}->{y}" for x in from_zones for y in to_zones if x != y)
        return Change(text, controls=controls)
    if verb == "remove grant":
        return _control_change(graph, text, "grant", rest)
    if verb == "end contract":
        return _control_change(graph, text, "contract", rest)
    if verb == "remove admin":
        return _control_change(graph, text, "admin", rest)
    if verb in ("disable account", "isolate host"):
        kind = verb.split()[1]
        key = account_key(rest) if kind == "account" else host_key(rest)
        node = graph.index(f"{kind}:{key}")
        if node is None:
            raise GraphError(f"change {text!r}: no {kind} {rest!r} in the graph")
        return Change(text, nodes=(node,))
    if verb == "add flow" and arrow:
        for zone in arrow:
            if zone not in {z.id for z in model.zones}:
                raise GraphError(f"change {text!r}: unknown zone {zone!r}")
        return Change(text, add_flows=((arrow[0], arrow[1]),))
    if verb == "add grant" and arrow:
        if arrow[0] not in {o.id for o in model.organisations}:
            raise GraphError(f"change {text!r}: unknown organisation {arrow[0]!r}")
        if arrow[1] not in {s.id for s in model.systems}:
            raise GraphError(f"change {text!r}: unknown system {arrow[1]!r}")
        return Change(text, add_grants=((arrow[0], arrow[1]),))
    raise GraphError(
        f"change {text!r}: expected 'separate realm R', 'block flow F|ZONE -> ZONE', "
        "'block flows ORG -> ORG', "
        "'remove grant G', 'end contract C', 'remove admin A', 'disable account X', 'isolate host H', "
        "'add flow ZONE -> ZONE' or 'add grant ORG -> SYSTEM'"
    )


def _control_change(graph: GroupGraph, text: str, kind: str, ident: str) -> Change:
    ident = ident.strip()
    sections: dict[str, Sequence[Any]] = {
        "realm": graph.model.realms,
        "flow": graph.model.flows,
        "grant": graph.model.grants,
        "contract": graph.model.contracts,
        "admin": graph.model.admin_rights,
    }
    if kind == "route":
        return Change(text, controls=(f"route:{ident}",))
    if kind not in sections:
        raise GraphError(
            f"change {text!r}: unknown control kind {kind!r}; expected one of {', '.join(CONTROL_KINDS)}"
        )
    ids = [item.id for item in sections[kind]]
    if ident not in ids:
        raise GraphError(
            f"change {text!r}: unknown {kind} {ident!r}; expected one of {', '.join(ids) or 'none'}"
        )
    return Change(text, controls=(f"{kind}:{ident}",))


def apply_model_changes(graph: GroupGraph, changes: Sequence[Change]) -> GroupGraph:
    """The graph rebuilt with the changes that add flows or grants (others need no rebuild)."""
    flows = [f for c in changes for f in c.add_flows]
    grants = [g for c in changes for g in c.add_grants]
    if not flows and not grants:
        return graph
    model = graph.model
    new_flows = [
        Flow.model_validate(
            {"id": f"what-if-flow-{i}", "from": a, "to": z, "ports": "any", "protocol": "any"}
        )
        for i, (a, z) in enumerate(flows)
    ]
    new_grants = [
        Grant(id=f"what-if-grant-{i}", org=o, systems=[s], logon_types=["network"], owner="what-if")
        for i, (o, s) in enumerate(grants)
    ]
    updated = model.model_copy(
        update={"flows": [*model.flows, *new_flows], "grants": [*model.grants, *new_grants]}
    )
    return build_graph(updated, graph.logons, graph.hosts, signins=graph.signins)
