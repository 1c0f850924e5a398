"""The behaviour analytics' logons from per-segment aggregates, not from every event of the store.

Each segment's authentication events are grouped once (when a detection first sees the segment) into one
row per raw logon key and time bucket: an hour for successes, a minute for failures. The row keeps the
count, the first and last time, the first event and, for failures, the first events (up to
``STORED_EVIDENCE``). The rows are kept as the segment's derived file (``segment_tables.py``) and a later
run reads them instead of the events.

They give the same staged logons (``_bh_logon``) as the one pass over the events
(``staging.stage_raw_logons``). The baseline's end (``be``) falls anywhere, so a success row is:
- wholly before the end (last time < be): all of its events count in the baseline;
- wholly after it (first time >= be): its first event is the first one after the baseline;
- across it: only a segment with such a row is read again, and only that hour of it.

Failures are merged into the grain of the failure windows, which must be a whole number of minutes.
Settings the rows cannot answer (a finer grain, more evidence than is kept) use the one pass over the
events (``usable``).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.detect.base import DetectContext
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.sql import in_list, machine_filter, quote, scope_sql
from sekimori.detect.behaviour.staging import baseline_end, failure_grain
from sekimori.detect.segment_tables import SegmentTable, segment_tables

MINUTE = 60_000_000
HOUR = 60 * MINUTE
STORED_EVIDENCE = 100  # failure events kept per row: the default evidence cap

EV = "{'path': source_file, 'record_id': record_id, 'uid': uid}"
ORDER = "{'t': time, 'u': uid}"  # the first event: by time, then by uid (the same however split)

# The columns of a raw logon key (``staging.stage_raw_logons``), as read from the events.
KEY = (
    "principal, domain, src_host, src_ip, coalesce(target_host, host) AS dst_raw, logon_type, "
    "auth_package, outcome, activity, status"
)
KEY_NAMES = (
    "principal, domain, src_host, src_ip, dst_raw, logon_type, auth_package, outcome, activity, status"
)
# Successful logons and failures of any activity: the settings choose among them when the rows are read.
EVENTS_FILTER = (
    "category = 'authentication' AND time IS NOT NULL AND principal IS NOT NULL "
    "AND ((activity = 'logon' AND outcome = 'success') OR outcome = 'failure')"
)

SEGMENT_LOGONS_SQL = f"""
SELECT coalesce(source_file, '') AS source_file, {KEY},
  epoch_us(time) // CASE WHEN outcome = 'failure' THEN {MINUTE} ELSE {HOUR} END AS bucket,
  count(*) AS n, min(time) AS tmin, max(time) AS tmax, arg_min({EV}, {ORDER}) AS ev_first,
  min_by({{'t': time, 'u': uid, 'ev': {EV}}}, {ORDER}, {STORED_EVIDENCE}) FILTER (outcome = 'failure')
    AS fails
FROM events WHERE {EVENTS_FILTER}
GROUP BY ALL
"""

# The time span of each file's authentication events: the baseline is a part of it.
SEGMENT_SPANS_SQL = """
SELECT coalesce(source_file, '') AS source_file, min(time) AS t_min, max(time) AS t_max FROM events
WHERE category = 'authentication' AND time IS NOT NULL
GROUP BY ALL
"""

TABLES = [
    SegmentTable("_bh_seg_logons", "behaviour_logons", SEGMENT_LOGONS_SQL),
    SegmentTable("_bh_seg_spans", "behaviour_spans", SEGMENT_SPANS_SQL),
]


def usable(cfg: BehaviourConfig) -> bool:
    """Whether the kept rows answer these settings exactly."""
    return failure_grain(cfg) % MINUTE == 0 and cfg.evidence_cap <= STORED_EVIDENCE


def segment_spans(con: duckdb.DuckDBPyConnection, ctx: DetectContext) -> str:
    """Make the views of every segment's rows on ``con`` (computing those of new segments), and give the
    spans' source for ``staging.stage_bounds``."""
    segment_tables(
        con, ctx.store, ctx.connect_segments, TABLES, save=ctx.save, full=ctx.full, scratch=ctx.scratch()
    )
    return "_bh_seg_spans"


def stage_raw_logons_from_segments(
    con: duckdb.DuckDBPyConnection, ctx: DetectContext, cfg: BehaviourConfig
) -> None:
    """``_bh_logon`` from the rows of ``segment_spans``' views (after ``stage_bounds`` on them)."""
    source, be = baseline_end(con, cfg, "_bh_seg_logons s", "s.source_file")
    scope = "''" if cfg.baseline_scope == "global" else "s.source_file"
    acts = in_list(cfg.failure_activities)
    machine = machine_filter(cfg).replace("principal", "s.principal")
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_rows AS
SELECT *, CASE
    WHEN outcome = 'success' AND bool_or(tmin < be AND tmax >= be) OVER unit THEN 'across'
    WHEN tmax < be THEN 'before' ELSE 'after' END AS part
