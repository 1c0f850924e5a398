"""Trust-boundary rules: the group model says who may reach what; these alert where events disagree.

- ``boundary.logon_without_grant``: an account of organisation A logs on to a host of organisation B and
  no (unexpired) grant allows A's principals onto that host's systems with that logon type.
- ``boundary.account_from_foreign_host``: an account of A is used from a host of another organisation.
- ``boundary.shared_realm_crossing``: authentication through a realm shared by several organisations
  carries an account of one of them onto a host of another (alerted even when a grant allows it: the
  shared realm is the weakness the seed incident went through).
- ``boundary.flow_not_allowed``: traffic between zones that no flow allows (port and protocol checked).
- ``boundary.first_personal_data_access``: the first access by an affiliate's or contractor's principal
  to a data store that holds personal data.

A logon onto a crown-jewel system, or a first access to secrecy-of-communications or sensitive personal
data, raises the alert to ``critical``.

Accounts and hosts are classified once per distinct value (the model's first-match rules, in Python,
bounded by the number of accounts and hosts, not events); everything per event is SQL.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa

from sekimori.detect.alerts import BOUNDARY
from sekimori.detect.base import DetectContext, Detector, register
from sekimori.model import GroupModel
from sekimori.model.matching import (
    clean_host,
    first_account_match,
    first_host_match,
    parse_ip,
    split_principal,
)

# Principals that are the system itself, not a person or service account crossing a boundary.
_IGNORED_PRINCIPALS = ("ANONYMOUS LOGON", "SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "DWM-1", "UMFD-0")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")

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
EVIDENCE_CAP = 100


def classify_accounts(model: GroupModel, rows: list[dict[str, Any]]) -> pa.Table:
    out = []
    for row in rows:
        match = first_account_match(
            model.account_matchers, split_principal(row["principal"], row["domain"], row["principal_sid"])
        )
        out.append({**row, "org": match.org if match else None, "realm": match.realm if match else None})
    schema = pa.schema(
        [
            ("principal", pa.string()),
            ("domain", pa.string()),
            ("principal_sid", pa.string()),
            ("org", pa.string()),
            ("realm", pa.string()),
        ]
    )
    return pa.Table.from_pylist(out, schema=schema)


def classify_hosts(model: GroupModel, rows: list[dict[str, Any]]) -> pa.Table:
    out = []
    for row in rows:
        name, ip = row["name"], row["ip"]
        match = first_host_match(model.host_matchers, clean_host(name), parse_ip(ip))
        systems = model.systems_for_host(name) if name else []
        out.append(
            {
                "name": name,
                "ip": ip,
                "org": match.org if match else None,
                "zone": match.zone if match else None,
                "systems": systems,
            }
        )
    schema = pa.schema(
        [
            ("name", pa.string()),
            ("ip", pa.string()),
            ("org", pa.string()),
            ("zone", pa.string()),
            ("systems", pa.list_(pa.string())),
        ]
    )
    return pa.Table.from_pylist(out, schema=schema)


@register
class BoundaryDetector(Detector):
    name = "boundary"
    source = BOUNDARY
    description = "Trust-boundary rules from the group model (grants, shared realms, flows, personal data)"
    needs_model = True
    rules: ClassVar[dict[str, dict[str, Any]]] = RULES

    def run(self, ctx: DetectContext) -> pa.Table:
        assert ctx.model is not None
        con = ctx.con
        model = ctx.model
        ignored = ", ".join(f"'{p}'" for p in _IGNORED_PRINCIPALS)
        accounts = (
            con.sql(
                f"""SELECT DISTINCT principal, domain, principal_sid FROM events
                WHERE principal IS NOT NULL AND upper(principal) NOT IN ({ignored})
                  AND NOT ends_with(principal, '$')"""
            )
            .to_arrow_table()
            .to_pylist()
        )
        hosts = (
            con.sql(
                f"""SELECT DISTINCT name, ip FROM (
                   SELECT src_host AS name, src_ip AS ip FROM events
                   WHERE src_host IS NOT NULL OR src_ip IS NOT NULL
                   UNION SELECT {_TARGET.replace("e.", "")}, target_ip FROM events
                   UNION SELECT host, NULL FROM events WHERE host IS NOT NULL)"""
            )
            .to_arrow_table()
            .to_pylist()
        )
        con.register("_acct", classify_accounts(model, accounts))
        con.register("_hosts", classify_hosts(model, hosts))
        con.register(
            "_rules",
            pa.Table.from_pylist(
                [
                    {"rule_id": k, "title": v["title"], "attack": v["attack"], "level": v["level"]}
                    for k, v in self.rules.items()
                ]
            ),
        )
        loopback = ", ".join(f"'{x}'" for x in _LOOPBACK)
        con.execute(_CLASSIFIED_SQL.format(ignored=ignored, loopback=loopback, target=_TARGET))
        findings = con.sql(_FINDINGS_SQL).to_arrow_table()
        return (
            con.sql(_ALERTS_SQL.format(cap=EVIDENCE_CAP)).to_arrow_table() if findings.num_rows else findings
        )


# The host an event is about: for logons and access the recording host unless the event names
# another; for network connections only the named destination (the recording host is the source).
_TARGET = "CASE WHEN e.category = 'network' THEN e.target_host ELSE coalesce(e.target_host, e.host) END"

# Every event with its account, source and target classified. Events whose principal is the system
# itself, machine accounts and loopback sources are not boundary crossings.
_CLASSIFIED_SQL = """
CREATE OR REPLACE TEMP TABLE _classified AS
SELECT e.uid, e.source_file, e.record_id, e.time, e.host, e.category, e.activity, e.outcome,
       e.principal, e.domain, e.logon_type, e.protocol, e.target_port, e.object, e.object_type, e.database,
       e.src_host, e.src_ip, e.target_ip,
       {target} AS target,
       coalesce(e.src_host, e.src_ip) AS source,
       a.org AS account_org, a.realm AS account_realm,
       hs.org AS source_org, hs.zone AS source_zone,
       ht.org AS target_org, ht.zone AS target_zone, ht.systems AS target_systems
