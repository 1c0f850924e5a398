"""Per-segment aggregates a detector computes once from each segment's events and reads back instead of
the events: the trust-boundary rules' edges (``edges.py``), the behaviour analytics' logon groups
(``behaviour/segments.py``).

A segment is immutable, so what one SQL query gives over its events stays right as long as the segment is
there unchanged: it is kept as the segment's derived file (``STORE/derived/<kind>/``, see
:mod:`sekimori.store.derived`) and a later run computes only the segments that have none. A kind's name
ends in a digest of its SQL, so files computed by older code are never read (and are dropped).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa

from sekimori.detect.base import DetectContext
from sekimori.store import Store


@dataclass(frozen=True)
class SegmentTable:
    """One per-segment aggregate: the view it is read through, and the SQL over one segment's ``events``."""

    view: str  # the view made on the run's connection, with a ``segment`` column first
    family: str  # the kind's name without its digest: older digests of a family are dropped
    sql: str

    @property
    def kind(self) -> str:
        return f"{self.family}_{digest(self.sql)}"


# Another engine's aggregation (``sekimori.spark``): given the segments to compute and the tables (family,
# SQL over one segment's ``events``), each segment's name and its rows of each table, by family.
SegmentRows = Callable[[list[str], Sequence[tuple[str, str]]], Iterable[tuple[str, Mapping[str, pa.Table]]]]


def digest(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()[:12]


def segment_tables(
    ctx: DetectContext, tables: list[SegmentTable], aggregate: SegmentRows | None = None
) -> list[str]:
    """Create each table's view on the detection's connection from every segment's kept file, computing
    the files first for the segments that have none (``ctx.full``: for every segment), each over a
    connection whose ``events`` holds that segment alone (``ctx.connect_segments``). ``ctx.save``: keep
    the new files in the store (under its writer lock); otherwise they are written to the run's scratch
    folder and live as long as it does. ``aggregate``: the new segments' rows come from there (another
    engine), written as DuckDB's own would be (same columns, types and writer). The segments computed
    now are returned."""
    con, store, connect, save, full = ctx.con, ctx.store, ctx.connect_segments, ctx.save, ctx.full
    scratch = ctx.scratch()
    segments = [p.name for p in store.segments()]
    found: dict[str, dict[str, Path]] = {t.kind: {} if full else store.derived_files(t.kind) for t in tables}
    todo = [s for s in segments if any(s not in found[t.kind] for t in tables)]
    folder = Path(scratch)

    def keep(table: SegmentTable, segment: str, write: Callable[[Path], None]) -> None:
        if save:
            with store.derived_writer(table.kind, segment) as target:
                write(target)
        else:
            found[table.kind][segment] = folder / f"{segment}.{table.kind}.parquet"
            write(found[table.kind][segment])

    if aggregate is not None and todo:
        schemas = {t.family: row_schema(store, t.sql) for t in tables}
        done = []
        for segment, rows in aggregate(todo, [(t.family, t.sql) for t in tables]):
            for table in tables:
                keep(table, segment, partial(_copy_rows, con, rows[table.family], schemas[table.family]))
            done.append(segment)
        if sorted(done) != sorted(todo):
            raise RuntimeError(f"the rows of {len(todo)} segments asked for, {len(done)} given")
    for segment in todo if aggregate is None else []:
        sub = connect([segment])
        try:
            for table in tables:
                keep(table, segment, partial(_copy, sub, table.sql))
        finally:
            sub.close()
    if save:
        if todo:  # where the new files were published
            found = {t.kind: store.derived_files(t.kind) for t in tables}
        _tidy(store, tables)
    for table in tables:
        files = found[table.kind]
        _view(con, table.view, [(s, files[s]) for s in segments], table.sql)
    return todo


def _tidy(store: Store, tables: list[SegmentTable]) -> None:
    """Drop the files of segments gone or rewritten, and every kind older code of a family computed."""
    current: Mapping[str, str] = {t.family: t.kind for t in tables}
    for table in tables:
        store.prune_derived(table.kind)
    for kind in store.derived_kinds():
        family = kind.rsplit("_", 1)[0]
        if family in current and kind != current[family]:
            store.drop_derived(kind)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path) -> None:
    con.execute(f"COPY ({sql}) TO '{sql_str(target)}' (FORMAT parquet, COMPRESSION zstd)")


def row_schema(store: Store, sql: str) -> pa.Schema:
    """The Arrow schema of ``sql``'s rows as DuckDB gives them (over the store's event view with no
    segment: the same column types, no event read)."""
    con = store.connect(segments=[])
    try:
        return con.sql(f"SELECT * FROM ({sql}) LIMIT 0").to_arrow_table().schema
    finally:
        con.close()


def as_duckdb_rows(rows: pa.Table, schema: pa.Schema) -> pa.Table:
    """Another engine's rows in DuckDB's types (``row_schema``), refused unless they have its columns."""
    if rows.column_names != schema.names:
        raise ValueError(f"columns {rows.column_names} are not {schema.names}")
    return rows.cast(schema)


def _copy_rows(con: duckdb.DuckDBPyConnection, rows: pa.Table, schema: pa.Schema, target: Path) -> None:
    """Another engine's rows written as :func:`_copy` writes DuckDB's: same columns, types and format."""
    con.register("_segment_rows", as_duckdb_rows(rows, schema))
    try:
        _copy(con, "SELECT * FROM _segment_rows", target)
    finally:
        con.unregister("_segment_rows")


def sql_str(path: Path | str) -> str:
    return str(path).replace("'", "''")


def _view(con: duckdb.DuckDBPyConnection, name: str, files: list[tuple[str, Path]], sql: str) -> None:
    if not files:  # an empty store: the same columns, from its empty ``events``
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT NULL::VARCHAR AS segment, * FROM ({sql})")
        return
    con.register(
        f"{name}_files", pa.table({"file": [str(p) for _, p in files], "segment": [s for s, _ in files]})
    )
    listing = ", ".join(f"'{sql_str(p)}'" for _, p in files)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT f.segment, r.* EXCLUDE (filename) "
        f"FROM read_parquet([{listing}], filename = true) r JOIN {name}_files f ON f.file = r.filename"
    )
