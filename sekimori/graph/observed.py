"""What the store saw: who logged on where from where, aggregated for the graph.

One row per (account, source host, destination host, logon type) with its count and first/last time,
every account and host classified by the model. The aggregation is one SQL pass over ``events``; the
model's first-match rules then run once per distinct account and host (not per event).

Identities are normalised so that one machine or person is one node: accounts as ``domain\\user`` in
lower case with the domain's first label (``EXAMPLE`` and ``example.corp`` are one domain); hosts by
their short name in lower case, or by IP address when the logs name no host; an IP address is replaced
by the host name the logs pair it with, when they pair it with exactly one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from sekimori.model import (
    account_key,
    clean_host,
    first_account_match,
    first_host_match,
    host_key,
    parse_ip,
    split_principal,
)

if TYPE_CHECKING:
    import duckdb

    from sekimori.model import GroupModel
    from sekimori.store import Store

_S = pa.string()
_TS = pa.timestamp("us", tz="UTC")

# The observed logons the graph is built from; a benchmark or another engine may produce it directly.
LOGON_SCHEMA = pa.schema(
    [
        ("account", _S),  # node key: 'example\\user01'
        ("account_label", _S),  # as the logs show it: 'EXAMPLE\\user01'
        ("account_org", _S),
        ("account_realm", _S),
        ("src", _S),  # host key of the source, null when the logon names none
        ("src_org", _S),
        ("src_zone", _S),
        ("dst", _S),  # host key of the host logged on to
        ("dst_org", _S),
        ("dst_zone", _S),
        ("logon_type", pa.int16()),
        ("count", pa.int64()),
        ("first_seen", _TS),
        ("last_seen", _TS),
    ]
)

# Every host of the observed logons, with the model's view of it.
HOST_SCHEMA = pa.schema(
    [
        ("host", _S),  # node key
        ("label", _S),  # name as the logs show it (FQDN when known), or the address
        ("org", _S),
        ("zone", _S),
    ]
)

# Principals that are the system itself, and addresses that are the host itself: not movement.
IGNORED_PRINCIPALS = (
    "ANONYMOUS LOGON",
    "SYSTEM",
    "LOCAL SERVICE",
    "NETWORK SERVICE",
    "DWM-1",
    "UMFD-0",
    "-",
    "",
)
LOOPBACK = ("127.0.0.1", "::1", "localhost", "-")

# The events that are logons for the graph: logons, uses of explicit credentials and RDP session
# reconnects (4778). Their source is the client the ingest mapping gives: for RDP the client address
# (``src_ip``), never the target's own name that Windows writes as WorkstationName (see
# sekimori/ingest/windows/logon_source.py); an address becomes the host name the logs pair it with. An RDP
# logon over loopback (a tunnel through the host itself) has no known source: ``src`` is null.
LOGON_ACTIVITIES = ("logon", "explicit_credentials", "session_reconnect")

_LOGON_EVENTS_SQL = """
WITH logons AS (
    SELECT e.time, e.principal, e.domain, e.principal_sid,
           nullif(lower(e.src_host), '') AS src_name, nullif(e.src_host, '') AS src_shown,
           nullif(e.src_ip, '') AS src_ip,
           lower(coalesce(e.target_host, e.host)) AS dst_name, coalesce(e.target_host, e.host) AS dst_shown,
           e.target_ip AS dst_ip, coalesce(e.logon_type, 0) AS logon_type,
           e.source_file, e.record_id, e.event_code
    FROM events e
    WHERE e.category = 'authentication' AND e.activity IN ({activities})
      AND e.outcome IS DISTINCT FROM 'failure'
      AND e.principal IS NOT NULL AND upper(e.principal) NOT IN ({ignored})
      AND NOT ends_with(e.principal, '$')
      AND coalesce(e.target_host, e.host, e.target_ip) IS NOT NULL
      AND lower(coalesce(e.target_host, e.host, e.target_ip)) NOT IN ({loopback}) {where}
),
ip_names AS (  -- an address the logs pair with exactly one host name
    SELECT src_ip AS ip, min(split_part(src_name, '.', 1)) AS name, min(src_shown) AS shown
    FROM logons WHERE src_ip IS NOT NULL AND src_name IS NOT NULL AND src_ip NOT IN ({loopback})
    GROUP BY src_ip HAVING count(DISTINCT split_part(src_name, '.', 1)) = 1
)
SELECT l.time, l.principal, l.domain, l.principal_sid,
       CASE WHEN l.src_ip IN ({loopback}) OR l.src_name IN ({loopback}) THEN NULL
            ELSE coalesce(split_part(l.src_name, '.', 1), n.name, l.src_ip) END AS src,
       CASE WHEN l.src_ip IN ({loopback}) THEN NULL ELSE coalesce(l.src_shown, n.shown, l.src_ip) END
           AS src_label,
       l.src_ip, coalesce(split_part(l.dst_name, '.', 1), l.dst_ip) AS dst,
       coalesce(l.dst_shown, l.dst_ip) AS dst_label, l.dst_ip, l.logon_type,
       l.source_file, l.record_id, l.event_code
