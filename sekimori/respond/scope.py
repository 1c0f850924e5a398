"""Scoping: from a case's alerts, follow the compromised accounts and hosts through the store.

Starting from the accounts and hosts the alerts name (compromised from the alert's time), repeat until
nothing changes:

- an account used from a compromised host, or logged on interactively to one (its credentials are
  cached there), after the host's compromise, is compromised from that logon;
- a host an compromised account logged on to, after the account's compromise, is compromised from then;
- a data store is touched when a compromised account reads it, or a compromised host is one of its
  hosts, after the compromise (data-access events: pgaudit, 5145 file shares; logons onto its hosts).

Time order matters: a logon before the host was compromised does not spread it. Every entity keeps the
hop that brought it in (what, when, the evidence file and record), so the scope explains itself. The
logons of the window are one DuckDB table; each round is one query over it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sekimori.graph import CACHING_LOGON_TYPES, logon_events_sql, register_data_access_keys
from sekimori.model import account_key, host_key

if TYPE_CHECKING:
    import duckdb

    from sekimori.detect import Alert
    from sekimori.model import GroupModel
    from sekimori.store import Store


@dataclass
class Scoped:
    key: str  # host key (short name, lower case) or account key ('domain\\user')
    label: str
    since: datetime  # compromised (or touched) from
    hop: int  # 0: named by an alert
    via: str  # the hop in words
    evidence: list[dict[str, Any]] = field(default_factory=list)  # {"path", "record_id"}
    org: str | None = None
    address: str | None = None  # hosts: the one IP address the logs pair with it, if any


@dataclass
class Scope:
    window: tuple[datetime, datetime]
    accounts: list[Scoped]
    hosts: list[Scoped]
    data_stores: list[Scoped]
    rounds: int

    @property
    def first_activity(self) -> datetime | None:
        times = [s.since for s in (*self.accounts, *self.hosts)]
        return min(times) if times else None

    def hops(self) -> list[str]:
        """The scope in words, in time order."""
        items = sorted((*self.hosts, *self.accounts, *self.data_stores), key=lambda s: (s.since, s.hop))
        return [f"{s.since:%Y-%m-%d %H:%M:%S}Z  {s.via}" for s in items]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scope:
        """A scope from :meth:`to_dict` (as a case keeps it)."""

        def rows(items: list[dict[str, Any]]) -> list[Scoped]:
            return [Scoped(**{**item, "since": datetime.fromisoformat(item["since"])}) for item in items]

        start, end = (datetime.fromisoformat(t) for t in data["window"])
        return cls(
            window=(start, end),
            accounts=rows(data["accounts"]),
            hosts=rows(data["hosts"]),
            data_stores=rows(data["data_stores"]),
            rounds=data.get("rounds", 0),
        )

    def to_dict(self) -> dict[str, Any]:
        def rows(items: list[Scoped]) -> list[dict[str, Any]]:
            return [{**asdict(s), "since": s.since.isoformat()} for s in items]

        return {
            "window": [t.isoformat() for t in self.window],
            "accounts": rows(self.accounts),
            "hosts": rows(self.hosts),
            "data_stores": rows(self.data_stores),
            "rounds": self.rounds,
        }


# The observed logons of the window (as the graph sees them), one row per event, with account keys
# computed as in the graph (sekimori.graph.build.account_key).
_LOGONS_SQL = """
CREATE OR REPLACE TEMP TABLE _scope_logons AS
SELECT l.time, {account_key} AS account,
       coalesce(nullif(l.domain, '') || '\\', '') || l.principal AS account_label,
       l.src, l.dst, l.dst_label, l.logon_type, l.source_file, l.record_id, l.event_code, l.src_ip
