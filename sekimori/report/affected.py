"""Who is affected: the data stores, tables and files the attacker read, and the people in them.

Two levels of precision:

* :func:`affected_from_store` counts from the logs and the model. A read is a data-access event in the
  store (a pgAudit ``SELECT``/``COPY`` on a table the model names, a Windows 5145 share access with
  ReadData under a path it names) by a compromised account, from a compromised host, or recorded on a
  compromised host without a network source (a local read), at or after that entity's ``since``. The
  people of the entries read are ``confirmed``; entries of stores reachable in the scope but not shown
  read are ``possible``. People are counted as the model says (docs/graph.md, "Counting people"):
  entries with the same ``population`` and category are the same people, the largest counts.
* :func:`replay_reads` lists the people exactly: it re-runs the logged read statements
  (:func:`statements_from_store`) read-only against the database and writes the distinct person keys
  they return to a protected file.

The matching is one DuckDB query over the events; Python only touches the model's entries and the
distinct identities of the events (to key them exactly as the scope does).
"""

from __future__ import annotations

import csv
import fnmatch
import logging
import os
import stat
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from sekimori.graph.build import glob_like, host_key
from sekimori.graph.observed import register_data_access_keys
from sekimori.report.facts import AffectedCount

if TYPE_CHECKING:
    import duckdb
    from sqlglot import exp

    from sekimori.model import GroupModel
    from sekimori.model.group import DataStore, PersonalData
    from sekimori.respond.scope import Scope
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
       arg_min(coalesce(a.label, hs.label, hh.label),
               CASE WHEN a.label IS NOT NULL THEN 0 WHEN hs.label IS NOT NULL THEN 1 ELSE 2 END) AS cause
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


# --- replay ------------------------------------------------------------------------------------------


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


def _listing(query: exp.Query, table: str, key: str) -> tuple[str, list[str]] | str:
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


Status = Literal["replayed", "refused", "failed", "unlisted"]


@dataclass
class ReplayOutcome:
    """What became of one distinct (database, statement, table); no statement text (it may hold people's
    data): ``statements`` are the indices of the :class:`ReadStatement` s it stands for."""

    statements: list[int]
    table: str
    database: str | None
    status: Status
    reason: str | None = None
    rows: int = 0  # rows the statement returns now
    keys: int = 0  # distinct person keys among them


@dataclass
class ReplayResult:
    path: Path  # the protected file: category,population,table,key
    replayed_at: datetime  # the listing shows the rows as they were then, not when the attacker read them
    per_table: dict[str, int]  # distinct person keys per table
    people: dict[str, int]  # distinct person keys per category, tables of one population together
    outcomes: list[ReplayOutcome]

    @property
    def refused(self) -> list[ReplayOutcome]:
        return [o for o in self.outcomes if o.status == "refused"]


