"""The behaviour analytics' logons from per-segment aggregates, not from every event of the store.

Each segment's authentication events are grouped once (when a detection first sees the segment) into one
row per raw logon key, and for failures per key and minute. A row keeps the count, the first and last
time, the first event and, for failures, the first events (up to ``STORED_EVIDENCE``). The rows are kept
as the segment's derived file (``segment_tables.py``) and a later run reads them instead of the events.

They give the same staged logons (``_bh_logon``) as the one pass over the events
(``staging.stage_raw_logons``). The baseline's end (``be``) falls anywhere, so a success row is:
- wholly before the end (last time < be): all of its events count in the baseline;
- wholly after it (first time >= be): its first event is the first one after the baseline;
- across it: the successes of the segments holding such a row are grouped again from their events by
  the rows' own query cut at the end (one part before, one after), by the engine that made the rows.
  Segments arrive roughly in time order, so that is the one or two segments around the baseline's end,
  not the store.

Rollups (``rollups.py``) stand in for the success rows of settled segments, so that the rows merged
grow with the keys, not the history.

Failures are merged into the grain of the failure windows, which must be a whole number of minutes.
Settings the rows cannot answer (a finer grain, more evidence than is kept) use the one pass over the
events (``usable``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from sekimori.detect.base import DetectContext
from sekimori.detect.behaviour import rollups
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.sql import in_list, machine_filter, mixed_key, quote
from sekimori.detect.behaviour.staging import baseline_end, failure_grain, stage_raw_logons
from sekimori.detect.segment_tables import (
    SegmentRows,
    SegmentTable,
    as_duckdb_rows,
    row_schema,
    segment_tables,
)

MINUTE = 60_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STORED_EVIDENCE = 100  # failure events kept per row: the default evidence cap
# When the rows are no cheaper to merge than the events to aggregate, the one pass is used: merging a
# row costs about three times aggregating an event (benchmarks/auth.py's store: 3.8 M rows standing for
# 20 M events, 5.2 a row, merged in ~5 s of CPU against ~9 s for the one pass), so the rows must stand
# for at least this many events each; and the segments to read again must hold at most this share of
# the events.
EVENTS_PER_ROW = 4.0
ONE_PASS_SHARE = 0.5

EV = "{'path': source_file, 'record_id': record_id, 'uid': uid}"
ORDER = "{'t': time, 'u': uid}"  # the first event: by time, then by uid (the same however split)

# The columns of a raw logon key (``staging.stage_raw_logons``), as read from the events.
KEY_COLUMNS = (
    ("principal", "principal"),
    ("domain", "domain"),
    ("src_host", "src_host"),
    ("src_ip", "src_ip"),
    ("dst_raw", "coalesce(target_host, host)"),
    ("logon_type", "logon_type"),
    ("auth_package", "auth_package"),
    ("outcome", "outcome"),
    ("activity", "activity"),
    ("status", "status"),
)
KEY_NAMES = ", ".join(name for name, _ in KEY_COLUMNS)
# Failures are kept per minute (the failure windows' grain is whole minutes).
BUCKET = "CASE WHEN outcome = 'failure' THEN date_trunc('minute', time) END"

# Successful logons and failures of any activity: the settings choose among them when the rows are read.
# Written in SQL that sqlglot carries to Spark as it is (``sekimori.spark`` computes the same rows):
# grouped by the columns (a hash of them would collide on Spark's 32-bit hash), the failures' events
# sorted and cut rather than ``min_by(…, n)``. The list is filtered to failures inside the aggregate:
# outside it (the CASE alone) every success group built a list of all its events only to drop it, 3 to
# 4 times the cost of the whole query, and far more under a memory limit (93 s for the benchmark's 20 M
# events against 10 s for the one pass).
_LOGONS_SQL = f"""
SELECT coalesce(source_file, '') AS source_file,
  {", ".join(f"{expr} AS {name}" if expr != name else name for name, expr in KEY_COLUMNS)},
  {BUCKET} AS bucket,
  count(*) AS n, min(time) AS tmin, max(time) AS tmax,
  arg_min({EV}, {ORDER}) FILTER (WHERE outcome = 'success') AS ev_first,
  CASE WHEN outcome = 'failure' THEN array_slice(
    list_sort(list({{'t': time, 'u': uid, 'ev': {EV}}}) FILTER (WHERE outcome = 'failure')),
    1, {STORED_EVIDENCE}) END AS fails
FROM events
WHERE category = 'authentication' AND time IS NOT NULL AND principal IS NOT NULL
  AND ((activity = 'logon' AND outcome = 'success') OR outcome = 'failure')<ONLY>
