"""Rollups: the success rows of several settled segments merged into one row per raw logon key, kept in the
store and read instead of those segments' rows.

Every detection merges the kept rows of every segment (``segments.py``); a key active all the time has a
row in each segment, so the merge grows with the store's history, not with its keys. A rollup holds, per
raw logon key (and file, with a baseline per file), the count, the first and last time and the first
event of its segments' successes: what the merge takes from them, as long as each row lies wholly on one
side of the baseline's end (all before it: counted in the baseline; all at or after it: the first event
after it is the row's first).

- Which segments: those whose successes lie wholly before the baseline's end, or wholly after it by a
  margin (half the baseline's length, so that the end, which moves with the data, stays behind them for a
  while). A rollup of one side is made when at least ``ROLLUP_SEGMENTS`` such segments are in none; it
  takes in (and replaces) the side's rollups that lie wholly on that side too, unless they hold more
  than ``TAKE_IN`` times the new segments' rows and are fewer than ``SIDE_ROLLUPS``: the cost of making
  one grows with the new rows and the keys, not the history.
- Reading: a rollup is used only if its segments are all in the store unchanged and none of its rows
  lies across the baseline's end (otherwise its segments' own rows are read, as without rollups). The
  failures are never rolled up (kept per minute, they merge to as many rows).
- Rollups are made only by runs that keep their results (``ctx.save``), whether they merged rows or took
  the one pass, under the store's writer lock; a rollup dropped stays an hour for a run still reading it.
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from sekimori.detect.base import DetectContext
from sekimori.detect.segment_tables import digest, sql_str
from sekimori.store import Rollup

ROLLUP_SEGMENTS = 2
# Rollups of a side are taken into its new one when the new segments' rows are at least a quarter of
# theirs, or when the side has this many: a new rollup costs about its rows (not the side's history) and
# a side has few rollups to read.
TAKE_IN = 4
SIDE_ROLLUPS = 4

# The merge of success rows (of segments and of earlier rollups), by raw logon key (and file: ``scope``).
_MERGE = """
SELECT {scope} AS source_file, {keys}, CAST(sum(n) AS BIGINT) AS n, min(tmin) AS tmin, max(tmax) AS tmax,
  arg_min(ev_first, {{'t': tmin, 'u': ev_first.uid}}) AS ev_first
