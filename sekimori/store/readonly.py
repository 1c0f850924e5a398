"""User SQL is read-only: one SELECT over the store's views, judged on DuckDB's own parse of it.

DuckDB's file sandbox (``allowed_directories``) grants reading *and writing* inside the folders it allows,
so it alone let ``COPY … TO`` overwrite a segment of the store. A query from a user is therefore checked
before it runs, on the syntax tree DuckDB itself would execute (``extract_statements`` and
``json_serialize_sql``, not a second parser that could read the text differently):

- exactly one statement, of type SELECT (``COPY``, ``EXPORT``, ``ATTACH``, ``CREATE``, ``INSERT``, ``SET``,
  ``PRAGMA``, ``CALL``, ``LOAD`` … are statements of other types);
- every table it names is one of the store's views, a CTE of the query, or the read-only catalog schemas
  (a quoted file name such as ``FROM 'x.parquet'`` is a table name too, and is refused);
- every table function it calls is one that computes rows without touching a file or a setting.

The connection it runs on is sandboxed as well (see ``Store.connect``): external access off, the store's
data folders only, a private temporary folder, configuration locked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import duckdb

# Table functions that compute rows from their arguments alone.
SAFE_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest", "json_each", "json_tree"})
CATALOG_SCHEMAS = frozenset({"information_schema", "pg_catalog"})


class QueryRefused(ValueError):
    """The SQL is not a read-only query over the store's views."""


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _cte_names(tree: Any) -> set[str]:
    names: set[str] = set()
    for node in _nodes(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            names.update(str(entry.get("key", "")).lower() for entry in cte_map.get("map", []))
    return names


def check_read_only(con: duckdb.DuckDBPyConnection, query: str, views: Iterable[str]) -> None:
    """Raise :class:`QueryRefused` unless ``query`` is one SELECT that reads only ``views``."""
    statements = con.extract_statements(query)
    if len(statements) != 1:
        raise QueryRefused(f"one statement expected, got {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise QueryRefused(f"only SELECT queries are allowed, not {kind.name}")
    serialized = con.execute("SELECT json_serialize_sql(?)", [query]).fetchall()
    tree = json.loads(serialized[0][0]) if serialized else {"error": True}
    if tree.get("error"):
        # SHOW and similar forms have no plain SELECT tree to judge: not needed over fixed views
        raise QueryRefused(f"only plain SELECT queries are allowed ({tree.get('error_message', 'unparsed')})")
    allowed = {v.lower() for v in views} | _cte_names(tree)
    for node in _nodes(tree):
        if node.get("type") == "BASE_TABLE":
            schema = str(node.get("schema_name") or "").lower()
            name = str(node.get("table_name") or "")
            if schema in CATALOG_SCHEMAS and not node.get("catalog_name"):
                continue
            if schema or node.get("catalog_name") or name.lower() not in allowed:
                raise QueryRefused(f"{name!r} is not one of the store's views ({', '.join(sorted(views))})")
        elif node.get("type") == "TABLE_FUNCTION":
            function = node.get("function") or {}
            name = str(function.get("function_name") or "").lower()
            if name not in SAFE_TABLE_FUNCTIONS or function.get("schema") or function.get("catalog"):
                raise QueryRefused(
                    f"table function {name!r} is not allowed in a query (the store's views are: "
                    f"{', '.join(sorted(views))})"
                )