FROM (
  SELECT s.*, {scope} AS scope, {be} AS be FROM {source}
  WHERE ((s.outcome = 'success') OR (s.outcome = 'failure' AND s.activity IN {acts})) {machine})
-- a segment's hour that holds a row across the baseline's end is counted again from its events, whole
WINDOW unit AS (PARTITION BY segment, scope, bucket, outcome)"""
    )
    _stage_across(con, ctx, cfg)
    grain = failure_grain(cfg)
    cap = cfg.evidence_cap
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_logon AS
WITH parts AS (
  SELECT scope, {KEY_NAMES}, NULL::BIGINT AS g, n,
    CASE WHEN part = 'before' THEN n ELSE 0 END AS n_base,
    CASE WHEN part = 'after' THEN tmin END AS t0, tmax AS t1, tmin AS tf,
    CASE WHEN part = 'after' THEN ev_first END AS ev, NULL AS fails
  FROM _bh_rows WHERE outcome = 'success' AND part <> 'across'
  UNION ALL
  SELECT scope, {KEY_NAMES}, NULL::BIGINT AS g, n, n_base, t0, t1, tf, ev, NULL AS fails FROM _bh_across
  UNION ALL
  SELECT scope, {KEY_NAMES}, bucket * {MINUTE} // {grain} AS g, n, 0 AS n_base, NULL AS t0, tmax AS t1,
    tmin AS tf, NULL AS ev, fails
  FROM _bh_rows WHERE outcome = 'failure'
)
SELECT NULL::UBIGINT AS k, scope, {KEY_NAMES},
  sum(n) AS n, sum(n_base) AS n_base, min(t0) AS t0, max(t1) AS t1, min(tf) AS tf,
  arg_min(ev, {{'t': t0, 'u': ev.uid}}) FILTER (ev IS NOT NULL) AS ev,
  CASE WHEN outcome = 'failure' THEN
    list_transform(list_sort(flatten(list(fails)))[1:{cap}], lambda x: x.ev) END AS fails
FROM parts
GROUP BY scope, {KEY_NAMES}, g"""
    )


def _stage_across(con: duckdb.DuckDBPyConnection, ctx: DetectContext, cfg: BehaviourConfig) -> None:
    """``_bh_across``: the success rows that span the baseline's end, counted again from their events
    (per segment: only the segments with such a row are read, only that hour of each; every success row
    of that hour and segment is replaced, ``_bh_rows`` marks them all ``across``)."""
    windows = con.sql(
        "SELECT DISTINCT segment, scope, bucket, be FROM _bh_rows "
        "WHERE outcome = 'success' AND part = 'across'"
    ).to_arrow_table()
    found = []
    for segment in sorted(set(windows.column("segment").to_pylist())):
        mine = windows.filter(pc.equal(windows["segment"], segment))
        lo, hi = _span(mine)
        sub = ctx.connect_segments([segment])
        try:
            sub.execute("SET TimeZone = 'UTC'")
            sub.register("_bh_win", mine)
            found.append(
                sub.sql(
                    f"""
SELECT w.scope, {KEY},
  count(*) AS n, count(*) FILTER (time < w.be) AS n_base, min(time) FILTER (time >= w.be) AS t0,
  max(time) AS t1, min(time) AS tf, arg_min({EV}, {ORDER}) FILTER (time >= w.be) AS ev
FROM events JOIN _bh_win w ON w.scope = {scope_sql(cfg)} AND w.bucket = epoch_us(time) // {HOUR}
WHERE {EVENTS_FILTER} AND outcome = 'success' {machine_filter(cfg)}
  AND time >= TIMESTAMPTZ {quote(lo)} AND time < TIMESTAMPTZ {quote(hi)}
GROUP BY ALL"""
                ).to_arrow_table()
            )
        finally:
            sub.close()
    if found:
        con.register("_bh_across_found", pa.concat_tables(found))
        con.execute("CREATE OR REPLACE TEMP TABLE _bh_across AS SELECT * FROM _bh_across_found")
        return
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _bh_across AS
SELECT '' AS scope, {KEY_NAMES}, n, 0 AS n_base, tmin AS t0, tmax AS t1, tmin AS tf, ev_first AS ev
FROM _bh_rows WHERE false"""
    )


def _span(windows: pa.Table) -> tuple[str, str]:
    """The time range of the hours in ``windows`` (to prune row groups by their time statistics)."""
    buckets = windows.column("bucket").to_pylist()
    lo = dt.datetime.fromtimestamp(min(buckets) * HOUR / 1e6, dt.UTC)
    hi = dt.datetime.fromtimestamp((max(buckets) + 1) * HOUR / 1e6, dt.UTC)
    return (lo - dt.timedelta(hours=1)).isoformat(), (hi + dt.timedelta(hours=1)).isoformat()