FROM ({rows}) s WHERE outcome = 'success'
GROUP BY {group}
"""


def _merge(keys: str, rows: str, scope: str) -> str:
    group = keys if scope == "''" else f"{scope}, {keys}"  # (a constant is no group)
    return _MERGE.format(keys=keys, rows=rows, scope=scope, group=group)


def rollup_kind(rows_kind: str, keys: str, scope: str) -> str:
    """The rollups' kind: named after the segment rows' kind and the merge (either changing, older
    rollups are never read). ``scope``: the baseline's scope of a row ``s``: with one baseline for all
    files, a rollup's rows are per key alone (file ``''``), so that the logons of many files (rotated
    logs) merge."""
    return f"behaviour_rollup_{digest(rows_kind + _merge(keys, '', scope))}"


class Found(NamedTuple):
    """The rollups a run found: those it reads, and the names of those it does not."""

    usable: list[Rollup]
    unused: list[str]


def use_rollups(
    con: duckdb.DuckDBPyConnection, ctx: DetectContext, kind: str, keys: str, scope: str
) -> Found:
    """Views ``_bh_roll`` (the usable rollups' rows, ``segment`` being the rollup's name) and
    ``_bh_roll_covered`` (the segments they stand for), after ``stage_bounds``. ``scope``: the scope of a
    row ``s`` (its ``_bh_bounds`` row); ``keys``: the raw logon key's columns (``segments.KEY_NAMES``).
    The rollups used are returned, and the names of those found and not used (stale, overlapping,
    across the baseline's end; every one in a full run)."""
    listed = ctx.store.rollups(kind)
    chosen = [] if ctx.full else _disjoint([r for r in listed if r.current])
    usable: list[Rollup] = []
    if chosen:
        _roll_view(con, chosen, keys)
        across = con.execute(
            f"SELECT DISTINCT s.segment FROM _bh_roll s JOIN _bh_bounds b ON b.scope = {scope} "
            "WHERE s.tmax >= b.be AND s.tmin < b.be"
        ).fetchall()
        usable = [r for r in chosen if r.name not in {a[0] for a in across}]
    _roll_view(con, usable, keys)
    covered = sorted(s for r in usable for s in r.segments)
    con.register("_bh_roll_covered_found", pa.table({"segment": pa.array(covered, pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE _bh_roll_covered AS SELECT * FROM _bh_roll_covered_found")
    con.unregister("_bh_roll_covered_found")
    used = {r.name for r in usable}
    return Found(usable, [r.name for r in listed if r.name not in used])


def rows_source() -> str:
    """The rows to merge (after ``use_rollups``): the segments' rows but the successes rollups stand for,
    and the rollups' rows."""
    return (
        "(SELECT * FROM _bh_seg_logons WHERE NOT (outcome = 'success' AND segment IN "
        "(SELECT segment FROM _bh_roll_covered)) UNION ALL BY NAME SELECT * FROM _bh_roll)"
    )


def _disjoint(found: list[Rollup]) -> list[Rollup]:
    """Rollups standing for no segment twice (two runs may each have made one from the same segments):
    the larger first, then by name."""
    chosen: list[Rollup] = []
    taken: set[str] = set()
    for rollup in sorted(found, key=lambda r: (-len(r.segments), r.name)):
        if taken.isdisjoint(rollup.segments):
            chosen.append(rollup)
            taken.update(rollup.segments)
    return sorted(chosen, key=lambda r: r.name)


def _roll_view(con: duckdb.DuckDBPyConnection, chosen: list[Rollup], keys: str) -> None:
    if not chosen:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW _bh_roll AS SELECT segment, source_file, "
            f"{keys}, n, tmin, tmax, ev_first FROM _bh_seg_logons WHERE false"
        )
        return
    names = pa.table({"file": [str(r.path) for r in chosen], "segment": [r.name for r in chosen]})
    con.register("_bh_roll_files", names)
    listing = ", ".join(f"'{sql_str(r.path)}'" for r in chosen)
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _bh_roll AS SELECT f.segment, r.* EXCLUDE (filename) "
        f"FROM read_parquet([{listing}], filename = true) r JOIN _bh_roll_files f ON f.file = r.filename"
    )


def _before(last: str) -> str:
    """Whether rows (or spans) of ``s`` whose last time is ``last`` lie wholly before the baseline's end."""
    return f"bool_and({last} < b.be)"


def _after(first: str) -> str:
    """Whether they lie wholly after it, by half the baseline's length (``first``: their first time)."""
    return f"bool_and(epoch_us({first}) >= epoch_us(b.be) + (epoch_us(b.be) - epoch_us(b.t_min)) // 2)"


def _rows_per_segment(con: duckdb.DuckDBPyConnection, segments: set[str]) -> dict[str, int]:
    """The kept logon rows of these segments, from their files' Parquet metadata."""
    files = con.execute("SELECT file, segment FROM _bh_seg_logons_files").fetchall()
    return {segment: pq.ParquetFile(file).metadata.num_rows for file, segment in files if segment in segments}


def make_rollups(
    con: duckdb.DuckDBPyConnection, ctx: DetectContext, kind: str, keys: str, scope: str, found: Found
) -> int:
    """Roll up the settled segments of each side that no usable rollup stands for, when there are at
    least ``ROLLUP_SEGMENTS`` of them, taking in the rollups of that side (after ``use_rollups``, which
    gave ``found``: the unused rollups are dropped). Only in a run that keeps its results; the number of
    rollups made is returned."""
    if not ctx.save:
        return 0
    store = ctx.store
    for name in found.unused:
        store.drop_rollup(kind, name)
    for other in store.derived_kinds():  # of older code, or the other baseline scope: never read here
        if other.startswith("behaviour_rollup_") and other != kind:
            store.drop_derived(other)
    on = f"JOIN _bh_bounds b ON b.scope = {scope}"
    # A segment's side from its files' spans (a few rows per segment, not its logon rows); the spans
    # hold failures too, so a segment may be judged unsettled where its successes alone were settled.
    spans = con.execute(
        f"SELECT segment, {_before('s.t_max')}, {_after('s.t_min')} "
        f"FROM _bh_seg_spans s {on} WHERE segment NOT IN (SELECT segment FROM _bh_roll_covered) "
        "GROUP BY segment ORDER BY segment"
    ).fetchall()
    sizes = _rows_per_segment(con, {row[0] for row in spans if row[1] or row[2]})
    segments = [(*row, sizes.get(row[0], 0)) for row in spans]
    rolled = con.execute(
        f"SELECT segment, {_before('s.tmax')}, {_after('s.tmin')}, count(*) FROM _bh_roll s {on} "
        "GROUP BY segment ORDER BY segment"
    ).fetchall()
    covers = {r.name: r.segments for r in found.usable}
    made = 0
    for side in (1, 2):  # before, after
        settled = [row[0] for row in segments if row[side]]
        if len(settled) < ROLLUP_SEGMENTS:
            continue
        earlier = [row[0] for row in rolled if row[side] and row[0] in covers]
        new_rows = sum(row[3] for row in segments if row[side])
        old_rows = sum(row[3] for row in rolled if row[0] in earlier)
        if new_rows * TAKE_IN < old_rows and len(earlier) < SIDE_ROLLUPS:
            earlier = []  # a rollup of the new segments alone: few rows beside the side's rollups
        standing = sorted({*settled, *(s for name in earlier for s in covers[name])})
        con.register("_bh_roll_new", pa.table({"segment": pa.array(settled, pa.string())}))
        con.register("_bh_roll_old", pa.table({"segment": pa.array(earlier, pa.string())}))
        rows = " UNION ALL BY NAME ".join(
            f"SELECT * EXCLUDE (segment) FROM {view} WHERE segment IN (SELECT segment FROM {names})"
            for view, names in (("_bh_seg_logons", "_bh_roll_new"), ("_bh_roll", "_bh_roll_old"))
        )
        try:
            with store.rollup_writer(kind, standing) as target:
                con.execute(
                    f"COPY ({_merge(keys, rows, scope)}) TO '{sql_str(target)}' "
                    "(FORMAT parquet, COMPRESSION zstd)"
                )
        finally:
            con.unregister("_bh_roll_new")
            con.unregister("_bh_roll_old")
        for name in earlier:
            store.drop_rollup(kind, name)
        made += 1
    return made