FROM logons l LEFT JOIN ip_names n ON n.ip = l.src_ip
"""


def logon_events_sql(where: str = "") -> str:
    """The successful logons and explicit-credential uses of ``events``, one row per event, with host
    keys as in the graph (short name in lower case; an address the logs pair with one name becomes it):
    time, principal, domain, principal_sid, src, src_label, src_ip, dst, dst_label, dst_ip, logon_type,
    source_file, record_id, event_code. ``where``: more conditions on ``e`` (starting with AND)."""
    return _LOGON_EVENTS_SQL.format(
        ignored=", ".join(f"'{v}'" for v in IGNORED_PRINCIPALS),
        loopback=", ".join(f"'{v}'" for v in LOOPBACK),
        activities=", ".join(f"'{v}'" for v in LOGON_ACTIVITIES),
        where=where,
    )


# Ordered, and min() rather than any_value(): the graph's node order and each host's classification
# (which reads the address) must not depend on how DuckDB's threads happened to meet the rows.
_AGGREGATE_SQL = """
SELECT principal, domain, principal_sid, src, max(src_label) AS src_label, min(src_ip) AS src_ip,
       dst, max(dst_label) AS dst_label, min(dst_ip) AS dst_ip, logon_type,
       count(*) AS count, min(time) AS first_seen, max(time) AS last_seen