GROUP BY coalesce(source_file, ''), {", ".join(expr for _, expr in KEY_COLUMNS)}, {BUCKET}
"""
SEGMENT_LOGONS_SQL = _LOGONS_SQL.replace("<ONLY>", "")

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


def segment_spans(ctx: DetectContext, aggregate: SegmentRows | None = None) -> str:
    """Make the views of every segment's rows on the detection's connection (computing those of new
    segments, on ``aggregate``'s engine when given), and give the spans' source for
    ``staging.stage_bounds``."""
    segment_tables(ctx, TABLES, aggregate)
    return "_bh_seg_spans"


def stage_raw_logons_from_segments(
    con: duckdb.DuckDBPyConnection,
    ctx: DetectContext,
    cfg: BehaviourConfig,
    aggregate: SegmentRows | None = None,
) -> bool:
    """``_bh_logon`` from the rows of ``segment_spans``' views (after ``stage_bounds`` on them). When
    the rows stand for few events each, or the segments to read again hold most of the store's events,
    the one pass over the events is cheaper and gives the same table: it is used then (False), unless
    the rows come from another engine (``aggregate``, which then also reads the segments again: the
    events are not for this machine to read)."""
    scope = "''" if cfg.baseline_scope == "global" else "s.source_file"
    kind = rollups.rollup_kind(TABLES[0].kind, KEY_NAMES, scope)
    found = rollups.use_rollups(con, ctx, kind, KEY_NAMES, scope)
    source, be = baseline_end(con, cfg, f"{rollups.rows_source()} s", "s.source_file")
    acts = in_list(cfg.failure_activities)
    machine = machine_filter(cfg).replace("principal", "s.principal")
    con.execute(
        f"""
CREATE OR REPLACE TEMP VIEW _bh_rows AS
SELECT *, CASE WHEN tmax < be THEN 'before' WHEN tmin >= be THEN 'after' ELSE 'across' END AS part FROM (
  SELECT s.*, {scope} AS scope, {be} AS be FROM {source}
  WHERE ((s.outcome = 'success') OR (s.outcome = 'failure' AND s.activity IN {acts})) {machine})"""
    )
    again = _segments_across(con)
    cheaper = _events_per_row(con) < EVENTS_PER_ROW or _share(ctx, again) > ONE_PASS_SHARE
    if cheaper and aggregate is None:
        stage_raw_logons(con, cfg)
        rollups.make_rollups(con, ctx, kind, KEY_NAMES, scope, found)  # a later run may merge fewer rows
        return False
    _split_again(con, ctx, cfg, again, aggregate)
    grain = failure_grain(cfg)
    key = f"scope, {KEY_NAMES}"
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_logon AS
-- Grouped by the columns: a 64-bit hash key with any_value() of each column, as the one pass over the
-- events has it, cost three times as much here (strings copied per row, not per group). Successes and
-- failures are merged apart: each aggregate then carries only its own states (the failures' lists, the
-- successes' first event), ~20 % less than one GROUP BY over both on benchmarks/auth.py's store.
WITH ok AS (
  SELECT {key}, n, CASE WHEN part = 'before' THEN n ELSE 0 END AS n_base,
    CASE WHEN part = 'after' THEN tmin END AS t0, tmax AS t1, tmin AS tf,
    CASE WHEN part = 'after' THEN ev_first END AS ev
  FROM _bh_rows WHERE outcome = 'success' AND segment NOT IN (SELECT segment FROM _bh_again)
  UNION ALL
  SELECT {key}, n, n_base, t0, t1, tf, ev FROM _bh_counted
)
SELECT {mixed_key([key, "NULL::BIGINT"])} AS k, {key},
  CAST(sum(n) AS BIGINT) AS n, CAST(sum(n_base) AS BIGINT) AS n_base, min(t0) AS t0, max(t1) AS t1,
  min(tf) AS tf, arg_min(ev, {{'t': t0, 'u': ev.uid}}) FILTER (ev IS NOT NULL) AS ev, NULL AS fails
FROM ok GROUP BY {key}
UNION ALL
SELECT {mixed_key([key, "g"])} AS k, {key},
  CAST(sum(n) AS BIGINT) AS n, CAST(0 AS BIGINT) AS n_base, NULL AS t0, max(tmax) AS t1,
  min(tmin) AS tf, NULL AS ev,
  list_transform(
    list_sort(flatten(list(fails) FILTER (fails IS NOT NULL)))[1:{cfg.evidence_cap}], lambda x: x.ev
  ) AS fails
FROM (SELECT *, epoch_us(bucket) // {grain} AS g FROM _bh_rows WHERE outcome = 'failure')
GROUP BY {key}, g"""
    )
    rollups.make_rollups(con, ctx, kind, KEY_NAMES, scope, found)
    return True


