"""The DuckDB views over a store's files (``events``, ``quarantine``, ``files``, derived tables) and the
sandbox a connection for user SQL runs in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from sekimori.ingest import EVENT_SCHEMA, QUARANTINE_SCHEMA

# The ``files`` view: one row per file of every manifest (the manifest holds more; these are for queries).
FILES_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("digest", pa.string()),
        ("size", pa.int64()),
        ("events", pa.int64()),
        ("quarantined", pa.int64()),
        ("status", pa.string()),
    ]
)
STORE_VIEWS = ("events", "quarantine", "files")


def sql_str(path: Path | str) -> str:
    return str(path).replace("'", "''")


def create_view(con: duckdb.DuckDBPyConnection, name: str, files: list[str], schema: pa.Schema) -> None:
    con.from_arrow(schema.empty_table()).create(f"_{name}_empty")  # a table: the cursors see it too
    if files:
        # By name, with the schema's own columns added: a segment written before a column was added to
        # the schema reads that column as null, and the view always has every column of the schema.
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listing}], union_by_name = true) "
            f"UNION ALL BY NAME SELECT * FROM _{name}_empty"
        )
    else:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}_empty")


def create_store_views(
    con: duckdb.DuckDBPyConnection,
    event_files: list[str],
    quarantine_files: list[str],
    files: Sequence[Mapping[str, Any]],
    tables: Mapping[str, Path],
) -> None:
    """The views ``events``, ``quarantine`` and ``files``, and one view per derived table."""
    create_view(con, "events", event_files, EVENT_SCHEMA)
    create_view(con, "quarantine", quarantine_files, QUARANTINE_SCHEMA)
    rows = pa.Table.from_pylist(
        [{k: f.get(k) for k in FILES_SCHEMA.names} for f in files], schema=FILES_SCHEMA
    )
    con.register("_files", rows)
    con.execute("CREATE VIEW files AS SELECT * FROM _files")
    for name, path in tables.items():
        if name not in STORE_VIEWS:
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{sql_str(path)}')")


def narrow_events(
    con: duckdb.DuckDBPyConnection, days: tuple[date, date] | None, sources: Iterable[str] | None
) -> None:
    """Make ``events`` hold exactly the events of ``days`` (first, last; UTC days; events without a time
    left out) and of ``sources`` (``source_format`` values). A range over ``time`` (not a cast to a date),
    so that DuckDB skips row groups by their statistics."""
    conditions = []
    if days is not None:
        first, last = days
        end = last + timedelta(days=1)
        conditions.append(
            f"time >= TIMESTAMPTZ '{first.isoformat()} 00:00:00+00' "
            f"AND time < TIMESTAMPTZ '{end.isoformat()} 00:00:00+00'"
        )
    if sources is not None:
        listed = ", ".join(f"'{sql_str(s)}'" for s in sources)
        conditions.append(f"source_format IN ({listed})" if listed else "false")
    if not conditions:
        return
    con.execute("ALTER VIEW events RENAME TO _events_window")
    con.execute(f"CREATE VIEW events AS SELECT * FROM _events_window WHERE {' AND '.join(conditions)}")


def sandbox_connection(con: duckdb.DuckDBPyConnection, folders: Sequence[Path], scratch: str | None) -> None:
    """Let ``con`` read ``folders`` and nothing else: no other files, no writes, no extensions, no network;
    DuckDB's spill files in ``scratch`` (None: no spilling at all)."""
    allowed = ", ".join(f"'{sql_str(str(f.resolve()))}/'" for f in folders)
    con.execute(f"SET temp_directory = '{sql_str(scratch or '')}'")  # '': no spilling at all
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute(f"SET allowed_directories = [{allowed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")  # the query cannot undo the settings above


def view_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The views a query may name (those starting with ``_`` are the store's own plumbing)."""
    rows = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    return [r[0] for r in rows if not r[0].startswith("_")]