FROM events e
LEFT JOIN _acct a ON a.principal IS NOT DISTINCT FROM e.principal AND a.domain IS NOT DISTINCT FROM e.domain
    AND a.principal_sid IS NOT DISTINCT FROM e.principal_sid
LEFT JOIN _hosts hs ON hs.name IS NOT DISTINCT FROM e.src_host AND hs.ip IS NOT DISTINCT FROM e.src_ip
LEFT JOIN _hosts ht ON ht.name IS NOT DISTINCT FROM {target}
    AND ht.ip IS NOT DISTINCT FROM e.target_ip
WHERE e.category IN ('authentication', 'data_access', 'network')
  -- a logon from the machine itself crosses nothing; a local read of personal data still counts
  AND (e.category <> 'authentication' OR (coalesce(e.src_ip, '') NOT IN ({loopback})
       AND lower(coalesce(e.target_host, e.host, '')) NOT IN ({loopback})))
  AND (e.principal IS NULL OR (upper(e.principal) NOT IN ({ignored}) AND NOT ends_with(e.principal, '$')))
"""

_FINDINGS_SQL = """
CREATE OR REPLACE TEMP TABLE _findings AS
WITH logons AS (
    SELECT * FROM _classified
    WHERE category = 'authentication' AND activity IN ('logon', 'explicit_credentials')
      AND outcome IS DISTINCT FROM 'failure' AND account_org IS NOT NULL
      AND lower(split_part(coalesce(source, ''), '.', 1)) IS DISTINCT FROM lower(split_part(target, '.', 1))
),
granted AS (
    SELECT l.uid,
           string_agg(DISTINCT g.grant_id, ', ' ORDER BY g.grant_id)
               FILTER (WHERE g.expires IS NULL OR g.expires >= CAST(l.time AS DATE)) AS grants,
           string_agg(DISTINCT g.grant_id || ' (expired ' || CAST(g.expires AS VARCHAR) || ')', ', ')
               FILTER (WHERE g.expires < CAST(l.time AS DATE)) AS expired
    FROM logons l
    JOIN model.grants g ON g.org = l.account_org
        AND (list_contains(l.target_systems, g.system)
             OR regexp_matches(l.target, coalesce(g.host_regex, '^$')))
        AND (l.logon_type IS NULL OR g.logon_type_code = l.logon_type)
    GROUP BY l.uid
),
shared AS (
    SELECT realm, count(*) AS members FROM model.realm_members GROUP BY realm HAVING count(*) > 1
),
crown AS (SELECT list(id) AS ids FROM model.systems WHERE crown_jewel)
SELECT 'boundary.logon_without_grant' AS rule_id, l.*, gr.grants, gr.expired,
       list_has_any(coalesce(l.target_systems, []), (SELECT ids FROM crown)) AS escalate,
       'no grant allows ' || l.account_org || ' accounts onto ' || l.target || ' (' || l.target_org
           || coalesce(': ' || array_to_string(l.target_systems, ', '), '') || ')'
           || coalesce('; ' || gr.expired, '') AS reason
FROM logons l LEFT JOIN granted gr USING (uid)
WHERE l.target_org IS NOT NULL AND l.account_org <> l.target_org AND gr.grants IS NULL
UNION ALL BY NAME
SELECT 'boundary.account_from_foreign_host' AS rule_id, l.*, gr.grants, gr.expired,
       l.account_org || ' account used from ' || l.source || ', a host of ' || l.source_org AS reason
