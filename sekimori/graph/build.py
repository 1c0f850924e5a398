"""Build the group graph: the model's trust relations plus the logons the store observed.

A node is something an attacker can hold or stand in: an organisation, a network zone, a host, an
account, the credentials an organisation's people have in a realm, a realm itself, a system, a data
store. An edge ``a → b`` says: whoever holds ``a`` can get ``b``, at a cost (how hard the step is) and
through zero, one or two *controls* (the flow, grant, shared realm, contract or admin right that makes
the step possible: what a what-if can remove).

Some steps need two things at once: logging on to a system needs the credentials *and* a network route
to its zone. Such an edge carries a *gate*, the zone node that must be reachable too (see
:mod:`sekimori.graph.reach`).

The graph is held as columns (numpy arrays and Arrow tables), not as Python objects per node: a group of
a million accounts is a few arrays, and every traversal runs over them in compiled code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.graph.edges import (
    HostIndex,
    _contract_for,
    _prefixed,
    _shared,
    access_edges,
    glob_like,  # noqa: F401  (importers of build use it)
    host_edges,
    model_edges,
)
from sekimori.graph.observed import HOST_SCHEMA, LOGON_SCHEMA
from sekimori.model.keys import account_key, host_key  # noqa: F401  (node keys: one in every stage)

if TYPE_CHECKING:
    from sekimori.model import GroupModel
    from sekimori.store import Store

NODE_KINDS = ("organisation", "realm", "credential", "zone", "host", "account", "system", "data_store")
KIND = {name: code for code, name in enumerate(NODE_KINDS)}

# Edge kinds: (cost, how the hop reads). Costs rank paths by ease: 0 is structural (being in a zone,
# a system holding a store), 1 is using what one holds as designed (a granted logon, an admin right),
# 2–3 needs an extra step (dumping cached credentials, abusing a realm no grant meant to open).
EDGE_KINDS: dict[str, tuple[float, str]] = {
    "owns": (0.0, "{src} owns {dst}"),
    "org_zone": (0.0, "{src}'s hosts sit in network zone {dst}"),
    "member": (0.5, "{src}'s people hold credentials in realm {realm}"),
    "in_zone": (0.0, "{src} is in network zone {dst}"),
    "flow": (0.0, "flow {control} allows connections from {src} to {dst}"),
    "observed_route": (0.0, "logons went from zone {src} to zone {dst} though no flow allows it"),
    "account_of": (0.0, "{src} is a principal of {org} in realm {realm}"),
    "cached_credentials": (2.0, "{org}'s people use {src}: their {realm} credentials can be taken there"),
    "logon_interactive": (
        1.0,
        "{granted} lets {org}'s principals log on interactively to the hosts of {dst}",
    ),
    "logon_admin": (1.0, "{granted} lets {org}'s principals log on over the network to {dst} as admins"),
    "logon_session": (1.0, "{granted} lets {org}'s principals open a network session: {dst} as them"),
    "app_use": (1.0, "{granted} lets {org}'s principals use the application: the data of {dst} as them"),
    "db_use": (1.0, "{granted} lets {org}'s principals use a database credential on {dst}"),
    "credential_use": (1.0, "a credential held on {src} opens {dst}"),
    "shared_realm": (
        3.0,
        "shared realm {realm} makes {org}'s accounts valid on {dst} of {dst_org}, though no grant allows it",
    ),
    "runs_realm": (1.0, "{src} runs realm {dst}: whoever controls it controls every credential of the realm"),
    "issues": (1.0, "realm {src} issues the credentials of {org}"),
    "admin": (1.0, "admin right {control}: {src} administers {dst}"),
    "runs_on": (0.5, "{src} runs on host {dst}"),
    "part_of": (0.5, "host {src} is part of {dst}"),
    "holds": (0.0, "{src} holds the data store {dst}"),
    "store_host": (0.5, "data store {dst} lives on host {src}"),
    "logon": (1.0, "{src} logged on to {dst}"),
    "used_from": (1.0, "{dst} was used from {src}: its credentials were on {src}"),
    "left_on": (1.5, "{dst} logged on to {src} interactively: its credentials are cached there"),
}
EDGE_KIND_NAMES = tuple(EDGE_KINDS)
EDGE_KIND = {name: code for code, name in enumerate(EDGE_KIND_NAMES)}
EDGE_COST = np.array([cost for cost, _ in EDGE_KINDS.values()], dtype=np.float32)

# Logon types that leave reusable credentials on the host logged on to (interactive, batch, service,
# unlock, remote interactive, cached interactive); a network logon (3) does not.
CACHING_LOGON_TYPES = (2, 4, 5, 7, 10, 11)

# The kinds of control a what-if can remove, and what removing each means.
CONTROL_KINDS = {
    "flow": "block the flow",
    "route": "block every connection between the two zones",
    "grant": "remove the grant",
    "realm": "separate the realm: each organisation in its own",
    "contract": "end the contract",
    "admin": "remove the admin right",
}


def node_key(kind: str, key: str) -> str:
    return f"{kind}:{key}"


@dataclass
class GroupGraph:
    """The graph: node and edge columns, and the model and observations it came from."""

    model: GroupModel
    keys: pa.StringArray  # node keys, 'kind:key'
    kinds: np.ndarray  # int8 node kind codes (NODE_KINDS)
    labels: pa.StringArray  # what a person reads
    orgs: pa.StringArray  # organisation of the node (null when unknown)
    zones: pa.StringArray  # zone of host nodes (null otherwise or unknown)
    src: np.ndarray  # int32 edge source
    dst: np.ndarray  # int32 edge target
    kind: np.ndarray  # int8 edge kind (EDGE_KIND_NAMES)
    gate: np.ndarray  # int32 zone node that must be reachable too, -1 for none
    control1: np.ndarray  # int32 index into `controls`, -1 for none
    control2: np.ndarray
    logon_row: np.ndarray  # int32 row of `logons` the edge comes from, -1 for model edges
    allowed: np.ndarray  # bool: False for an observed step that no grant or flow of the model allows
    controls: list[str]  # 'flow:f1', 'realm:corp', …
    logons: pa.Table  # LOGON_SCHEMA
    hosts: pa.Table  # HOST_SCHEMA: every host node with the model's view of it
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def num_nodes(self) -> int:
        return len(self.keys)

    @property
    def num_edges(self) -> int:
        return len(self.src)

    @property
    def cost(self) -> np.ndarray:
        return EDGE_COST[self.kind]

    def index(self, key: str) -> int | None:
        """The node index of a key ('host:pc01'), or None."""
        if not self._index:
            # A dict for the few small kinds; hosts and accounts are searched in the Arrow column.
            for i in np.flatnonzero(~np.isin(self.kinds, [KIND["host"], KIND["account"]])):
                self._index[self.keys[int(i)].as_py()] = int(i)
        found = self._index.get(key)
        if found is not None:
            return found
        position = pc.index(self.keys, key).as_py()
        return None if position < 0 else int(position)

    def nodes_of_kind(self, kind: str) -> np.ndarray:
        return np.flatnonzero(self.kinds == KIND[kind])

    def control_index(self, control: str) -> int | None:
        try:
            return self.controls.index(control)
        except ValueError:
            return None

    def summary(self) -> dict[str, object]:
        kinds = np.bincount(self.kinds, minlength=len(NODE_KINDS))
        edges = np.bincount(self.kind, minlength=len(EDGE_KIND_NAMES))
        return {
            "nodes": int(self.num_nodes),
            "edges": int(self.num_edges),
            "node_kinds": {k: int(kinds[i]) for i, k in enumerate(NODE_KINDS) if kinds[i]},
            "edge_kinds": {k: int(edges[i]) for i, k in enumerate(EDGE_KIND_NAMES) if edges[i]},
            "observed_not_allowed": int((~self.allowed).sum()),
            "controls": len(self.controls),
        }


@dataclass
class _EdgeChunk:
    kind: int
    src: pa.Array  # node keys
    dst: pa.Array
    gate: pa.Array
    c1: np.ndarray
    c2: np.ndarray
    allowed: np.ndarray
    row: np.ndarray


class _Builder:
    """Collects nodes and edges as Arrow chunks; resolves keys to indices in one vectorised pass."""

    def __init__(self) -> None:
        self.node_chunks: list[tuple[pa.Array, int, pa.Array, pa.Array, pa.Array]] = []
        self.edge_chunks: list[_EdgeChunk] = []
        self.controls: dict[str, int] = {}

    def nodes(
        self,
        kind: str,
        keys: Sequence[str] | pa.Array,
        labels: Sequence[str] | pa.Array,
        orgs: Sequence[str | None] | pa.Array,
        zones: Sequence[str | None] | pa.Array | None = None,
    ) -> None:
        key_array = pc.binary_join_element_wise(kind, pa.array(keys, pa.string()), ":")
        n = len(key_array)
        zone_array = pa.nulls(n, pa.string()) if zones is None else pa.array(zones, pa.string())
        self.node_chunks.append(
            (key_array, KIND[kind], pa.array(labels, pa.string()), pa.array(orgs, pa.string()), zone_array)
        )

    def control(self, name: str | None) -> int:
        if name is None:
            return -1
        return self.controls.setdefault(name, len(self.controls))

    def edges(
        self,
        kind: str,
        src: Sequence[str] | pa.Array,
        dst: Sequence[str] | pa.Array,
        *,
        gate: Sequence[str | None] | pa.Array | None = None,
        control1: Sequence[str | None] | pa.Array | None = None,
        control2: Sequence[str | None] | pa.Array | None = None,
        allowed: Sequence[bool] | np.ndarray | None = None,
        logon_row: np.ndarray | None = None,
    ) -> None:
        src_array = pa.array(src, pa.string())
        n = len(src_array)
        if n == 0:
            return
        self.edge_chunks.append(
            _EdgeChunk(
                kind=EDGE_KIND[kind],
                src=src_array,
                dst=pa.array(dst, pa.string()),
                gate=pa.nulls(n, pa.string()) if gate is None else pa.array(gate, pa.string()),
                c1=self._controls(control1, n),
                c2=self._controls(control2, n),
                allowed=np.ones(n, bool) if allowed is None else np.asarray(allowed, bool),
                row=np.full(n, -1, np.int32) if logon_row is None else logon_row.astype(np.int32),
            )
        )

    def _controls(self, names: Sequence[str | None] | pa.Array | None, n: int) -> np.ndarray:
        if names is None:
            return np.full(n, -1, np.int32)
        # Map the distinct names, not every row (millions of observed logons share a few controls).
        values = pa.array(names, pa.string())
        distinct = pc.unique(values).drop_null()
        ids = pa.array([self.control(name) for name in distinct.to_pylist()], pa.int32())
        found = pc.take(ids, pc.index_in(values, value_set=distinct))
        return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False)).astype(np.int32)

    def finish(self, model: GroupModel, logons: pa.Table, hosts: pa.Table) -> GroupGraph:
        keys = pa.concat_arrays([c[0] for c in self.node_chunks]).cast(pa.string())
        kinds = np.concatenate([np.full(len(c[0]), c[1], np.int8) for c in self.node_chunks])
        labels = pa.concat_arrays([c[2] for c in self.node_chunks])
        orgs = pa.concat_arrays([c[3] for c in self.node_chunks])
        zones = pa.concat_arrays([c[4] for c in self.node_chunks])
        # One node per key: the first definition wins (model nodes come first).
        unique_keys = pc.unique(keys)
        first = pc.index_in(unique_keys, value_set=keys).to_numpy(zero_copy_only=False)
        if len(unique_keys) != len(keys):
            first = np.sort(first)
            keys, labels, orgs, zones = (a.take(pa.array(first)) for a in (keys, labels, orgs, zones))
            kinds = kinds[first]
        chunks = self.edge_chunks

        def resolve(arrays: list[pa.Array]) -> np.ndarray:
            found = pc.index_in(pa.concat_arrays(arrays), value_set=keys)
            return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False)).astype(np.int32)

        src = resolve([c.src for c in chunks])
        dst = resolve([c.dst for c in chunks])
        gate = resolve([c.gate for c in chunks])
        kind = np.concatenate([np.full(len(c.src), c.kind, np.int8) for c in chunks])
        c1 = np.concatenate([c.c1 for c in chunks])
        c2 = np.concatenate([c.c2 for c in chunks])
        allowed = np.concatenate([c.allowed for c in chunks])
        row = np.concatenate([c.row for c in chunks])
        # An edge whose end is not a node (a glob that matched nothing) is dropped; so are self-loops.
        keep = (src >= 0) & (dst >= 0) & (src != dst)
        return GroupGraph(
            model=model,
            keys=keys,
            kinds=kinds,
            labels=labels,
            orgs=orgs,
            zones=zones,
            src=src[keep],
            dst=dst[keep],
            kind=kind[keep],
            gate=gate[keep],
            control1=c1[keep],
            control2=c2[keep],
            logon_row=row[keep],
            allowed=allowed[keep],
            controls=list(self.controls),
            logons=logons,
            hosts=hosts,
        )


def build_graph(
    model: GroupModel,
    logons: pa.Table | None = None,
    hosts: pa.Table | None = None,
    *,
    as_of: date | None = None,
) -> GroupGraph:
    """The group graph of ``model`` and the observed ``logons`` (:data:`LOGON_SCHEMA`; ``hosts`` in
    :data:`HOST_SCHEMA` adds hosts the logons name only by key, and hosts the store saw that a model
    host glob matches). ``as_of``: grants that expired before that day give nothing (default: all
    grants, as the model states them). See :func:`graph_from_store`."""
    logons = pa.table({n: [] for n in LOGON_SCHEMA.names}, schema=LOGON_SCHEMA) if logons is None else logons
    logons = logons.select(LOGON_SCHEMA.names).cast(LOGON_SCHEMA)
    hosts = pa.table({n: [] for n in HOST_SCHEMA.names}, schema=HOST_SCHEMA) if hosts is None else hosts
    b = _Builder()
    _model_nodes(b, model)
    host_table = _host_nodes(b, model, logons, hosts)
    accounts = _account_nodes(b, logons)
    model_edges(b, model)
    index = HostIndex(host_table)
    systems_of = host_edges(b, model, host_table, index)
    access_edges(b, model, host_table, as_of, index)
    _account_edges(b, model, accounts)
    _observed_edges(b, model, logons, systems_of)
    return b.finish(model, logons, host_table)


def graph_from_store(store: Store, model: GroupModel, *, as_of: date | None = None) -> GroupGraph:
    """The graph of ``model`` with the logons observed in ``store`` (a :class:`sekimori.store.Store`)."""
    from sekimori.graph.observed import observed_logons

    logons, hosts = observed_logons(store, model)
    return build_graph(model, logons, hosts, as_of=as_of)


# --- nodes ---


def _model_nodes(b: _Builder, model: GroupModel) -> None:
    # Each section's items by id and name, with the field naming the organisation they belong to.
    sections: list[tuple[str, Sequence[Any], str]] = [
        ("organisation", model.organisations, "id"),
        ("realm", model.realms, "owner"),
        ("zone", model.zones, "org"),
        ("system", model.systems, "owner"),
        ("data_store", model.data_stores, "owner"),
    ]
    for kind, items, org in sections:
        b.nodes(kind, [i.id for i in items], [i.name for i in items], [getattr(i, org) for i in items])
    creds = [(org_id, r) for r in model.realms for org_id in r.shared_by]
    b.nodes(
        "credential",
        [f"{o}@{r.id}" for o, r in creds],
        [f"{o} accounts in {r.name}" for o, r in creds],
        [o for o, _ in creds],
    )


def _literal_hosts(model: GroupModel) -> list[str]:
    globs = [g for s in model.systems for g in s.hosts]
    globs += [g for d in model.data_stores for g in d.hosts]
    globs += [g for grant in model.grants for g in grant.hosts]
    globs += [g for flow in model.flows for g in (*flow.from_hosts, *flow.to_hosts)]
    globs += [credential.on_host for credential in model.credentials]
    return [h for h in globs if not any(ch in h for ch in "*?[")]


def _host_nodes(b: _Builder, model: GroupModel, logons: pa.Table, hosts: pa.Table) -> pa.Table:
    """Host nodes: those of the logons (classified there) and the model's literal host names."""
    rows = []
    seen = set(hosts["host"].to_pylist()) if len(hosts) <= 200_000 else None
    for name in _literal_hosts(model):
        key = host_key(name)
        if seen is not None and key in seen:
            continue
        org, zone = model.classify_host(name)
        rows.append({"host": key, "label": name, "org": org, "zone": zone})
    extra = pa.Table.from_pylist(rows, schema=HOST_SCHEMA)
    # Hosts only named by the logons (no classification row) get the logons' own classification.
    side = [
        logons.select(["src", "src_org", "src_zone"]).rename_columns(["host", "org", "zone"]),
        logons.select(["dst", "dst_org", "dst_zone"]).rename_columns(["host", "org", "zone"]),
    ]
    from_logons = pa.concat_tables(side).filter(pc.is_valid(pc.field("host")))
    from_logons = from_logons.group_by("host", use_threads=False).aggregate([("org", "min"), ("zone", "min")])
    from_logons = from_logons.rename_columns(["host", "org", "zone"])
    from_logons = from_logons.append_column("label", from_logons["host"]).select(HOST_SCHEMA.names)
    table = pa.concat_tables([hosts.cast(HOST_SCHEMA), extra, from_logons.cast(HOST_SCHEMA)])
    # Keep the first row per host key (explicit classification over the logons' copy).
    unique = pc.unique(table["host"])
    first = pc.index_in(unique, value_set=table["host"])
    table = table.take(first)
    b.nodes("host", table["host"], table["label"], table["org"], table["zone"])
    return table


