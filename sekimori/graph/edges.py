"""The model's edges: structure, flows, and access that says what it gives.

Reaching a system is not owning it (see :mod:`sekimori.model.access` for the table): an interactive
logon controls the system's hosts and the credentials cached there; a network logon does only with an
admin right, else it is a session (the system's file shares); using its application gives the data it
serves as that user; a database credential gives the database's data. Each needs the network to let it
through: its edge is *gated* by a zone node ``zone:Z/system:S@CLASS`` (or ``.../host:H@CLASS``), never
held, only connectable: when
the attacker has a presence in the system's zone, or holds a zone or source host that a flow allowing one
of the access's ports leads from (see :mod:`sekimori.graph.reach`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.model import (
    GATE_CLASSES,
    INTERACTIVE_LOGON_TYPES,
    NETWORK_LOGON_TYPES,
    flow_opens,
    glob_forms,
    glob_matches,
    host_names,
)

if TYPE_CHECKING:
    from sekimori.graph.builder import GraphBuilder
    from sekimori.model import GroupModel
# --- edges ---


def glob_like(glob: str) -> str:
    """A host glob ('*' any, '?' one) as a SQL LIKE pattern."""
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def prefixed(kind: str, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Node keys ``kind:value`` of a column of values."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.binary_join_element_wise(kind, values.cast(pa.string()), ":")


def _realms_of(model: GroupModel, org: str) -> list[str]:
    return [r.id for r in model.realms if org in r.shared_by]


def shared_realms(model: GroupModel) -> dict[str, set[str]]:
    """The organisations of each realm, by realm id."""
    return {r.id: set(r.shared_by) for r in model.realms}


def contract_for(
    model: GroupModel, entrusted: str | None, entrusting: str | None, system: str | None
) -> str | None:
    """The contract under which ``entrusted`` works on ``entrusting``'s system, if any."""
    for c in model.contracts:
        if (
            c.entrusted == entrusted
            and c.entrusting == entrusting
            and (system is None or not c.systems or system in c.systems)
        ):
            return f"contract:{c.id}"
    return None


def model_edges(b: GraphBuilder, model: GroupModel) -> None:
    """Organisations, flows between zones (for observed logons), realms, data stores, admin rights."""
    # organisations → their zones and credentials
    org_zones = {(z.org, z.id) for z in model.zones} | {(h.org, h.zone) for h in model.hosts}
    pairs = sorted(org_zones)
    b.edges("org_zone", [f"organisation:{o}" for o, _ in pairs], [f"zone:{z}" for _, z in pairs])
    creds = [(o, r.id) for r in model.realms for o in r.shared_by]
    b.edges("member", [f"organisation:{o}" for o, _ in creds], [f"credential:{o}@{r}" for o, r in creds])
    # flows (each direction it allows), with the route between the two zones as a second control
    src: list[str] = []
    dst: list[str] = []
    c1: list[str | None] = []
    c2: list[str | None] = []
    for flow in model.flows:
        directions = [(flow.from_zone, flow.to_zone)]
        if flow.bidirectional:
            directions.append((flow.to_zone, flow.from_zone))
        for a, z in directions:
            src.append(f"zone:{a}")
            dst.append(f"zone:{z}")
            c1.append(f"flow:{flow.id}")
            c2.append(f"route:{a}->{z}")
    b.edges("flow", src, dst, control1=c1, control2=c2)
    # grants, shared realms and credentials: see access_edges (their gates need the host nodes)
    # realms: the systems that run them, and the credentials they issue
    pairs2 = [(s, r.id) for r in model.realms for s in r.systems]
    b.edges("runs_realm", [f"system:{s}" for s, _ in pairs2], [f"realm:{r}" for _, r in pairs2])
    issued = [(r, o) for r in model.realms for o in r.shared_by]
    b.edges(
        "issues",
        [f"realm:{r.id}" for r, _ in issued],
        [f"credential:{o}@{r.id}" for r, o in issued],
        control1=[None if o == r.owner or len(r.shared_by) == 1 else f"realm:{r.id}" for r, o in issued],
    )
    # systems hold data stores
    b.edges(
        "holds",
        [f"system:{d.system}" for d in model.data_stores],
        [f"data_store:{d.id}" for d in model.data_stores],
    )
    # admin rights held by an organisation's principals in general (account patterns: _account_edges)
    src, dst, c1 = [], [], []
    for right in model.admin_rights:
        if right.accounts is not None:
            continue
        targets = ([f"realm:{right.realm}"] if right.realm else []) + [f"system:{s}" for s in right.systems]
        for realm_id in _realms_of(model, right.org):
            for target in targets:
                src.append(f"credential:{right.org}@{realm_id}")
                dst.append(target)
                c1.append(f"admin:{right.id}")
    b.edges("admin", src, dst, control1=c1)


