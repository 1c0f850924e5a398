"""The events page: a filter form over the store's events, paged on the server (the read-only SQL face
for those who see every organisation is :mod:`sekimori.web.events_sql`).

Which organisations an event belongs to: those the group model gives its hosts by name (``host``,
``src_host``, ``target_host``: :meth:`GroupModel.classify_host`), by address (``src_ip``, ``target_ip``)
and its account (``principal`` with ``domain`` and ``principal_sid``: :meth:`GroupModel.classify_account`),
the same rule the alert pages use. A scoped reader sees an event that involves one of their
organisations; an event no organisation claims (or any event, when the app has no model) is shown to
admins and auditors only. The model is asked once per distinct value of the store's events, kept as
small tables joined in SQL; the filters are bound parameters, never text in the query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from starlette.responses import Response
from starlette.routing import Route

from sekimori.store import store_version
from sekimori.web.guard import Ctx, guarded
from sekimori.web.i18n import add_messages
from sekimori.web.pages import MAX_TEXT, page_number, paging, parse_time

if TYPE_CHECKING:
    import duckdb

    from sekimori.model import GroupModel
    from sekimori.store import ReaderPool, Store
    from sekimori.web.accounts import Account

add_messages(
    {
        "events": ("Events", "イベント"),
        "ev_format": ("Log format", "ログ形式"),
        "ev_event": ("Event id or activity", "イベントID・アクティビティ"),
        "ev_activity": ("Activity", "アクティビティ"),
        "ev_outcome": ("Outcome", "結果"),
        "ev_source_host": ("Source", "送信元"),
        "ev_target": ("Target", "宛先"),
        "ev_detail": ("Process / command / object", "プロセス・コマンド・対象"),
        "ev_none": ("No events match.", "条件に合うイベントはありません。"),
    }
)

PAGE_SIZE = 50
_FILTERS = ("since", "until", "source", "host", "account", "event", "q")
_HOST_COLUMNS = ("host", "src_host", "target_host")
_IP_COLUMNS = ("src_ip", "target_ip")
_SHOWN = (
    "uid, time, source_format, event_code, activity, outcome, host, principal, domain, src_host, src_ip,"
    " target_host, process, command_line, object"
)


@dataclass(frozen=True)
class EventFilter:
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None  # source_format, exactly
    host: str | None = None  # host, src_host or target_host, case-insensitively
    account: str | None = None  # principal, case-insensitively
    event: str | None = None  # event_code or activity, exactly (activity case-insensitively)
    text: str | None = None  # a substring of the process, command line, object or raw record


def event_filter(params: dict[str, str]) -> EventFilter:
    def text(key: str) -> str | None:
        return (params.get(key) or "").strip()[:MAX_TEXT] or None

    return EventFilter(
        since=parse_time(params.get("since")),
        until=parse_time(params.get("until")),
        source=text("source"),
        host=text("host"),
        account=text("account"),
        event=text("event"),
        text=text("q"),
    )


# (store root, its event files, the model) → the attribution tables; recomputed when ingest adds files.
_ATTRIBUTION: dict[tuple[str, tuple[str, ...], int], dict[str, pa.Table]] = {}
_ATTRIBUTION_LOCK = threading.Lock()


def _attribution_key(store: Store, model: GroupModel | None) -> tuple[str, tuple[str, ...], int]:
    return (str(store.root.resolve()), tuple(store.event_files()), id(model))


def attribution(store: Store, model: GroupModel | None) -> dict[str, pa.Table]:
    """``host_org`` (name, org), ``ip_org`` (address, org) and ``account_org`` (principal, domain, sid,
    org): each distinct value of the events that the model gives an organisation."""
    key = _attribution_key(store, model)
    files = key[1]
    with _ATTRIBUTION_LOCK:
        if key in _ATTRIBUTION:
            return _ATTRIBUTION[key]
    if model is None or not files:
        tables = {
            "host_org": _PAIR.empty_table(),
            "ip_org": _PAIR.empty_table(),
            "account_org": _ACCOUNT.empty_table(),
        }
    else:
        tables = _classified(store, model)
    with _ATTRIBUTION_LOCK:
        _ATTRIBUTION.clear()  # one store per app: the previous version is not needed again
        _ATTRIBUTION[key] = tables
    return tables


def _classified(store: Store, model: GroupModel) -> dict[str, pa.Table]:
    """Each distinct host name, address and account of the events with the organisation the model gives
    it, classified in DuckDB by the model's SQL macros (:func:`sekimori.model.register_model`, which
    classify as the model's Python does) rather than one Python call per value."""
    from sekimori.model import register_model

    hosts = " UNION ".join(f"SELECT {c} AS v FROM events WHERE {c} IS NOT NULL" for c in _HOST_COLUMNS)
    ips = " UNION ".join(f"SELECT {c} AS v FROM events WHERE {c} IS NOT NULL" for c in _IP_COLUMNS)
    queries = {
        "host_org": f"SELECT v, model.host_org(v, NULL) AS org FROM ({hosts})",
        "ip_org": f"SELECT v, model.host_org(NULL, v) AS org FROM ({ips})",
        "account_org": """SELECT principal, domain, principal_sid AS sid,
                                 model.account_org(principal, domain, principal_sid) AS org
                          FROM (SELECT DISTINCT principal, domain, principal_sid FROM events
                                WHERE principal IS NOT NULL)""",
    }
    schemas = {"host_org": _PAIR, "ip_org": _PAIR, "account_org": _ACCOUNT}
    con = store.connect()  # our own SQL over the store; no user input in it
    try:
        register_model(con, model)
        return {
            name: con.sql(f"SELECT * FROM ({query}) WHERE org IS NOT NULL")
            .to_arrow_table()
            .cast(schemas[name])
            for name, query in queries.items()
        }
    finally:
        con.close()


