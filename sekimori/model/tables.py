"""The model as Arrow tables, to join with events in SQL (DuckDB).

Every table has a fixed schema, so an empty section still gives a typed, empty table. Matcher values
are ready for SQL: domains and UPN suffixes lower-case, SID prefixes upper-case, regexes prefixed with
``(?i)`` for ``regexp_matches``, CIDRs as numeric ranges (IPv4: int64 ``ip_lo``/``ip_hi``; IPv6: 32
lower-case hex digits in ``ip6_lo``/``ip6_hi``, which compare like the numbers).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sekimori.model.fields import LOGON_TYPE_CODES
from sekimori.model.regex import SQL_REGEX_PREFIX, glob_to_regex

if TYPE_CHECKING:
    from sekimori.model.group import GroupModel

_S = pa.string()
_LIST = pa.list_(pa.string())

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "organisations": pa.schema(
        [("id", _S), ("name", _S), ("kind", _S), ("country", _S), ("description", _S)]
    ),
    "contracts": pa.schema(
        [
            ("id", _S),
            ("entrusting", _S),
            ("entrusted", _S),
            ("scope", _S),
            ("start_date", pa.date32()),
            ("end_date", pa.date32()),  # null: open-ended
            ("systems", _LIST),
            ("description", _S),
        ]
    ),
    "realms": pa.schema(
        [("id", _S), ("kind", _S), ("name", _S), ("owner", _S), ("systems", _LIST), ("description", _S)]
    ),
    "realm_members": pa.schema([("realm", _S), ("org", _S)]),
    # How sign-in and cloud logs name each realm (lower case), and the applications of each system.
    "realm_tenants": pa.schema([("realm", _S), ("tenant_id", _S)]),
    "system_applications": pa.schema([("system", _S), ("application", _S), ("tenant", _S)]),
    # One row per matcher value; a rule matches when, for each kind it has, one of its values matches.
    "account_rules": pa.schema(
        [
            ("rule_order", pa.int32()),  # index in `accounts`; the lowest matching rule wins
            ("org", _S),
            ("realm", _S),
            ("kind", _S),  # domain | upn_suffix | sid_prefix | name_pattern
            ("value", _S),
        ]
    ),
    # Same shape for hosts; rows with source 'zones' are the zones' networks, after the explicit rules.
    "host_rules": pa.schema(
        [
            ("rule_order", pa.int32()),
            ("org", _S),
            ("zone", _S),
            ("kind", _S),  # name_pattern | cidr
            ("value", _S),
            ("ip_version", pa.int8()),  # 4 | 6 for cidr rows
            ("ip_lo", pa.int64()),  # IPv4 range, inclusive
            ("ip_hi", pa.int64()),
            ("ip6_lo", _S),  # IPv6 range as 32 hex digits, inclusive
            ("ip6_hi", _S),
            ("source", _S),  # hosts | zones
        ]
    ),
    "zones": pa.schema([("id", _S), ("name", _S), ("org", _S), ("cidrs", _LIST), ("description", _S)]),
    "flows": pa.schema(
        [
            ("flow_id", _S),
            ("from_zone", _S),
            ("to_zone", _S),
            ("protocol", _S),  # tcp | udp | any
            ("port", pa.int32()),  # one row per port; null: any port
            ("bidirectional", pa.bool_()),
            ("description", _S),
        ]
    ),
    # One row per (grant, target, logon type); a target is a system or a host glob.
    "grants": pa.schema(
        [
            ("grant_id", _S),
            ("org", _S),
            ("system", _S),
            ("host_pattern", _S),  # the glob as written, when the target is a host
            ("host_regex", _S),  # the same as an anchored (?i) regex
            ("logon_type", _S),
            ("logon_type_code", pa.int16()),  # as in the events' logon_type column
            ("via_realm", _S),
            ("expires", pa.date32()),
            ("owner", _S),
            ("reviewed", pa.date32()),
            ("description", _S),
        ]
    ),
    "systems": pa.schema(
        [
            ("id", _S),
            ("name", _S),
            ("owner", _S),
            ("zone", _S),
            ("crown_jewel", pa.bool_()),
            ("description", _S),
        ]
    ),
    "system_hosts": pa.schema([("system", _S), ("pattern", _S), ("regex", _S)]),
    "data_stores": pa.schema(
        [("id", _S), ("name", _S), ("system", _S), ("owner", _S), ("kind", _S), ("description", _S)]
    ),
    "data_store_hosts": pa.schema([("data_store", _S), ("pattern", _S), ("regex", _S)]),
    "personal_data": pa.schema(
        [
            ("data_store", _S),
            ("category", _S),
            ("items", _LIST),
            ("records", pa.int64()),
            ("secrecy_of_communications", pa.bool_()),
            ("sensitive", pa.bool_()),
            ("financial", pa.bool_()),  # card or bank data (an APPI report trigger)
            ("tables", _LIST),
            ("paths", _LIST),
            ("population", _S),  # same population and category: the same people (counted once)
        ]
    ),
    "admin_rights": pa.schema(
        [("id", _S), ("org", _S), ("accounts", _S), ("realm", _S), ("systems", _LIST), ("description", _S)]
    ),
}

Row = dict[str, Any]


def model_tables(model: GroupModel) -> dict[str, pa.Table]:
    """Every table of :data:`TABLE_SCHEMAS`, filled from ``model``."""
    builders: dict[str, Callable[[GroupModel], Iterator[Row]]] = {
        "organisations": _organisations,
        "contracts": _contracts,
        "realms": _realms,
        "realm_members": _realm_members,
        "realm_tenants": _realm_tenants,
        "system_applications": _system_applications,
        "account_rules": _account_rules,
        "host_rules": _host_rules,
        "zones": _zones,
        "flows": _flows,
        "grants": _grants,
        "systems": _systems,
        "system_hosts": _system_hosts,
        "data_stores": _data_stores,
        "data_store_hosts": _data_store_hosts,
        "personal_data": _personal_data,
        "admin_rights": _admin_rights,
    }
    return {
        name: pa.Table.from_pylist(list(builders[name](model)), schema=schema)
        for name, schema in TABLE_SCHEMAS.items()
    }


def host_glob_regex(glob: str) -> str:
    """A host glob as a regex for DuckDB's ``regexp_matches``."""
    return SQL_REGEX_PREFIX + glob_to_regex(glob)