def _account_nodes(b: _Builder, logons: pa.Table) -> pa.Table:
    accounts = logons.group_by("account", use_threads=False).aggregate(
        [("account_label", "min"), ("account_org", "min"), ("account_realm", "min")]
    )
    accounts = accounts.rename_columns(["account", "label", "org", "realm"])
    b.nodes("account", accounts["account"], accounts["label"], accounts["org"])
    return accounts


def _account_edges(b: _Builder, model: GroupModel, accounts: pa.Table) -> None:
    keys = _prefixed("account", accounts["account"])
    known = np.asarray(pc.and_(pc.is_valid(accounts["org"]), pc.is_valid(accounts["realm"])))
    mask = pa.array(known)
    creds = pc.binary_join_element_wise(
        "credential:",
        pc.binary_join_element_wise(accounts["org"].filter(mask), accounts["realm"].filter(mask), "@"),
        "",
    )
    b.edges("account_of", keys.filter(mask), creds)
    has_org = np.asarray(pc.is_valid(accounts["org"]))
    b.edges(
        "owns",
        _prefixed("organisation", accounts["org"].filter(pa.array(has_org))),
        keys.filter(pa.array(has_org)),
    )
    names = accounts["account"].combine_chunks()
    users = pc.utf8_lower(pc.extract_regex(names, r"(?P<user>[^\\]*)$").field("user"))
    for right in model.admin_rights:
        if right.accounts is None:
            continue
        mine = pc.and_(
            pc.fill_null(pc.equal(accounts["org"], right.org), False),
            pc.fill_null(pc.match_substring_regex(users, right.accounts, ignore_case=True), False),
        )
        holders = keys.filter(mine)
        targets = ([f"realm:{right.realm}"] if right.realm else []) + [f"system:{s}" for s in right.systems]
        for target in targets:
            b.edges("admin", holders, [target] * len(holders), control1=[f"admin:{right.id}"] * len(holders))