def _protected_file(out: Path) -> int:
    """A new file only its owner can read, in a directory others cannot enter."""
    parent = out.parent
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700)
        parent.chmod(0o700)
    mode = parent.stat().st_mode
    if mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IXOTH):
        raise PermissionError(
            f"{parent} is open to other users (mode {stat.filemode(mode)}): use a private directory"
        )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(out, flags, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask
    return fd


def _key_for(key_column: str | dict[str, str], table: str) -> str | None:
    if isinstance(key_column, str):
        return key_column
    bare = table.split(".")[-1]
    for name in (table, table.lower(), bare, bare.lower()):
        if name in key_column:
            return key_column[name]
    return None


def _groups(statements: list[ReadStatement]) -> Iterator[tuple[tuple[str | None, str, str], list[int]]]:
    groups: dict[tuple[str | None, str, str], list[int]] = {}
    for i, s in enumerate(statements):
        groups.setdefault((s.database, s.statement, s.table), []).append(i)
    yield from groups.items()


def replay_reads(
    dsn: str,
    statements: list[ReadStatement],
    key_column: str | dict[str, str],
    out: Path,
    *,
    allow_functions: Iterable[str] = (),
    timeout_seconds: int = 300,
) -> ReplayResult:
    """Re-run the logged read statements read-only and list the people they return.

    Each distinct (database, statement, table) runs once, in its own ``READ ONLY`` transaction on a
    connection with ``default_transaction_read_only``, through a server-side cursor (``DECLARE … CURSOR``
    takes only a query, one statement, by the extended protocol), after :func:`check_read_only` accepted
    it; what runs is sqlglot's rendering of the checked statement, with the table's key column appended to
    a plain ``SELECT`` so that each row returned gives its person. Refused, failed and unlisted
    statements (aggregates, reads inside subqueries whose result lacks the key) are reported in
    ``outcomes``; errors by SQLSTATE only, since messages can quote the data.

    ``key_column``: the person key column, one for all tables or per table (the model's name or the
    bare name). The distinct keys go to ``out`` only (CSV ``category,population,table,key``, created
    with ``O_EXCL``, mode 0600, in a directory closed to others); nothing of them is logged.

    Caveat: a replay shows what the statement returns NOW (``replayed_at``), under the DSN's role (its
    privileges and row-level security, not the attacker's); rows inserted, changed or deleted since the
    read, and statements depending on time (``now()``) or randomness, may give other rows. With
    ``DISTINCT`` the appended key lists every row behind the distinct values (with a ``LIMIT`` too, the
    rows kept may differ from the attacker's).
    """
    import psycopg

    fd = _protected_file(out)
    replayed_at = datetime.now(UTC)
    keys: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # (category, population, table) → keys
    outcomes: list[ReplayOutcome] = []
    try:
        by_db: dict[str | None, list[tuple[tuple[str | None, str, str], list[int]]]] = defaultdict(list)
        for group in _groups(statements):
            by_db[group[0][0]].append(group)
        for database, groups in by_db.items():
            extra: dict[str, Any] = {"dbname": database} if database else {}
            options = (
                f"-c default_transaction_read_only=on -c statement_timeout={int(timeout_seconds * 1000)}"
            )
            with psycopg.connect(dsn, autocommit=False, options=options, **extra) as conn:
                conn.read_only = True
                for (db, sql, table), indices in groups:
                    first = statements[indices[0]]
                    outcome = ReplayOutcome(indices, table, db, "replayed")
                    outcomes.append(outcome)
                    found = _replay_one(
                        conn, sql, table, _key_for(key_column, table), allow_functions, outcome
                    )
                    if outcome.status == "replayed":
                        keys[(first.category or "", first.population or "", table)] |= found
                    log.info(
                        "replay of %d logged statement(s) on %s: %s, %d rows, %d keys",
                        len(indices), table, outcome.status, outcome.rows, outcome.keys,
                    )  # fmt: skip
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fd = -1
            writer = csv.writer(fh)
            writer.writerow(["category", "population", "table", "key"])
            for (category, population, table), values in sorted(keys.items()):
                writer.writerows([category, population, table, v] for v in sorted(values))
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        if fd >= 0:
            os.close(fd)
        out.unlink(missing_ok=True)  # no partial list of people
        raise
    per_table: dict[str, set[str]] = defaultdict(set)
    per_population: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (category, population, table), values in keys.items():
        per_table[table] |= values
        per_population[(category, population or table)] |= values
    people: dict[str, int] = defaultdict(int)
    for (category, _), values in per_population.items():
        people[category or "unknown"] += len(values)
    return ReplayResult(
        path=out,
        replayed_at=replayed_at,
        per_table={t: len(v) for t, v in sorted(per_table.items())},
        people=dict(people),
        outcomes=outcomes,
    )


def _replay_one(
    conn: Any,
    sql: str,
    table: str,
    key: str | None,
    allow_functions: Iterable[str],
    outcome: ReplayOutcome,
) -> set[str]:
    """The distinct person keys the statement returns; ``outcome`` says what became of it."""
    import psycopg

    if key is None:
        outcome.status, outcome.reason = "unlisted", "no key column given for the table"
        return set()
    try:
        query = check_read_only(sql, allow_functions)
    except RefusedStatement as err:
        outcome.status, outcome.reason = "refused", str(err)
        return set()
    listing = _listing(query, table, key)
    if isinstance(listing, str):
        text, columns, why = query.sql(dialect="postgres"), None, listing
    else:
        (text, columns), why = listing, None
    found: set[str] = set()
    try:
        with conn.transaction():
            with conn.cursor() as check:
                check.execute("SET TRANSACTION READ ONLY")
                row = check.execute("SHOW transaction_read_only").fetchone()
                if not row or row[0] != "on":
                    raise RuntimeError("the replay transaction is not read-only")
            with conn.cursor(name="sekimori_replay") as cur:
                cur.itersize = 10_000
                cur.execute(text)
                names = [d.name for d in cur.description or []]
                wanted = (
                    [names.index(c) for c in columns]
                    if columns
                    else [i for i, n in enumerate(names) if n == key]
                )
                if not wanted:
                    outcome.status, outcome.reason = "unlisted", why
                for record in cur:
                    outcome.rows += 1
                    found.update(str(record[i]) for i in wanted if record[i] is not None)
    except psycopg.Error as err:
        outcome.status = "failed"
        outcome.reason = f"{type(err).__name__} (SQLSTATE {getattr(err, 'sqlstate', None)})"
        return set()
    outcome.keys = len(found) if outcome.status == "replayed" else 0
    return found
