"""Trust-boundary rules: the group model says who may reach what; these alert where events disagree.

- ``boundary.logon_without_grant``: an account of organisation A logs on to a host of organisation B and
  no (unexpired) grant allows A's principals onto that host's systems with that logon type.
- ``boundary.account_from_foreign_host``: an account of A is used from a host of another organisation.
- ``boundary.shared_realm_crossing``: authentication through a realm shared by several organisations
  carries an account of one of them onto a host of another (alerted even when a grant allows it: the
  shared realm is the weakness the seed incident went through).
- ``boundary.flow_not_allowed``: traffic between zones that no flow allows (port, protocol and the flow's
  source and destination hosts checked).
- ``boundary.first_personal_data_access``: the first access by an affiliate's or contractor's principal
  to a data store that holds personal data.

A logon onto a crown-jewel system, or a first access to secrecy-of-communications, sensitive (要配慮) or
financial personal data (each an APPI reporting trigger), raises the alert to ``critical``.

Accounts and hosts are classified once per distinct value (the model's first-match rules, in Python,
bounded by the number of accounts and hosts, not events); everything per event is SQL.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeAlias

import pyarrow as pa

from sekimori.detect.alerts import BOUNDARY
from sekimori.detect.base import DetectContext, Detector, register
from sekimori.detect.edges import LOOPBACK, alert_evidence, segment_edges
from sekimori.detect.segment_tables import SegmentRows
from sekimori.model import (
    AccountIndex,
    GlobLists,
    GroupModel,
    HostDirectory,
    HostIndex,
    clean_host,
    parse_ip,
    split_principal,
)

RULES: dict[str, dict[str, Any]] = {
    "boundary.logon_without_grant": {
        "title": "Logon across organisations that no grant allows",
        "attack": ["T1199", "T1078", "T1021"],
        "level": "high",
    },
    "boundary.account_from_foreign_host": {
        "title": "Account used from a host of another organisation",
        "attack": ["T1078", "T1199"],
        "level": "medium",
    },
    "boundary.shared_realm_crossing": {
        "title": "Authentication through a shared realm crosses organisations",
        "attack": ["T1078.002", "T1199"],
        "level": "medium",
    },
    "boundary.flow_not_allowed": {
        "title": "Traffic between zones that no flow allows",
        "attack": ["T1021", "T1199"],
        "level": "medium",
    },
    "boundary.first_personal_data_access": {
        "title": "First access by an affiliate or contractor principal to personal data",
        "attack": ["T1213", "T1039"],
        "level": "high",
    },
}


Rows: TypeAlias = pa.Table | list[dict[str, Any]]


def _columns(rows: Rows, *names: str) -> list[list[Any]]:
    if isinstance(rows, pa.Table):
        return [rows.column(name).to_pylist() for name in names]
    return [[row[name] for row in rows] for name in names]


def classify_accounts(model: GroupModel, rows: Rows) -> pa.Table:
    """Each (principal, domain, SID) with the organisation and realm of the first account rule that
    matches it (rows: a table or dicts with those columns)."""
    principals, domains, sids = _columns(rows, "principal", "domain", "principal_sid")
    index = AccountIndex(model.account_matchers)
    matches = [
        index.first(split_principal(*account)) for account in zip(principals, domains, sids, strict=True)
    ]
    return pa.table(
        {
            "principal": pa.array(principals, pa.string()),
            "domain": pa.array(domains, pa.string()),
            "principal_sid": pa.array(sids, pa.string()),
            "org": pa.array([m.org if m else None for m in matches], pa.string()),
            "realm": pa.array([m.realm if m else None for m in matches], pa.string()),
        }
    )


def classify_hosts(model: GroupModel, rows: Rows, pairs: Rows | None = None) -> pa.Table:
    """Each (name, address) of the edges with its organisation, zone, and the systems, grants and data
    stores whose host names or globs match any name of the host (FQDN, short, NetBIOS, or an address
    the logs pair with it: see :mod:`sekimori.model.keys`). ``pairs``: more (name, address) the logs
    saw together (e.g. a session reconnect's client, a Zeek RDP client name), so that an RDP logon
    known only by its client address is judged by the host that address belongs to. A loopback
    address is every host's own and is never paired with a name. Rows and pairs: tables or dicts with
    the columns ``name`` and ``ip``.

    Each distinct name, address and host is read once (:class:`~sekimori.model.HostIndex`: the
    model's first-match rules, evaluated per distinct value)."""
    names, ips = _columns(rows, "name", "ip")
    seen_names, seen_ips = _columns(pairs, "name", "ip") if pairs is not None else [[], []]
    directory = HostDirectory()
    loopback: dict[str | None, bool] = {}
    for name, ip in set(zip(names + seen_names, ips + seen_ips, strict=True)):  # adds commute
        if ip not in loopback:
            loopback[ip] = _is_loopback(ip)
        directory.add(name, None if loopback[ip] else ip)
    index = HostIndex(model.host_matchers)
    lists = {kind: items for kind, items in _list_indexes(model).items() if not items.empty}
    name_rules: dict[str | None, int] = {}  # a name → the rules its name patterns allow
    address_rules: dict[str | None, int] = {}  # an address → the rules its networks allow
    hosts: dict[str | None, int] = {}  # host key → its position in ``found``
    found: dict[str, list[list[str]]] = {kind: [] for kind in lists}
    rules: list[int] = []
    positions: list[int] = []
    for name, ip in zip(names, ips, strict=True):
        key = directory.key(name, ip)
        by_name = name_rules.get(name)
        if by_name is None:
            by_name = name_rules[name] = index.host_mask(clean_host(name))
        by_address = address_rules.get(ip)
        if by_address is None:
            by_address = address_rules[ip] = index.address_mask(parse_ip(ip))
        mask = by_name & by_address
        if not mask and not name and key and key != ip:
            mask = index.host_mask(key) & by_address  # the name the address has
        rules.append(index.first_rule(mask))
        position = hosts.get(key)
        if position is None:
            position = hosts[key] = len(hosts)
            host = directory.names(key) if key else frozenset()  # every name of the host: one answer
            for kind, items in lists.items():
                found[kind].append(items.matching(host))
        positions.append(position)
    rule = pa.array(rules, pa.int64())  # a rule's position; no rule: the null after the rules
    take = pa.array(positions, pa.int64())
    none = pa.ListArray.from_arrays(
        pa.array([0] * (len(positions) + 1), pa.int32()), pa.array([], pa.string())
    )
    columns = {
        "name": pa.array(names, pa.string()),
        "ip": pa.array(ips, pa.string()),
        "org": pa.array([m.org for m in index.matchers] + [None], pa.string()).take(rule),
        "zone": pa.array([m.zone for m in index.matchers] + [None], pa.string()).take(rule),
        **{
            kind: pa.array(found[kind], pa.list_(pa.string())).take(take) if kind in lists else none
            for kind in _HOSTS_SCHEMA.names[4:]
        },
    }
    return pa.table(columns, schema=_HOSTS_SCHEMA)


_HOSTS_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("ip", pa.string()),
        ("org", pa.string()),
        ("zone", pa.string()),
        ("systems", pa.list_(pa.string())),
        ("grants", pa.list_(pa.string())),
        ("stores", pa.list_(pa.string())),
        ("flows_from", pa.list_(pa.string())),
        ("flows_to", pa.list_(pa.string())),
    ]
)


