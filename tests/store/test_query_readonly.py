"""SQL from a user reads the store's views and writes nothing anywhere.

Each query below is an escape a reviewer found or one of its neighbours; the oracle is the file system
itself: every file of the store (and of the working directory) has the same bytes afterwards, none is
added, and the counts the views give are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from sekimori.store import QueryRefused, Store
from tests.conftest import DATA

EVTX = sorted((DATA / "evtx").glob("*.evtx"))


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "store")
    store.ingest([str(p) for p in EVTX[:2]])
    (tmp_path / "store" / "cases.db").write_bytes(b"SQLite format 3\x00 a case database")
    return store


def _escapes(store: Store, tmp_path: Path) -> list[str]:
    segment = Path(store.event_files()[0])
    manifest = segment.parent / "manifest.json"
    root = store.root.resolve()
    return [
        # the reviewer's escapes: rewrite a segment, add a fake segment and manifest, overwrite a case db
        f"COPY (SELECT * FROM events LIMIT 3) TO '{segment}' (FORMAT parquet)",
        f"COPY (SELECT * FROM events) TO '{root / 'segments'}' (FORMAT parquet, PARTITION_BY (channel))",
        f"COPY (SELECT 1 AS files) TO '{manifest}' (FORMAT json)",
        f"COPY (SELECT 'x' AS a) TO '{root / 'cases.db'}'",
        f"ATTACH '{root / 'segments' / 'new.duckdb'}' AS x",
        f"ATTACH '{root / 'tables' / 'new.db'}' (TYPE sqlite)",
        # other writing statements
        f"EXPORT DATABASE '{root / 'segments' / 'export'}'",
        "CREATE TABLE t AS SELECT 1",
        "CREATE TEMP TABLE t AS SELECT 1",
        "CREATE VIEW v AS SELECT 1",
        "CREATE MACRO m() AS 1",
        "INSERT INTO events SELECT * FROM events",
        "DELETE FROM events",
        "DROP VIEW events",
        "SET enable_external_access = true",
        "RESET lock_configuration",
        "PRAGMA enable_profiling",
        "CALL pragma_version()",
        "INSTALL httpfs",
        "LOAD httpfs",
        "CHECKPOINT",
        "SELECT 1; COPY (SELECT 1) TO 'x.csv'",
        f"SELECT * FROM events; COPY (SELECT 1) TO '{root / 'x.csv'}'",
        # reading beyond the views: files by name, table functions, other catalogs
        f"SELECT * FROM '{segment}'",
        f"SELECT * FROM read_parquet('{segment}')",
        f"SELECT * FROM read_blob('{root / 'cases.db'}')",
        f"SELECT * FROM read_text('{root / 'cases.db'}')",
        f"SELECT count(*) FROM events WHERE uid IN (SELECT content FROM read_text('{root / 'cases.db'}'))",
        "SELECT * FROM glob('*')",
        f"SELECT * FROM query('COPY (SELECT 1) TO ''{root / 'q.csv'}''')",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM system.main.events",
        "SUMMARIZE SELECT * FROM read_csv('/etc/passwd')",
        "WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x",
    ]


def test_every_escape_is_refused_and_nothing_in_the_store_changes(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before_store, before_cwd = _snapshot(store.root), _snapshot(tmp_path)
    count = store.sql("SELECT count(*) AS n FROM events").column("n")[0].as_py()
    assert count > 0
    for query in _escapes(store, tmp_path):
        with pytest.raises((QueryRefused, duckdb.Error)):
            store.sql(query)
    assert _snapshot(store.root) == before_store
    assert _snapshot(tmp_path) == before_cwd  # nothing written in the working directory either
    assert store.sql("SELECT count(*) AS n FROM events").column("n")[0].as_py() == count
    assert store.stats()["events"] == count


def test_reading_queries_still_work(store):
    n = store.stats()["events"]
    assert store.sql("SELECT count(*) AS n FROM events").column("n")[0].as_py() == n
    assert (
        store.sql(
            "WITH c AS (SELECT channel, count(*) AS k FROM events GROUP BY ALL) SELECT sum(k) AS n FROM c"
        )
        .column("n")[0]
        .as_py()
        == n
    )
    assert (
        store.sql(
            "WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM t WHERE i < 4) "
            "SELECT sum(i) AS s FROM t"
        )
        .column("s")[0]
        .as_py()
        == 10
    )
    assert store.sql("SELECT sum(range) AS s FROM range(5)").column("s")[0].as_py() == 10
    assert store.sql("SELECT unnest([1, 2]) AS u").column("u").to_pylist() == [1, 2]
    assert store.sql("DESCRIBE events").num_rows > 30
    files = store.sql("SELECT path FROM files ORDER BY path").column("path").to_pylist()
    assert files == sorted(str(p) for p in EVTX[:2])


def test_a_sorting_query_spills_into_a_private_folder_never_the_working_directory(store, tmp_path):
    # DuckDB spills to '.tmp' under the working directory by default (readable and writable by the query)
    script = tmp_path / "ask.py"
    script.write_text(
        "import sys\nfrom sekimori.store import Store\n"
        "t = Store(sys.argv[1]).sql(\"SELECT current_setting('temp_directory') AS d\")\n"
        "print(t.column('d')[0].as_py())\n"
    )
    work = tmp_path / "cwd"
    work.mkdir()
    out = subprocess.run(
        [sys.executable, str(script), str(store.root)], cwd=work, capture_output=True, text=True, check=True
    )
    scratch = Path(out.stdout.strip())
    assert scratch.name.startswith("sekimori-query-") and not scratch.is_relative_to(work)
    assert not scratch.exists()  # removed once the query is done
    assert list(work.iterdir()) == []


def test_the_query_command_refuses_with_one_line(store, tmp_path):
    from typer.testing import CliRunner

    from sekimori.cli import app

    segment = store.event_files()[0]
    result = CliRunner().invoke(
        app, ["query", "--store", str(store.root), f"COPY (SELECT 1) TO '{segment}' (FORMAT parquet)"]
    )
    assert result.exit_code == 2
    assert "query refused: only SELECT queries are allowed, not COPY" in " ".join(result.output.split())
    assert os.path.getsize(segment) > 1000
