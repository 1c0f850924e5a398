"""What the pages read: the store's alerts and events (through :class:`sekimori.store.Store`, bound
parameters only) and the cases (through :mod:`sekimori.respond`), each cut to the organisations the
reader may see.

An alert belongs to the organisations detection gave it plus those the group model gives its hosts
and account (:meth:`GroupModel.classify_host`, :meth:`GroupModel.classify_account`), computed once per
distinct host/account and kept as an Arrow table joined in SQL. A reader assigned to organisations sees
an alert that involves one of them; a case only when every alert in it is one they may see (a case
mixing organisations would otherwise show the others' alerts). An alert no organisation claims is seen
by admins and auditors only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import duckdb

    from sekimori.model import GroupModel
    from sekimori.respond import Case, CaseAlert
    from sekimori.store import Store
    from sekimori.web.accounts import Account

SOURCES = ("boundary", "behaviour", "sigma")
LEVELS = ("critical", "high", "medium", "low", "informational")
ALERT_ORDER = "CASE a.source WHEN 'boundary' THEN 0 WHEN 'behaviour' THEN 1 ELSE 2 END, a.time, a.alert_id"
# Each filter's condition on ``a`` (the alerts) and ``s`` (their scope); ``s.search`` is the alert's
# searched text, lowered once per version of the alerts rather than at every search.
_CONDITIONS = {
    "source": "a.source = $source",
    "level": "a.level = $level",
    "org": "list_contains(s.orgs, $org)",
    "since": "a.time >= $since",
    "until": "a.time < $until",
    "text": "contains(s.search, lower($text))",
    "attack": "list_contains(s.attack, $attack)",
}
# An alert's ATT&CK techniques as the filter matches them: lower case, without an "attack." prefix, a
# sub-technique also under its technique (T1021.002 → t1021.002 and t1021).
_ATTACK_TERMS = r"""list_sort(list_distinct(list_filter(flatten(list_transform(attack,
    lambda x: [regexp_replace(lower(x), '^attack\.', ''),
               regexp_extract(lower(x), '^(?:attack\.)?(t[0-9]{4})\.[0-9]{3}$', 1)])),
    lambda y: y <> ''))) AS attack"""
_SEARCHED = ("title", "rule_id", "host", "account", "description", "src_host", "target_host")
_SCOPE_COLUMNS = (
    "alert_id",
    "organisations",
    "host",
    "account",
    "domain",
    "src_host",
    "src_ip",
    "target_host",
)


@dataclass(frozen=True)
class AlertFilter:
    source: str | None = None
    level: str | None = None
    org: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    attack: str | None = None  # an ATT&CK technique (t1021 also finds its sub-techniques)


def organisations_of(
    model: GroupModel | None,
    given: list[str] | None,
    hosts: tuple[str | None, ...],
    address: str | None,
    account: str | None,
    domain: str | None,
) -> list[str]:
    found = {o for o in given or () if o}
    if model is not None:
        for host in hosts:
            if host:
                found.add(model.classify_host(host)[0] or "")
        if address:
            found.add(model.classify_host(None, address)[0] or "")
        if account:
            found.add(model.classify_account(account, domain) or "")
    return sorted(found - {""})


class AlertReader:
    """Alerts of ``store`` as a reader may see them."""

    def __init__(self, store: Store, model: GroupModel | None) -> None:
        from sekimori.store import ReaderPool

        self.store, self.model = store, model
        self.pool = ReaderPool(store)  # the pages' own SQL; a user's SQL gets a connection of its own
        self._lock = threading.Lock()
        self._scope: tuple[tuple[int, int], pa.Table] | None = None

    def warm(self) -> None:
        """Work out the alerts' scope now rather than at the first page that needs it."""
        if self.has_alerts():
            self._scope_table()

    def has_alerts(self) -> bool:
        return "alerts" in self.store.tables()

    def _scope_table(self) -> pa.Table:
        """alert_id → organisations, recomputed when detection rewrites the alerts."""
        info = self.store.tables()["alerts"].stat()
        version = (info.st_mtime_ns, info.st_size)
        with self._lock:
            if self._scope is not None and self._scope[0] == version:
                return self._scope[1]
            searched = f"lower(concat_ws(' ', {', '.join(_SEARCHED)})) AS search"
            found = self.store.sql(
                f"SELECT {', '.join(_SCOPE_COLUMNS)}, {searched}, {_ATTACK_TERMS} FROM alerts"
            )
            rows = found.select(list(_SCOPE_COLUMNS)).to_pylist()
            cache: dict[tuple[Any, ...], list[str]] = {}
            ids, orgs = [], []
            for row in rows:
                key = tuple(
                    tuple(row[c] or ()) if c == "organisations" else row[c] for c in _SCOPE_COLUMNS[1:]
                )
                if key not in cache:
                    cache[key] = organisations_of(
                        self.model,
                        row["organisations"],
                        (row["host"], row["src_host"], row["target_host"]),
                        row["src_ip"],
                        row["account"],
                        row["domain"],
                    )
                ids.append(row["alert_id"])
                orgs.append(cache[key])
            table = pa.table(
                {
                    "alert_id": pa.array(ids, pa.string()),
                    "orgs": pa.array(orgs, pa.list_(pa.string())),
                    "search": found.column("search"),
                    "attack": found.column("attack"),
                }
            )
            self._scope = (version, table)
            return table

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.pool.connection({"alert_scope": self._scope_table()}) as con:
            yield con

    def close(self) -> None:
        self.pool.close()

    @staticmethod
    def where(reader: Account, flt: AlertFilter) -> tuple[str, dict[str, Any]]:
        """The SQL condition on ``a`` (the alerts) and ``s`` (their scope) for ``reader`` and the filters
        given in ``flt``, with its parameters (always bound; a filter not given adds nothing)."""
        given = {name: getattr(flt, name) for name in _CONDITIONS if getattr(flt, name) is not None}
        clauses = [_CONDITIONS[name] for name in given]
        params: dict[str, Any] = dict(given)
        if not reader.sees_all:
            clauses.insert(0, "list_has_any(s.orgs, $mine::VARCHAR[])")
            params["mine"] = sorted(reader.orgs)
        return " AND ".join(clauses) or "TRUE", params

    def page(
        self,
        reader: Account,
        flt: AlertFilter,
        limit: int,
        offset: int,
        condition: tuple[str, dict[str, Any]] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the alerts ``reader`` may see that pass ``flt`` (and ``condition``: a further SQL
        condition on ``a``, the alerts, with its named parameters), boundary first, and the total."""
        if not self.has_alerts():
            return [], 0
        where, params = self.where(reader, flt)
        if condition is not None:
            where, params = f"{where} AND ({condition[0]})", params | condition[1]
        base = f"FROM alerts a JOIN alert_scope s USING (alert_id) WHERE {where}"
        with self.connection() as con:
            # The total rides on the page's rows (one scan, not two); a page past the end has no row
            # to carry it, and is counted apart.
            rows = _rows(
                con,
                f"""SELECT a.alert_id, a.time, a.source, a.level, a.title, a.host, a.account, s.orgs,
                    count(*) OVER () AS total_matching
                    {base} ORDER BY {ALERT_ORDER} LIMIT $limit OFFSET $offset""",
                {**params, "limit": limit, "offset": offset},
            )
            if rows:
                total = int(rows[0]["total_matching"])
            elif offset:
                total = int(_rows(con, f"SELECT count(*) AS n {base}", params)[0]["n"])
            else:
                total = 0
        for row in rows:
            del row["total_matching"]
        return rows, total

    def counts(self, reader: Account) -> list[dict[str, Any]]:
        if not self.has_alerts():
            return []
        where, params = self.where(reader, AlertFilter())
        with self.connection() as con:
            return _rows(
                con,
                f"""SELECT a.source, a.level, count(*) AS n FROM alerts a JOIN alert_scope s
                    USING (alert_id) WHERE {where} GROUP BY ALL ORDER BY a.source, n DESC, a.level""",
                params,
            )

    def alert(self, reader: Account, alert_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """One alert ``reader`` may see, with its evidence events (``None``: unknown or not theirs)."""
        if not self.has_alerts():
            return None
        where, params = self.where(reader, AlertFilter())
        with self.connection() as con:
            found = _rows(
                con,
                f"""SELECT a.*, s.orgs FROM alerts a JOIN alert_scope s USING (alert_id)
                    WHERE a.alert_id = $id AND {where}""",
                {**params, "id": alert_id},
            )
            if not found:
                return None
            uids = [e["uid"] for e in found[0]["evidence"] or () if e.get("uid")][:100]
            events = _rows(
                con,
                """SELECT time, source_format, host, principal, domain, activity, outcome, src_host,
                          src_ip, target_host, process, command_line, object, source_file, uid
                   FROM events WHERE uid IN (SELECT unnest($uids::VARCHAR[])) ORDER BY time, uid LIMIT 100""",
                {"uids": uids},
            )
        return found[0], events

    def attack_terms(self) -> list[str]:
        """Every ATT&CK term the alerts carry, as the filter takes them (for the form's suggestions)."""
        if not self.has_alerts():
            return []
        terms = pc.unique(pc.list_flatten(self._scope_table().column("attack")))
        return sorted(t for t in terms.to_pylist() if t)

    def known_orgs(self) -> list[str]:
        if self.model is None:
            return []
        return sorted(o.id for o in self.model.organisations)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``sql`` with ``params`` bound (never formatted into the text)."""
    table = con.sql(sql, params=params).to_arrow_table()
    return [] if table is None else list(table.to_pylist())


def case_alert_orgs(model: GroupModel | None, alert: CaseAlert) -> list[str]:
    return organisations_of(model, alert.orgs, (alert.host,), None, alert.account, None)


def case_visible(model: GroupModel | None, reader: Account, case: Case) -> bool:
    """Every alert of the case involves an organisation of the reader (or the reader sees all)."""
    if reader.sees_all:
        return True
    if not case.alerts:
        return False
    return all(set(case_alert_orgs(model, a)) & reader.orgs for a in case.alerts)