class HostIndex:
    """Every name of every row of a host table (label as logged, key, NetBIOS; see
    :mod:`sekimori.model.keys`), flattened once so that a model host name or glob is matched against all
    rows in one vectorised pass (a literal by hash lookup, a glob as a LIKE pattern), cached per glob.
    Same answers as :func:`sekimori.model.keys.glob_matches` on each row's names."""

    def __init__(self, table: pa.Table) -> None:
        self.rows = len(table)
        row_of: list[int] = []
        flat: list[str] = []
        for i, (lab, k) in enumerate(zip(table["label"].to_pylist(), table["host"].to_pylist(), strict=True)):
            names = host_names(lab) | host_names(k)
            flat += names
            row_of += [i] * len(names)
        self._names = pa.array(flat, pa.string())
        self._row_of = np.asarray(row_of, dtype=np.int64)
        self._rows_by_name: dict[str, list[int]] = {}
        for name, i in zip(flat, row_of, strict=True):
            self._rows_by_name.setdefault(name, []).append(i)
        self._cache: dict[str, np.ndarray] = {}

    def match(self, glob: str) -> np.ndarray:
        """A boolean mask of the rows one of whose names ``glob`` matches."""
        found = self._cache.get(glob)
        if found is None:
            found = np.zeros(self.rows, dtype=bool)
            forms = glob_forms(glob)
            if not any(_is_pattern(form) for form in forms):
                # A literal: a hash lookup, not kept (a mask per literal, as for each granted host's
                # gate, grew as hosts x hosts: 5.9 GB at twice the benchmark's size).
                found[self._literal_rows(forms)] = True
                return found
            for form in forms:
                if not _is_pattern(form):
                    found[self._rows_by_name.get(form, [])] = True
                elif "[" in form:  # a character class: LIKE has none; the names are few next to the rows
                    compiled = re.compile(fnmatch.translate(form))
                    hits = [
                        i
                        for n, i in zip(self._names.to_pylist(), self._row_of, strict=True)
                        if compiled.match(n)
                    ]
                    found[hits] = True
                else:
                    hit = np.asarray(pc.fill_null(pc.match_like(self._names, glob_like(form)), False))
                    found[self._row_of[hit]] = True
            self._cache[glob] = found
        return found

    def matching_rows(self, glob: str) -> np.ndarray:
        """The rows (ascending) one of whose names ``glob`` matches; a literal without a mask of every
        row."""
        forms = glob_forms(glob)
        if any(_is_pattern(form) for form in forms):
            return np.flatnonzero(self.match(glob))
        return self._literal_rows(forms)

    def _literal_rows(self, forms: frozenset[str]) -> np.ndarray:
        return np.unique(np.array([i for form in forms for i in self._rows_by_name.get(form, ())], np.int64))


def _is_pattern(form: str) -> bool:
    return any(ch in form for ch in "*?[")


def glob_match(table: pa.Table | HostIndex, glob: str) -> np.ndarray:
    """Rows of a host table one of whose names (label as logged, key, NetBIOS; see
    :mod:`sekimori.model.keys`) a model host name or glob matches."""
    index = table if isinstance(table, HostIndex) else HostIndex(table)
    return index.match(glob)