_PAIR = pa.schema([("v", pa.string()), ("org", pa.string())])
_ACCOUNT = pa.schema(
    [("principal", pa.string()), ("domain", pa.string()), ("sid", pa.string()), ("org", pa.string())]
)


# The scope of a reader assigned to organisations: the attribution tables cut to their organisations.
_SCOPE = (
    *(f"e.{c} IN (SELECT v FROM my_hosts)" for c in _HOST_COLUMNS),
    *(f"e.{c} IN (SELECT v FROM my_ips)" for c in _IP_COLUMNS),
    "EXISTS (SELECT 1 FROM my_accounts x WHERE x.principal = e.principal AND x.domain IS NOT DISTINCT FROM"
    " e.domain AND x.sid IS NOT DISTINCT FROM e.principal_sid)",
)
# Each filter's condition, used only when the filter is given (a condition that is always true still
# costs a pass over a million rows).
_CONDITIONS = {
    "since": "e.time >= $since",
    "until": "e.time < $until",
    "source": "e.source_format = $source",
    "host": "lower($host) IN (lower(e.host), lower(e.src_host), lower(e.target_host))",
    "account": "lower(e.principal) = lower($account)",
    "event": "(e.event_code = $event OR lower(e.activity) = lower($event))",
    "text": "contains(lower(concat_ws(' ', e.process, e.command_line, e.object, e.raw)), lower($text))",
}


def _where(flt: EventFilter) -> tuple[list[str], dict[str, Any]]:
    """The conditions of the filters given in ``flt`` and their parameters, always bound."""
    given = {name: getattr(flt, name) for name in _CONDITIONS if getattr(flt, name) is not None}
    return [_CONDITIONS[name] for name in given], given


_SCOPED: dict[tuple[Any, tuple[str, ...]], dict[str, pa.Table]] = {}


def scoped_attribution(store: Store, model: GroupModel | None, orgs: frozenset[str]) -> dict[str, pa.Table]:
    """``my_hosts``, ``my_ips`` and ``my_accounts``: the attribution tables' rows of ``orgs`` (kept for
    the last few readers' sets of organisations while the attribution stays the same)."""
    tables = attribution(store, model)
    key = (_attribution_key(store, model), tuple(sorted(orgs)))
    with _ATTRIBUTION_LOCK:
        found = _SCOPED.get(key)
    if found is not None:
        return found
    wanted = pa.array(sorted(orgs), pa.string())

    def mine(name: str, columns: list[str]) -> pa.Table:
        table = tables[name]
        return table.filter(pc.is_in(table["org"], value_set=wanted)).select(columns)

    cut = {
        "my_hosts": mine("host_org", ["v"]),
        "my_ips": mine("ip_org", ["v"]),
        "my_accounts": mine("account_org", ["principal", "domain", "sid"]),
    }
    with _ATTRIBUTION_LOCK:
        if len(_SCOPED) >= 64 or any(k[0] != key[0] for k in _SCOPED):
            _SCOPED.clear()
        _SCOPED[key] = cut
    return cut


_FORMATS: dict[tuple[str, Any], list[str]] = {}


def _formats(pool: ReaderPool, con: duckdb.DuckDBPyConnection, version: Any) -> list[str]:
    """The log formats in the store (for the form), read once per version of the store."""
    key = (str(pool.store.root), version)
    with _ATTRIBUTION_LOCK:
        found = _FORMATS.get(key)
    if found is None:
        rows = con.execute("SELECT DISTINCT source_format FROM events ORDER BY 1").fetchall()
        found = [f for (f,) in rows if f]
        with _ATTRIBUTION_LOCK:
            _FORMATS.clear()
            _FORMATS[key] = found
    return found