FROM ({logons}) l
"""

_ACCOUNT_KEY_SQL = """(CASE
    WHEN contains(l.principal, '\\') THEN lower(split_part(split_part(l.principal, '\\', 1), '.', 1))
        || '\\' || lower(split_part(l.principal, '\\', 2))
    WHEN contains(l.principal, '@') THEN lower(split_part(split_part(l.principal, '@', 2), '.', 1))
        || '\\' || lower(split_part(l.principal, '@', 1))
    WHEN nullif(l.domain, '') IS NOT NULL AND l.domain <> '-'
        THEN lower(split_part(l.domain, '.', 1)) || '\\' || lower(l.principal)
    ELSE lower(l.principal) END)"""

# One round: new or earlier compromises, with the first event that caused each. Of events at one time,
# the one first by its shown values (the label and cause as a whole), not whichever the threads met first.
_SPREAD_SQL = """
WITH account_via_host AS (  -- used from a compromised host, or cached on one by an interactive logon
    SELECT key, min(time) AS since, arg_min(p, {{'t': time, 'p': p}}) AS p FROM (
        SELECT l.account AS key, l.time,
               {{'label': l.account_label,
                 'cause': struct_pack(src := l.src, dst := l.dst, t := l.logon_type, f := l.source_file,
                                      r := l.record_id,
                                      how := CASE WHEN l.src = h.key THEN 'from' ELSE 'on' END)}} AS p
        FROM _scope_logons l JOIN _hosts h
          ON (l.src = h.key OR (l.dst = h.key AND l.logon_type IN ({caching}))) AND l.time >= h.since)
    GROUP BY key
),
host_via_account AS (  -- a host a compromised account logged on to
    SELECT key, min(time) AS since, arg_min(p, {{'t': time, 'p': p}}) AS p FROM (
        SELECT l.dst AS key, l.time,
               {{'label': l.dst_label,
                 'cause': struct_pack(account := l.account_label, src := l.src, t := l.logon_type,
                                      f := l.source_file, r := l.record_id)}} AS p
        FROM _scope_logons l JOIN _accounts a ON l.account = a.key AND l.time >= a.since)
    GROUP BY key
)
SELECT 'account' AS kind, c.key, c.p.label, c.since, to_json(c.p.cause) AS cause FROM account_via_host c
LEFT JOIN _accounts a ON a.key = c.key WHERE a.key IS NULL OR c.since < a.since
UNION ALL
SELECT 'host', c.key, c.p.label, c.since, to_json(c.p.cause) FROM host_via_account c
LEFT JOIN _hosts h ON h.key = c.key WHERE h.key IS NULL OR c.since < h.since
"""

# The data-access events of the window by a compromised account, or on a compromised host, after its
# compromise: one row per (object, host, cause) with the first such event (its file and record taken
# together, ties broken by uid: apart, two arg_mins could name two events). The account wins over the
# host when both are compromised. In a total order: of two reads of a store at one time, the first
# row is the one kept.
_DATA_ACCESS_SQL = """
SELECT e.object, n.key AS host, coalesce(a.key, h.key) AS cause, a.key IS NOT NULL AS by_account,
       min(e.time) AS time,
       arg_min({'f': e.source_file, 'r': e.record_id}, {'t': e.time, 'u': e.uid}) AS first
FROM events e
LEFT JOIN _ids i ON i.domain IS NOT DISTINCT FROM e.domain AND i.principal IS NOT DISTINCT FROM e.principal
LEFT JOIN _names n ON n.name = e.host
LEFT JOIN _accounts a ON a.key = i.key AND e.time >= a.since
LEFT JOIN _hosts h ON h.key = n.key AND e.time >= h.since
WHERE e.category = 'data_access' AND e.time BETWEEN $start AND $end
  AND (a.key IS NOT NULL OR h.key IS NOT NULL)