def host_edges(
    b: GraphBuilder, model: GroupModel, hosts: pa.Table, index: HostIndex | None = None
) -> dict[str, list[str]]:
    """The hosts' edges; returns the systems of each host key (from the same glob matching)."""
    index = index or HostIndex(hosts)
    keys = prefixed("host", hosts["host"])
    plain = hosts["host"].combine_chunks() if isinstance(hosts["host"], pa.ChunkedArray) else hosts["host"]
    systems_of: dict[str, list[str]] = {}
    # hosts sit in zones; their organisation owns them; its people's credentials are cached on them
    has_zone = np.asarray(pc.is_valid(hosts["zone"]))
    b.edges(
        "in_zone",
        keys.filter(pa.array(has_zone)),
        prefixed("zone", hosts["zone"].filter(pa.array(has_zone))),
    )
    has_org = np.asarray(pc.is_valid(hosts["org"]))
    b.edges(
        "owns",
        prefixed("organisation", hosts["org"].filter(pa.array(has_org))),
        keys.filter(pa.array(has_org)),
    )
    for realm in model.realms:
        if realm.kind == "local":
            continue  # a local realm's credentials are the host's own
        for org in realm.shared_by:
            mine = np.asarray(pc.fill_null(pc.equal(hosts["org"], org), False))
            n = int(mine.sum())
            if n:
                b.edges(
                    "cached_credentials", keys.filter(pa.array(mine)), [f"credential:{org}@{realm.id}"] * n
                )
    # systems, data stores and grants name their hosts by globs
    for system in model.systems:
        for glob in system.hosts:
            match = pa.array(index.match(glob))
            matched = keys.filter(match)
            n = len(matched)
            b.edges("runs_on", [f"system:{system.id}"] * n, matched)
            b.edges("part_of", matched, [f"system:{system.id}"] * n)
            for host in plain.filter(match).to_pylist():
                systems_of.setdefault(host, []).append(system.id)
    for store in model.data_stores:
        for glob in store.hosts:
            matched = keys.filter(pa.array(index.match(glob)))
            b.edges("store_host", matched, [f"data_store:{store.id}"] * len(matched))
    return systems_of


# --- access: what each way in gives, gated by the ports the flows let through ---


