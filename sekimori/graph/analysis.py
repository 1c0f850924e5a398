"""The questions the graph answers: blast radius, attack paths, choke points, what-if.

Every answer is a dataclass with ``to_dict()`` (the JSON the CLI prints) and is computed over the
graph's columns by :class:`sekimori.graph.reach.Engine`; only the few hops of the paths shown are turned
into words.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from sekimori.graph.build import (
    CONTROL_KINDS,
    EDGE_KIND,
    EDGE_KIND_NAMES,
    KIND,
    NODE_KINDS,
    GroupGraph,
    account_key,
    build_graph,
    edge_text,
    host_key,
)
from sekimori.graph.reach import Engine, Reached


class GraphError(ValueError):
    """A question the graph cannot answer as asked: an unknown entry, change or target."""


# --- entry points ---


@dataclass(frozen=True)
class Entry:
    spec: str  # as asked: 'org:contractor-kr', 'host:PC02', 'account:EXAMPLE\\user01'
    kind: str
    label: str
    org: str | None
    nodes: tuple[int, ...]  # graph nodes the attacker holds at the start

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "kind": self.kind, "label": self.label, "org": self.org}


_ALIASES = {"org": "organisation", "organization": "organisation", "store": "data_store", "ds": "data_store"}


def resolve_entry(graph: GroupGraph, spec: str) -> Entry:
    """The nodes an entry point stands for: ``org:ID``, ``host:NAME``, ``account:NAME``, ``zone:ID``,
    ``system:ID``, ``realm:ID`` or ``credential:ORG@REALM``. A host or account the logs never showed is
    placed by the model: its zone and its organisation's credentials (a host), or its organisation's
    credentials in its realm (an account)."""
    kind, sep, value = spec.partition(":")
    if not sep:
        raise GraphError(
            f"entry {spec!r}: expected KIND:ID, e.g. org:contractor-kr, host:PC02, account:CORP\\alice"
        )
    kind = _ALIASES.get(kind.strip().lower(), kind.strip().lower())
    value = value.strip()
    if kind not in NODE_KINDS:
        raise GraphError(f"entry {spec!r}: unknown kind {kind!r}; expected one of {', '.join(NODE_KINDS)}")
    model = graph.model
    key = host_key(value) if kind == "host" else account_key(value) if kind == "account" else value
    node = graph.index(f"{kind}:{key}")
    if node is not None:
        org = graph.orgs[node].as_py()
        starts = [node]
        if kind == "account" and org:
            # Credentials alone go nowhere: the account is used from its organisation's network.
            starts += [
                n for n in (graph.index(f"zone:{z.id}") for z in model.zones if z.org == org) if n is not None
            ]
        return Entry(spec, kind, graph.labels[node].as_py(), org, tuple(starts))
    if kind == "host":
        org, zone = model.classify_host(value, value if re.fullmatch(r"[0-9a-fA-F.:]+", value) else None)
        if org is None:
            raise GraphError(
                f"entry {spec!r}: the logs never showed this host and no host rule of the model matches it"
            )
        placed: list[int | None] = [graph.index(f"zone:{zone}")] + [
            graph.index(f"credential:{org}@{r.id}")
            for r in model.realms
            if org in r.shared_by and r.kind != "local"
        ]
        return Entry(spec, kind, value, org, tuple(n for n in placed if n is not None))
    if kind == "account":
        from sekimori.model.matching import first_account_match, split_principal

        match = first_account_match(model.account_matchers, split_principal(value))
        if match is None or match.realm is None:
            raise GraphError(
                f"entry {spec!r}: the logs never showed this account and no account rule places it in a realm"
            )
        nodes = [graph.index(f"credential:{match.org}@{match.realm}")]
        nodes += [graph.index(f"zone:{z.id}") for z in model.zones if z.org == match.org]
        return Entry(spec, kind, value, match.org, tuple(n for n in nodes if n is not None))
    known = [graph.keys[int(i)].as_py().split(":", 1)[1] for i in graph.nodes_of_kind(kind)][:12]
    raise GraphError(f"entry {spec!r}: unknown {kind}; known: {', '.join(known) or 'none'}")


# --- what-if changes ---


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
    from sekimori.model.group import Flow, Grant

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
    return build_graph(updated, graph.logons, graph.hosts)


# --- the engine and the masks ---


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


@dataclass
class BlastRadius:
    entry: Entry
    exposure: Exposure
    systems: list[dict[str, Any]]
    data_stores: list[dict[str, Any]]
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
            "systems": self.systems,
            "data_stores": self.data_stores,
            "organisations": self.organisations,
            "zones": self.zones,
            "hosts": self.hosts,
            "accounts": self.accounts,
            "seconds": round(self.seconds, 4),
        }


def _reach(graph: GroupGraph, entry: Entry, on: np.ndarray) -> Reached:
    eng = engine(graph)
    return eng.reach(np.asarray(entry.nodes, np.int64), on[eng.edge_ids])


def _node_mask(graph: GroupGraph, reached: Reached, eng: Engine) -> np.ndarray:
    mask = np.zeros(graph.num_nodes, bool)
    mask[eng.node_ids[reached.nodes]] = True
    return mask


def _describe(
    graph: GroupGraph, entry: Entry, nodes: np.ndarray, changes: list[str], started: float
) -> BlastRadius:
    model = graph.model
    systems = [s for s in model.systems if nodes[graph.index(f"system:{s.id}") or 0]]
    stores = [d for d in model.data_stores if nodes[graph.index(f"data_store:{d.id}") or 0]]
    people_of: dict[str, dict[str, int]] = {}
    for d in stores:
        for pd in d.personal_data:
            cell = people_of.setdefault(d.id, {})
            cell[pd.category] = max(cell.get(pd.category, 0), pd.records)
    org_ids = {o for o in np.unique(np.asarray(graph.orgs.filter(pa.array(nodes)).drop_null())) if o}
    kinds = graph.kinds[nodes]
    zone_nodes = np.flatnonzero(nodes & (graph.kinds == KIND["zone"]))
    return BlastRadius(
        entry=entry,
        exposure=exposure(graph, nodes),
        systems=[
            {"id": s.id, "name": s.name, "owner": s.owner, "crown_jewel": s.crown_jewel} for s in systems
        ],
        data_stores=[
            {"id": d.id, "name": d.name, "owner": d.owner, "people": people_of.get(d.id, {})} for d in stores
        ],
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
    on = enabled_edges(
        graph, [c for ch in parsed for c in ch.controls], [n for ch in parsed for n in ch.nodes]
    )
    starts = tuple(n for n in entry.nodes if n not in {x for ch in parsed for x in ch.nodes})
    entry = Entry(entry.spec, entry.kind, entry.label, entry.org, starts)
    reached = _reach(graph, entry, on)
    return _describe(
        graph, entry, _node_mask(graph, reached, engine(graph)), [c.text for c in parsed], started
    )


# --- attack paths ---


@dataclass
class Hop:
    src: str
    dst: str
    kind: str
    text: str
    controls: list[str]
    allowed: bool
    network: list[str] = field(default_factory=list)  # for a logon: the flows that route to the target's zone


@dataclass
class AttackPath:
    target: str
    target_label: str
    cost: float
    hops: list[Hop]
    people: dict[str, int]
    controls: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "target_label": self.target_label,
            "cost": round(self.cost, 3),
            "people": self.people,
            "controls": self.controls,
            "hops": [asdict(h) for h in self.hops],
        }


def _targets(graph: GroupGraph, target: str | None) -> list[int]:
    if target is not None:
        kind, sep, ident = target.partition(":")
        kind = _ALIASES.get(kind, kind)
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
    A logon hop that needs a network route says which flow gives it and how the attacker got a host in
    the zone it connects from (that prerequisite counts in the path's cost)."""
    parsed = [c if isinstance(c, Change) else parse_change(graph, c) for c in changes]
    graph = apply_model_changes(graph, parsed)
    entry = entry if isinstance(entry, Entry) else resolve_entry(graph, entry)
    base_on = enabled_edges(
        graph, [c for ch in parsed for c in ch.controls], [n for ch in parsed for n in ch.nodes]
    )
    eng = engine(graph)
    reached = eng.reach(np.asarray(entry.nodes, np.int64), base_on[eng.edge_ids])
    full_nodes = _node_mask(graph, reached, eng)
    targets = [t for t in _targets(graph, target) if full_nodes[t]]
    if not targets:
        return []
    # Work on the reached part only: every path lies in it.
    sub, new_id = eng.restricted(reached.nodes | reached.connectable)
    starts = new_id[np.asarray(entry.nodes, np.int64)]
    starts = starts[starts >= 0]
    sub_targets = {int(new_id[t]): t for t in targets}
    people = {t: _people_at(graph, t) for t in targets}
    found: list[AttackPath] = []
    seen: set[tuple[int, ...]] = set()

    def search(extra_off: Sequence[str]) -> None:
        on = (base_on & enabled_edges(graph, extra_off))[sub.edge_ids]
        r = sub.reach(starts, on)
        dist, pred = sub.cheapest(starts, r.edges)
        for t_sub, t in sub_targets.items():
            if not np.isfinite(dist[t_sub]):
                continue
            hops = sub.path(pred, t_sub, r.edges)
            key = tuple(int(sub.edge_ids[h]) for h in hops)
            if not key or key in seen or len(key) > max_hops:
                continue
            seen.add(key)
            found.append(_explain(graph, sub, t, hops, people[t], r, dist, pred))

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
    found.sort(key=lambda p: (p.cost, -sum(p.people.values()), len(p.hops)))
    return found[:k]