def _list_indexes(model: GroupModel) -> dict[str, GlobLists]:
    """Per list (systems, grants, data stores, flows by source / destination), its items' ids and host
    globs, indexed."""
    return {
        "systems": GlobLists((s.id, s.hosts) for s in model.systems),
        "grants": GlobLists((g.id, g.hosts) for g in model.grants),
        "stores": GlobLists((d.id, d.hosts) for d in model.data_stores),
        # the flows restricted to hosts that name this one as a source / as a destination
        "flows_from": GlobLists((f.id, f.from_hosts) for f in model.flows),
        "flows_to": GlobLists((f.id, f.to_hosts) for f in model.flows),
    }


def _is_loopback(ip: str | None) -> bool:
    address = parse_ip(ip) if ip else None
    return address is not None and address.is_loopback


@register
class BoundaryDetector(Detector):
    name = "boundary"
    source = BOUNDARY
    description = "Trust-boundary rules from the group model (grants, shared realms, flows, personal data)"
    needs_model = True
    rules: ClassVar[dict[str, dict[str, Any]]] = RULES

    def __init__(self, aggregate: SegmentRows | None = None) -> None:
        """``aggregate``: the new segments' edges computed there (another engine, e.g. Spark) instead of
        DuckDB; the judging stays here."""
        self.aggregate = aggregate

    def run(self, ctx: DetectContext) -> pa.Table:
        assert ctx.model is not None
        con = ctx.con
        model = ctx.model
        loopback = ", ".join(f"'{x}'" for x in LOOPBACK)
        # 1. events → edges: each segment's groups (computed once per segment, see
        # sekimori/detect/edges.py), added up across segments
        segment_edges(ctx, self.aggregate)
        con.execute(_EDGES_SQL)
        # 2. classify the distinct accounts and hosts of the edges (the model's first-match rules)
        accounts = con.sql(
            "SELECT DISTINCT principal, domain, principal_sid FROM _edges WHERE principal IS NOT NULL"
        ).to_arrow_table()
        hosts = con.sql(
            """SELECT DISTINCT name, ip FROM (
                   SELECT src_host AS name, src_ip AS ip FROM _edges
                   UNION SELECT target, target_ip FROM _edges)"""
        ).to_arrow_table()
        con.register("_acct", classify_accounts(model, accounts))
        pairs = con.sql("SELECT DISTINCT name, ip FROM _segment_pairs").to_arrow_table()
        con.register("_hosts", classify_hosts(model, hosts, pairs))
        rules = [
            {"rule_id": k, "title": v["title"], "attack": v["attack"], "level": v["level"]}
            for k, v in self.rules.items()
        ]
        con.register("_rules", pa.Table.from_pylist(rules))
        con.register(
            "_flow_hosts",
            pa.table(
                {
                    "flow_id": pa.array([f.id for f in model.flows], pa.string()),
                    "from_hosts": pa.array([bool(f.from_hosts) for f in model.flows], pa.bool_()),
                    "to_hosts": pa.array([bool(f.to_hosts) for f in model.flows], pa.bool_()),
                }
            ),
        )
        # 3. judge the edges; 4. fetch the evidence events of the edges that alert only
        con.execute(_CLASSIFIED_SQL.format(loopback=loopback))
        con.execute(_SHARE_PATH_MACRO)
        con.execute(_FINDINGS_SQL)
        if not con.sql("SELECT count(*) FROM _findings").fetchall()[0][0]:
            return con.sql("SELECT * FROM _rules WHERE false").to_arrow_table()
        alert_evidence(ctx)
        return con.sql(_ALERTS_SQL).to_arrow_table()


