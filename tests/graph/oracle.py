"""An independent oracle: the documented rules of docs/graph.md and docs/model.md, read as plain Python
over the :class:`~sekimori.model.GroupModel` itself, with no import from :mod:`sekimori.graph`.

What the attacker holds is a set of facts, grown to a least fixed point by ground rules:

- ``("org", O)``: organisation O is compromised: all its hosts, zones and people's credentials;
- ``("zone", Z)``: a presence in zone Z (a host there);
- ``("host", H)``: control of host H;
- ``("cred", O, R)``: credentials of O's people in realm R (only when O is in R's ``shared_by``);
- ``("realm", R)``: control of realm R (its domain controllers / IdP);
- ``("system", S)``: control of system S (its hosts);
- ``("store", D)``: access to data store D and its personal data.

A rule says: with its *body* facts held (and, for a *gated* rule, a *connection* to the target open),
its *head* is held, unless one of its *controls* is removed. A connection ``(zone Z, target hosts,
ports)`` is open when the attacker is present in Z, or when a flow direction A → Z (not removed: its
``flow:ID``, nor ``route:A->Z``) is tcp or any, allows one of the ports (``ports: any`` all), reaches one
of the target's hosts when it has ``to_hosts``, and starts from a zone A the attacker is present in or,
with ``from_hosts``, from a host of A matching them that the attacker controls. Connections are never
held: flows do not chain.

The rules (docs/graph.md "What the graph says", docs/model.md, ``sekimori/model/access.py``):

1. org O → its zones (zones it owns; zones its host rules put its hosts in), its hosts, its credentials
   in every realm it shares.
2. host H → presence in its zone; the credentials of its organisation's people in every realm that is
   not ``local``; the systems and data stores whose host globs match it.
3. system S → its hosts; its data stores; the realms it runs (``realms[].systems``).
4. realm R → every credential it issues; those of organisations other than its owner through the control
   ``realm:R`` when the realm is shared.
5. admin right (no ``accounts`` pattern) of O → the realm / systems it names, from O's credentials in any
   of O's realms, control ``admin:ID``; not gated (the docs' table marks it so).
6. grant G of O valid on ``as_of`` (``expires`` is its last valid day), through ``via_realm`` or any realm
   of O, controls ``grant:G`` (and the contract, below), for each system S:
   interactive logon types (2, 4, 5, 7, 10-13) → system S, gated RDP/SSH; network logon types (3, 8, 9)
   with an admin right of O on S → system S, gated SMB/WinRM/SSH; without one: a session → S's
   file_share stores (SMB/WinRM/SSH) and S's database stores (the engine's port, every engine's when it
   names none); ``access: application`` → every store of S, gated HTTPS 443; ``access: database`` → S's
   database stores (engine port). Hosts a grant names outside systems: an interactive logon type gives
   the host (gated RDP/SSH to that host).
7. shared realm R: O's credentials in R → a system S of another organisation "in the same realm" (one
   that authenticates through R), when no valid grant of O covers S; control ``realm:R``; gated like
   any logon: a connection to S on a logon port (RDP, SSH, SMB, WinRM).
8. a credential held on a host → what its kind opens on its system (as in 6), for whoever controls the
   host; no control.
9. tenants (issue 12; sekimori/graph/tenant_edges.py's docstring): a system with a ``tenant`` is signed
   in to, so ``access: application`` on it is not rule 6's. A valid grant of O with application access
   → every store of S: from O's credentials in the tenant when O has accounts there, else (a guest)
   from O's credentials in its home realms (O's realms of the tenant's kind, else its IdP tenants and
   cloud accounts, else its realms but local ones); controls ``grant:G`` and the contract. A tenant
   shared by two or more organisations: O's credentials in it → every store of a system of another
   organisation it serves that no valid application grant of O covers; control ``realm:T``. Either is
   gated by HTTPS to the system when it has hosts; a system with none is a cloud service: no gate.

People: per category, one figure per population (an entry's ``population``, default
``<store>.<category>``), the largest entry of it; summed over the populations reached.

Where the docs were silent and the code (``sekimori/graph/edges.py``, ``build.py``) settled the meaning:

- *Which hosts exist*: the hosts the model names literally (systems', data stores' and grants' ``hosts``;
  credentials' ``on_host``; flows' ``from_hosts``/``to_hosts``), placed by the host rules (a regex searched
  in the name and its short name; first match wins). Globs match them (``*``, ``?``, case-insensitive, full
  or short name). (The library made nodes of the first three only; the oracle found it, see
  test_model_oracle.py; build._literal_hosts now names all five.)
- *Which systems a shared realm opens*: those that "authenticate through" it: a grant's ``via_realm``
  (any grant naming S, of any organisation, expired or not: it is a fact about the system) or the
  realm's ``systems``. A realm of one organisation opens another's system that authenticates through
  it too (the docs' "a system of another organisation in the same realm"; the code's comment says
  "several organisations share", its test does not).
- *A grant through a realm its organisation does not share*: there are no such credentials: nothing.
- *The contract on a grant*: the first contract (in the model's order) whose entrusted party is the
  grant's organisation, whose entrusting party owns the system, and whose ``systems`` are empty or
  include it; grants on hosts outside systems are under no contract.
- *Which admin right makes a network logon an admin one*: one of the grant's organisation without an
  ``accounts`` pattern naming the system (a pattern names accounts the model alone does not know).
- *Flow controls*: each direction of a flow carries ``flow:ID`` and ``route:FROM->TO``.
- A data store with no people and a system that is no crown jewel are never targets.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sekimori.model import GroupModel

Fact = tuple[str, ...]

# The ports each access needs (docs/model.md "flows"; sekimori/model/access.py), written out here.
RDP_SSH = frozenset({3389, 22})
SMB_WINRM_SSH = frozenset({445, 5985, 5986, 22})
HTTPS = frozenset({443})
ENGINE_PORTS = {
    "mssql": 1433,
    "postgresql": 5432,
    "mysql": 3306,
    "oracle": 1521,
    "mongodb": 27017,
    "redis": 6379,
}
INTERACTIVE_CODES = frozenset({2, 4, 5, 7, 10, 11, 12, 13})
NETWORK_CODES = frozenset({3, 8, 9})
LOGON_CODES = {
    "interactive": 2,
    "network": 3,
    "batch": 4,
    "service": 5,
    "unlock": 7,
    "network_cleartext": 8,
    "new_credentials": 9,
    "remote_interactive": 10,
    "cached_interactive": 11,
    "cached_remote_interactive": 12,
    "cached_unlock": 13,
}


def engine_ports(engine: str | None) -> frozenset[int]:
    return frozenset({ENGINE_PORTS[engine]} if engine else ENGINE_PORTS.values())


@dataclass(frozen=True)
class Rules:
    """Switches between the documented reading (default) and a library behaviour found to differ (each
    with an xfail test in test_model_oracle.py)."""

    # docs: a shared-realm logon needs a logon port (like any logon); False: any flow into the zone,
    # any port or protocol, ignoring to_hosts (sekimori/graph/edges.py gates it by the bare zone).
    shared_realm_needs_logon_port: bool = True


DOCUMENTED = Rules()


@dataclass(frozen=True)
class Need:
    """A connection a gated rule needs: to ``zone``, to one of ``targets`` (host names or globs), on one of
    ``ports`` (None: any port, any protocol, any host of the zone)."""

    zone: str
    targets: tuple[str, ...]
    ports: frozenset[int] | None


@dataclass(frozen=True)
class Rule:
    head: Fact
    body: tuple[Fact, ...]
    need: Need | None = None
    controls: frozenset[str] = frozenset()
    why: str = ""


@dataclass(frozen=True)
class FlowWay:
    """One direction of a flow."""

    flow: str
    src: str
    dst: str
    ports: frozenset[int] | None
    tcp: bool
    from_hosts: tuple[str, ...]
    to_hosts: tuple[str, ...]

    @property
    def controls(self) -> frozenset[str]:
        return frozenset({f"flow:{self.flow}", f"route:{self.src}->{self.dst}"})


def _names(host: str) -> set[str]:
    name = host.lower().rstrip(".")
    return {name, name.split(".", 1)[0]}


def glob_hits(glob: str, host: str) -> bool:
    """Whether a model host name or glob names ``host`` (case-insensitive, full or short name)."""
    pattern = glob.lower().rstrip(".")
    forms = {pattern}
    if not set("*?[") & set(pattern):
        forms.add(pattern.split(".", 1)[0])
    return any(fnmatch.fnmatchcase(n, f) for n in _names(host) for f in forms)


class Oracle:
    """The rules of one model (as of a day), and the least fixed point of any removal of controls."""

    def __init__(self, model: GroupModel, as_of: date | None = None, rules: Rules = DOCUMENTED) -> None:
        self.model = model
        self.as_of = as_of
        self.options = rules
        self.systems = {s.id: s for s in model.systems}
        self.stores = {d.id: d for d in model.data_stores}
        self.hosts = self._hosts()  # name → (org, zone)
        self.flows = self._flow_ways()
        self.rules: list[Rule] = []
        self._make_rules()
        self.by_body: dict[Fact, list[int]] = {}
        for i, rule in enumerate(self.rules):
            for fact in rule.body:
                self.by_body.setdefault(fact, []).append(i)

    # --- the model read plainly ---

    def _hosts(self) -> dict[str, tuple[str | None, str | None]]:
        m = self.model
        named = [g for s in m.systems for g in s.hosts] + [g for d in m.data_stores for g in d.hosts]
        named += [g for grant in m.grants for g in grant.hosts]
        named += [c.on_host for c in m.credentials]
        named += [g for f in m.flows for g in (*f.from_hosts, *f.to_hosts)]
        hosts: dict[str, tuple[str | None, str | None]] = {}
        for name in named:
            if set("*?[") & set(name):
                continue
            key = name.lower().rstrip(".").split(".", 1)[0]
            if key not in hosts:
                hosts[key] = self._place(name)
        return hosts

    def _place(self, name: str) -> tuple[str | None, str | None]:
        for rule in self.model.hosts:
            if rule.name_pattern is not None and rule.cidr is None:
                pattern = re.compile(rule.name_pattern, re.IGNORECASE)
                if any(pattern.search(n) for n in (name, name.split(".", 1)[0])):
                    return rule.org, rule.zone
        return None, None

    def matching(self, globs: Iterable[str]) -> list[str]:
        globs = list(globs)
        return sorted(h for h in self.hosts if any(glob_hits(g, h) for g in globs))

    def _flow_ways(self) -> list[FlowWay]:
        ways = []
        for f in self.model.flows:
            ports = None if f.ports is None else frozenset(f.ports)
            ways.append(
                FlowWay(
                    f.id,
                    f.from_zone,
                    f.to_zone,
                    ports,
                    f.protocol != "udp",
                    tuple(f.from_hosts),
                    tuple(f.to_hosts),
                )
            )
            if f.bidirectional:
                # (the random groups restrict one-way flows only: which end a reverse direction's host
                # lists restrict is not said)
                ways.append(FlowWay(f.id, f.to_zone, f.from_zone, ports, f.protocol != "udp", (), ()))
        return ways

    def realms_of(self, org: str) -> list[str]:
        return [r.id for r in self.model.realms if org in r.shared_by]

    def has_cred(self, org: str, realm: str) -> bool:
        return any(r.id == realm and org in r.shared_by for r in self.model.realms)

    def grant_valid(self, grant: Any) -> bool:
        return self.as_of is None or grant.expires is None or grant.expires >= self.as_of

    def contract_for(self, org: str, system_id: str) -> str | None:
        owner = self.systems[system_id].owner
        for c in self.model.contracts:
            if c.entrusted == org and c.entrusting == owner and (not c.systems or system_id in c.systems):
                return f"contract:{c.id}"
        return None

    # --- the rules ---

    def _add(
        self,
        head: Fact,
        body: Sequence[Fact],
        need: Need | None = None,
        controls: Iterable[str | None] = (),
        why: str = "",
    ) -> None:
        self.rules.append(Rule(head, tuple(body), need, frozenset(c for c in controls if c), why))

    def _system_need(self, system_id: str, ports: frozenset[int] | None) -> Need:
        s = self.systems[system_id]
        return Need(s.zone, tuple(s.hosts), ports)

    def _access(
        self, body: Fact, system_id: str, access: str, controls: Iterable[str | None], why: str
    ) -> None:
        """What one access gives on a system (docs/model.md, access.py)."""
        controls = list(controls)
        stores = [d for d in self.model.data_stores if d.system == system_id]
        if access == "interactive":
            self._add(("system", system_id), [body], self._system_need(system_id, RDP_SSH), controls, why)
        elif access == "network_admin":
            self._add(
                ("system", system_id), [body], self._system_need(system_id, SMB_WINRM_SSH), controls, why
            )
        elif access == "network":  # a session: file shares (SMB…) and databases (their port)
            for d in stores:
                if d.kind == "file_share":
                    self._add(
                        ("store", d.id), [body], self._system_need(system_id, SMB_WINRM_SSH), controls, why
                    )
                elif d.kind == "database":
                    self._add(
                        ("store", d.id),
                        [body],
                        self._system_need(system_id, engine_ports(d.engine)),
                        controls,
                        why,
                    )
        elif access == "application":
            for d in stores:
                self._add(("store", d.id), [body], self._system_need(system_id, HTTPS), controls, why)
        elif access == "database":
            for d in stores:
                if d.kind == "database":
                    self._add(
                        ("store", d.id),
                        [body],
                        self._system_need(system_id, engine_ports(d.engine)),
                        controls,
                        why,
                    )

    def _make_rules(self) -> None:
        m = self.model
        # 1. organisations
        for o in m.organisations:
            zones = {z.id for z in m.zones if z.org == o.id} | {h.zone for h in m.hosts if h.org == o.id}
            for z in sorted(zones):
                self._add(("zone", z), [("org", o.id)], why="org zone")
            for h, (org, _) in self.hosts.items():
                if org == o.id:
                    self._add(("host", h), [("org", o.id)], why="org host")
            for r in self.realms_of(o.id):
                self._add(("cred", o.id, r), [("org", o.id)], why="member")
        # 2. hosts
        for h, (org, zone) in self.hosts.items():
            if zone is not None:
                self._add(("zone", zone), [("host", h)], why="in zone")
            if org is not None:
                for r in m.realms:
                    if r.kind != "local" and org in r.shared_by:
                        self._add(("cred", org, r.id), [("host", h)], why="cached")
        for s in m.systems:
            for h in self.matching(s.hosts):
                self._add(("system", s.id), [("host", h)], why="part of")
                self._add(("host", h), [("system", s.id)], why="runs on")
        for d in m.data_stores:
            for h in self.matching(d.hosts):
                self._add(("store", d.id), [("host", h)], why="store host")
            # 3. systems hold their stores
            self._add(("store", d.id), [("system", d.system)], why="holds")
        for r in m.realms:
            for s_id in r.systems:
                self._add(("realm", r.id), [("system", s_id)], why="runs realm")
            # 4. a realm issues its credentials
            for o_id in r.shared_by:
                control = f"realm:{r.id}" if o_id != r.owner and len(r.shared_by) > 1 else None
                self._add(("cred", o_id, r.id), [("realm", r.id)], controls=[control], why="issues")
        # 5. admin rights
        for right in m.admin_rights:
            if right.accounts is not None:
                continue
            targets: list[Fact] = ([("realm", right.realm)] if right.realm else []) + [
                ("system", s) for s in right.systems
            ]
            for r in self.realms_of(right.org):
                for t in targets:
                    self._add(t, [("cred", right.org, r)], controls=[f"admin:{right.id}"], why="admin")
        # 6. grants
        admins = {(r.org, s) for r in m.admin_rights if r.accounts is None for s in r.systems}
        for grant in m.grants:
            if not self.grant_valid(grant):
                continue
            codes = {c if isinstance(c, int) else LOGON_CODES[c] for c in grant.logon_types}
            realms = [grant.via_realm] if grant.via_realm else self.realms_of(grant.org)
            for r in realms:
                if not self.has_cred(grant.org, r):
                    continue
                cred = ("cred", grant.org, r)
                for s_id in grant.systems:
                    controls = [f"grant:{grant.id}", self.contract_for(grant.org, s_id)]
                    kinds = list(grant.access)
                    if codes & INTERACTIVE_CODES:
                        kinds.append("interactive")
                    if codes & NETWORK_CODES:
                        kinds.append("network_admin" if (grant.org, s_id) in admins else "network")
                    for kind in kinds:
                        if kind == "application" and self.systems[s_id].tenant is not None:
                            continue  # 9.
                        self._access(cred, s_id, kind, controls, f"grant {grant.id} {kind}")
                if codes & INTERACTIVE_CODES:
                    for h in self.matching(grant.hosts):
                        zone = self.hosts[h][1]
                        if zone is not None:
                            self._add(
                                ("host", h),
                                [cred],
                                Need(zone, (h,), RDP_SSH),
                                [f"grant:{grant.id}"],
                                "host grant",
                            )
        # 7. shared realms
        granted = {(g.org, s) for g in m.grants if self.grant_valid(g) for s in g.systems}
        accepts: dict[str, set[str]] = {}
        for grant in m.grants:
            if grant.via_realm:
                for s_id in grant.systems:
                    accepts.setdefault(s_id, set()).add(grant.via_realm)
        for r in m.realms:
            for s_id in r.systems:
                accepts.setdefault(s_id, set()).add(r.id)
        logon_ports = RDP_SSH | SMB_WINRM_SSH if self.options.shared_realm_needs_logon_port else None
        for s in m.systems:
            for r_id in sorted(accepts.get(s.id, ())):
                realm = next(r for r in m.realms if r.id == r_id)
                for o_id in realm.shared_by:
                    if o_id != s.owner and (o_id, s.id) not in granted:
                        need = Need(s.zone, tuple(s.hosts), logon_ports)
                        self._add(
                            ("system", s.id), [("cred", o_id, r_id)], need, [f"realm:{r_id}"], "shared realm"
                        )
        # 8. credentials held on hosts
        for c in m.credentials:
            for h in self.matching([c.on_host]):
                self._access(("host", h), c.for_system, c.kind, [], f"credential {c.id}")
        # 9. tenants
        self._tenant_rules()

    def _home_realms(self, org: str, kind: str) -> list[str]:
        realms = [r for r in self.model.realms if org in r.shared_by and r.kind != "local"]
        for wanted in ({kind}, {"idp_tenant", "cloud_account"}):
            found = [r.id for r in realms if r.kind in wanted]
            if found:
                return found
        return [r.id for r in realms]

    def _tenant_rules(self) -> None:
        m = self.model
        realms = {r.id: r for r in m.realms}
        app_granted: set[tuple[str, str]] = set()
        for grant in m.grants:
            if not self.grant_valid(grant) or "application" not in grant.access:
                continue
            for s_id in grant.systems:
                s = self.systems[s_id]
                if s.tenant is None:
                    continue
                app_granted.add((grant.org, s_id))
                tenant = realms[s.tenant]
                if grant.org in tenant.shared_by:
                    creds = [("cred", grant.org, tenant.id)]
                else:
                    creds = [("cred", grant.org, r) for r in self._home_realms(grant.org, tenant.kind)]
                need = self._system_need(s_id, HTTPS) if s.hosts else None
                for cred in creds:
                    for d in m.data_stores:
                        if d.system == s_id:
                            controls = [f"grant:{grant.id}", self.contract_for(grant.org, s_id)]
                            self._add(("store", d.id), [cred], need, controls, f"tenant grant {grant.id}")
        for s in m.systems:
            if s.tenant is None or len(realms[s.tenant].shared_by) < 2:
                continue
            need = self._system_need(s.id, HTTPS) if s.hosts else None
            for o_id in realms[s.tenant].shared_by:
                if o_id == s.owner or (o_id, s.id) in app_granted:
                    continue
                for d in m.data_stores:
                    if d.system == s.id:
                        cred = ("cred", o_id, s.tenant)
                        self._add(("store", d.id), [cred], need, [f"realm:{s.tenant}"], "shared tenant")

    # --- connections and the fixed point ---

    def connects(self, need: Need, held: set[Fact], removed: frozenset[str] = frozenset()) -> bool:
        """Whether the attacker holding ``held`` can open the connection ``need``."""
        return self.connection(need, held, removed) is not None

    def connection(self, need: Need, held: set[Fact], removed: frozenset[str] = frozenset()) -> str | None:
        """How: 'zone' (present in it) or the flow that opens it; None when nothing does."""
        if ("zone", need.zone) in held:
            return "zone"
        for way in self.flows:
            if not way.controls & removed and self.way_opens(way, need, held):
                return f"flow:{way.flow}"
        return None

    def way_opens(self, way: FlowWay, need: Need, held: set[Fact]) -> bool:
        """Whether one flow direction opens the connection ``need`` from what ``held`` holds."""
        if way.dst != need.zone:
            return False
        if need.ports is None:  # (Rules: the library's bare-zone gate)
            return ("zone", way.src) in held
        if not way.tcp or (way.ports is not None and not way.ports & need.ports):
            return False
        if way.to_hosts:
            targets = set(self.matching(need.targets)) | {t for t in need.targets if not set("*?[") & set(t)}
            if not any(glob_hits(g, t) for g in way.to_hosts for t in targets):
                return False
        if way.from_hosts:
            return any(
                ("host", h) in held and self.hosts[h][1] == way.src for h in self.matching(way.from_hosts)
            )
        return ("zone", way.src) in held

    def closure(self, starts: Iterable[Fact], removed: Iterable[str] = ()) -> set[Fact]:
        """The least fixed point: every fact held from ``starts`` with ``removed`` controls removed."""
        removed = frozenset(removed)
        held = set(starts)
        live = [r for r in self.rules if not r.controls & removed]
        changed = True
        while changed:
            changed = False
            for rule in live:
                if rule.head in held or not all(b in held for b in rule.body):
                    continue
                if rule.need is not None and not self.connects(rule.need, held, removed):
                    continue
                held.add(rule.head)
                changed = True
        return held

    def derivable(self, head: Fact, src: Fact, held: set[Fact]) -> list[Rule]:
        """The rules that give ``head`` in one step from ``src`` (in their body) with ``held``."""
        return [
            r
            for r in self.rules
            if r.head == head
            and src in r.body
            and all(b in held for b in r.body)
            and (r.need is None or self.connects(r.need, held))
        ]

    # --- the answers ---

    def answer(self, entry: Fact, removed: Iterable[str] = ()) -> Answer:
        held = self.closure([entry], removed)
        stores = sorted(d for k, d, *_ in held if k == "store")
        systems = sorted(s for k, s, *_ in held if k == "system")
        return Answer(
            held=held,
            stores=stores,
            people=self.people(stores),
            crown_jewels=[s for s in systems if self.systems[s].crown_jewel],
        )

    def people(self, stores: Iterable[str]) -> dict[str, int]:
        largest: dict[tuple[str, str], int] = {}
        for d_id in stores:
            for pd in self.stores[d_id].personal_data:
                key = (pd.category, pd.population or f"{d_id}.{pd.category}")
                largest[key] = max(largest.get(key, 0), pd.records)
        out: dict[str, int] = {}
        for (category, _), n in largest.items():
            out[category] = out.get(category, 0) + n
        return {c: n for c, n in sorted(out.items()) if n}

    def relevant_controls(self, entry: Fact) -> list[str]:
        """The controls whose removal can change anything for ``entry``: those of the rules that hold
        with nothing removed and of the flows that open a connection some such rule needs. (Removing
        controls only shrinks what is held, so no other control can matter, alone or with others.)"""
        held = self.closure([entry])
        used: set[str] = set()
        for rule in self.rules:
            if not all(b in held for b in rule.body):
                continue
            if rule.need is not None:
                ways = [w for w in self.flows if self.way_opens(w, rule.need, held)]
                if ("zone", rule.need.zone) not in held and not ways:
                    continue
                for w in ways:
                    used |= w.controls
            used |= rule.controls
        return sorted(used)

    def minimum_cuts(
        self, entry: Fact, max_size: int = 3
    ) -> tuple[int | None, set[frozenset[str]], list[str]]:
        """(the fewest controls whose removal leaves ``entry`` no people and no crown jewel, every set of
        that size, the candidates), by brute force over the relevant controls up to ``max_size``; the size
        is None when no set up to ``max_size`` does, -1 when not even removing them all does."""
        import itertools

        pool = self.relevant_controls(entry)

        def cuts(removed: Iterable[str]) -> bool:
            answer = self.answer(entry, removed)
            return not answer.people and not answer.crown_jewels

        if not cuts(pool):
            return -1, set(), pool
        for size in range(min(max_size, len(pool)) + 1):
            found = {frozenset(c) for c in itertools.combinations(pool, size) if cuts(c)}
            if found:
                return size, found, pool
        return None, set(), pool


@dataclass
class Answer:
    held: set[Fact]
    stores: list[str]
    people: dict[str, int]
    crown_jewels: list[str] = field(default_factory=list)


def fact_of(key: str) -> Fact | None:
    """The oracle's fact for a graph node key ('host:x', 'credential:o@r'), None for a connection."""
    kind, _, ident = key.partition(":")
    if kind == "zone" and "/" in ident:
        return None
    if kind == "credential":
        org, _, realm = ident.partition("@")
        return ("cred", org, realm)
    names = {"organisation": "org", "data_store": "store"}
    return (names.get(kind, kind), ident)
