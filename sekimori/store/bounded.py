"""A user's query over the store, bounded: one page of its rows and a time limit, on the same sandboxed
connection and after the same read-only check as :meth:`Store.sql` (for faces that serve many users)."""

from __future__ import annotations

import tempfile
import threading
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from sekimori.store.readonly import QueryRefused, check_read_only

if TYPE_CHECKING:
    from sekimori.store.store import Store


class QueryTimeout(QueryRefused):
    """The query ran longer than it was allowed to (it was interrupted)."""


def bounded_sql(store: Store, query: str, limit: int, offset: int = 0, seconds: float = 10.0) -> pa.Table:
    """Rows ``offset`` to ``offset + limit`` of ``query`` (one SELECT over the store's views, checked as
    :meth:`Store.sql` checks it), interrupted after ``seconds`` (:class:`QueryTimeout`)."""
    with tempfile.TemporaryDirectory(prefix="sekimori-query-") as scratch:  # mode 0700: this user only
        con = store.connect(sandbox=True, scratch=scratch)
        timer = threading.Timer(seconds, con.interrupt)
        try:
            check_read_only(con, query, store.view_names(con))
            timer.start()
            # The limit wraps the query's relation: only the page's rows are ever produced.
            table = con.sql(query).limit(limit, offset).to_arrow_table()
        except duckdb.InterruptException as exc:
            raise QueryTimeout(f"the query ran longer than {seconds:g} s and was stopped") from exc
        finally:
            timer.cancel()
            con.close()
    return table