FROM logons l LEFT JOIN granted gr USING (uid)
WHERE l.source_org IS NOT NULL AND l.source_org <> l.account_org
UNION ALL BY NAME
SELECT 'boundary.shared_realm_crossing' AS rule_id, l.*, gr.grants, gr.expired,
       'realm ' || l.account_realm || ' (shared by ' || s.members || ' organisations) carries an account of '
           || l.account_org || ' onto ' || l.target || ' of ' || l.target_org
           || coalesce(' (allowed by ' || gr.grants || ')', ' (no grant)') AS reason
FROM logons l JOIN shared s ON s.realm = l.account_realm LEFT JOIN granted gr USING (uid)
WHERE l.target_org IS NOT NULL AND l.account_org <> l.target_org
UNION ALL BY NAME
SELECT 'boundary.flow_not_allowed' AS rule_id, c.*, NULL AS grants, NULL AS expired,
       'no flow allows ' || c.source_zone || ' → ' || c.target_zone || ' port ' || c.target_port
           || coalesce('/' || lower(c.protocol), '') AS reason
FROM _classified c
WHERE c.target_port IS NOT NULL AND c.source_zone IS NOT NULL AND c.target_zone IS NOT NULL
  AND c.source_zone <> c.target_zone
  AND NOT EXISTS (
      SELECT 1 FROM model.flows f
      WHERE ((f.from_zone = c.source_zone AND f.to_zone = c.target_zone)
             OR (f.bidirectional AND f.from_zone = c.target_zone AND f.to_zone = c.source_zone))
        AND (f.port IS NULL OR f.port = c.target_port)
        AND (f.protocol = 'any' OR c.protocol IS NULL OR lower(c.protocol) = f.protocol))
UNION ALL BY NAME
SELECT * EXCLUDE (rn) FROM (
    SELECT 'boundary.first_personal_data_access' AS rule_id, c.*, NULL AS grants, NULL AS expired,
           'first access by ' || c.account_org || ' (' || o.kind || ') to ' || ds.id || ' holding '
               || pd.summary AS reason,
           pd.special AS escalate,
           row_number() OVER (PARTITION BY c.principal, c.domain, ds.id ORDER BY c.time, c.record_id) AS rn
    FROM _classified c
    JOIN model.organisations o ON o.id = c.account_org AND o.kind IN ('affiliate', 'contractor')
    JOIN model.data_stores ds ON
        EXISTS (SELECT 1 FROM model.data_store_hosts dh WHERE dh.data_store = ds.id
                AND regexp_matches(c.target, dh.regex))
        OR EXISTS (SELECT 1 FROM model.personal_data p, unnest(coalesce(p.tables, [])) AS t(name)
                   WHERE p.data_store = ds.id AND c.object IS NOT NULL
                     AND (lower(c.object) = lower(t.name)
                          OR ends_with(lower(c.object), '.' || lower(t.name))))
    JOIN (SELECT data_store,
                 string_agg(category || ' ' || records, ', ' ORDER BY category) AS summary,
                 bool_or(secrecy_of_communications OR sensitive) AS special
          FROM model.personal_data GROUP BY data_store) pd ON pd.data_store = ds.id
    WHERE c.category = 'data_access' AND c.account_org IS NOT NULL
) WHERE rn = 1
"""

# One alert per (rule, account, source, target) with every event as evidence (capped).
_ALERTS_SQL = """
SELECT r.rule_id, r.title, 'boundary' AS source,
       CASE WHEN bool_or(coalesce(f.escalate, false)) THEN 'critical' ELSE r.level END AS level, r.attack,
       min(f.time) AS time, max(f.time) AS last_time,
       any_value(f.host) AS host, f.principal AS account, f.domain,
       any_value(f.src_host) AS src_host, any_value(f.src_ip) AS src_ip, f.target AS target_host,
       list_distinct(list_filter([any_value(f.account_org), any_value(f.source_org), any_value(f.target_org)],
                                 lambda x: x IS NOT NULL)) AS organisations,
       any_value(f.reason) AS description,
       list({{'path': f.source_file, 'record_id': f.record_id, 'uid': f.uid}}
            ORDER BY f.time, f.record_id)[1:{cap}] AS evidence,
       to_json({{'events': count(*), 'account_org': any_value(f.account_org),
                'source_org': any_value(f.source_org), 'target_org': any_value(f.target_org),
                'realm': any_value(f.account_realm), 'grants': any_value(f.grants),
                'source_zone': any_value(f.source_zone), 'target_zone': any_value(f.target_zone)}})::VARCHAR
           AS details,
       md5(r.rule_id || '|' || coalesce(f.principal, '') || '|' || coalesce(f.domain, '') || '|'
           || coalesce(f.source, '') || '|' || coalesce(f.target, ''))[1:24] AS alert_id
FROM _findings f JOIN _rules r USING (rule_id)
GROUP BY r.rule_id, r.title, r.level, r.attack, f.principal, f.domain, f.source, f.target
ORDER BY time
"""
