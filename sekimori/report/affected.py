"""Who is affected: the data stores, tables and files the attacker read, and the people in them.

Two levels of precision:

* :func:`affected_from_store` counts from the logs and the model. A read is a data-access event in the
  store (a pgAudit ``SELECT``/``COPY`` on a table the model names, a Windows 5145 share access with
  ReadData under a path it names) by a compromised account, from a compromised host, or recorded on a
  compromised host without a network source (a local read), at or after that entity's ``since``. The
  people of the entries read are ``confirmed``; entries of stores reachable in the scope but not shown
  read are ``possible``. People are counted as the model says (docs/graph.md, "Counting people"):
  entries with the same ``population`` and category are the same people, the largest counts.
* :func:`sekimori.report.replay.replay_reads` lists the people exactly: it re-runs the logged read
  statements (:func:`statements_from_store`) read-only against the database and writes the distinct
  person keys they return to a protected file.

The matching is one DuckDB query over the events; Python only touches the model's entries and the
distinct identities of the events (to key them exactly as the scope does).
"""

from __future__ import annotations

import fnmatch
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sekimori.graph import glob_like, register_data_access_keys
from sekimori.model import host_key
from sekimori.report.facts import AffectedCount

if TYPE_CHECKING:
    import duckdb

    from sekimori.model import DataStore, GroupModel, PersonalData
    from sekimori.respond import Scope
    from sekimori.store import Store

log = logging.getLogger(__name__)

# pgAudit commands that return rows to the client; 5145 access codes/names that read file content.
READ_COMMANDS = ("SELECT", "COPY")
READ_ACCESS = ("%%4416", "readdata")
_LOCAL = ("", "-", "127.0.0.1", "::1", "localhost", "[local]")


@dataclass(frozen=True)
class _Entry:
    store: DataStore
    index: int
    data: PersonalData

    @property
    def population(self) -> str:
        return self.data.population or f"{self.store.id}.{self.data.category}"


def _entries(model: GroupModel) -> dict[tuple[str, int], _Entry]:
    return {(d.id, i): _Entry(d, i, pd) for d in model.data_stores for i, pd in enumerate(d.personal_data)}


def path_tail(path: str) -> str:
    """A file path without its host (``\\\\host\\share\\x`` → ``\\share\\x``), lower case, ``\\`` only;
    the same normalisation as the SQL below."""
    text = path.lower().replace("/", "\\").rstrip("\\")
    if text.startswith("\\\\"):
        text = "\\" + text[2:].partition("\\")[2]
    return text.rstrip("\\")


# --- the reads ---------------------------------------------------------------------------------------

_READS_SQL = r"""
CREATE OR REPLACE TEMP TABLE _reads AS
WITH ev AS (
    SELECT e.uid, e.time, e.host, e.src_host, e.src_ip, e.principal, e.domain, e.object, e.action,
           e.database, e.provider, e.event_code, e.source_file, e.record_id,
           lower(e.object) AS obj,
           rtrim(regexp_replace(replace(lower(e.object), '/', '\'), '^\\\\[^\\]*', ''), '\') AS obj_path,
           lower(coalesce(e.target_host, e.host)) AS on_name,
           coalesce(nullif(e.src_host, ''), nullif(e.src_ip, '')) AS src
    FROM events e
    WHERE e.category = 'data_access' AND e.time BETWEEN $start AND $end
      AND e.outcome IS DISTINCT FROM 'failure'
      AND ((e.provider = 'pgaudit' AND upper(e.action) IN ({read_commands}))
           OR (e.event_code = '5145' AND ({read_access})))
),
matched AS (
    SELECT ev.*, t.store, t.entry, t.pattern
    FROM ev JOIN _targets t ON
        (t.kind = 'table' AND ev.provider = 'pgaudit'
            AND (ev.obj = t.pattern OR ends_with(ev.obj, '.' || t.pattern)))
        OR (t.kind = 'path' AND ev.provider IS DISTINCT FROM 'pgaudit'
            AND (ev.obj_path = t.pattern OR starts_with(ev.obj_path, t.pattern || '\')))
        OR (t.kind = 'host' AND (ev.on_name LIKE t.pattern ESCAPE '\'
            OR split_part(ev.on_name, '.', 1) LIKE t.pattern ESCAPE '\'))
)
SELECT m.uid, m.time, m.store, m.entry, m.pattern, m.object, m.action, m.database, m.provider,
       m.principal, m.domain, m.source_file, m.record_id,
       -- the account before the source host before the host; of two of one kind, the smaller label
       arg_min(coalesce(a.label, hs.label, hh.label),
               {{'k': CASE WHEN a.label IS NOT NULL THEN 0 WHEN hs.label IS NOT NULL THEN 1 ELSE 2 END,
                 'l': coalesce(a.label, hs.label, hh.label)}}) AS cause
FROM matched m
LEFT JOIN _ids i ON i.domain IS NOT DISTINCT FROM m.domain AND i.principal IS NOT DISTINCT FROM m.principal
LEFT JOIN _accounts a ON a.key = i.key AND m.time >= a.since
LEFT JOIN _names sn ON sn.name = m.src
LEFT JOIN _hosts hs ON (hs.key = sn.key OR hs.address = m.src_ip) AND m.time >= hs.since
LEFT JOIN _names hn ON hn.name = m.host
-- a read recorded on a compromised host counts only when it came from nowhere else (a local read)
LEFT JOIN _hosts hh ON hh.key = hn.key AND m.time >= hh.since AND lower(coalesce(m.src, '')) IN ({local})
WHERE coalesce(a.label, hs.label, hh.label) IS NOT NULL
GROUP BY ALL
"""


