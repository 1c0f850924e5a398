"""The store's events cut into batches of bounded size, so a Sigma run's memory stays flat in store size.

Each pass (``engine.run_groups``) materialises the extracted fields of its log source's events in a
temporary table: over the whole store that table grows with the store. Given batches, a pass builds
and drops it once per batch instead, so what it holds at once is bounded by the batch, whatever the
store's size. A Sigma rule judges one event at a time (a source that gives several rows per event
unnests them from one stored row), so the matches of the batches together are those of one pass over
everything; correlations then run over all matches (small) against the whole store.

A batch is a list of row ranges of the store's Parquet files, cut at row group boundaries where they
fit (DuckDB then skips the other row groups on ``file_row_number``) and inside a row group where one
alone is over the bound. Its size is bounded in rows and in uncompressed bytes (the Parquet metadata's
per row group figure, spread evenly over its rows).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow.parquet as pq

from sekimori.detect.sigma.backend import sql_str

# What share of the memory limit one batch's events may take uncompressed: passes run two or more at
# once (one per worker), each holding its batch's extracted fields and DuckDB's working memory besides.
# Each batch plans every pass's rule queries again: smaller batches cost time. At 8x the benchmark's
# corpus (471,920 events, 1 GB limit, nothing else running): unbatched 54 s and 1,204 MB peak; a quarter
# 63 s and 994 MB; an eighth 98 s and 760 MB (benchmarks/detect_scale.py's store).
MEMORY_SHARE = 4
MAX_ROWS = 500_000  # rows a batch holds at most, whatever their size: a row costs beyond its bytes


@dataclass(frozen=True)
class Piece:
    file: str
    start: int  # first row (file_row_number) of the range
    stop: int  # one past its last
    whole: bool = False  # the range is the whole file (no row filter needed)


@dataclass(frozen=True)
class Budget:
    rows: int
    bytes: int

    @classmethod
    def of(cls, memory_bytes: int | None, rows: int | None = None) -> Budget | None:
        """The budget a memory limit allows (``None``: no limit, one batch); ``rows`` caps it further."""
        if memory_bytes is None and rows is None:
            return None
        size = memory_bytes // MEMORY_SHARE if memory_bytes is not None else 1 << 62
        return cls(max(1, MAX_ROWS if rows is None else rows), max(1, size))


def plan(files: Sequence[str], budget: Budget) -> list[list[Piece]]:
    """The files' rows in batches of at most ``budget`` rows and bytes (a batch has one row at least)."""
    batches: list[list[Piece]] = []
    current: list[Piece] = []
    rows = size = 0.0
    for file in files:
        meta = pq.ParquetFile(file).metadata
        first = len(current)
        offset = 0
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            n, per_row = group.num_rows, group.total_byte_size / max(1, group.num_rows)
            at = 0
            while at < n:
                room = min(budget.rows - rows, (budget.bytes - size) // per_row if per_row else n)
                if room < 1:
                    if current:
                        batches.append(current)
                        current, rows, size, first = [], 0.0, 0.0, 0
                        continue
                    room = 1  # a single row over the bound still makes a batch
                take = int(min(room, n - at))
                start = offset + at
                last = current[-1] if len(current) > first else None
                if last is not None and last.file == file and last.stop == start:
                    current[-1] = Piece(file, last.start, start + take)
                else:
                    current.append(Piece(file, start, start + take))
                rows += take
                size += take * per_row
                at += take
            offset += n
        if len(current) > first and current[first].start == 0 and current[first].stop == meta.num_rows:
            current[first] = Piece(file, 0, meta.num_rows, whole=True)
    if current:
        batches.append(current)
    return batches


def batch_sql(pieces: Sequence[Piece], schema: str) -> str:
    """The events of one batch, with the columns of ``schema`` (an empty table shaped as ``events``:
    older files may lack newer columns).

    The whole files are read by one ``read_parquet`` over their list: a union of one scan per file
    holds every scan's buffers at once, and over a store of many small files (one per log source and
    day) ran out of a 1 GB limit on 8,248 events."""
    whole = [p.file for p in pieces if p.whole]
    parts = []
    if whole:
        listing = ", ".join(sql_str(f) for f in whole)
        parts.append(f"SELECT * FROM read_parquet([{listing}], union_by_name = true)")
    for p in pieces:
        if not p.whole:
            parts.append(
                f"SELECT * EXCLUDE (file_row_number) FROM read_parquet({sql_str(p.file)}, "
                f"file_row_number = true) WHERE file_row_number >= {p.start} AND file_row_number < {p.stop}"
            )
    parts.append(f"SELECT * FROM {schema}")
    return " UNION ALL BY NAME ".join(parts)


@contextmanager
def batch_views(
    con: duckdb.DuckDBPyConnection, files: Sequence[str], budget: Budget | None
) -> Iterator[list[str]]:
    """Views over ``con``, one per batch of ``files`` (``None`` budget: one batch), dropped on exit.
    Views, not temporary ones: the passes read them from cursors of ``con``."""
    budget = budget or Budget(1 << 62, 1 << 62)
    tag = uuid.uuid4().hex[:8]
    schema = f"_sigma_schema_{tag}"
    names: list[str] = []
    con.execute(f"CREATE TABLE {schema} AS SELECT * FROM events LIMIT 0")
    try:
        for i, pieces in enumerate(plan(files, budget)):
            name = f"_sigma_batch_{tag}_{i}"
            con.execute(f"CREATE VIEW {name} AS {batch_sql(pieces, schema)}")
            names.append(name)
        yield names or [schema]
    finally:
        for name in names:
            con.execute(f"DROP VIEW IF EXISTS {name}")
        con.execute(f"DROP TABLE IF EXISTS {schema}")
