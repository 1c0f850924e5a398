"""The nodes of the group graph: the model's organisations, realms, credentials, zones, systems and
data stores, and the hosts and accounts the model names or the logons show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from sekimori.graph.observed import HOST_SCHEMA
from sekimori.model import host_key

if TYPE_CHECKING:
    from sekimori.graph.builder import GraphBuilder
    from sekimori.model import GroupModel


def model_nodes(b: GraphBuilder, model: GroupModel) -> None:
    """The nodes of the model's sections, and one credentials node per organisation and realm it uses."""
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


def host_nodes(b: GraphBuilder, model: GroupModel, logons: pa.Table, hosts: pa.Table) -> pa.Table:
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


def account_nodes(b: GraphBuilder, logons: pa.Table) -> pa.Table:
    """One node per account the logons show; the accounts with their organisation and realm."""
    accounts = logons.group_by("account", use_threads=False).aggregate(
        [("account_label", "min"), ("account_org", "min"), ("account_realm", "min")]
    )
    accounts = accounts.rename_columns(["account", "label", "org", "realm"])
    b.nodes("account", accounts["account"], accounts["label"], accounts["org"])
    return accounts
