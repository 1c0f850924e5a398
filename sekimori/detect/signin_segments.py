"""The sign-in rules' crossings (``detectors/tenant.py``), aggregated once per segment and kept in the
store, as the boundary rules' edges are (``edges.py``, ``segment_tables.py``).

A segment's row is one distinct crossing (account, home and resource tenant, application, role, source
address, cross-tenant kind) of its successful (or not-failed) sign-ins and role assumptions that name a
tenant, a resource tenant or a role. It holds what the one pass over the events gave, in a form that adds
up across segments exactly:

- the events' count, first and last time;
- the earliest sign-in's host and spelling of the application, each as the least (time, value) of the
  events that have one, as DuckDB's ``arg_min(value, {'t': time, 'v': value})`` chose it (``_first``:
  flags put a missing value or time last, on DuckDB and Spark alike, which order missing fields of a
  struct differently): the least of the segments' least is the store's;
- the first EVIDENCE_CAP events by (time, record id, uid, file; each missing one last): the store's
  first EVIDENCE_CAP are among the segments' first EVIDENCE_CAP, so the merged list cut again is the
  same.

Written in SQL that sqlglot carries to Spark unchanged in meaning (``sekimori.spark`` computes the same
rows): the first values by ``min`` of a struct rather than ``arg_min`` (Spark's ``min_by`` keeps a missing
value, DuckDB's skips it), the events sorted and cut rather than ordered inside the aggregate.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from sekimori.detect.base import DetectContext
from sekimori.detect.segment_tables import SegmentRows, SegmentTable, segment_tables

EVIDENCE_CAP = 100

# The events the sign-in rules read: successful (or not-failed) authentication with an account.
_SIGNIN_EVENTS = (
    "category = 'authentication' AND outcome IS DISTINCT FROM 'failure' AND principal IS NOT NULL"
)
# One event of the evidence, sortable as the evidence is ordered (missing values last).
_EVIDENCE_ITEM = (
    "{'n': time IS NULL, 't': time, 'rn': record_id IS NULL, 'record_id': record_id, "
    "'un': uid IS NULL, 'uid': uid, 'pn': source_file IS NULL, 'path': source_file}"
)


def _first(column: str) -> str:
    """The key whose least is the earliest event with a ``column``: events without one last, then by
    time (a missing one last), then by the value (as ``arg_min(column, {'t': time, 'v': column})``)."""
    return f"{{'vn': {column} IS NULL, 'n': time IS NULL, 't': time, 'v': {column}}}"


SEGMENT_SIGNINS_SQL = f"""
SELECT principal, domain, lower(tenant) AS tenant, lower(resource_tenant) AS resource_tenant,
       cross_tenant, lower(trim(application)) AS application, role, src_ip,
       count(*) AS events, min(time) AS first_time, max(time) AS last_time,
       min({_first("host")}) AS host_first, min({_first("application")}) AS application_first,
       array_slice(list_sort(list({_EVIDENCE_ITEM})), 1, {EVIDENCE_CAP}) AS evidence
FROM events
WHERE {_SIGNIN_EVENTS}
  AND (tenant IS NOT NULL OR resource_tenant IS NOT NULL OR role IS NOT NULL)