# (store, its version, the model, a reader's organisations) → the (time, uid) of the events they may
# see, in page order; the last few sets of organisations are kept.
_VISIBLE: OrderedDict[tuple[Any, ...], pa.Table] = OrderedDict()
_VISIBLE_KEPT = 8


def _visible(
    pool: ReaderPool,
    con: duckdb.DuckDBPyConnection,
    model: GroupModel | None,
    orgs: frozenset[str],
    version: Any,
) -> pa.Table:
    """The (time, uid) of the events a reader assigned to ``orgs`` may see, sorted by time then uid.

    Deciding it is the page's dearest part (several semi-joins over every event), so it is done once per
    version of the store and set of organisations, and the pages are cut from it."""
    key = (str(pool.store.root), version, id(model), tuple(sorted(orgs)))
    with _ATTRIBUTION_LOCK:
        found = _VISIBLE.get(key)
        if found is not None:
            _VISIBLE.move_to_end(key)
            return found
    for name, table in scoped_attribution(pool.store, model, orgs).items():
        con.register(name, table)
    scope = " OR ".join(_SCOPE)
    table = con.sql(
        f"SELECT e.time, e.uid FROM events e WHERE {scope} ORDER BY e.time, e.uid"
    ).to_arrow_table()
    with _ATTRIBUTION_LOCK:
        _VISIBLE[key] = table
        while len(_VISIBLE) > _VISIBLE_KEPT:
            _VISIBLE.popitem(last=False)
    return table


def _rows_of(con: duckdb.DuckDBPyConnection, keys: pa.Table) -> list[dict[str, Any]]:
    """The shown columns of the events ``keys`` (time, uid) names, in page order. The page's time span
    bounds the scan (Parquet row groups outside it are skipped) unless a time is missing."""
    if keys.num_rows == 0:
        return []
    times = keys.column("time")
    bounded = times.null_count == 0
    query = f"SELECT {_SHOWN} FROM events e WHERE e.uid IN (SELECT unnest($uids::VARCHAR[]))"
    params: dict[str, Any] = {"uids": keys.column("uid").to_pylist()}
    if bounded:
        query += " AND e.time BETWEEN $lo AND $hi"
        params |= {"lo": pc.min(times).as_py(), "hi": pc.max(times).as_py()}
    cursor = con.execute(query + " ORDER BY e.time, e.uid", params)
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def events_page(
    pool: ReaderPool, model: GroupModel | None, reader: Account, flt: EventFilter, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int, list[str]]:
    """One page of the events ``reader`` may see that pass ``flt`` (by time, then uid), the total, and
    the log formats in the store (for the form)."""
    clauses, params = _where(flt)
    # the store's version, read once for the caches below (a store changed meanwhile only means an entry
    # kept under the older version, which the next request does not ask for)
    version = store_version(pool.store)
    with pool.connection() as con:
        if not reader.sees_all:
            visible = _visible(pool, con, model, reader.orgs, version)
            if not clauses:  # the page is a slice of what they may see
                rows = _rows_of(con, visible.slice(offset, limit))
                return rows, visible.num_rows, _formats(pool, con, version)
            con.register("visible", visible.select(["uid"]))
            clauses.insert(0, "e.uid IN (SELECT uid FROM visible)")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        # Two plain scans, the count and the page: a window count would keep every column of every
        # matching row (without filters the count comes from the files' metadata).
        found = con.execute(f"SELECT count(*) FROM events e {where}", params).fetchone()
        cursor = con.execute(
            f"SELECT {_SHOWN} FROM events e {where} ORDER BY e.time, e.uid LIMIT $limit OFFSET $offset",
            {**params, "limit": limit, "offset": offset},
        )
        names = [column[0] for column in cursor.description or ()]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return rows, int(found[0]) if found else 0, _formats(pool, con, version)


@guarded("read")
def event_list(ctx: Ctx) -> Response:
    assert ctx.account is not None
    params = dict(ctx.request.query_params)
    number = page_number(params.get("page"))
    rows, total, formats = events_page(
        ctx.web.alerts.pool,
        ctx.web.model,
        ctx.account,
        event_filter(params),
        PAGE_SIZE,
        (number - 1) * PAGE_SIZE,
    )
    keep = {k: v[:MAX_TEXT] for k, v in params.items() if k in _FILTERS and v}
    return ctx.render(
        "events.html.j2",
        rows=rows,
        total=total,
        **paging(keep, number, PAGE_SIZE, total),
        params=keep,
        formats=formats,
    )


ROUTES = [Route("/events", event_list, methods=["GET"])]
