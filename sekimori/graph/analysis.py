"""The questions the graph answers: blast radius and what-if here; attack paths in
:mod:`sekimori.graph.paths`, choke points in :mod:`sekimori.graph.choke`.

Every answer is a dataclass with ``to_dict()`` (the JSON the CLI prints) and is computed over the
graph's columns by :class:`sekimori.graph.reach.Engine`; only the few hops of the paths shown are turned
into words.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from sekimori.graph.build import (
    CONTROL_KINDS,
    EDGE_KIND,
    KIND,
    NODE_KINDS,
    GroupGraph,
    account_key,
    build_graph,
    host_key,
)
from sekimori.graph.reach import Engine, Reached

if TYPE_CHECKING:
    from sekimori.graph.choke import ChokePoint as ChokePoint
    from sekimori.graph.choke import ChokeReport as ChokeReport
    from sekimori.graph.choke import choke_points as choke_points
    from sekimori.graph.paths import AttackPath as AttackPath
    from sekimori.graph.paths import Hop as Hop
    from sekimori.graph.paths import attack_paths as attack_paths

# The answers that moved to their own modules, for code that still imports them from here (they import
# this module, so they are loaded on first use).
_MOVED = {
    "AttackPath": "paths",
    "Hop": "paths",
    "attack_paths": "paths",
    "ChokePoint": "choke",
    "ChokeReport": "choke",
    "choke_points": "choke",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f"sekimori.graph.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    people_of = {d.id: d.people() for d in stores}  # by population: own and shared people both count
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