def _people_at(graph: GroupGraph, node: int) -> dict[str, int]:
    mask = np.zeros(graph.num_nodes, bool)
    mask[node] = True
    kind = NODE_KINDS[int(graph.kinds[node])]
    if kind == "system":  # a system's people: those of its data stores
        system = graph.keys[node].as_py().split(":", 1)[1]
        for d in graph.model.data_stores:
            if d.system == system:
                mask[graph.index(f"data_store:{d.id}") or node] = True
    return exposure(graph, mask).people


def _route_in(sub: Engine, r: Reached, dist: np.ndarray, zone: int) -> tuple[int | None, int | None]:
    """How the attacker can connect to ``zone`` (engine numbers), the cheapest way: (the zone it is
    present in, the network edge from there; None when it is present in ``zone`` itself)."""
    options: list[tuple[float, int, int | None]] = []
    if r.nodes[zone] and np.isfinite(dist[zone]):
        options.append((float(dist[zone]), zone, None))
    candidates = np.flatnonzero(r.network & (sub.dst == zone))
    if len(candidates):
        best = candidates[np.argmin(dist[sub.src[candidates]])]
        options.append((float(dist[sub.src[best]]), int(sub.src[best]), int(best)))
    if not options:
        return None, None
    _, presence, via = min(options, key=lambda o: o[0])
    return presence, via


