"""Sandboxed read connections over a store, kept open between uses (for a face that serves many requests).

Opening a connection costs tens of milliseconds on a store of many segments: DuckDB binds each view's
Parquet files when the view is created. A face that answers a page in a few tens of milliseconds cannot
pay that per request, so :class:`ReaderPool` keeps one sandboxed database with the views and hands each
use a cursor of it.

The database is only as fresh as the store's version when it was opened: the segments (immutable once
committed, published by a directory rename) and the derived tables (replaced whole, each a new file). The
version is read again at every :meth:`ReaderPool.connection`; when it changed, a new database is opened
and the old one closed once its last user is done, so a reader never sees a store older than the one on
disk when it asked.

Only the caller's own SQL, with bound parameters, should run on a pooled connection: it outlives the
request, so SQL typed by a user runs on a connection of its own (:meth:`Store.sql`,
:func:`sekimori.store.bounded_sql`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from sekimori.store.store import Store

StoreVersion = tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]


def store_version(store: Store) -> StoreVersion:
    """What identifies the store's content: its committed segments by name and each derived table's
    file (inode, size, modification time). Cheap: one directory listing and a stat per table."""
    segments = tuple(p.name for p in store.segments())
    tables = []
    for name, path in store.tables().items():
        try:
            info = path.stat()
        except FileNotFoundError:  # replaced between the listing and the stat: the next call sees it
            continue
        tables.append((name, info.st_ino, info.st_size, info.st_mtime_ns))
    return segments, tuple(tables)


class _Database:
    """One DuckDB database over one version of the store; each use gets a cursor of its own."""

    def __init__(self, version: StoreVersion, con: duckdb.DuckDBPyConnection, scratch: str) -> None:
        self.version, self.con, self.scratch = version, con, scratch
        self.users = 0
        self.retired = False


class ReaderPool:
    """A sandboxed DuckDB database over ``store`` (see :meth:`Store.connect`), opened again when the store
    changes, handing each use a cursor of its own: users at the same time share its views and its memory
    but not their registered tables, results or session state (a cursor is closed after one use)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._current: _Database | None = None
        self._scratch: str | None = None  # made when a database is first opened
        self.opened = 0  # databases opened so far (one per version of the store seen)

    @contextmanager
    def connection(self, tables: Mapping[str, pa.Table] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A sandboxed connection over the store as it is now, with ``tables`` registered under their
        names for this use only."""
        db = self._acquire(store_version(self.store))
        try:
            cursor = db.con.cursor()
            try:
                for name, table in (tables or {}).items():
                    cursor.register(name, table)
                yield cursor
            finally:
                cursor.close()
        finally:
            self._release(db)

    def _acquire(self, version: StoreVersion) -> _Database:
        retired = None
        with self._lock:
            if self._current is None or self._current.version != version:
                # Opened under the lock: users arriving meanwhile need this version too, and wait for it
                # rather than each opening their own.
                if self._scratch is None or not os.path.isdir(self._scratch):
                    self._scratch = tempfile.mkdtemp(prefix="sekimori-pool-")  # mode 0700: this user only
                scratch = tempfile.mkdtemp(prefix="db-", dir=self._scratch)  # DuckDB's spill files
                try:
                    con = self.store.connect(sandbox=True, scratch=scratch)
                except BaseException:
                    shutil.rmtree(scratch, ignore_errors=True)
                    raise
                retired = self._retire(self._current)
                self._current = _Database(version, con, scratch)
                self.opened += 1
            db = self._current
            db.users += 1
        if retired is not None:
            self._close(retired)
        return db

    @staticmethod
    def _retire(db: _Database | None) -> _Database | None:
        """Mark ``db`` as no longer current; it is returned when it can be closed now (no one uses it)."""
        if db is None:
            return None
        db.retired = True
        return db if db.users == 0 else None

    def _release(self, db: _Database) -> None:
        with self._lock:
            db.users -= 1
            done = db.retired and db.users == 0
        if done:
            self._close(db)

    def close(self) -> None:
        """Close the database (a use in progress closes it when it ends) and, unless one is in use, the
        spill folder. The pool stays usable: a later use opens a database again."""
        with self._lock:
            retired = self._retire(self._current)
            self._current = None
            scratch, self._scratch = self._scratch, None
        if retired is not None:
            self._close(retired)
        elif scratch is not None and not os.listdir(scratch):
            os.rmdir(scratch)

    def _close(self, db: _Database) -> None:
        try:
            db.con.close()
        finally:
            shutil.rmtree(db.scratch, ignore_errors=True)
            parent = os.path.dirname(db.scratch)
            with self._lock:  # the spill folder of a closed pool goes with its last database
                if parent != self._scratch and os.path.isdir(parent) and not os.listdir(parent):
                    os.rmdir(parent)

    def __enter__(self) -> ReaderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