GROUP BY ALL
ORDER BY time, object, host, cause, by_account
"""


def scope_from_alerts(
    store: Store,
    alerts: Sequence[Alert],
    model: GroupModel | None = None,
    before: timedelta = timedelta(days=1),
    after: timedelta = timedelta(days=90),
    max_rounds: int = 12,
) -> Scope:
    """The scope of the alerts: compromised accounts and hosts, touched data stores, in the window from
    ``before`` the first alert to ``after`` it. Alerts without a time name no one from any time."""
    timed = sorted(((a.time, a) for a in alerts if a.time is not None), key=lambda pair: pair[0])
    if not timed:
        raise ValueError("a scope needs at least one alert (with a time)")
    first = timed[0][0]
    window = (first - before, first + after)
    hosts: dict[str, Scoped] = {}
    accounts: dict[str, Scoped] = {}
    for when, alert in timed:
        _seed(alert, when, hosts, accounts)
    con = store.connect()
    try:
        params = {"start": window[0], "end": window[1]}
        con.execute(
            _LOGONS_SQL.format(
                account_key=_ACCOUNT_KEY_SQL,
                logons=logon_events_sql("AND e.time BETWEEN $start AND $end"),
            ),
            params,
        )
        rounds = 0
        for rounds in range(1, max_rounds + 1):
            if not _spread(con, hosts, accounts, rounds):
                break
        stores = _data_stores(con, model, hosts, accounts, params) if model is not None else []
        addresses = con.sql(
            """SELECT src, min(src_ip) AS ip FROM _scope_logons WHERE src IS NOT NULL AND src_ip IS NOT NULL
               AND src_ip NOT IN ('127.0.0.1', '::1', '-') GROUP BY src HAVING count(DISTINCT src_ip) = 1"""
        ).fetchall()
        for key, ip in addresses:
            if key in hosts:
                hosts[key].address = ip
    finally:
        con.close()
    if model is not None:
        for s in hosts.values():
            s.org = model.classify_host(s.label)[0]
        for s in accounts.values():
            s.org = model.classify_account(s.label)
    order = lambda s: (s.since, s.hop, s.key)  # noqa: E731
    return Scope(
        window=window,
        accounts=sorted(accounts.values(), key=order),
        hosts=sorted(hosts.values(), key=order),
        data_stores=stores,
        rounds=rounds,
    )


def _seed(alert: Alert, t: datetime, hosts: dict[str, Scoped], accounts: dict[str, Scoped]) -> None:
    evidence = [{"path": e.path, "record_id": e.record_id} for e in alert.evidence][:5]
    title = alert.title or alert.rule_id
    # The source an alert names is where the attacker acted from; the host it happened on is taken only
    # when the alert names neither a source nor an account (a process alert): a host logged on to or
    # read from joins the scope by the spread, in time order.
    source = alert.src_host or alert.src_ip
    names: list[str | None] = [source] if source else []
    if not source and not alert.account:
        names.append(alert.host)
    for name in names:
        if name:
            key = host_key(name)
            if key and (key not in hosts or t < hosts[key].since):
                hosts[key] = Scoped(key, name, t, 0, f"{name}: named by alert '{title}'", evidence)
    if alert.account:
        label = f"{alert.domain}\\{alert.account}" if alert.domain else alert.account
        key = account_key(label)
        if key not in accounts or t < accounts[key].since:
            accounts[key] = Scoped(key, label, t, 0, f"{label}: named by alert '{title}'", evidence)


def _table(items: dict[str, Scoped]) -> pa.Table:
    return pa.table(
        {"key": [s.key for s in items.values()], "since": [s.since for s in items.values()]},
        schema=pa.schema([("key", pa.string()), ("since", pa.timestamp("us", tz="UTC"))]),
    )


def _spread(
    con: duckdb.DuckDBPyConnection, hosts: dict[str, Scoped], accounts: dict[str, Scoped], hop: int
) -> bool:
    import orjson

    con.register("_hosts", _table(hosts))
    con.register("_accounts", _table(accounts))
    caching = ", ".join(str(t) for t in CACHING_LOGON_TYPES)
    rows = con.sql(_SPREAD_SQL.format(caching=caching)).to_arrow_table().to_pylist()
    for row in rows:
        cause = orjson.loads(row["cause"])
        evidence = [{"path": cause["f"], "record_id": cause["r"]}]
        when = f"{row['since']:%Y-%m-%d %H:%M}"
        kind = f"logon type {cause['t']}" if cause["t"] else "explicit credentials"
        if row["kind"] == "account":
            if cause["how"] == "from":
                via = f"{row['label']}: used from compromised host {cause['src']} ({kind}) at {when}"
            else:
                via = (
                    f"{row['label']}: logged on interactively to compromised host {cause['dst']} ({kind}), "
                    f"credentials cached there, at {when}"
                )
            accounts[row["key"]] = Scoped(row["key"], row["label"], row["since"], hop, via, evidence)
        else:
            src = f" from {cause['src']}" if cause["src"] else ""
            via = f"{row['label']}: compromised account {cause['account']} logged on{src} ({kind}) at {when}"
            hosts[row["key"]] = Scoped(row["key"], row["label"], row["since"], hop, via, evidence)
    return bool(rows)


def _data_stores(
    con: duckdb.DuckDBPyConnection,
    model: GroupModel,
    hosts: dict[str, Scoped],
    accounts: dict[str, Scoped],
    params: dict[str, Any],
) -> list[Scoped]:
    touched: dict[str, Scoped] = {}

    def touch(store_id: str, label: str, since: datetime, via: str, evidence: list[dict[str, Any]]) -> None:
        if store_id not in touched or since < touched[store_id].since:
            hop = 1 + max((s.hop for s in (*hosts.values(), *accounts.values())), default=0)
            touched[store_id] = Scoped(store_id, label, since, hop, via, evidence)

    def stores_on(host: str) -> list[Any]:
        return [
            d
            for d in model.data_stores
            if any(
                fnmatch.fnmatch(host.lower(), g.lower()) or fnmatch.fnmatch(host.lower(), host_key(g))
                for g in d.hosts
            )
        ]

    for host in hosts.values():  # a compromised host that is one of a store's hosts
        for d in stores_on(host.key) or stores_on(host.label):
            touch(
                d.id, d.name, host.since, f"{d.name}: lives on compromised host {host.label}", host.evidence
            )
    con.register("_hosts", _table(hosts))
    con.register("_accounts", _table(accounts))
    register_data_access_keys(con, params)
    for row in con.sql(_DATA_ACCESS_SQL, params=params).to_arrow_table().to_pylist():
        cause = accounts[row["cause"]] if row["by_account"] else hosts[row["cause"]]
        where = row["host"]
        for d in model.data_stores:
            tables = [t for pd in d.personal_data for t in pd.tables]
            paths = [p for pd in d.personal_data for p in pd.paths]
            obj = row["object"] or ""
            named = any(_table_matches(obj, t) for t in tables) or any(_path_matches(obj, p) for p in paths)
            # on one of the store's hosts, any read counts only when the model does not say where the data is
            if named or (not tables and not paths and where and d in stores_on(where)):
                evidence = [{"path": row["first"]["f"], "record_id": row["first"]["r"]}]
                touch(
                    d.id,
                    d.name,
                    row["time"],
                    f"{d.name}: {row['object'] or 'data'} read by {cause.label} "
                    f"at {row['time']:%Y-%m-%d %H:%M}",
                    evidence,
                )
    return sorted(touched.values(), key=lambda s: (s.since, s.key))


def _table_matches(obj: str, table: str) -> bool:
    """A logged object ('public.users', 'users', 'SELECT … users') names the table."""
    o, t = obj.lower(), table.lower()
    return o == t or o.endswith("." + t) or t in {w.strip('"') for w in o.replace(",", " ").split()}


def _path_matches(obj: str, path: str) -> bool:
    """A file access ('\\\\*\\SYSVOL\\x', '\\\\DC\\SYSVOL') is under the path, host part ignored."""

    def tail(value: str) -> str:
        text = value.lower().replace("/", "\\")
        if text.startswith("\\\\"):
            text = "\\" + text[2:].partition("\\")[2]
        return text.rstrip("\\")

    o, p = tail(obj), tail(path)
    return bool(p) and (o == p or o.startswith(p + "\\"))
