"""The group graph as data: its node and edge kinds, the :class:`GroupGraph` columns, and an edge in words.

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
:mod:`sekimori.graph.build` builds it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from sekimori.model import GroupModel

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
    # Tenants (sekimori.graph.tenant_edges, sekimori.graph.signin_edges): signing in to an application
    # gives the data it serves as the user; an assumed cloud role, the role's account.
    "guest_app": (
        1.0,
        "{granted} lets {org}'s principals sign in as guests to the application of {dst_org}: the data of "
        "{dst} as them",
    ),
    "shared_tenant": (
        3.0,
        "shared tenant {control} lets {org}'s accounts sign in to the application of {dst_org} holding "
        "{dst}, though no grant allows it",
    ),
    "signin": (1.0, "{src} signed in to the application holding {dst}"),
    "assume_role": (1.0, "{src} assumed a role in cloud account {realm}: it acts as {dst}"),
}
EDGE_KIND_NAMES = tuple(EDGE_KINDS)
EDGE_KIND = {name: code for code, name in enumerate(EDGE_KIND_NAMES)}
EDGE_COST = np.array([cost for cost, _ in EDGE_KINDS.values()], dtype=np.float32)

# The kinds of control a what-if can remove, and what removing each means.
CONTROL_KINDS = {
    "flow": "block the flow",
    "route": "block every connection between the two zones",
    "grant": "remove the grant",
    "realm": "separate the realm: each organisation in its own",
    "contract": "end the contract",
    "admin": "remove the admin right",
}


@dataclass(frozen=True)
class GraphSummary:
    """How big the graph is: nodes and edges in all and per kind."""

    nodes: int
    edges: int
    node_kinds: dict[str, int]
    edge_kinds: dict[str, int]
    observed_not_allowed: int  # observed steps no grant or flow of the model allows
    controls: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    signins: pa.Table | None = None  # SIGNIN_SCHEMA: the observed sign-ins and role assumptions
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def num_nodes(self) -> int:
        return len(self.keys)

    @property
    def num_edges(self) -> int:
        return len(self.src)

    @property
    def cost(self) -> np.ndarray:
        cost: np.ndarray = EDGE_COST[self.kind]
        return cost

    def index(self, key: str) -> int | None:
        """The node index of a key ('host:pc01'), or None."""
        if not self._index:
            # A dict for the few small kinds; hosts and accounts are searched in the Arrow column.
            for i in np.flatnonzero(~np.isin(self.kinds, [KIND["host"], KIND["account"]])):
                self._index[self.keys[int(i)].as_py()] = int(i)
        found = self._index.get(key)
        if found is not None or key.partition(":")[0] not in ("host", "account"):
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

    def summary(self) -> GraphSummary:
        kinds = np.bincount(self.kinds, minlength=len(NODE_KINDS))
        edges = np.bincount(self.kind, minlength=len(EDGE_KIND_NAMES))
        return GraphSummary(
            nodes=int(self.num_nodes),
            edges=int(self.num_edges),
            node_kinds={k: int(kinds[i]) for i, k in enumerate(NODE_KINDS) if kinds[i]},
            edge_kinds={k: int(edges[i]) for i, k in enumerate(EDGE_KIND_NAMES) if edges[i]},
            observed_not_allowed=int((~self.allowed).sum()),
            controls=len(self.controls),
        )


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
    elif kind in ("signin", "assume_role") and not graph.allowed[edge]:  # observed, no logon row
        text += " (observed; no grant allows it)"
    return text


def _day(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else "?"