class Gates:
    """Gate nodes ``zone:Z/system:S@CLASS`` / ``zone:Z/host:H@CLASS`` and the network edges that open
    them: presence in the target's zone, or a flow from a zone (or its ``from_hosts``) to that zone
    (with ``to_hosts``: to one of the target's hosts) allowing one of the class's ports."""

    def __init__(self, b: GraphBuilder, model: GroupModel, hosts: pa.Table, index: HostIndex) -> None:
        self.b, self.model, self.hosts, self.index = b, model, hosts, index
        self.made: set[str] = set()
        self.host_keys = hosts["host"].to_pylist()
        self.zone_of = dict(zip(self.host_keys, hosts["zone"].to_pylist(), strict=True))

    def _hosts_matching(self, globs: Sequence[str]) -> list[str]:
        # Row numbers, not masks of every row: called once per granted host (for its gate).
        rows = [int(i) for glob in globs for i in self.index.matching_rows(glob)]
        return sorted({self.host_keys[i] for i in rows})

    def gate(self, kind: str, ident: str, zone: str, target_globs: Sequence[str], cls: str) -> str:
        # A zone node (what the path search reads a gate as), never held: only network edges lead to it.
        name = f"{zone}/{kind}:{ident}@{cls}"
        key = f"zone:{name}"
        if key in self.made:
            return key
        self.made.add(key)
        self.b.nodes("zone", [name], [f"{cls} connections to {ident} in {zone}"], [None], [zone])
        targets = set(self._hosts_matching(target_globs))
        src: list[str] = [f"zone:{zone}"]  # a presence in the zone connects to it
        c1: list[str | None] = [None]
        c2: list[str | None] = [None]
        for flow in self.model.flows:
            # (source zone, destination zone, source hosts, destination hosts): the way back of a
            # bidirectional flow goes from its destination hosts to its source hosts
            directions = [(flow.from_zone, flow.to_zone, flow.from_hosts, flow.to_hosts)]
            if flow.bidirectional:
                directions.append((flow.to_zone, flow.from_zone, flow.to_hosts, flow.from_hosts))
            for a, z, from_hosts, to_hosts in directions:
                if z != zone or not flow_opens(flow.ports, flow.protocol, cls):
                    continue
                if to_hosts and not self._reaches(to_hosts, targets, target_globs):
                    continue
                origins = (
                    [f"host:{h}" for h in self._hosts_matching(from_hosts)] if from_hosts else [f"zone:{a}"]
                )
                src += origins
                c1 += [f"flow:{flow.id}"] * len(origins)
                c2 += [f"route:{a}->{z}"] * len(origins)
        self.b.edges("flow", src, [key] * len(src), control1=c1, control2=c2)
        return key

    @staticmethod
    def _reaches(to_hosts: Sequence[str], targets: set[str], target_globs: Sequence[str]) -> bool:
        # A flow restricted to some hosts reaches the target if one of its hosts is one of them (by the
        # host nodes, or by the model's literal names when the store showed none).
        for glob in to_hosts:
            if any(glob_matches(glob, host_names(t)) for t in targets):
                return True
            if any(glob_matches(glob, host_names(t)) for t in target_globs if not set("*?") & set(t)):
                return True
        return False


