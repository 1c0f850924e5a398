"""The trust-boundary rules' per-segment edges on Spark: the DuckDB detector's own SQL
(``sekimori/detect/edges.py`` SEGMENT_EDGES_SQL, SEGMENT_PAIRS_SQL) with a ``segment`` column added to
every SELECT, transpiled by sqlglot (``dialect.to_spark``), so one job aggregates the events of many
segments at once and its rows are split by segment on the driver.

The rows come back to the driver (edges are groups, far fewer than events) and the detector writes them
as the store's derived files, as DuckDB's own would be (same columns and types, same Parquet writer):
both engines then read the same files, and the judging over them stays on the driver, in DuckDB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from sekimori.detect import BOUNDARY_EDGES_SQL, BOUNDARY_PAIRS_SQL
from sekimori.spark.dialect import to_spark
from sekimori.spark.events import event_schema_ddl

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from sekimori.store import Store

VIEW = "_boundary_events"
SEGMENT = "segment"
# A job's segments: up to this many events (a segment holds up to SEGMENT_ROWS, 1 M) and segments, so
# that the rows one job brings back to the driver stay bounded and its plan (a union of one scan per
# segment) small, while each job still has many input splits.
BATCH_EVENTS = 8_000_000
BATCH_SEGMENTS = 64


# Letters Java lower-/upper-cases otherwise than DuckDB (per code point, no context): İ to "i̇", a final
# Σ to ς, ß to "SS". Each is mapped first to the letter DuckDB's own case mapping gives it, which both
# then keep, so the query means the same on DuckDB and gives DuckDB's result on Spark. (Left: Java's
# expansions of ligatures, ﬆ to "ST", and letters newer than DuckDB's Unicode tables.)
_BEFORE_LOWER = ("İΣ", "iσ")
_BEFORE_UPPER = ("ß", "ẞ")


def _case_as_duckdb(node: exp.Expression) -> exp.Expression:
    for kind, (letters, mapped) in ((exp.Lower, _BEFORE_LOWER), (exp.Upper, _BEFORE_UPPER)):
        if isinstance(node, kind):
            arg = exp.Anonymous(
                this="translate",
                expressions=[node.this.copy(), exp.Literal.string(letters), exp.Literal.string(mapped)],
            )
            return kind(this=arg)
    return node


def per_segment_sql(duckdb_sql: str, table: str = VIEW) -> str:
    """A query over ``events`` (DuckDB SQL) with ``segment`` added to every SELECT (so grouped by, kept
    distinct by, as any other column), reading ``table``, its case mappings written to give DuckDB's
    result on Spark too; still DuckDB SQL, meaning the same on DuckDB."""
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    for select in list(tree.find_all(exp.Select)):
        select.select(exp.column(SEGMENT), copy=False)
        group = select.args.get("group")
        if group is not None and not group.args.get("all"):  # GROUP BY ALL takes it in already
            select.group_by(exp.column(SEGMENT), copy=False)
    for source in tree.find_all(exp.Table):
        if source.name == "events":
            source.set("this", exp.to_identifier(table))
    tree = tree.transform(_case_as_duckdb)
    return tree.sql(dialect="duckdb")


# The boundary rules' tables: (family, DuckDB SQL over one segment's ``events``).
BOUNDARY_TABLES = (("boundary_edges", BOUNDARY_EDGES_SQL), ("boundary_pairs", BOUNDARY_PAIRS_SQL))


def segment_batches(
    store: Store, segments: list[str], limit: int = BATCH_EVENTS
) -> list[tuple[list[str], int]]:
    """``segments`` in runs of up to ``limit`` events (a larger segment alone) and BATCH_SEGMENTS
    segments, each with its events (counted from the manifests)."""
    counts = store.segment_events()
    batches: list[tuple[list[str], int]] = []
    for segment in segments:
        events = counts.get(segment, 0)
        if not batches or batches[-1][1] + events > limit or len(batches[-1][0]) == BATCH_SEGMENTS:
            batches.append(([], 0))
        batches[-1][0].append(segment)
        batches[-1] = (batches[-1][0], batches[-1][1] + events)
    return batches


@dataclass(frozen=True)
class EdgesBatch:
    """One Spark job's segments, their events, the edge and pair rows it gave, and its seconds."""

    segments: list[str]
    events: int
    rows: int
    seconds: float


def spark_segment_aggregates(
    spark: SparkSession,
    store: Store,
    segments: list[str],
    on_batch: Callable[[EdgesBatch], None] | None = None,
    limit: int = BATCH_EVENTS,
    tables: Sequence[tuple[str, str]] = BOUNDARY_TABLES,
) -> Iterator[tuple[str, dict[str, pa.Table]]]:
    """Each segment's name and rows of each of ``tables`` (family, DuckDB SQL over one segment's
    ``events``; default: the boundary rules' edges and pairs), computed by Spark (a ``SegmentRows``), one
    job per run of segments (``segment_batches``); ``on_batch`` is told of each."""
    from pyspark.sql import functions as F

    queries = {family: to_spark(per_segment_sql(sql)) for family, sql in tables}
    for batch, events in segment_batches(store, segments, limit):
        started = time.perf_counter()
        # Each segment's files read with its name as a constant column (cheaper than taking it out
        # of each row's file name), the segments' frames one union.
        frames = [
            spark.read.schema(event_schema_ddl()).parquet(*files).withColumn(SEGMENT, F.lit(segment))
            for segment in batch
            if (files := store.event_files([segment]))
        ]
        empty = f"{event_schema_ddl()}, `{SEGMENT}` STRING"
        frame = frames[0] if frames else spark.createDataFrame([], empty)
        for other in frames[1:]:
            frame = frame.unionByName(other)
        frame.createOrReplaceTempView(VIEW)
        try:
            found = {family: spark.sql(query).toArrow() for family, query in queries.items()}
        finally:
            spark.catalog.dropTempView(VIEW)
        if on_batch is not None:
            rows = sum(t.num_rows for t in found.values())
            on_batch(EdgesBatch(batch, events, rows, time.perf_counter() - started))
        for segment in batch:
            yield segment, {family: _of(rows, segment) for family, rows in found.items()}


def _of(table: pa.Table, segment: str) -> pa.Table:
    """The rows of one segment, without the ``segment`` column."""
    rows = table.filter(pc.equal(table[SEGMENT], segment))
    return rows.drop_columns([SEGMENT])