GROUP BY ALL
"""

TABLES = [SegmentTable("_signin_segments", "tenant_signins", SEGMENT_SIGNINS_SQL)]
SIGNINS_KIND = TABLES[0].kind
# (family, SQL over one segment's events) of each kept table: for another engine computing them.
SEGMENT_TABLES = tuple((t.family, t.sql) for t in TABLES)

# The distinct crossings of the store: the segments' rows added up.
_SIGNINS_SQL = """
CREATE OR REPLACE TEMP TABLE _signins AS
SELECT row_number() OVER () AS edge, *
FROM (
    SELECT principal, domain, tenant, resource_tenant, cross_tenant, application, role, src_ip,
           CAST(sum(events) AS BIGINT) AS events, min(first_time) AS first_time,
           max(last_time) AS last_time, min(host_first).v AS host,
           min(application_first).v AS application_shown
    FROM _signin_segments
    GROUP BY principal, domain, tenant, resource_tenant, cross_tenant, application, role, src_ip
)
"""

# A finding's evidence: the events of every crossing whose keys equal its own, a missing key equal to an
# empty one (as the evidence always took them), their first EVIDENCE_CAP.
_KEYS = """{s}.principal = f.principal AND coalesce({s}.domain, '') = coalesce(f.domain, '')
 AND coalesce({tenant}, '') = coalesce(f.tenant, '')
 AND coalesce({resource_tenant}, '') = coalesce(f.resource_tenant, '')
 AND coalesce({application}, '') = coalesce(f.application, '')
 AND coalesce({s}.role, '') = coalesce(f.role, '') AND coalesce({s}.src_ip, '') = coalesce(f.src_ip, '')
 AND coalesce({s}.cross_tenant, '') = coalesce(f.cross_tenant, '')"""
_ROW_KEYS = _KEYS.format(
    s="s", tenant="s.tenant", resource_tenant="s.resource_tenant", application="s.application"
)
_EVENT_KEYS = _KEYS.format(
    s="e",
    tenant="lower(e.tenant)",
    resource_tenant="lower(e.resource_tenant)",
    application="lower(trim(e.application))",
)

_EVIDENCE_SQL = f"""
SELECT f.rule_id, f.edge,
       list_transform(list_sort(flatten(list(s.evidence)))[1:{EVIDENCE_CAP}],
                      lambda x: {{'path': x.path, 'record_id': x.record_id, 'uid': x.uid}}) AS evidence
FROM _signin_segments s JOIN _tenant_findings f ON {_ROW_KEYS}
GROUP BY f.rule_id, f.edge
"""

# A finding whose tenant, resource tenant and role are each missing or empty also takes the events that
# name none of them, which no segment row holds: its evidence is read from the events (as the one pass
# did; the same order).
_BLANK = "coalesce(f.tenant, '') = '' AND coalesce(f.resource_tenant, '') = '' AND coalesce(f.role, '') = ''"
_EVENTS_EVIDENCE_SQL = f"""
SELECT f.rule_id, f.edge,
       list({{'path': e.source_file, 'record_id': e.record_id, 'uid': e.uid}}
            ORDER BY e.time, e.record_id, e.uid, e.source_file)[1:{EVIDENCE_CAP}] AS evidence
FROM events e JOIN (SELECT * FROM _tenant_findings f WHERE {_BLANK}) f ON {_EVENT_KEYS}
WHERE e.category = 'authentication' AND e.outcome IS DISTINCT FROM 'failure'
GROUP BY f.rule_id, f.edge
"""


def segment_signins(ctx: DetectContext, aggregate: SegmentRows | None = None) -> list[str]:
    """Create the table ``_signins`` (one row per distinct crossing of the store, numbered ``edge``) on
    the detection's connection from every segment's kept rows (the view ``_signin_segments``), computing
    them first for the segments that have none (``segment_tables``; ``aggregate``: the new segments' rows
    from another engine, by family ``tenant_signins``). The segments computed now are returned."""
    done = segment_tables(ctx, TABLES, aggregate)
    con = ctx.con
    con.execute(_SIGNINS_SQL)
    return done


def finding_evidence(
    con: duckdb.DuckDBPyConnection, findings: pa.Table
) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """(rule, edge) → the first EVIDENCE_CAP events of each finding of ``findings`` (rule_id, edge and
    the crossing's keys), from the segments' rows (``segment_signins``), and for a finding with no tenant,
    resource tenant or role, from the events."""
    con.register("_tenant_findings", findings)
    try:
        found = con.sql(_EVIDENCE_SQL).to_arrow_table().to_pylist()
        if con.sql(f"SELECT count(*) FROM _tenant_findings f WHERE {_BLANK}").fetchall()[0][0]:
            blank = con.sql(_EVENTS_EVIDENCE_SQL).to_arrow_table().to_pylist()
            edges = {b["edge"] for b in blank}
            found = [r for r in found if r["edge"] not in edges] + blank
    finally:
        con.unregister("_tenant_findings")
    return {(r["rule_id"], r["edge"]): r["evidence"] for r in found}