def _targets(model: GroupModel) -> pa.Table:
    """What names each entry's data: its tables, its paths; a store that names neither is read by any
    read on its hosts (all its entries, ``entry`` -1)."""
    rows: list[dict[str, Any]] = []
    for d in model.data_stores:
        named = False
        for i, pd in enumerate(d.personal_data):
            for t in pd.tables:
                rows.append({"store": d.id, "entry": i, "kind": "table", "pattern": t.lower().strip('"')})
                named = True
            for p in pd.paths:
                rows.append({"store": d.id, "entry": i, "kind": "path", "pattern": path_tail(p)})
                named = True
        if not named and d.personal_data:
            for g in d.hosts:
                rows.append({"store": d.id, "entry": -1, "kind": "host", "pattern": glob_like(g.lower())})
    schema = pa.schema(
        [("store", pa.string()), ("entry", pa.int32()), ("kind", pa.string()), ("pattern", pa.string())]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _register_scope(con: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    ts = pa.timestamp("us", tz="UTC")
    con.register(
        "_accounts",
        pa.table(
            {
                "key": pa.array([s.key for s in scope.accounts], pa.string()),
                "label": pa.array([s.label for s in scope.accounts], pa.string()),
                "since": pa.array([s.since for s in scope.accounts], ts),
            }
        ),
    )
    con.register(
        "_hosts",
        pa.table(
            {
                "key": pa.array([s.key for s in scope.hosts], pa.string()),
                "label": pa.array([s.label for s in scope.hosts], pa.string()),
                "address": pa.array([s.address for s in scope.hosts], pa.string()),
                "since": pa.array([s.since for s in scope.hosts], ts),
            }
        ),
    )


def _find_reads(con: duckdb.DuckDBPyConnection, model: GroupModel, scope: Scope) -> None:
    """Fill the temp table ``_reads``: one row per (read event, entry target) by the scope."""
    params = {"start": scope.window[0], "end": scope.window[1]}
    con.register("_targets", _targets(model))
    _register_scope(con, scope)
    register_data_access_keys(con, params)
    con.execute(
        _READS_SQL.format(
            read_commands=", ".join(f"'{c}'" for c in READ_COMMANDS),
            read_access=" OR ".join(f"contains(lower(e.action), '{a.lower()}')" for a in READ_ACCESS),
            local=", ".join(f"'{v}'" for v in _LOCAL),
        ),
        params,
    )


def _reachable(model: GroupModel, scope: Scope) -> set[str]:
    """Stores the scope reaches: touched ones, and those with a host in the scope."""
    reached = {s.key for s in scope.data_stores}
    for h in scope.hosts:
        names = {h.key, h.label.lower(), host_key(h.label)}
        for d in model.data_stores:
            if any(
                fnmatch.fnmatch(n, g.lower()) or fnmatch.fnmatch(n, host_key(g))
                for g in d.hosts
                for n in names
            ):
                reached.add(d.id)
    return reached


# --- counting ----------------------------------------------------------------------------------------


def _people(entries: Iterable[_Entry]) -> dict[str, int]:
    """People per category: one figure per (category, population), the largest entry."""
    largest: dict[tuple[str, str], int] = {}
    for e in entries:
        key = (e.data.category, e.population)
        largest[key] = max(largest.get(key, 0), e.data.records)
    out: dict[str, int] = defaultdict(int)
    for (category, _), n in largest.items():
        out[category] += n
    return dict(out)


def count_affected(model: GroupModel, read: set[tuple[str, int]], reachable: set[str]) -> AffectedCount:
    """The count, from the entries read (``(store id, entry index)``) and the stores reachable."""
    entries = _entries(model)
    confirmed = [entries[k] for k in sorted(read) if k in entries]
    stores_read = {e.store.id for e in confirmed}
    reached = [e for e in entries.values() if e.store.id in reachable | stores_read]
    # possible: the people of a population reached beyond those confirmed in it (a subset of the largest)
    most_read: dict[tuple[str, str], int] = {}
    for e in confirmed:
        k = (e.data.category, e.population)
        most_read[k] = max(most_read.get(k, 0), e.data.records)
    most_reached: dict[tuple[str, str], int] = {}
    for e in reached:
        k = (e.data.category, e.population)
        most_reached[k] = max(most_reached.get(k, 0), e.data.records)
    possible: dict[str, int] = defaultdict(int)
    for (category, population), n in most_reached.items():
        rest = n - most_read.get((category, population), 0)
        if rest > 0:
            possible[category] += rest
    items: dict[str, list[str]] = {}
    for e in confirmed:
        bucket = items.setdefault(e.data.category, [])
        bucket.extend(i for i in e.data.items if i not in bucket)
    all_items = dict.fromkeys(i for e in confirmed for i in e.data.items)
    by_item = {
        item: sum(_people(e for e in confirmed if item in e.data.items).values()) for item in all_items
    }
    return AffectedCount(
        confirmed=_people(confirmed),
        possible={k: v for k, v in possible.items() if v},
        items=items,
        secrecy_of_communications=_people(e for e in confirmed if e.data.secrecy_of_communications),
        sensitive=_people(e for e in confirmed if e.data.sensitive),
        by_item=by_item,
        stores=sorted(stores_read),
    )


def affected_from_store(store: Store, model: GroupModel, scope: Scope) -> AffectedCount:
    """The people affected, from the data-access events of the scope's window.

    ``confirmed``: the entries whose tables/paths a compromised account or host read (a store naming
    no tables or paths: any read on its hosts). ``possible``: the rest of the people in stores the scope
    reaches (``scope.data_stores``, stores on compromised hosts), beyond those confirmed in the same
    population. ``items``, ``by_item``, ``secrecy_of_communications`` and ``sensitive`` are of the
    confirmed people. ``countries`` stays empty: the model does not say where people live.
    """
    con = store.connect()
    try:
        _find_reads(con, model, scope)
        pairs = con.sql("SELECT DISTINCT store, entry FROM _reads").fetchall()
    finally:
        con.close()
    entries = _entries(model)
    read: set[tuple[str, int]] = set()
    for store_id, entry in pairs:
        if entry == -1:  # a store without tables/paths: all its entries
            read.update(k for k in entries if k[0] == store_id)
        else:
            read.add((store_id, int(entry)))
    return count_affected(model, read, _reachable(model, scope))


# --- the statements ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadStatement:
    """A logged read statement of a confirmed read. ``table``: the table as the model names it."""

    statement: str
    table: str
    database: str | None = None
    store: str | None = None
    category: str | None = None
    population: str | None = None
    time: datetime | None = None
    account: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)  # {"path", "record_id"}


# pgAudit logs a statement's text once and "<previously logged>" (NULL here) on its further records: the
# text is the last one logged for the same statement id of the same session before the record.
_STATEMENTS_SQL = """
WITH pg AS (
    SELECT e.uid,
           last_value(e.command_line IGNORE NULLS) OVER (
               PARTITION BY e.source_file,
                   coalesce(json_extract_string(e.raw, '$.session_id'), e.process_id::VARCHAR),
                   json_extract_string(e.raw, '$.audit.statement_id')
               ORDER BY e.record_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS statement
    FROM events e
    WHERE e.provider = 'pgaudit' AND e.time BETWEEN $start AND $end
)
SELECT r.time, r.store, r.entry, r.pattern, r.database, r.principal, r.domain, r.source_file,
       r.record_id, pg.statement
FROM _reads r JOIN pg ON pg.uid = r.uid
WHERE r.provider = 'pgaudit' AND pg.statement IS NOT NULL
ORDER BY r.time, r.source_file, r.record_id, r.store, r.entry
"""


def statements_from_store(store: Store, model: GroupModel, scope: Scope) -> list[ReadStatement]:
    """The logged statements of the confirmed pgAudit reads, in time order, one per (record, table)."""
    params = {"start": scope.window[0], "end": scope.window[1]}
    con = store.connect()
    try:
        _find_reads(con, model, scope)
        rows = con.sql(_STATEMENTS_SQL, params=params).to_arrow_table().to_pylist()
    finally:
        con.close()
    entries = _entries(model)
    out: list[ReadStatement] = []
    for r in rows:
        entry = entries.get((r["store"], r["entry"]))
        table = next(
            (t for t in (entry.data.tables if entry else []) if t.lower().strip('"') == r["pattern"]),
            r["pattern"],
        )
        out.append(
            ReadStatement(
                statement=r["statement"],
                table=table,
                database=r["database"],
                store=r["store"],
                category=entry.data.category if entry else None,
                population=entry.population if entry else None,
                time=r["time"],
                account=f"{r['domain']}\\{r['principal']}" if r["domain"] else r["principal"],
                evidence={"path": r["source_file"], "record_id": r["record_id"]},
            )
        )
    return out