def _observed_edges(
    b: _Builder, model: GroupModel, logons: pa.Table, systems_of: dict[str, list[str]]
) -> None:
    if len(logons) == 0:
        return
    rows = np.arange(len(logons), dtype=np.int32)
    account = _prefixed("account", logons["account"])
    dst = _prefixed("host", logons["dst"])
    src_valid = np.asarray(pc.is_valid(logons["src"]))
    allowed, controls1, controls2 = _judge_logons(model, logons, systems_of)
    gate = pc.if_else(
        pc.is_valid(logons["dst_zone"]), _prefixed("zone", logons["dst_zone"]), pa.scalar(None, pa.string())
    )
    b.edges(
        "logon",
        account,
        dst,
        gate=gate,
        control1=controls1,
        control2=controls2,
        allowed=allowed,
        logon_row=rows,
    )
    m = pa.array(src_valid)
    b.edges(
        "used_from", _prefixed("host", logons["src"].filter(m)), account.filter(m), logon_row=rows[src_valid]
    )
    caching = np.isin(logons["logon_type"].to_numpy(zero_copy_only=False), CACHING_LOGON_TYPES)
    m = pa.array(caching)
    b.edges("left_on", dst.filter(m), account.filter(m), logon_row=rows[caching])
    # zone pairs logons crossed that no flow allows
    flows = {(f.from_zone, f.to_zone) for f in model.flows} | {
        (f.to_zone, f.from_zone) for f in model.flows if f.bidirectional
    }
    crossing = logons.select(["src_zone", "dst_zone"]).filter(
        pc.fill_null(pc.not_equal(logons["src_zone"], logons["dst_zone"]), False)
    )
    pairs = sorted(
        {
            (a, z)
            for a, z in zip(*(crossing[c].to_pylist() for c in ("src_zone", "dst_zone")), strict=True)
            if (a, z) not in flows
        }
    )
    b.edges(
        "observed_route",
        [f"zone:{a}" for a, _ in pairs],
        [f"zone:{z}" for _, z in pairs],
        control1=[f"route:{a}->{z}" for a, z in pairs],
        allowed=[False] * len(pairs),
    )