def _organisations(model: GroupModel) -> Iterator[Row]:
    for org in model.organisations:
        yield org.model_dump(include={"id", "name", "kind", "country", "description"})


def _contracts(model: GroupModel) -> Iterator[Row]:
    for c in model.contracts:
        yield {
            "id": c.id,
            "entrusting": c.entrusting,
            "entrusted": c.entrusted,
            "scope": c.scope,
            "start_date": c.start,
            "end_date": c.end,
            "systems": list(c.systems),
            "description": c.description,
        }


def _realms(model: GroupModel) -> Iterator[Row]:
    for realm in model.realms:
        yield realm.model_dump(include={"id", "kind", "name", "owner", "systems", "description"})


def _realm_members(model: GroupModel) -> Iterator[Row]:
    for realm in model.realms:
        for org in realm.shared_by:
            yield {"realm": realm.id, "org": org}


def _realm_tenants(model: GroupModel) -> Iterator[Row]:
    for realm in model.realms:
        for tenant in realm.tenant_ids:
            yield {"realm": realm.id, "tenant_id": tenant}


def _system_applications(model: GroupModel) -> Iterator[Row]:
    for system in model.systems:
        for application in system.applications:
            yield {"system": system.id, "application": application, "tenant": system.tenant}


def _account_rules(model: GroupModel) -> Iterator[Row]:
    for order, rule in enumerate(model.accounts):
        values: list[tuple[str, str]] = [
            *(("domain", v) for v in rule.domain or ()),
            *(("upn_suffix", v) for v in rule.upn_suffix or ()),
            *(("sid_prefix", v) for v in rule.sid_prefix or ()),
        ]
        if rule.name_pattern is not None:
            values.append(("name_pattern", SQL_REGEX_PREFIX + rule.name_pattern))
        for kind, value in values:
            yield {"rule_order": order, "org": rule.org, "realm": rule.realm, "kind": kind, "value": value}