# The edges the rules judge: the groups of every segment whose events count as crossings (see
# sekimori/detect/edges.py), added up across segments. The number only names an edge within a run (in
# whatever order the aggregate's threads gave them): ties are broken by the edges' keys (the first access
# below), so the 1.9 M edges of benchmarks/auth.py need no sort.
_EDGES_SQL = """
CREATE OR REPLACE TEMP TABLE _edges AS
SELECT row_number() OVER () AS edge, *
FROM (
    SELECT category, activity, principal, domain, principal_sid, src_host, src_ip, target, target_ip,
           logon_type, target_port, protocol, object, min(src_host_shown) AS src_host_shown,
           min(target_shown) AS target_shown, CAST(sum(events) AS BIGINT) AS events,
           min(first_time) AS first_time, max(last_time) AS last_time, min(host) AS host
    FROM _segment_edges
    WHERE counted
    GROUP BY ALL
)
"""

# Edges with their account, source and target classified (hash joins on coalesced keys).
_CLASSIFIED_SQL = """
CREATE OR REPLACE TEMP TABLE _classified AS
SELECT d.*, coalesce(d.src_host, d.src_ip) AS source, coalesce(d.src_host_shown, d.src_ip) AS source_shown,
       CASE WHEN d.category = 'authentication' AND d.src_host IS NULL AND d.src_ip IN ({loopback})
            THEN 'over loopback ' || d.src_ip || ' (RDP through the host itself, e.g. a tunnel: the client '
                 || 'is not in the event)' END AS source_note,
       a.org AS account_org, a.realm AS account_realm,
       hs.org AS source_org, hs.zone AS source_zone,
       ht.org AS target_org, ht.zone AS target_zone, ht.systems AS target_systems,
       ht.grants AS target_grants, ht.stores AS target_stores,
       coalesce(hs.flows_from, []) AS source_flows_from, coalesce(hs.flows_to, []) AS source_flows_to,
       coalesce(ht.flows_from, []) AS target_flows_from, coalesce(ht.flows_to, []) AS target_flows_to
FROM _edges d
LEFT JOIN _acct a ON coalesce(a.principal, '') = coalesce(d.principal, '')
    AND coalesce(a.domain, '') = coalesce(d.domain, '')
    AND coalesce(a.principal_sid, '') = coalesce(d.principal_sid, '')
LEFT JOIN _hosts hs ON coalesce(hs.name, '') = coalesce(d.src_host, '')
    AND coalesce(hs.ip, '') = coalesce(d.src_ip, '')
LEFT JOIN _hosts ht ON coalesce(ht.name, '') = coalesce(d.target, '')
    AND coalesce(ht.ip, '') = coalesce(d.target_ip, '')
"""

