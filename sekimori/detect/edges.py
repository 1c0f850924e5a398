"""The trust-boundary rules' edges, aggregated once per segment and kept in the store.

The boundary rules judge authentication, network and data-access events grouped by who reached what
(account, source, target, logon type, port, object, ...). A segment is immutable, so its groups are
computed once, when a detection first sees it, and kept as the segment's derived file
(``STORE/derived/boundary_edges_<digest>/``, see :mod:`sekimori.store.derived`); a later run reads the
groups of every segment, adds up those of one group across segments, and reads no event. A segment
removed or rewritten loses its file; a change of the SQL below changes the digest, so groups computed
by older code are not used.

A segment's row is one group of one activity, with whether its events count as crossings
(``counted``: a successful logon, a session reconnect or a use of explicit credentials, not from the
host itself, ...) or are only evidence (the alert lists every event with the group's keys, failures
and other activities too, as the rules always did). It holds the events' count and first and last
time: enough to judge, and to tell which few segments hold an alert's evidence events (read then, for
the alerting edges only: references kept per group would hold most of the events' own columns again,
and their lists do not fit a detection's memory).

Next to them, the (name, address) pairs the logs saw together (what pairs an RDP client's address
with its host name), also per segment.
"""

from __future__ import annotations

from sekimori.detect.base import DetectContext
from sekimori.detect.segment_tables import SegmentRows, SegmentTable, segment_tables

