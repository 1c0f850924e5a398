"""The store's DuckDB views: the three fixed views exist even for an empty store, a derived table cannot
shadow one of them, and the plumbing views (``_…``) are not offered to queries."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from sekimori.ingest import EVENT_SCHEMA, QUARANTINE_SCHEMA
from sekimori.store.views import FILES_SCHEMA, create_store_views, view_names


def test_an_empty_store_has_the_three_views_with_their_schemas(tmp_path: Path) -> None:
    con = duckdb.connect()
    create_store_views(con, [], [], [], {})
    assert con.sql("SELECT * FROM events").to_arrow_table().schema.names == EVENT_SCHEMA.names
    assert con.sql("SELECT * FROM quarantine").to_arrow_table().schema.names == QUARANTINE_SCHEMA.names
    assert con.sql("SELECT * FROM files").to_arrow_table().schema == FILES_SCHEMA
    assert sorted(view_names(con)) == ["events", "files", "quarantine"]


def test_derived_tables_are_views_but_never_replace_a_store_view(tmp_path: Path) -> None:
    alerts, events = tmp_path / "alerts.parquet", tmp_path / "events.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), alerts)
    pq.write_table(pa.table({"y": [3]}), events)
    con = duckdb.connect()
    files = [{"path": "a.log", "digest": "d", "size": 3, "events": 2, "quarantined": 0, "status": "ingested"}]
    create_store_views(con, [], [], files, {"alerts": alerts, "events": events})
    assert con.sql("SELECT sum(x) FROM alerts").fetchall() == [(3,)]
    assert con.sql("SELECT count(*) FROM events").fetchall() == [(0,)]  # still the (empty) event view
    assert con.sql("SELECT path, events FROM files").fetchall() == [("a.log", 2)]
    assert sorted(view_names(con)) == ["alerts", "events", "files", "quarantine"]


def test_a_segment_written_before_a_column_was_added_reads_that_column_as_null(tmp_path: Path) -> None:
    """Stores outlive schema versions: a segment without the identity-provider columns (written before
    they existed) and one with them are read together, by name, with every column of today's schema."""
    old_columns = [n for n in EVENT_SCHEMA.names if n not in ("tenant", "mfa_used", "role")]
    old = pa.table(
        {n: pa.array(["old"] if n == "uid" else [None], EVENT_SCHEMA.field(n).type) for n in old_columns}
    )
    new = pa.table(
        {
            n: pa.array(
                {"uid": ["new"], "tenant": ["t-1"], "mfa_used": [True]}.get(n, [None]),
                EVENT_SCHEMA.field(n).type,
            )
            for n in EVENT_SCHEMA.names
        }
    )
    pq.write_table(old, tmp_path / "old.parquet")
    pq.write_table(new, tmp_path / "new.parquet")
    con = duckdb.connect()
    create_store_views(con, [str(tmp_path / "old.parquet"), str(tmp_path / "new.parquet")], [], [], {})
    rows = con.sql("SELECT uid, tenant, mfa_used, role FROM events ORDER BY uid").fetchall()
    assert rows == [("new", "t-1", True, None), ("old", None, None, None)]
    assert set(con.sql("SELECT * FROM events").columns) == set(EVENT_SCHEMA.names)
