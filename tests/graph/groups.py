"""Random small corporate groups for the property tests of the graph's answers (a hypothesis strategy)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

from sekimori.model import GroupModel, load_model_text

ORGS = (("p", "parent"), ("a", "affiliate"), ("c", "contractor"))


@st.composite
def groups(draw: st.DrawFn) -> GroupModel:
    """A parent, an affiliate and a contractor: a realm the parent may share, one or two zones each, a
    few systems with hosts, data stores with people, and random flows, grants, contracts and admin
    rights between them."""
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
                    "kind": "ad_domain",
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
    # The data at stake is the parent's and the affiliate's: the contractor is the usual entry.
    at_stake = [s["id"] for s in systems if s["owner"] != "c"] or system_ids
    stores = [
        {
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
        for i in range(draw(st.integers(1, 3)))
    ]
    pairs = [(x, y) for x in all_zones for y in all_zones if x != y]
    flows = [
        {
            "id": f"f{i}",
            "from": x,
            "to": y,
            "ports": "any",
            "protocol": "any",
            "bidirectional": draw(st.booleans()),
        }
        for i, (x, y) in enumerate(
            draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=8, unique=True))
        )
    ]
    grants = [
        {
            "id": f"g{i}",
            "org": "c" if i == 0 else draw(st.sampled_from(orgs)),  # the entry has a way somewhere
            "systems": draw(st.lists(st.sampled_from(system_ids), min_size=1, max_size=2, unique=True)),
            "logon_types": draw(
                st.sampled_from([["network"], ["remote_interactive"], ["network", "interactive"]])
            ),
            "owner": "IT",
        }
        for i in range(draw(st.integers(1, 6)))
    ]
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
    document = {
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
    return load_model_text(yaml.safe_dump(document, sort_keys=False), "random.yaml")