def _explain(
    graph: GroupGraph,
    sub: Engine,
    target: int,
    hops: list[int],
    people: dict[str, int],
    r: Reached,
    dist: np.ndarray,
    pred: np.ndarray,
) -> AttackPath:
    out: list[Hop] = []
    controls: list[str] = []
    extra_cost = 0.0
    on_path = {int(sub.edge_ids[h]) for h in hops}

    def controls_of_edge(e: int) -> list[str]:
        return [graph.controls[c] for c in (int(graph.control1[e]), int(graph.control2[e])) if c >= 0]

    def prerequisite(h: int, depth: int) -> tuple[list[str], list[str], float]:
        """What a gated hop needs: the hops that put the attacker in a zone it can connect from, and the
        network edge from there (the hops' own gates explained in turn, a few levels deep)."""
        if sub.gate[h] < 0 or depth > 3:
            return [], [], 0.0
        presence, via = _route_in(sub, r, dist, int(sub.gate[h]))
        texts: list[str] = []
        found: list[str] = []
        cost = 0.0
        if presence is None:
            return texts, found, cost
        for x in sub.path(pred, presence, r.edges):
            ex = int(sub.edge_ids[x])
            if ex in on_path:
                continue
            on_path.add(ex)
            t, c, k = prerequisite(x, depth + 1)
            texts += [*t, edge_text(graph, ex)]
            found += [*c, *controls_of_edge(ex)]
            cost += k + float(sub.cost[x])
        if via is not None:
            texts.append(edge_text(graph, int(sub.edge_ids[via])))
            found += controls_of_edge(int(sub.edge_ids[via]))
        return texts, found, cost

    for h in hops:
        e = int(sub.edge_ids[h])
        network, needed, cost = prerequisite(h, 0)
        extra_cost += cost
        own = controls_of_edge(e) + needed
        for c in own:
            if c not in controls:
                controls.append(c)
        out.append(
            Hop(
                src=graph.keys[int(graph.src[e])].as_py(),
                dst=graph.keys[int(graph.dst[e])].as_py(),
                kind=EDGE_KIND_NAMES[int(graph.kind[e])],
                text=edge_text(graph, e),
                controls=list(dict.fromkeys(own)),
                allowed=bool(graph.allowed[e]),
                network=network,
            )
        )
    return AttackPath(
        target=graph.keys[target].as_py(),
        target_label=graph.labels[target].as_py(),
        cost=float(sub.cost[hops].sum()) + extra_cost,
        hops=out,
        people=people,
        controls=controls,
    )


# --- choke points ---


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
    cut: ChokePoint | None  # the fewest controls found that cut the entry off; None if none does
    method: str
    candidates: int
    evaluated: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry.to_dict(),
            "before": self.before.to_dict(),
            "crown_jewels": self.crown_jewels,
            "cut": self.cut.to_dict() if self.cut else None,
            "singles": [s.to_dict() for s in self.singles],
            "method": self.method,
            "candidates": self.candidates,
            "evaluated": self.evaluated,
            "seconds": round(self.seconds, 3),
        }