def access_edges(
    b: GraphBuilder,
    model: GroupModel,
    hosts: pa.Table,
    as_of: date | None = None,
    index: HostIndex | None = None,
) -> Gates:
    """Grants (valid on ``as_of``), shared realms and held credentials, each as the access it is; returns
    the gates made, for the tenants' edges (:mod:`sekimori.graph.tenant_edges`), which add to them. An
    application a tenant serves (a system with a ``tenant``) is signed in to: its grants' ``application``
    access is that module's."""
    systems = {s.id: s for s in model.systems}
    stores_of: dict[str, list[tuple[str, str, str | None]]] = {}
    for d in model.data_stores:
        stores_of.setdefault(d.system, []).append((d.id, d.kind, d.engine))
    admins = {(r.org, s) for r in model.admin_rights if r.accounts is None for s in r.systems}
    gates = Gates(b, model, hosts, index or HostIndex(hosts))
    out: dict[str, list[list[str | None]]] = {}

    def edge(kind: str, src: str, dst: str, gate: str, c1: str | None, c2: str | None = None) -> None:
        cols = out.setdefault(kind, [[], [], [], [], []])
        for col, value in zip(cols, (src, dst, gate, c1, c2), strict=True):
            col.append(value)

    def system_access(
        src: str,
        system_id: str,
        access: str,
        org: str | None,
        c1: str | None,
        c2: str | None,
        kind: str | None = None,
    ) -> None:
        system = systems[system_id]

        def g(cls: str) -> str:
            return gates.gate("system", system_id, system.zone, system.hosts, cls)

        stores = stores_of.get(system_id, [])
        if access in ("interactive", "network_admin"):
            cls = "interactive" if access == "interactive" else "network"
            edge(
                kind or ("logon_interactive" if cls == "interactive" else "logon_admin"),
                src,
                f"system:{system_id}",
                g(cls),
                c1,
                c2,
            )
        elif access == "network":
            # a session, no control: what the hosts serve to an authenticated network user, their file
            # shares (SMB) and databases that take the domain logon (integrated authentication)
            for ident, store_kind, engine in stores:
                if store_kind == "file_share":
                    edge(kind or "logon_session", src, f"data_store:{ident}", g("network"), c1, c2)
                elif store_kind == "database":
                    cls = f"database-{engine}" if engine else "database"
                    edge(kind or "logon_session", src, f"data_store:{ident}", g(cls), c1, c2)
        elif access == "application":
            for ident, _, _ in stores:
                edge(kind or "app_use", src, f"data_store:{ident}", g("application"), c1, c2)
        elif access == "database":
            for ident, store_kind, engine in stores:
                if store_kind == "database":
                    cls = f"database-{engine}" if engine else "database"
                    edge(kind or "db_use", src, f"data_store:{ident}", g(cls), c1, c2)

    for grant in model.grants:
        if not grant.valid_on(as_of):
            continue  # expired on the day asked about
        codes = set(grant.logon_type_codes)
        realm_ids = [grant.via_realm] if grant.via_realm else _realms_of(model, grant.org)
        for realm_id in realm_ids:
            cred = f"credential:{grant.org}@{realm_id}"
            for system_id in grant.systems:
                contract = contract_for(model, grant.org, systems[system_id].owner, system_id)
                accesses: list[str] = list(grant.access)
                if codes & set(INTERACTIVE_LOGON_TYPES):
                    accesses.append("interactive")
                if codes & set(NETWORK_LOGON_TYPES):
                    accesses.append("network_admin" if (grant.org, system_id) in admins else "network")
                for access in accesses:
                    if access == "application" and systems[system_id].tenant is not None:
                        continue  # a sign-in through the tenant: tenant_edges
                    system_access(cred, system_id, access, grant.org, f"grant:{grant.id}", contract)
            if codes & set(INTERACTIVE_LOGON_TYPES):  # hosts outside systems: an interactive logon only
                for key in gates._hosts_matching(grant.hosts):
                    zone = gates.zone_of[key]
                    if zone is None:
                        continue
                    gate = gates.gate("host", key, zone, [key], "interactive")
                    edge("logon_interactive", cred, f"host:{key}", gate, f"grant:{grant.id}")
    # shared realms: a realm several organisations share authenticates one's accounts on the other's
    # systems that authenticate through it (a grant or the realm's own systems say so), whether or not a
    # grant allows it. An account rule's realm is informative: it opens nothing.
    accepts: dict[str, set[str]] = {}
    granted = {(g.org, s) for g in model.grants if g.valid_on(as_of) for s in g.systems}
    for grant in model.grants:
        if grant.via_realm:
            for system_id in grant.systems:
                accepts.setdefault(system_id, set()).add(grant.via_realm)
    for realm in model.realms:
        for system_id in realm.systems:
            accepts.setdefault(system_id, set()).add(realm.id)
    shared = shared_realms(model)
    for system in model.systems:
        for realm_id in sorted(accepts.get(system.id, ())):
            for org in sorted(shared[realm_id]):
                if org != system.owner and (org, system.id) not in granted:
                    # any logon the hosts accept: interactive (RDP, SSH) or network (SMB, WinRM, SSH),
                    # each through the flows that carry its ports
                    for cls in ("interactive", "network"):
                        edge(
                            "shared_realm",
                            f"credential:{org}@{realm_id}",
                            f"system:{system.id}",
                            gates.gate("system", system.id, system.zone, system.hosts, cls),
                            f"realm:{realm_id}",
                        )
    # credentials held on hosts: whoever controls the host uses them
    for credential in model.credentials:
        for key in gates._hosts_matching([credential.on_host]):
            system_access(
                f"host:{key}", credential.for_system, credential.kind, None, None, None, kind="credential_use"
            )
    for kind, (src, dst, gate_col, c1, c2) in out.items():
        b.edges(kind, src, dst, gate=gate_col, control1=c1, control2=c2)
    return gates


__all__ = [
    "GATE_CLASSES",
    "Gates",
    "HostIndex",
    "access_edges",
    "contract_for",
    "glob_like",
    "glob_match",
    "host_edges",
    "model_edges",
    "prefixed",
    "shared_realms",
]
