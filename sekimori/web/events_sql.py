"""The read-only SQL face of the events page, for those who see every organisation: one SELECT over the
store's views, checked here on sqlglot's parse and again by the store on DuckDB's own, bounded in rows and
time, and recorded in the audit trail (refused queries too)."""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp
from starlette.responses import Response
from starlette.routing import Route

from sekimori.store import QueryRefused, bounded_sql
from sekimori.web.guard import Ctx, guarded
from sekimori.web.i18n import add_messages
from sekimori.web.pages import page_number

add_messages(
    {
        "ev_sql": ("SQL query", "SQLクエリ"),
        "ev_sql_help": (
            "One SELECT (or WITH … SELECT) over the store's views: events, quarantine, files, alerts. "
            "Read-only; at most {cap} rows, stopped after {seconds} s. Every query is recorded in the "
            "audit trail.",
            "ストアのビュー(events、quarantine、files、alerts)に対する SELECT(または WITH … SELECT)1文のみ。"
            "読み取り専用で、最大 {cap} 行、{seconds} 秒で打ち切ります。"
            "すべてのクエリは監査証跡に記録されます。",
        ),
        "ev_run": ("Run", "実行"),
        "ev_refused": ("The query was refused:", "クエリは拒否されました:"),
        "ev_rows": ("rows", "行"),
        "ev_capped": ("The result is cut at the row cap.", "結果は行数の上限で打ち切られています。"),
    }
)

SQL_PAGE = 100
SQL_ROW_CAP = 10_000  # rows a query may page through
SQL_SECONDS = 10.0
MAX_SQL = 20_000

# Functions that read files, URLs, settings or run SQL given as text; any other table function is refused
# too (only those that compute rows from their arguments are let through).
_READING_FUNCTIONS = frozenset(
    {
        "glob",
        "query",
        "query_table",
        "getenv",
        "current_setting",
        "sniff_csv",
        "parquet_scan",
        "load",
        "install",
    }
)
_SAFE_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
_VIEW_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFUSED_NODES: tuple[type[Any], ...] = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Copy,
    exp.Attach,
    exp.Detach,
    exp.Pragma,
    exp.Set,
    exp.Command,
    exp.Use,
    exp.Into,
    exp.Lock,
)


def _function_name(node: Any) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.sql_name().lower() if isinstance(node, exp.Func) else ""


def check_select(query: str) -> None:
    """Raise :class:`QueryRefused` unless ``query`` is one SELECT (or WITH … SELECT, or a set operation
    of SELECTs) that reads no file, URL or setting. The store checks it again on DuckDB's own parse."""
    try:
        statements = [s for s in sqlglot.parse(query, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        # the parser's message carries terminal colour codes and the query again: the first line only
        raise QueryRefused(f"the query does not parse: {str(exc).splitlines()[0][:200]}") from None
    if len(statements) != 1:
        raise QueryRefused(f"one statement expected, got {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Select | exp.Union | exp.Intersect | exp.Except):
        raise QueryRefused(f"only SELECT queries are allowed, not {tree.key.upper()}")
    for node in tree.walk():
        if isinstance(node, _REFUSED_NODES):
            raise QueryRefused(f"{node.key.upper()} is not allowed in a query")
        name = _function_name(node)
        if name.startswith("read_") or name in _READING_FUNCTIONS:
            raise QueryRefused(f"function {name} is not allowed in a query")
        if isinstance(node, exp.Table):
            source = node.this
            if isinstance(source, exp.Func):
                if _function_name(source) not in _SAFE_TABLE_FUNCTIONS:
                    raise QueryRefused(f"table function {_function_name(source)} is not allowed in a query")
            # A quoted file name ('/etc/passwd', 'x.parquet') is a table name to the parser: a view's name is
            # a plain word, unqualified.
            elif node.args.get("db") or node.args.get("catalog") or not _VIEW_NAME.fullmatch(node.name):
                raise QueryRefused(f"{node.sql(dialect='duckdb')[:80]} is not one of the store's views")


def _sql_page(ctx: Ctx, query: str, number: int, message: str, status: int = 200, **result: Any) -> Response:
    return ctx.render(
        "events_sql.html.j2",
        status=status,
        query=query,
        page=number,
        message=message,
        columns=result.get("columns", []),
        rows=result.get("rows", []),
        more=result.get("more", False),
        capped=result.get("capped", False),
        help=ctx.t("ev_sql_help").format(cap=f"{SQL_ROW_CAP:,}", seconds=f"{SQL_SECONDS:g}"),
    )


def _sees_all(ctx: Ctx) -> bool:
    # SQL reaches every row of every view: a reader scoped to some organisations would read the others'
    # events and alerts through it, so only those who see every organisation may use it.
    return ctx.account is not None and ctx.account.sees_all


@guarded("query")
def sql_form(ctx: Ctx) -> Response:
    if not _sees_all(ctx):
        return ctx.error(403, "forbidden")
    return _sql_page(ctx, "", 1, "")


@guarded("query")
def sql_run(ctx: Ctx) -> Response:
    if not _sees_all(ctx):
        return ctx.error(403, "forbidden")
    assert ctx.account is not None
    query = ctx.form.get("sql", "")[:MAX_SQL]
    number = min(page_number(ctx.form.get("page")), SQL_ROW_CAP // SQL_PAGE)
    try:
        check_select(query)
    except QueryRefused as exc:
        ctx.web.accounts.audit_event(
            ctx.account.principal, "web.sql", {"sql": query, "page": number, "refused": str(exc)}
        )
        return _sql_page(ctx, query, number, str(exc), status=400)
    ctx.web.accounts.audit_event(ctx.account.principal, "web.sql", {"sql": query, "page": number})
    offset = (number - 1) * SQL_PAGE
    try:
        # one row more than the page: whether there is a next page
        table = bounded_sql(ctx.web.alerts.store, query, SQL_PAGE + 1, offset, SQL_SECONDS)
    except QueryRefused as exc:
        return _sql_page(ctx, query, number, str(exc), status=400)
    except Exception as exc:  # DuckDB's own errors (a column not found…): said to the user, not a 500
        return _sql_page(ctx, query, number, f"{type(exc).__name__}: {str(exc)[:500]}", status=400)
    rows = [[_cell(v) for v in row.values()] for row in table.slice(0, SQL_PAGE).to_pylist()]
    more = table.num_rows > SQL_PAGE
    return _sql_page(
        ctx,
        query,
        number,
        "",
        columns=table.column_names,
        rows=rows,
        more=more and offset + SQL_PAGE < SQL_ROW_CAP,
        capped=more and offset + SQL_PAGE >= SQL_ROW_CAP,
    )


def _cell(value: Any) -> str:
    return "" if value is None else str(value)[:1000]


ROUTES = [
    Route("/events/sql", sql_form, methods=["GET"]),
    Route("/events/sql", sql_run, methods=["POST"]),
]