def choke_points(
    graph: GroupGraph,
    entry: str | Entry,
    kinds: Sequence[str] = ("flow", "route", "grant", "realm", "contract", "admin"),
    budget_seconds: float = 8.0,
    top: int = 10,
) -> ChokeReport:
    """The controls (flows, grants, shared realms, …) whose removal cuts ``entry`` off from personal data
    and crown jewels, ranked by people protected; and the fewest found that cut it off entirely (exact
    for one or two controls, greedy beyond, within ``budget_seconds``)."""
    started = time.perf_counter()
    entry = entry if isinstance(entry, Entry) else resolve_entry(graph, entry)
    eng = engine(graph)
    base = eng.reach(np.asarray(entry.nodes, np.int64), np.ones(graph.num_edges, bool)[eng.edge_ids])
    sub, new_id = eng.restricted(base.nodes | base.connectable)
    starts = new_id[np.asarray(entry.nodes, np.int64)]
    starts = starts[starts >= 0]
    targets_graph = np.asarray(_targets(graph, None), np.int64)
    node_map = np.full(graph.num_nodes, -1, np.int64)
    node_map[sub.node_ids] = np.arange(sub.n)
    jewel_names = {graph.index(f"system:{s.id}"): s.id for s in graph.model.systems if s.crown_jewel}

    def evaluate(removed: Sequence[str]) -> tuple[Exposure, list[str]]:
        on = enabled_edges(graph, removed)[sub.edge_ids]
        r = sub.reach(starts, on)
        mask = np.zeros(graph.num_nodes, bool)
        mask[sub.node_ids[r.nodes]] = True
        return exposure(graph, mask), [
            name for node, name in jewel_names.items() if node is not None and mask[node]
        ]

    before, jewels_before = evaluate(())
    sub_edges = np.arange(len(sub.src))
    c1 = graph.control1[sub.edge_ids[sub_edges]]
    c2 = graph.control2[sub.edge_ids[sub_edges]]
    used = np.unique(np.concatenate([c1[c1 >= 0], c2[c2 >= 0]]))
    candidates = [graph.controls[int(c)] for c in used if graph.controls[int(c)].split(":", 1)[0] in kinds]
    del targets_graph
    evaluated = 0

    def point(removed: Sequence[str]) -> ChokePoint:
        nonlocal evaluated
        evaluated += 1
        after, jewels = evaluate(removed)
        return ChokePoint(
            controls=list(removed),
            people_protected=before.total - after.total,
            crown_jewels_cut=[j for j in jewels_before if j not in jewels],
            cuts_off=after.total == 0 and not jewels,
        )

    singles: list[ChokePoint] = []
    deadline = started + budget_seconds
    for control in candidates:
        if time.perf_counter() > deadline:
            break
        singles.append(point([control]))
    singles.sort(key=lambda p: (-p.people_protected, -len(p.crown_jewels_cut), p.controls))
    method = "exact (one control)"
    cut = next((p for p in singles if p.cuts_off), None)
    if cut is None and (before.total or jewels_before):
        ranked = [p.controls[0] for p in singles if p.people_protected or p.crown_jewels_cut][:12]
        for i, a in enumerate(ranked):
            for b in ranked[i + 1 :]:
                if time.perf_counter() > deadline:
                    break
                trial = point([a, b])
                if trial.cuts_off and (cut is None or trial.people_protected >= cut.people_protected):
                    cut = trial
                    break
            if cut is not None:
                break
        method = "exact (two controls, among the 12 strongest)"
        if cut is None:
            cut = _greedy_cut(singles, point, deadline)
            method = "greedy (more than two controls), pruned"
    if not (before.total or jewels_before):
        method = "nothing to cut: the entry reaches no personal data or crown jewel"
    return ChokeReport(
        entry=entry,
        before=before,
        crown_jewels=jewels_before,
        singles=singles[:top],
        cut=cut,
        method=method,
        candidates=len(candidates),
        evaluated=evaluated,
        seconds=time.perf_counter() - started,
    )


def _greedy_cut(singles: list[ChokePoint], point: Any, deadline: float) -> ChokePoint | None:
    removed: list[str] = []
    pool = [p.controls[0] for p in singles]
    current: ChokePoint | None = None
    while pool and time.perf_counter() < deadline:
        best: ChokePoint | None = None
        for control in pool[:24]:
            trial = point([*removed, control])
            if best is None or (trial.people_protected, len(trial.crown_jewels_cut)) > (
                best.people_protected,
                len(best.crown_jewels_cut),
            ):
                best = trial
            if time.perf_counter() > deadline:
                break
        if best is None:
            break
        removed = best.controls
        pool = [c for c in pool if c not in removed]
        current = best
        if best.cuts_off:
            break
    if current is None or not current.cuts_off:
        return None
    for control in list(current.controls):  # drop what the cut does not need
        without = [c for c in current.controls if c != control]
        if without:
            trial = point(without)
            if trial.cuts_off:
                current = trial
    return current


# --- what-if ---


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