EVIDENCE_CAP = 100
# Principals that are the system itself, not a person or service account crossing a boundary.
IGNORED_PRINCIPALS = ("ANONYMOUS LOGON", "SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "DWM-1", "UMFD-0")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
_IGNORED = ", ".join(f"'{p}'" for p in IGNORED_PRINCIPALS)
_LOOP = ", ".join(f"'{x}'" for x in LOOPBACK)

# The host an event is about: for logons and access the recording host unless the event names
# another; for network connections only the named destination (the recording host is the source).
TARGET = "CASE WHEN e.category = 'network' THEN e.target_host ELSE coalesce(e.target_host, e.host) END"

# The events the rules look at, aggregated: successful logons, RDP session reconnects and uses of
# explicit credentials (``counted``), network connections with a port, data access. Events whose principal
# is the system itself and machine accounts are not boundary crossings. A logon's source is the client
# the ingest mapping gives (`src_host`, `src_ip`: for RDP the client address, never the target's own
# name; see sekimori/ingest/windows/logon_source.py). An RDP logon (type 10, 12) from a loopback address
# counts: it came through the host itself (a tunnel), so the account's crossing onto the host is still
# judged; other logons from or onto a loopback address are the host's own (a local read of personal data
# still counts). The shown names are the least of the group's spellings (any one would do; the least is
# the same however the events are split into segments).
SEGMENT_EDGES_SQL = f"""
SELECT category, activity, principal, domain, principal_sid, lower(src_host) AS src_host, src_ip,
       lower(target) AS target, target_ip, logon_type, target_port, lower(protocol) AS protocol, object,
       counted, min(src_host) AS src_host_shown, min(target) AS target_shown,
       count(*) AS events, min(time) AS first_time, max(time) AS last_time, min(host) AS host
FROM (
    SELECT e.category, e.activity, e.principal, e.domain, e.principal_sid, e.src_host, e.src_ip,
           {TARGET} AS target, e.target_ip, e.logon_type, e.target_port, e.protocol,
           CASE WHEN e.category = 'data_access' THEN e.object END AS object, e.time, e.host,
           coalesce(e.category <> 'authentication'
                    OR (e.activity IN ('logon', 'explicit_credentials', 'session_reconnect')
                        AND e.outcome IS DISTINCT FROM 'failure'
                        AND (coalesce(e.src_ip, '') NOT IN ({_LOOP}) OR e.logon_type IN (10, 12))
                        AND lower(coalesce(e.target_host, e.host, '')) NOT IN ({_LOOP})), false) AS counted
    FROM events e
    WHERE (e.category = 'authentication' OR (e.category = 'network' AND e.target_port IS NOT NULL)
           OR e.category = 'data_access')
      AND (e.principal IS NULL
           OR (upper(e.principal) NOT IN ({_IGNORED}) AND NOT ends_with(e.principal, '$')))
)
GROUP BY ALL
"""

SEGMENT_PAIRS_SQL = f"""
SELECT DISTINCT lower(src_host) AS name, src_ip AS ip FROM events
WHERE src_host IS NOT NULL AND src_ip IS NOT NULL AND src_ip NOT IN ({_LOOP})
  AND category IN ('authentication', 'network')
"""

TABLES = [
    SegmentTable("_segment_edges", "boundary_edges", SEGMENT_EDGES_SQL),
    SegmentTable("_segment_pairs", "boundary_pairs", SEGMENT_PAIRS_SQL),
]
EDGES_KIND, PAIRS_KIND = (t.kind for t in TABLES)


def segment_edges(ctx: DetectContext, aggregate: SegmentRows | None = None) -> list[str]:
    """Create the views ``_segment_edges`` (with a ``segment`` column) and ``_segment_pairs`` on the
    detection's connection (over the whole store) from every segment's kept files, computing them first
    for the segments that have none (``segment_tables``; ``aggregate``: the new segments' rows from
    another engine, by family ``boundary_edges`` and ``boundary_pairs``). The segments computed now are
    returned."""
    return segment_tables(ctx, TABLES, aggregate)


# The events behind an alerting edge are the first EVIDENCE_CAP (by time, record id, uid, file) of every
# event with its keys (any activity or outcome: the evidence always took them all); a first access's, the
# first of those at its first time. Only some segments can hold them: for an edge, take its keys' groups
# in order of their first time until they hold EVIDENCE_CAP events; every one of its first events is no
# later than the last time of those groups, so it is in a group that begins no later than that. For a
# first access, the groups whose time span holds its first time. Only those segments are read.
_EVIDENCE_SEGMENTS_SQL = """
WITH alerting AS (
    SELECT DISTINCT edge, category, principal, domain, principal_sid, src_host, src_ip, target, target_ip,
           logon_type, target_port, protocol, object
    FROM _findings WHERE rule_id <> 'boundary.first_personal_data_access'
),
groups AS (
    SELECT f.edge, s.segment, s.first_time, s.last_time,
           coalesce(sum(s.events) OVER (PARTITION BY f.edge ORDER BY s.first_time
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM _segment_edges s JOIN alerting f ON {keys}
),
bound AS (SELECT edge, max(last_time) AS last_time FROM groups WHERE before < {cap} GROUP BY edge)
SELECT DISTINCT g.segment FROM groups g JOIN bound b USING (edge) WHERE g.first_time <= b.last_time
UNION
SELECT DISTINCT s.segment
FROM _segment_edges s JOIN _findings f ON {keys}
WHERE f.rule_id = 'boundary.first_personal_data_access'
  AND s.first_time <= f.first_time AND f.first_time <= s.last_time
"""

# An edge's keys equal to a group's (a missing key equal to an empty one, as the evidence always took it).
_KEYS = """coalesce(s.principal, '') = coalesce(f.principal, '')
        AND coalesce(s.domain, '') = coalesce(f.domain, '')
        AND coalesce(s.principal_sid, '') = coalesce(f.principal_sid, '')
        AND coalesce(s.src_host, '') = coalesce(f.src_host, '')
        AND coalesce(s.src_ip, '') = coalesce(f.src_ip, '')
        AND coalesce(s.target, '') = coalesce(f.target, '')
        AND coalesce(s.target_ip, '') = coalesce(f.target_ip, '')
        AND s.category = f.category
        AND coalesce(s.logon_type, -1) = coalesce(f.logon_type, -1)
        AND coalesce(s.target_port, -1) = coalesce(f.target_port, -1)
        AND coalesce(s.protocol, '') = coalesce(f.protocol, '')
        AND coalesce(s.object, '') = coalesce(f.object, '')"""

_ALERTING_SQL = """
SELECT DISTINCT edge, rule_id, category, principal, domain, principal_sid, src_host, src_ip, target,
       target_ip, logon_type, target_port, protocol, object, first_time
FROM _findings
"""

# The events of the alerting edges (a hash join of the chosen segments' events with the few edges that
# alert), capped per alert. A first access keeps its first events only.
_EVIDENCE_SQL = """
SELECT * FROM (
    SELECT f.edge, f.rule_id, e.time, e.record_id, e.uid, e.source_file,
           row_number() OVER (PARTITION BY f.edge, f.rule_id
                              ORDER BY e.time, e.record_id, e.uid, e.source_file) AS n
    FROM events e
    JOIN _alerting f ON coalesce(e.principal, '') = coalesce(f.principal, '')
        AND coalesce(e.domain, '') = coalesce(f.domain, '')
        AND coalesce(e.principal_sid, '') = coalesce(f.principal_sid, '')
        AND coalesce(lower(e.src_host), '') = coalesce(f.src_host, '')
        AND coalesce(e.src_ip, '') = coalesce(f.src_ip, '')
        AND coalesce(lower({target}), '') = coalesce(f.target, '')
        AND coalesce(e.target_ip, '') = coalesce(f.target_ip, '')
        AND e.category = f.category
        AND coalesce(e.logon_type, -1) = coalesce(f.logon_type, -1)
        AND coalesce(e.target_port, -1) = coalesce(f.target_port, -1)
        AND coalesce(lower(e.protocol), '') = coalesce(f.protocol, '')
        AND coalesce(CASE WHEN e.category = 'data_access' THEN e.object END, '') = coalesce(f.object, '')
    WHERE f.rule_id <> 'boundary.first_personal_data_access' OR e.time = f.first_time
) WHERE n <= {cap}
"""


def alert_evidence(ctx: DetectContext) -> None:
    """The table ``_evidence``: the events behind the alerting edges of ``_findings`` (``_segment_edges``
    made by :func:`segment_edges`), capped per alert, read from the segments that can hold them."""
    con = ctx.con
    alerting = con.sql(_ALERTING_SQL).to_arrow_table()
    sql = _EVIDENCE_SEGMENTS_SQL.format(keys=_KEYS, cap=EVIDENCE_CAP)
    segments = sorted(r[0] for r in con.sql(sql).fetchall())
    sub = ctx.connect_segments(segments) if segments else con
    try:
        sub.register("_alerting", alerting)
        found = sub.sql(_EVIDENCE_SQL.format(target=TARGET, cap=EVIDENCE_CAP)).to_arrow_table()
    finally:
        if sub is not con:
            sub.close()
    con.register("_evidence_found", found)
    con.execute("CREATE OR REPLACE TEMP TABLE _evidence AS SELECT * FROM _evidence_found")