# A file access as the share sees it: the UNC host part dropped, case and separators folded, one leading
# and no trailing separator, so a 5145 event's share and relative name and a model's UNC path compare as
# equal; which host holds the share is the store's hosts' business.
_SHARE_PATH_MACRO = r"""
CREATE OR REPLACE TEMP MACRO share_path(x) AS
    '\' || trim(regexp_replace(lower(replace(x, '/', '\')), '^\\\\[^\\]*', ''), '\')
"""

_FINDINGS_SQL = """
CREATE OR REPLACE TEMP TABLE _findings AS
WITH logons AS (
    SELECT * FROM _classified
    WHERE category = 'authentication' AND account_org IS NOT NULL
      AND lower(split_part(coalesce(source, ''), '.', 1)) IS DISTINCT FROM lower(split_part(target, '.', 1))
),
-- The logons the three logon rules below can report: onto a host of another organisation, or from one.
-- Only theirs need grants.
crossing AS (
    SELECT * FROM logons
    WHERE (target_org IS NOT NULL AND account_org <> target_org)
       OR (source_org IS NOT NULL AND source_org <> account_org)
),
-- Grants are matched once per distinct (organisation, target, its systems, logon type). A grant counts
-- if it was still valid at the edge's last use: any use after it expired is a crossing.
combos AS (
    SELECT DISTINCT account_org, target, target_systems, target_grants, logon_type FROM crossing
),
combo_grants AS (
    SELECT c.account_org, c.target, c.target_systems, c.target_grants, c.logon_type, g.grant_id, g.expires
    FROM combos c
    JOIN model.grants g ON g.org = c.account_org
        AND (list_contains(c.target_systems, g.system)
             OR (g.host_pattern IS NOT NULL AND list_contains(c.target_grants, g.grant_id)))
        AND (c.logon_type IS NULL OR g.logon_type_code = c.logon_type)
),
granted AS (
    SELECT l.edge,
           string_agg(DISTINCT cg.grant_id, ', ' ORDER BY cg.grant_id)
               FILTER (WHERE cg.expires IS NULL OR cg.expires >= CAST(l.last_time AS DATE)) AS grants,
           string_agg(DISTINCT cg.grant_id || ' (expired ' || CAST(cg.expires AS VARCHAR) || ')', ', '
                      ORDER BY cg.grant_id || ' (expired ' || CAST(cg.expires AS VARCHAR) || ')')
               FILTER (WHERE cg.expires < CAST(l.last_time AS DATE)) AS expired
    FROM crossing l
    JOIN combo_grants cg ON cg.account_org = l.account_org AND cg.target IS NOT DISTINCT FROM l.target
        AND cg.target_systems IS NOT DISTINCT FROM l.target_systems
        AND cg.target_grants IS NOT DISTINCT FROM l.target_grants
        AND coalesce(cg.logon_type, -1) = coalesce(l.logon_type, -1)
    GROUP BY l.edge
),
shared AS (
    SELECT realm, count(*) AS members FROM model.realm_members GROUP BY realm HAVING count(*) > 1
),
crown AS (SELECT list(id) AS ids FROM model.systems WHERE crown_jewel)
SELECT 'boundary.logon_without_grant' AS rule_id, l.*, gr.grants, gr.expired,
       list_has_any(coalesce(l.target_systems, []), (SELECT ids FROM crown)) AS escalate,
       'no grant allows ' || l.account_org || ' accounts onto ' || l.target_shown || ' (' || l.target_org
           || coalesce(': ' || array_to_string(l.target_systems, ', '), '') || ')'
           || coalesce('; ' || gr.expired, '') || coalesce('; ' || l.source_note, '') AS reason
FROM logons l LEFT JOIN granted gr USING (edge)
WHERE l.target_org IS NOT NULL AND l.account_org <> l.target_org AND gr.grants IS NULL
UNION ALL BY NAME
SELECT 'boundary.account_from_foreign_host' AS rule_id, l.*, gr.grants, gr.expired,
       l.account_org || ' account used from ' || l.source_shown || ', a host of ' || l.source_org AS reason
FROM logons l LEFT JOIN granted gr USING (edge)
WHERE l.source_org IS NOT NULL AND l.source_org <> l.account_org
UNION ALL BY NAME
SELECT 'boundary.shared_realm_crossing' AS rule_id, l.*, gr.grants, gr.expired,
       'realm ' || l.account_realm || ' (shared by ' || s.members || ' organisations) carries an account of '
           || l.account_org || ' onto ' || l.target_shown || ' of ' || l.target_org
           || coalesce(' (allowed by ' || gr.grants || ')', ' (no grant)')
           || coalesce('; ' || l.source_note, '') AS reason
FROM logons l JOIN shared s ON s.realm = l.account_realm LEFT JOIN granted gr USING (edge)
WHERE l.target_org IS NOT NULL AND l.account_org <> l.target_org
UNION ALL BY NAME
SELECT 'boundary.flow_not_allowed' AS rule_id, c.*, NULL AS grants, NULL AS expired,
       'no flow allows ' || c.source_zone || ' → ' || c.target_zone || ' port ' || c.target_port
           || coalesce('/' || c.protocol, '')
           || coalesce('; ' || (
                  SELECT string_agg(DISTINCT f.flow_id, ', ' ORDER BY f.flow_id) FROM model.flows f
                  WHERE ((f.from_zone = c.source_zone AND f.to_zone = c.target_zone)
                         OR (f.bidirectional AND f.from_zone = c.target_zone AND f.to_zone = c.source_zone))
                    AND (f.port IS NULL OR f.port = c.target_port)
                    AND (f.protocol = 'any' OR c.protocol IS NULL OR c.protocol = f.protocol))
              || ' allows it between other hosts only', '') AS reason
FROM _classified c
WHERE c.category = 'network' AND c.source_zone IS NOT NULL AND c.target_zone IS NOT NULL
  AND c.source_zone <> c.target_zone
  AND NOT EXISTS (
      SELECT 1 FROM model.flows f JOIN _flow_hosts fh USING (flow_id)
      WHERE ((f.from_zone = c.source_zone AND f.to_zone = c.target_zone
              AND (NOT fh.from_hosts OR list_contains(c.source_flows_from, f.flow_id))
              AND (NOT fh.to_hosts OR list_contains(c.target_flows_to, f.flow_id)))
             -- the way back of a bidirectional flow: from its destination hosts to its source hosts
             OR (f.bidirectional AND f.from_zone = c.target_zone AND f.to_zone = c.source_zone
                 AND (NOT fh.to_hosts OR list_contains(c.source_flows_to, f.flow_id))
                 AND (NOT fh.from_hosts OR list_contains(c.target_flows_from, f.flow_id))))
        AND (f.port IS NULL OR f.port = c.target_port)
        AND (f.protocol = 'any' OR c.protocol IS NULL OR c.protocol = f.protocol))
UNION ALL BY NAME
SELECT * EXCLUDE (rn) FROM (
    SELECT 'boundary.first_personal_data_access' AS rule_id, c.*, NULL AS grants, NULL AS expired,
           'first access by ' || c.account_org || ' (' || o.kind || ') to ' || ds.id || ' holding '
               || pd.summary AS reason,
           pd.special AS escalate,
           -- of first accesses at one time, the edge first in key order: the same one every run
           row_number() OVER (PARTITION BY c.principal, c.domain, ds.id
                              ORDER BY c.first_time, c.category, c.activity, c.principal_sid, c.src_host,
                                       c.src_ip, c.target, c.target_ip, c.logon_type, c.target_port,
                                       c.protocol, c.object) AS rn
    FROM _classified c
    JOIN model.organisations o ON o.id = c.account_org AND o.kind IN ('affiliate', 'contractor')
    JOIN model.data_stores ds ON
        -- a store that names its tables or paths is read through them only (not a pipe or another share
        -- on the same host); one that names neither is read by any access to its hosts
        (EXISTS (SELECT 1 FROM model.data_store_hosts dh WHERE dh.data_store = ds.id
                 AND list_contains(c.target_stores, ds.id))
         AND NOT EXISTS (SELECT 1 FROM model.personal_data p WHERE p.data_store = ds.id
                         AND (len(coalesce(p.tables, [])) > 0 OR len(coalesce(p.paths, [])) > 0)))
        OR EXISTS (SELECT 1 FROM model.personal_data p, unnest(coalesce(p.tables, [])) AS t(name)
                   WHERE p.data_store = ds.id AND c.object IS NOT NULL
                     AND (lower(c.object) = lower(t.name)
                          OR ends_with(lower(c.object), '.' || lower(t.name))))
        OR EXISTS (SELECT 1 FROM model.personal_data p, unnest(coalesce(p.paths, [])) AS t(path)
                   WHERE p.data_store = ds.id AND c.object IS NOT NULL AND share_path(t.path) <> '\\'
                     AND (share_path(c.object) = share_path(t.path)
                          OR starts_with(share_path(c.object), share_path(t.path) || '\\'))
                     AND (NOT EXISTS (SELECT 1 FROM model.data_store_hosts dh WHERE dh.data_store = ds.id)
                          OR EXISTS (SELECT 1 FROM model.data_store_hosts dh WHERE dh.data_store = ds.id
                                     AND list_contains(c.target_stores, ds.id))))
    JOIN (SELECT data_store,
                 string_agg(category || ' ' || records, ', ' ORDER BY category, records) AS summary,
                 bool_or(secrecy_of_communications OR sensitive OR financial) AS special
          FROM model.personal_data GROUP BY data_store) pd ON pd.data_store = ds.id
    WHERE c.category = 'data_access' AND c.account_org IS NOT NULL
) WHERE rn = 1
"""

