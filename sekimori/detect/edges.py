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

import hashlib
import tempfile
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa

from sekimori.detect.base import DetectContext
from sekimori.store import Store

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

_DIGEST = hashlib.sha256((SEGMENT_EDGES_SQL + "\0" + SEGMENT_PAIRS_SQL).encode()).hexdigest()[:12]
EDGES_KIND = f"boundary_edges_{_DIGEST}"
PAIRS_KIND = f"boundary_pairs_{_DIGEST}"

# Another engine's aggregation (``sekimori.spark``): given the segments to compute, each one's
# ``(segment, edges, pairs)``, the rows of SEGMENT_EDGES_SQL and SEGMENT_PAIRS_SQL over its events.
SegmentAggregates = Callable[[list[str]], Iterable[tuple[str, pa.Table, pa.Table]]]


def segment_edges(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    connect: Callable[[list[str]], duckdb.DuckDBPyConnection],
    *,
    save: bool = True,
    full: bool = False,
    scratch: str | None = None,
    aggregate: SegmentAggregates | None = None,
) -> list[str]:
    """Create the views ``_segment_edges`` (with a ``segment`` column) and ``_segment_pairs`` on ``con``
    (a connection over the whole store) from every segment's kept files, computing them first for the
    segments that have none (``full``: for every segment). ``connect(segments)``: a connection whose
    ``events`` holds only those segments. ``save``: keep the new files in the store (under its writer
    lock); otherwise they are written to ``scratch`` and live as long as it does. ``aggregate``: the new
    segments' rows come from there (another engine) instead of DuckDB. The segments computed now are
    returned."""
    segments = [p.name for p in store.segments()]
    edges = {} if full else store.derived_files(EDGES_KIND)
    pairs = {} if full else store.derived_files(PAIRS_KIND)
    todo = [s for s in segments if s not in edges or s not in pairs]
    folder = Path(scratch or tempfile.mkdtemp(prefix="sekimori-edges-"))

    def keep(kind: str, segment: str, found: dict[str, Path], write: Callable[[Path], None]) -> None:
        if save:
            with store.derived_writer(kind, segment) as target:
                write(target)
        else:
            found[segment] = folder / f"{segment}.{kind}.parquet"
            write(found[segment])

    if aggregate is not None and todo:
        # The same files from another engine's rows: cast to the types DuckDB's own COPY writes.
        schemas = aggregate_schemas(store)
        done = []
        for segment, edge_rows, pair_rows in aggregate(todo):
            for kind, rows, schema, found in (
                (EDGES_KIND, edge_rows, schemas[0], edges),
                (PAIRS_KIND, pair_rows, schemas[1], pairs),
            ):
                keep(kind, segment, found, partial(_copy_rows, con, rows, schema))
            done.append(segment)
        if sorted(done) != sorted(todo):
            raise RuntimeError(f"the edges of {len(todo)} segments asked for, {len(done)} given")
    for segment in todo if aggregate is None else []:
        sub = connect([segment])
        try:
            for kind, sql, found in (
                (EDGES_KIND, SEGMENT_EDGES_SQL, edges),
                (PAIRS_KIND, SEGMENT_PAIRS_SQL, pairs),
            ):
                keep(kind, segment, found, partial(_copy, sub, sql))
        finally:
            sub.close()
    if save and todo:  # where the new files were published
        edges, pairs = store.derived_files(EDGES_KIND), store.derived_files(PAIRS_KIND)
    if save:
        store.prune_derived(EDGES_KIND)
        store.prune_derived(PAIRS_KIND)
        for kind in store.derived_kinds():  # computed by other code: never read again
            if kind.startswith(("boundary_edges_", "boundary_pairs_")) and kind not in (
                EDGES_KIND,
                PAIRS_KIND,
            ):
                store.drop_derived(kind)
    _view(con, "_segment_edges", [(s, edges[s]) for s in segments], SEGMENT_EDGES_SQL)
    _view(con, "_segment_pairs", [(s, pairs[s]) for s in segments], SEGMENT_PAIRS_SQL)
    return todo


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path) -> None:
    con.execute(f"COPY ({sql}) TO '{_sql_str(target)}' (FORMAT parquet, COMPRESSION zstd)")


def aggregate_schemas(store: Store) -> tuple[pa.Schema, pa.Schema]:
    """The Arrow schemas of SEGMENT_EDGES_SQL's and SEGMENT_PAIRS_SQL's rows as DuckDB gives them (over
    the store's event view with no segment: the same column types, no event read)."""
    con = store.connect(segments=[])
    try:
        edges, pairs = (
            con.sql(f"SELECT * FROM ({sql}) LIMIT 0").to_arrow_table().schema
            for sql in (SEGMENT_EDGES_SQL, SEGMENT_PAIRS_SQL)
        )
        return edges, pairs
    finally:
        con.close()


def _copy_rows(con: duckdb.DuckDBPyConnection, rows: pa.Table, schema: pa.Schema, target: Path) -> None:
    """Another engine's rows written as :func:`_copy` writes DuckDB's: same columns, types and format."""
    if rows.column_names != schema.names:
        raise ValueError(f"edge columns {rows.column_names} are not {schema.names}")
    con.register("_segment_rows", rows.cast(schema))
    try:
        _copy(con, "SELECT * FROM _segment_rows", target)
    finally:
        con.unregister("_segment_rows")


def _sql_str(path: Path | str) -> str:
    return str(path).replace("'", "''")


def _view(con: duckdb.DuckDBPyConnection, name: str, files: list[tuple[str, Path]], sql: str) -> None:
    if not files:  # an empty store: the same columns, from its empty ``events``
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT NULL::VARCHAR AS segment, * FROM ({sql})")
        return
    con.register(
        f"{name}_files", pa.table({"file": [str(p) for _, p in files], "segment": [s for s, _ in files]})
    )
    listing = ", ".join(f"'{_sql_str(p)}'" for _, p in files)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT f.segment, r.* EXCLUDE (filename) "
        f"FROM read_parquet([{listing}], filename = true) r JOIN {name}_files f ON f.file = r.filename"
    )


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
