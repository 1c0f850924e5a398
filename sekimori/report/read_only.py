"""Which logged statements may be re-run: a plain read, checked with sqlglot (PostgreSQL dialect) and
rewritten so that its result names the people it returns (:mod:`sekimori.report.replay` runs it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp


class RefusedStatement(ValueError):
    """The statement is not a plain read: it is not executed."""


# Functions sqlglot does not type (exp.Anonymous) that are plain, side-effect-free computations; any
# other untyped function (pg_sleep, dblink, lo_export, set_config, nextval, query_to_xml, user-defined
# functions, …) refuses the statement unless the caller allows it by name.
SAFE_FUNCTIONS = frozenset(
    {
        "age", "array_length", "array_to_string", "array_position", "btrim", "char_length",
        "character_length", "concat_ws", "date_part", "encode", "decode", "format", "initcap",
        "json_build_object", "jsonb_build_object", "json_extract_path_text", "jsonb_extract_path_text",
        "lpad", "rpad", "md5", "octet_length", "regexp_matches", "regexp_split_to_array",
        "row_to_json", "split_part", "string_to_array", "to_json", "to_jsonb", "translate", "unnest",
        "to_char", "to_date", "to_timestamp", "to_number", "justify_days", "date_trunc", "left", "right",
        "strpos", "position", "lower", "upper", "length", "substr", "substring", "replace", "concat",
    }
)  # fmt: skip


def _forbidden_nodes() -> tuple[type[exp.Expression], ...]:
    from sqlglot import exp

    names = (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command", "Set", "Transaction",
        "Commit", "Rollback", "Copy", "Grant", "Revoke", "TruncateTable", "Use", "Pragma", "Analyze",
        "Into", "Lock", "LoadData", "Cache", "Uncache", "Refresh",
    )  # fmt: skip
    return tuple(getattr(exp, n) for n in names if isinstance(getattr(exp, n, None), type))


def check_read_only(sql: str, allow_functions: Iterable[str] = ()) -> exp.Query:
    """The statement as a query that only reads, or :class:`RefusedStatement`.

    Accepted: one ``SELECT`` (with ``WITH``, set operations), or ``COPY (SELECT …) TO STDOUT`` /
    ``COPY table [(columns)] TO STDOUT`` (as the equivalent ``SELECT``). Refused: anything else, more
    than one statement, data-modifying ``WITH``, ``SELECT … INTO``, ``FOR UPDATE/SHARE``, parameters
    (``$1``), functions outside :data:`SAFE_FUNCTIONS` and ``allow_functions``, and what does not parse.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        parsed = [p for p in sqlglot.parse(sql, read="postgres") if p is not None]
    except SqlglotError as err:
        raise RefusedStatement(f"does not parse: {type(err).__name__}") from None
    if len(parsed) != 1:
        raise RefusedStatement(f"{len(parsed)} statements, expected one")
    node = parsed[0]
    if isinstance(node, exp.Copy):
        node = _copy_as_select(node)
    if not isinstance(node, exp.Query):
        raise RefusedStatement(f"not a SELECT: {node.key.upper()}")
    allowed = SAFE_FUNCTIONS | {f.lower() for f in allow_functions}
    forbidden = _forbidden_nodes()
    for n in node.walk():
        if isinstance(n, forbidden):
            raise RefusedStatement(f"not a plain read: {n.key.upper()}")
        if isinstance(n, exp.Select) and (n.args.get("into") or n.args.get("locks")):
            raise RefusedStatement("SELECT … INTO or FOR UPDATE/SHARE")
        if isinstance(n, exp.Placeholder | exp.Parameter):
            raise RefusedStatement("has parameters ($n): the logged values are not replayed")
        if isinstance(n, exp.Anonymous) and n.name.lower() not in allowed:
            raise RefusedStatement(f"function {n.name!r} is not on the replay allow-list")
    return node


def _copy_as_select(node: exp.Copy) -> exp.Query | exp.Expression:
    from sqlglot import exp

    files = node.args.get("files") or []
    to_stdout = node.args.get("kind") is False and len(files) == 1 and files[0].name.lower() == "stdout"
    params = node.args.get("params") or []
    if not to_stdout or any(p.name.lower() == "program" for p in params):
        raise RefusedStatement("COPY other than COPY … TO STDOUT")
    source = node.this
    if isinstance(source, exp.Subquery) and isinstance(source.this, exp.Query):
        return source.this
    if isinstance(source, exp.Schema) and isinstance(source.this, exp.Table):
        columns: list[exp.Expression] = [exp.column(c.name) for c in source.expressions] or [exp.Star()]
        return exp.select(*columns).from_(source.this.copy())
    if isinstance(source, exp.Table):
        return exp.select("*").from_(source.copy())
    raise RefusedStatement("COPY of something other than a query or a table")


def _same_table(node: exp.Table, table: str) -> bool:
    parts = [p.strip('"').lower() for p in table.split(".")]
    if node.name.lower() != parts[-1]:
        return False
    return len(parts) < 2 or not node.db or node.db.lower() == parts[-2]


def listing_sql(query: exp.Query, table: str, key: str) -> tuple[str, list[str]] | str:
    """The SQL to run and the result columns that hold the person keys, or why the rows of ``table``
    cannot be listed from the result (the caller then looks for ``key`` among the result's columns)."""
    from sqlglot import exp

    if not isinstance(query, exp.Select):
        return "a set operation: its rows are listed only when they hold the key column"
    if (
        query.args.get("group")
        or query.args.get("having")
        or any(
            isinstance(n, exp.AggFunc) and not n.find_ancestor(exp.Window)
            for p in query.expressions
            for n in p.walk()
        )
    ):
        return "an aggregate: the result holds no rows of people"
    sources = [query.args.get("from_"), *(query.args.get("joins") or [])]
    tables = [s.this for s in sources if s is not None and isinstance(s.this, exp.Table)]
    hits = [t for t in tables if _same_table(t, table)]
    if not hits:
        return "the table is read inside a subquery or view"
    # Appending the key keeps the statement's rows (and ORDER BY positions): one key per row returned.
    listing = query.copy()
    names = []
    for i, t in enumerate(hits):
        name = f"__sekimori_key_{i}"
        listing.select(exp.column(key, table=t.alias_or_name).as_(name), copy=False)
        names.append(name)
    return listing.sql(dialect="postgres"), names
