"""The reader pool: its database is kept while the store is unchanged; after an ingest or a replaced
derived table the next use sees the new content; tables registered for one use are gone at the next and
invisible to a use at the same time; pooled connections stay sandboxed and in UTC; many threads at once
each get a cursor of their own; the old database is closed once its last user is done."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from sekimori.store import ReaderPool, Store, store_version


def _log(folder: Path, name: str, hosts: list[str]) -> str:
    """Syslog lines written here: one sshd line per host, so the hosts in the store are known by
    construction."""
    path = folder / name
    path.write_text(
        "".join(
            f"Dec 10 06:55:{i:02d} {h} sshd[{100 + i}]: Accepted password for alice from 10.0.0.{i + 1}"
            f" port 22 ssh2\n"
            for i, h in enumerate(hosts)
        )
    )
    return str(path)


def _hosts(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {h for (h,) in con.execute("SELECT DISTINCT host FROM events").fetchall()}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "store")
    store.ingest([_log(tmp_path, "a.log", ["web1", "web2"])])
    return store


def test_the_database_is_kept_while_the_store_is_unchanged(store: Store) -> None:
    with ReaderPool(store) as pool:
        for _ in range(3):
            with pool.connection() as con:
                assert _hosts(con) == {"web1", "web2"}
        assert pool.opened == 1


def test_an_ingest_is_seen_by_the_next_use(store: Store, tmp_path: Path) -> None:
    with ReaderPool(store) as pool:
        with pool.connection() as before:
            assert _hosts(before) == {"web1", "web2"}
        version = store_version(store)
        store.ingest([_log(tmp_path, "b.log", ["db1"])])
        assert store_version(store) != version
        with pool.connection() as after:
            assert _hosts(after) == {"web1", "web2", "db1"}
        assert pool.opened == 2


def test_a_use_in_progress_keeps_its_version_until_it_ends(store: Store, tmp_path: Path) -> None:
    with ReaderPool(store) as pool:
        with pool.connection() as old:
            store.ingest([_log(tmp_path, "b.log", ["db1"])])
            with pool.connection() as new:
                assert _hosts(new) == {"web1", "web2", "db1"}
            assert _hosts(old) == {"web1", "web2"}  # still open: its database waits for it
        with pytest.raises(duckdb.ConnectionException):
            old.execute("SELECT 1")  # closed with its database when the use ended


def test_a_replaced_derived_table_is_seen_by_the_next_use(store: Store) -> None:
    store.put_table("alerts", pa.table({"alert_id": ["a1"]}))
    with ReaderPool(store) as pool:
        with pool.connection() as con:
            assert con.execute("SELECT list(alert_id) FROM alerts").fetchone() == (["a1"],)
        store.put_table("alerts", pa.table({"alert_id": ["a2", "a3"]}))
        with pool.connection() as con:
            assert con.execute("SELECT list(alert_id ORDER BY alert_id) FROM alerts").fetchone() == (
                ["a2", "a3"],
            )


def test_tables_registered_for_one_use_are_its_own(store: Store) -> None:
    with ReaderPool(store) as pool:
        with pool.connection({"scope": pa.table({"x": [1, 2, 3]})}) as con:
            assert con.execute("SELECT sum(x) FROM scope").fetchone() == (6,)
            with pool.connection({"scope": pa.table({"x": [10]})}) as other:
                assert other.execute("SELECT sum(x) FROM scope").fetchone() == (10,)
            assert con.execute("SELECT sum(x) FROM scope").fetchone() == (6,)
        with pool.connection() as again, pytest.raises(duckdb.CatalogException):
            again.execute("SELECT * FROM scope")
        assert pool.opened == 1


def test_a_pooled_connection_reads_the_store_and_nothing_else(store: Store, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with ReaderPool(store) as pool, pool.connection() as con:
        assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
        with pytest.raises(duckdb.Error):
            con.execute(f"SELECT * FROM read_csv('{secret}')").fetchall()
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute(f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'")
    assert not (tmp_path / "out.csv").exists()


def test_threads_at_once_each_get_a_cursor_of_their_own(store: Store) -> None:
    pool = ReaderPool(store)
    barrier = threading.Barrier(6)
    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def use(n: int) -> None:
        try:
            with pool.connection({"mine": pa.table({"n": [n]})}) as con:
                barrier.wait(timeout=30)  # all six hold one at the same time
                (total,) = con.execute(
                    "SELECT (SELECT n FROM mine) * 100 + count(DISTINCT host) FROM events"
                ).fetchone() or (None,)
                seen.append((n, total))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=use, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(seen) == [(n, n * 100 + 2) for n in range(6)]
    assert pool.opened == 1
    scratch = pool._scratch
    assert scratch is not None
    pool.close()
    assert not os.path.exists(scratch)
    with pool.connection() as con:  # usable again after close: it opens a database again
        assert _hosts(con) == {"web1", "web2"}
    assert pool.opened == 2
    pool.close()


def test_closing_while_in_use_closes_when_the_use_ends(store: Store) -> None:
    pool = ReaderPool(store)
    with pool.connection() as con:
        scratch = pool._scratch
        pool.close()
        assert _hosts(con) == {"web1", "web2"}
    assert scratch is not None and not os.path.exists(scratch)
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")