def _judge_logons(
    model: GroupModel, logons: pa.Table, systems_of: dict[str, list[str]]
) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Per logon row: whether the model allows it, and the controls it depends on (the shared realm
    it crossed organisations through; the contract it works under). Logons within one organisation are
    allowed and depend on nothing; only the rows that cross organisations are judged, once per distinct
    (account organisation, realm, destination, destination organisation, logon type)."""
    n = len(logons)
    allowed = np.ones(n, bool)
    c1: list[str | None] = [None] * n
    c2: list[str | None] = [None] * n
    crossing = pc.fill_null(pc.not_equal(logons["account_org"], logons["dst_org"]), False)
    rows = np.flatnonzero(np.asarray(crossing))
    if len(rows):
        shared = _shared(model)
        grants: dict[tuple[str, str], set[int]] = {}
        for grant in model.grants:
            for system_id in grant.systems:
                grants.setdefault((grant.org, system_id), set()).update(grant.logon_type_codes)
        cross = logons.take(pa.array(rows))
        cols = [
            cross[c].to_pylist() for c in ("account_org", "account_realm", "dst", "dst_org", "logon_type")
        ]
        cache: dict[tuple[object, ...], tuple[bool, str | None, str | None]] = {}
        for i, key in zip(rows.tolist(), zip(*cols, strict=True), strict=True):
            judged = cache.get(key)
            if judged is None:
                org, realm, dst, dst_org, logon_type = key
                systems = systems_of.get(dst, [])
                ok = any(logon_type in grants.get((org, s), ()) for s in systems)
                through = f"realm:{realm}" if realm and len(shared.get(realm, ())) > 1 else None
                judged = cache[key] = (
                    ok,
                    through,
                    _contract_for(model, org, dst_org, systems[0] if systems else None),
                )
            allowed[i], c1[i], c2[i] = judged
    return allowed, pa.array(c1, pa.string()), pa.array(c2, pa.string())


def edge_text(graph: GroupGraph, edge: int) -> str:
    """One edge explained in words."""
    kind = EDGE_KIND_NAMES[int(graph.kind[edge])]
    s, d = int(graph.src[edge]), int(graph.dst[edge])
    controls = [graph.controls[c] for c in (int(graph.control1[edge]), int(graph.control2[edge])) if c >= 0]
    control = controls[0].split(":", 1)[1] if controls else ""
    src_key = graph.keys[s].as_py()
    dst_key = graph.keys[d].as_py()
    cred = src_key if src_key.startswith("credential:") else dst_key
    org, _, realm = cred.partition(":")[2].partition("@") if cred.startswith("credential:") else ("", "", "")
    realm = realm or (src_key.split(":", 1)[1] if src_key.startswith("realm:") else "")
    if kind == "member":
        org = graph.orgs[s].as_py() or ""
    if kind == "flow" and "/" in dst_key:  # into a gate node: what the flow lets through, to what
        text = (
            f"flow {control} allows {graph.labels[d].as_py()} from {graph.labels[s].as_py()}"
            if control
            else f"from inside {graph.labels[s].as_py()}: {graph.labels[d].as_py()}"
        )
        return text
    text = EDGE_KINDS[kind][1].format(
        granted=controls[0].replace(":", " ", 1) if controls else "",
        src=graph.labels[s].as_py(),
        dst=graph.labels[d].as_py(),
        control=control,
        org=org or (graph.orgs[s].as_py() or "?"),
        realm=realm,
        dst_org=graph.orgs[d].as_py() or "?",
    )
    row = int(graph.logon_row[edge])
    if row >= 0:
        logon = graph.logons.slice(row, 1).to_pylist()[0]
        how = f"logon type {logon['logon_type']}" if logon["logon_type"] else "explicit credentials"
        text += f" ({how}, {logon['count']}×, {_day(logon['first_seen'])} – {_day(logon['last_seen'])})"
        if not graph.allowed[edge]:
            text += "; no grant allows it"
    return text


def _day(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else "?"


def control_kind(control: str) -> str:
    return control.split(":", 1)[0]


def controls_of(graph: GroupGraph, edges: Iterable[int]) -> list[str]:
    out: list[str] = []
    for e in edges:
        for c in (int(graph.control1[e]), int(graph.control2[e])):
            if c >= 0 and graph.controls[c] not in out:
                out.append(graph.controls[c])
    return out