# One alert per (rule, account, source, target) with the events as evidence (capped). What an alert
# shows of its findings (host, names, organisations, reason, grants, zones) is one finding's, the
# earliest (ties: the smallest of those values): any_value took each from any finding, so two runs
# could show different hosts or organisations for the same alert.
_ALERTS_SQL = """
WITH ev AS (
    SELECT rule_id, edge,
           list({'path': source_file, 'record_id': record_id, 'uid': uid}
                ORDER BY time, record_id, uid, source_file) AS evidence
    FROM _evidence GROUP BY rule_id, edge
), shown AS (
    SELECT *, {'host': host, 'src_host': src_host_shown, 'src_ip': src_ip, 'target_host': target_shown,
               'account_org': account_org, 'source_org': source_org, 'target_org': target_org,
               'reason': reason, 'realm': account_realm, 'grants': grants, 'source_zone': source_zone,
               'target_zone': target_zone} AS s
    FROM _findings
), picked AS (
    SELECT *, arg_min(s, {'t': first_time, 's': s})
                  OVER (PARTITION BY rule_id, principal, domain, source, target) AS p
    FROM shown
)
SELECT r.rule_id, r.title, 'boundary' AS source,
       CASE WHEN bool_or(coalesce(f.escalate, false)) THEN 'critical' ELSE r.level END AS level, r.attack,
       min(f.first_time) AS time, max(f.last_time) AS last_time,
       any_value(f.p.host) AS host, f.principal AS account, f.domain,
       any_value(f.p.src_host) AS src_host, any_value(f.p.src_ip) AS src_ip,
       any_value(f.p.target_host) AS target_host,
       list_distinct(list_filter([any_value(f.p.account_org), any_value(f.p.source_org),
                                  any_value(f.p.target_org)], lambda x: x IS NOT NULL)) AS organisations,
       any_value(f.p.reason) AS description,
       flatten(list(ev.evidence ORDER BY f.first_time, ev.evidence))[1:100] AS evidence,
       to_json({'events': sum(f.events), 'account_org': any_value(f.p.account_org),
                'source_org': any_value(f.p.source_org), 'target_org': any_value(f.p.target_org),
                'realm': any_value(f.p.realm), 'grants': any_value(f.p.grants),
                'source_zone': any_value(f.p.source_zone),
                'target_zone': any_value(f.p.target_zone)})::VARCHAR
           AS details,
       md5(r.rule_id || '|' || coalesce(f.principal, '') || '|' || coalesce(f.domain, '') || '|'
           || coalesce(f.source, '') || '|' || coalesce(f.target, ''))[1:24] AS alert_id
FROM picked f JOIN _rules r USING (rule_id) LEFT JOIN ev USING (rule_id, edge)
GROUP BY r.rule_id, r.title, r.level, r.attack, f.principal, f.domain, f.source, f.target
ORDER BY time
"""