FROM ({logons})
GROUP BY principal, domain, principal_sid, src, dst, logon_type
ORDER BY principal, domain, principal_sid, src, dst, logon_type
"""


def observed_logons(store: Store, model: GroupModel) -> tuple[pa.Table, pa.Table]:
    """(logons, hosts) seen in ``store``: tables in :data:`LOGON_SCHEMA` and :data:`HOST_SCHEMA`."""
    con = store.connect()
    try:
        rows = con.sql(_AGGREGATE_SQL.format(logons=logon_events_sql())).to_arrow_table().to_pylist()
    finally:
        con.close()
    return classify_logons(model, rows)


def classify_logons(model: GroupModel, rows: list[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
    """Give the aggregated logon rows their account and host keys and the model's organisations."""
    accounts: dict[tuple[Any, ...], tuple[str, str, str | None, str | None]] = {}
    hosts: dict[str, dict[str, Any]] = {}

    def host(key: str | None, label: str | None, ip: str | None) -> dict[str, Any] | None:
        if key is None:
            return None
        found = hosts.get(key)
        if found is None:
            match = first_host_match(model.host_matchers, clean_host(label), parse_ip(ip))
            found = {
                "host": key,
                "label": label or key,
                "org": match.org if match else None,
                "zone": match.zone if match else None,
            }
            hosts[key] = found
        return found

    out = []
    for row in rows:
        ident = (row["principal"], row["domain"], row["principal_sid"])
        account = accounts.get(ident)
        if account is None:
            principal = split_principal(*ident)
            match = first_account_match(model.account_matchers, principal)
            user = (principal.user or "").lower()
            domain = (principal.domain or "").lower().split(".", 1)[0]
            key = f"{domain}\\{user}" if domain else user
            label = f"{principal.domain}\\{principal.user}" if principal.domain else (principal.user or "")
            account = accounts[ident] = (
                key,
                label,
                match.org if match else None,
                match.realm if match else None,
            )
        src = host(row["src"], row["src_label"], row["src_ip"])
        dst = host(row["dst"], row["dst_label"], row["dst_ip"])
        if dst is None:
            continue
        out.append(
            {
                "account": account[0],
                "account_label": account[1],
                "account_org": account[2],
                "account_realm": account[3],
                "src": src["host"] if src else None,
                "src_org": src["org"] if src else None,
                "src_zone": src["zone"] if src else None,
                "dst": dst["host"],
                "dst_org": dst["org"],
                "dst_zone": dst["zone"],
                "logon_type": row["logon_type"],
                "count": row["count"],
                "first_seen": row["first_seen"],
                "last_seen": row["last_seen"],
            }
        )
    logons = pa.Table.from_pylist(out, schema=LOGON_SCHEMA)
    # Self-logons (source = destination) say nothing about movement.
    logons = logons.filter(pc.invert(pc.fill_null(pc.equal(logons["src"], logons["dst"]), False)))
    # Rows that normalisation made one (EXAMPLE\x and example.corp\x) are merged.
    keys = [
        f.name for f in LOGON_SCHEMA if f.name not in ("account_label", "count", "first_seen", "last_seen")
    ]
    merged = logons.group_by(keys, use_threads=False).aggregate(
        [("account_label", "min"), ("count", "sum"), ("first_seen", "min"), ("last_seen", "max")]
    )
    merged = merged.rename_columns(
        [
            {
                "account_label_min": "account_label",
                "count_sum": "count",
                "first_seen_min": "first_seen",
                "last_seen_max": "last_seen",
            }.get(n, n)
            for n in merged.column_names
        ]
    )
    logons = merged.select(LOGON_SCHEMA.names).cast(LOGON_SCHEMA)
    return logons, pa.Table.from_pylist(list(hosts.values()), schema=HOST_SCHEMA)


def register_data_access_keys(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    """Register ``_ids`` (domain, principal → account key) and ``_names`` (host name or address → host
    key) for the data-access events between ``$start`` and ``$end``: the distinct identities, keyed in
    Python by the graph's own functions so that the keys agree exactly; the events stay in DuckDB."""
    ids = con.execute(
        "SELECT DISTINCT domain, principal FROM events WHERE category = 'data_access' "
        "AND time BETWEEN $start AND $end AND principal IS NOT NULL",
        params,
    ).fetchall()
    con.register(
        "_ids",
        pa.Table.from_pylist(
            [
                {"domain": d, "principal": p, "key": account_key(f"{d}\\{p}" if d and d != "-" else p)}
                for d, p in ids
            ],
            schema=pa.schema([("domain", pa.string()), ("principal", pa.string()), ("key", pa.string())]),
        ),
    )
    names = con.execute(
        "SELECT DISTINCT n FROM (SELECT unnest([host, coalesce(nullif(src_host, ''), nullif(src_ip, ''))]) "
        "AS n FROM events WHERE category = 'data_access' AND time BETWEEN $start AND $end) "
        "WHERE n IS NOT NULL",
        params,
    ).fetchall()
    con.register(
        "_names",
        pa.Table.from_pylist(
            [{"name": n, "key": host_key(n)} for (n,) in names],
            schema=pa.schema([("name", pa.string()), ("key", pa.string())]),
        ),
    )