def _host_rules(model: GroupModel) -> Iterator[Row]:
    # From the compiled matchers, so that the SQL sees exactly the rules and order Python uses.
    for matcher in model.host_matchers:
        base: Row = {
            "rule_order": matcher.rule_order,
            "org": matcher.org,
            "zone": matcher.zone,
            "source": matcher.source,
        }
        if matcher.name_pattern is not None:
            yield {**base, "kind": "name_pattern", "value": SQL_REGEX_PREFIX + matcher.name_pattern.pattern}
        for network in matcher.networks or ():
            yield {**base, "kind": "cidr", "value": str(network), **_network_range(network)}


def _network_range(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Row:
    low, high = int(network.network_address), int(network.broadcast_address)
    if network.version == 4:
        return {"ip_version": 4, "ip_lo": low, "ip_hi": high}
    return {"ip_version": 6, "ip6_lo": f"{low:032x}", "ip6_hi": f"{high:032x}"}


def _zones(model: GroupModel) -> Iterator[Row]:
    for zone in model.zones:
        yield {
            "id": zone.id,
            "name": zone.name,
            "org": zone.org,
            "cidrs": list(zone.cidrs),
            "description": zone.description,
        }


def _flows(model: GroupModel) -> Iterator[Row]:
    for flow in model.flows:
        for port in flow.ports if flow.ports is not None else [None]:
            yield {
                "flow_id": flow.id,
                "from_zone": flow.from_zone,
                "to_zone": flow.to_zone,
                "protocol": flow.protocol,
                "port": port,
                "bidirectional": flow.bidirectional,
                "description": flow.description,
            }


def _grants(model: GroupModel) -> Iterator[Row]:
    for grant in model.grants:
        targets: list[Row] = [{"system": system} for system in grant.systems]
        targets += [{"host_pattern": glob, "host_regex": host_glob_regex(glob)} for glob in grant.hosts]
        for target in targets:
            for logon_type in grant.logon_types:
                yield {
                    "grant_id": grant.id,
                    "org": grant.org,
                    **target,
                    "logon_type": logon_type,
                    "logon_type_code": LOGON_TYPE_CODES[logon_type],
                    "via_realm": grant.via_realm,
                    "expires": grant.expires,
                    "owner": grant.owner,
                    "reviewed": grant.reviewed,
                    "description": grant.description,
                }


def _systems(model: GroupModel) -> Iterator[Row]:
    for system in model.systems:
        yield system.model_dump(include={"id", "name", "owner", "zone", "crown_jewel", "description"})


def _system_hosts(model: GroupModel) -> Iterator[Row]:
    for system in model.systems:
        for glob in system.hosts:
            yield {"system": system.id, "pattern": glob, "regex": host_glob_regex(glob)}


def _data_stores(model: GroupModel) -> Iterator[Row]:
    for store in model.data_stores:
        yield store.model_dump(include={"id", "name", "system", "owner", "kind", "description"})


def _data_store_hosts(model: GroupModel) -> Iterator[Row]:
    for store in model.data_stores:
        for glob in store.hosts:
            yield {"data_store": store.id, "pattern": glob, "regex": host_glob_regex(glob)}


def _personal_data(model: GroupModel) -> Iterator[Row]:
    for store in model.data_stores:
        for pd in store.personal_data:
            yield {
                "data_store": store.id,
                "category": pd.category,
                "items": list(pd.items),
                "records": pd.records,
                "secrecy_of_communications": pd.secrecy_of_communications,
                "sensitive": pd.sensitive,
                "financial": pd.financial,
                "tables": list(pd.tables),
                "paths": list(pd.paths),
                "population": pd.population or f"{store.id}.{pd.category}",
            }


def _admin_rights(model: GroupModel) -> Iterator[Row]:
    for right in model.admin_rights:
        yield right.model_dump(include={"id", "org", "accounts", "realm", "systems", "description"})