def _segments_across(con: duckdb.DuckDBPyConnection) -> list[str]:
    """``_bh_again``: the segments with a success row across the baseline's end."""
    again = sorted(
        r[0] for r in con.execute("SELECT DISTINCT segment FROM _bh_rows WHERE part = 'across'").fetchall()
    )
    con.register("_bh_again_found", pa.table({"segment": pa.array(again, pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE _bh_again AS SELECT * FROM _bh_again_found")
    return again


def _events_per_row(con: duckdb.DuckDBPyConnection) -> float:
    """The events the rows to merge (kept rows and rollups) stand for, per row (from the rows: counting
    the store's events was a scan of its own)."""
    rows, events = con.execute(f"SELECT count(*), sum(n) FROM {rollups.rows_source()}").fetchall()[0]
    return float(events) / rows if rows else float("inf")


def _share(ctx: DetectContext, segments: list[str]) -> float:
    """The share of the store's events those segments hold (from the manifests)."""
    events = ctx.store.segment_events()
    total = sum(events.values())
    return sum(events.get(s, 0) for s in segments) / total if total else 0.0


def _split_again(
    con: duckdb.DuckDBPyConnection,
    ctx: DetectContext,
    cfg: BehaviourConfig,
    again: list[str],
    aggregate: SegmentRows | None,
) -> None:
    """``_bh_counted``: the successes of the segments ``again`` grouped again from their events by the
    rows' own query, cut at the baseline's end (``split_sql``: each row then wholly on one side), on
    this machine or on ``aggregate``'s engine (the same SQL)."""
    sql = split_sql(_baseline_end_sql(con, cfg))
    found: list[pa.Table] = []
    if again and aggregate is not None:
        for _, rows in aggregate(again, [("split", sql)]):
            found.append(rows["split"])
    elif again:
        sub = ctx.connect_segments(again)
        try:
            sub.execute("SET TimeZone = 'UTC'")
            found.append(sub.sql(sql).to_arrow_table())
        finally:
            sub.close()
    schema = row_schema(ctx.store, sql)
    split = [as_duckdb_rows(t, schema) for t in found]
    con.register("_bh_split", pa.concat_tables(split) if split else schema.empty_table())
    scope = "''" if cfg.baseline_scope == "global" else "s.source_file"
    machine = machine_filter(cfg).replace("principal", "s.principal")
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_counted AS
SELECT {scope} AS scope, {KEY_NAMES}, n, n AS n_base, NULL::TIMESTAMPTZ AS t0, tmax AS t1, tmin AS tf,
  NULL AS ev
FROM _bh_split s WHERE early {machine}
UNION ALL
SELECT {scope} AS scope, {KEY_NAMES}, n, 0 AS n_base, tmin AS t0, tmax AS t1, tmin AS tf, ev_first AS ev
FROM _bh_split s WHERE NOT early {machine}"""
    )
    con.unregister("_bh_split")


def split_sql(end: str) -> str:
    """The rows' own query over the successes, with each row wholly on one side of the baseline's end
    ``end`` (``early``: before it). One query, so the segments are read once for both sides."""
    sql = _LOGONS_SQL.replace("<ONLY>", "\n  AND outcome = 'success'")
    sql = sql.replace("\nFROM events\n", f",\n  time < {end} AS early\nFROM events\n", 1)
    return f"{sql.rstrip()}, time < {end}\n"


def _baseline_end_sql(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> str:
    """The baseline's end for an event of the segments read again, as SQL that both engines read alike:
    a timestamp literal (written in UTC to the microsecond), or with a baseline per file one per file of
    those segments."""

    def literal(us: int) -> str:
        moment = EPOCH + timedelta(microseconds=us)
        return f"CAST({quote(moment.isoformat(sep=' ', timespec='microseconds'))} AS TIMESTAMPTZ)"

    if cfg.baseline_scope == "global":
        row = con.execute("SELECT epoch_us(be) FROM _bh_bounds").fetchall()
        return literal(row[0][0])
    # Every file of those segments with a success has a row there, so a bound here.
    ends = con.execute(
        "SELECT scope, epoch_us(be) FROM _bh_bounds WHERE scope IN (SELECT DISTINCT source_file "
        "FROM _bh_seg_logons WHERE segment IN (SELECT segment FROM _bh_again)) ORDER BY scope"
    ).fetchall()
    if not ends:  # no segment to read again: the query only gives the rows' types
        return "CAST(NULL AS TIMESTAMPTZ)"
    whens = " ".join(f"WHEN {quote(scope)} THEN {literal(us)}" for scope, us in ends)
    return f"(CASE coalesce(source_file, '') {whens} END)"
