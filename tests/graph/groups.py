"""Random small corporate groups for the property tests of the graph's answers (a hypothesis strategy)."""

from __future__ import annotations

import datetime
from typing import Any

import yaml
from hypothesis import strategies as st

from sekimori.model import GroupModel, load_model_text

ORGS = (("p", "parent"), ("a", "affiliate"), ("c", "contractor"))

# The day the tests ask "as of": grants expire before it, on it, or after it.
AS_OF = datetime.date(2024, 6, 1)
EXPIRIES = (None, None, "2023-12-31", "2024-05-31", "2024-06-01", "2025-03-31")

# Flows' ports: every access class, several at once, none a logon needs, all.
PORTS: tuple[Any, ...] = (
    "any",
    "any",
    [443],
    [1433],
    [5432],
    [3389],
    [445],
    [22],
    [53],
    [443, 1433],
    [3389, 445],
)
LOGON_TYPES: tuple[list[Any], ...] = (
    [],
    ["network"],
    ["remote_interactive"],
    ["network", "interactive"],
    ["batch"],
    [3],
    ["new_credentials"],
)
ACCESS: tuple[list[str], ...] = ([], [], ["application"], ["database"], ["application", "database"])


@st.composite
def groups(draw: st.DrawFn, access: bool = True, tenants: bool = False) -> GroupModel:
    """A parent, an affiliate and a contractor: a realm the parent may share, one or two zones each, a
    few systems with hosts, data stores with people, and random flows, grants, contracts and admin
    rights between them.

    With ``access`` (the default), also what issue 10 added: grants with ``access`` (application,
    database) and various logon types, some through a realm and some expiring around :data:`AS_OF`, or
    onto hosts outside any system; flows with ports (or all), tcp/udp, some restricted to hosts; service
    credentials held on hosts; stores of every kind, databases with or without an engine, sharing
    populations; a domain controller system and realm admins; local realms. ``access=False`` draws the
    groups of before (every flow any port, logon grants only).

    With ``tenants`` (issue 12), also an IdP tenant of the parent that the affiliate and the contractor
    may share, sometimes the contractor's own IdP tenant, and systems whose applications sign in through
    the parent's tenant, some of them cloud services with no hosts."""
    orgs = [o for o, _ in ORGS]
    shared = ["p"] + [o for o in ("a", "c") if draw(st.booleans())]
    realms: list[dict[str, Any]] = [
        {"id": "corp", "kind": "ad_domain", "name": "CORP", "owner": "p", "shared_by": shared}
    ]
    realm_of = {o: "corp" for o in shared}
    for org in orgs:
        if org not in shared:
            realms.append(
                {
                    "id": f"{org}net",
                    "kind": "local" if access and draw(st.integers(0, 4)) == 0 else "ad_domain",
                    "name": org.upper(),
                    "owner": org,
                    "shared_by": [org],
                }
            )
            realm_of[org] = f"{org}net"
    zones = {org: [f"{org}z{i}" for i in range(draw(st.integers(1, 2)))] for org in orgs}
    all_zones = [z for zs in zones.values() for z in zs]
    systems: list[dict[str, Any]] = []
    for i in range(draw(st.integers(2, 5))):
        owner = draw(st.sampled_from(orgs))
        zone = draw(st.sampled_from(zones[owner]))
        systems.append(
            {
                "id": f"s{i}",
                "name": f"system {i}",
                "owner": owner,
                "zone": zone,
                "hosts": [f"{zone}-s{i}"],
                "crown_jewel": owner != "c" and draw(st.booleans()),
            }
        )
    system_ids = [s["id"] for s in systems]
    system_hosts = [h for s in systems for h in s["hosts"]]
    # The data at stake is the parent's and the affiliate's: the contractor is the usual entry.
    at_stake = [s["id"] for s in systems if s["owner"] != "c"] or system_ids
    stores = []
    for i in range(draw(st.integers(1, 3))):
        store: dict[str, Any] = {
            "id": f"d{i}",
            "name": f"store {i}",
            "system": draw(st.sampled_from(at_stake)),
            "owner": "p",
            "kind": "database",
            "personal_data": [
                {
                    "category": draw(st.sampled_from(["user", "employee"])),
                    "items": ["name"],
                    "records": draw(st.integers(1, 9)) * 100,
                }
            ],
        }
        if access:
            store["kind"] = draw(
                st.sampled_from(["database", "database", "file_share", "saas", "object_store"])
            )
            if store["kind"] == "database":
                engine = draw(st.sampled_from([None, "mssql", "postgresql"]))
                if engine:
                    store["engine"] = engine
            if draw(st.booleans()):  # the same people as another store's
                store["personal_data"][0]["population"] = "shared"
            if draw(st.integers(0, 3)) == 0:
                store["personal_data"].append(
                    {"category": "user", "items": ["log"], "records": draw(st.integers(1, 9)) * 10}
                )
        stores.append(store)
    pairs = [(x, y) for x in all_zones for y in all_zones if x != y]
    flows = []
    for i, (x, y) in enumerate(draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=8, unique=True))):
        flow: dict[str, Any] = {
            "id": f"f{i}",
            "from": x,
            "to": y,
            "ports": "any",
            "protocol": "any",
            "bidirectional": draw(st.booleans()),
        }
        if access:
            flow["ports"] = draw(st.sampled_from(PORTS))
            flow["protocol"] = draw(st.sampled_from(["tcp", "tcp", "any", "udp"]))
            # (host restrictions on one-way flows only: which end a reverse direction restricts is
            # not said)
            if not flow["bidirectional"]:
                into = [h for h in system_hosts if h.startswith(f"{y}-")]
                if into and draw(st.integers(0, 3)) == 0:
                    flow["to_hosts"] = [draw(st.sampled_from([*into, f"{y}-*"]))]
                out = [h for h in system_hosts if h.startswith(f"{x}-")]
                if draw(st.integers(0, 3)) == 0:
                    flow["from_hosts"] = [draw(st.sampled_from([*out, f"{x}-*", f"{x}-jump"]))]
        flows.append(flow)
    if access and draw(st.booleans()):  # a way out of the contractor's network, more often than by chance
        flows.append(
            {
                "id": f"f{len(flows)}",
                "from": "cz0",
                "to": draw(st.sampled_from([z for z in all_zones if not z.startswith("c")])),
                "ports": draw(st.sampled_from(["any", [3389], [443], [1433], [445], [22]])),
                "protocol": "tcp",
            }
        )
    grants = []
    for i in range(draw(st.integers(1, 6))):
        grant: dict[str, Any] = {
            "id": f"g{i}",
            "org": "c" if i == 0 else draw(st.sampled_from(orgs)),  # the entry has a way somewhere
            "systems": draw(st.lists(st.sampled_from(system_ids), min_size=1, max_size=2, unique=True)),
            "logon_types": draw(
                st.sampled_from([["network"], ["remote_interactive"], ["network", "interactive"]])
            ),
            "owner": "IT",
        }
        if access:
            grant["logon_types"] = draw(st.sampled_from(LOGON_TYPES))
            grant["access"] = draw(st.sampled_from(ACCESS))
            if not grant["logon_types"] and not grant["access"]:
                grant["access"] = ["application"]
            if draw(st.integers(0, 3)) == 0:
                grant["via_realm"] = draw(st.sampled_from([r["id"] for r in realms]))
            expires = draw(st.sampled_from(EXPIRIES))
            if expires:
                grant["expires"] = expires
            if draw(st.integers(0, 5)) == 0:  # a host outside any system, in one of the zones
                grant["hosts"] = [f"{draw(st.sampled_from(all_zones))}-jump"]
        grants.append(grant)
    contracts = []
    for i in range(draw(st.integers(0, 2))):
        entrusting, entrusted = draw(st.permutations(orgs))[:2]
        contracts.append(
            {
                "id": f"k{i}",
                "entrusting": entrusting,
                "entrusted": entrusted,
                "scope": "work",
                "start": "2020-01-01",
                "systems": draw(st.lists(st.sampled_from(system_ids), max_size=2, unique=True)),
            }
        )
    admins = [
        {
            "id": f"adm{i}",
            "org": draw(st.sampled_from(orgs)),
            "systems": draw(st.lists(st.sampled_from(system_ids), min_size=1, max_size=2, unique=True)),
        }
        for i in range(draw(st.integers(0, 2)))
    ]
    document: dict[str, Any] = {
        "version": 1,
        "group": "Random",
        "organisations": [{"id": o, "name": o.upper(), "kind": kind, "country": "JP"} for o, kind in ORGS],
        "realms": realms,
        "accounts": [{"org": o, "realm": realm_of[o], "domain": realm_of[o].upper()} for o in orgs],
        "zones": [{"id": z, "name": z, "org": o} for o, zs in zones.items() for z in zs],
        "hosts": [{"org": o, "zone": z, "name_pattern": f"^{z}-"} for o, zs in zones.items() for z in zs],
        "systems": systems,
        "data_stores": stores,
        "flows": flows,
        "grants": grants,
        "contracts": contracts,
        "admin_rights": admins,
    }
    if access:
        parent_systems = [s["id"] for s in systems if s["owner"] == "p"]
        if parent_systems and draw(st.integers(0, 2)) == 0:  # a domain controller
            realms[0]["systems"] = [draw(st.sampled_from(parent_systems))]
        if draw(st.integers(0, 3)) == 0:  # realm admins (Domain Admins)
            admins.append({"id": f"adm{len(admins)}", "org": draw(st.sampled_from(orgs)), "realm": "corp"})
        document["credentials"] = [
            {
                "id": f"k-{i}",
                "on_host": draw(  # a system's host, a glob, or a host the model names only here
                    st.sampled_from(
                        [*system_hosts, f"{system_hosts[0].split('-')[0]}-*", f"{all_zones[-1]}-pc"]
                    )
                ),
                "for_system": draw(st.sampled_from(system_ids)),
                "kind": draw(
                    st.sampled_from(["database", "application", "network", "network_admin", "interactive"])
                ),
            }
            for i in range(draw(st.integers(0, 2)))
        ]
    if tenants:
        members = ["p"] + [o for o in ("a", "c") if draw(st.integers(0, 2)) == 0]
        realms.append(
            {"id": "idp", "kind": "idp_tenant", "name": "idp.example", "owner": "p", "shared_by": members}
        )
        if "c" not in members and draw(st.booleans()):  # the contractor's own tenant: its guests' identity
            realms.append(
                {"id": "cidp", "kind": "idp_tenant", "name": "c.example", "owner": "c", "shared_by": ["c"]}
            )
        for system in systems:
            if draw(st.booleans()):
                system["tenant"] = "idp"
                system["applications"] = [f"app {system['id']}"]
                if draw(st.booleans()):  # a cloud service
                    system["hosts"] = []
    return load_model_text(yaml.safe_dump(document, sort_keys=False), "random.yaml")
