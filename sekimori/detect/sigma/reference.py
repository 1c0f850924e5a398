"""The reference evaluator, for the differential test and the benchmark (the Zircolite way).

Events are flattened in Python into one SQLite table (one TEXT COLLATE NOCASE column per field name,
as Zircolite does) and each rule is converted by pySigma's SQLite backend with pySigma's own Sysmon and
Windows log source pipelines, and (process_creation, registry_*) with its Windows audit pipeline, all
unchanged, then run as its own query. Slow by design: it is the yardstick, not the engine. The one
reading it shares with the engine is the flattening of a field given several times (unnamed
``<Data>``): its values, space-separated (the tests hold that reading to a plain-Python one).
"""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson

from sekimori.detect.sigma.logsources import AUDIT_CATEGORIES
from sekimori.detect.sigma.rules import iter_rule_files

_SKIP = {"Event", "System", "EventData", "UserData", "#attributes", "#text"}


def flatten(raw: str) -> dict[str, str]:
    """One evtx-crate JSON record as flat Sigma fields (EventData/UserData children, System fields)."""
    doc = orjson.loads(raw)
    out: dict[str, str] = {}

    def put(key: str, value: Any) -> None:
        key = key.replace(" ", "")
        if not key or key.lower() in (k.lower() for k in out):
            return
        if value is None:
            return
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list) and all(not isinstance(v, list | dict) for v in value):
            # A field given several times (unnamed ``<Data>`` elements): its values, space-separated.
            out[key] = " ".join(str(v) for v in value if v is not None)
        elif isinstance(value, list | dict):
            out[key] = orjson.dumps(value).decode()
        else:
            out[key] = str(value)

    def walk(node: Any, parts: list[str], in_user: bool) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "UserData" and isinstance(v, dict):
                    for inner in v.values():  # the provider-specific element: its children are fields
                        walk(inner, parts, True)
                    continue
                walk(v, [*parts, k] if k not in _SKIP else parts, in_user)
        else:
            put("_".join(parts), node)

    event = doc.get("Event") if isinstance(doc, dict) else None
    if isinstance(event, dict):
        system = event.get("System") or {}
        data = event.get("EventData")
        if isinstance(data, dict):
            walk(data, [], False)
        elif data is not None:
            put("Data", data)
        walk({k: v for k, v in event.items() if k not in ("System", "EventData")}, [], False)
        walk(system, [], False)
    elif isinstance(doc, dict):
        walk(doc, [], False)
    return out


def _regexp(pattern: str, value: Any) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


@dataclass
class ReferenceDB:
    con: sqlite3.Connection
    events: int
    columns: int


def build_sqlite(rows: Iterable[tuple[str, str]]) -> ReferenceDB:
    """An in-memory SQLite table ``logs`` (row_uid + one column per field) from (uid, raw) rows."""
    flat = [(uid, flatten(raw)) for uid, raw in rows]
    con = sqlite_table(flat)
    columns = len({k.lower() for _, rec in flat for k in rec})
    return ReferenceDB(con, len(flat), columns)


def sqlite_table(rows: Sequence[tuple[Any, Mapping[str, Any]]]) -> sqlite3.Connection:
    """An in-memory SQLite table ``logs``: ``row_uid`` (each row's key) and one ``TEXT COLLATE NOCASE``
    column per field name (case-insensitive, as Zircolite's), with a ``REGEXP`` function."""
    columns: dict[str, str] = {}
    for _, rec in rows:
        for key in rec:
            columns.setdefault(key.lower(), key)
    names = list(columns.values())
    con = sqlite3.connect(":memory:")
    con.create_function("REGEXP", 2, _regexp, deterministic=True)
    quoted = ", ".join('"' + n.replace('"', '""') + '" TEXT COLLATE NOCASE' for n in names)
    con.execute(f"CREATE TABLE logs (row_uid{', ' + quoted if quoted else ''})")
    index = {n.lower(): i for i, n in enumerate(names)}
    width = len(names) + 1
    batch = []
    for uid, rec in rows:
        row: list[Any] = [None] * width
        row[0] = uid
        for k, v in rec.items():
            row[index[k.lower()] + 1] = v
        batch.append(row)
    con.executemany(f"INSERT INTO logs VALUES ({', '.join('?' * width)})", batch)
    return con


def store_rows(con: duckdb.DuckDBPyConnection, formats: tuple[str, ...] = ("evtx",)) -> list[tuple[str, str]]:
    """(uid, raw) of the store's events of these formats (evtx-crate JSON; flat NXLog/OTRF JSON)."""
    listing = ", ".join("'" + f.replace("'", "''") + "'" for f in formats)
    query = f"SELECT uid, raw FROM events WHERE source_format IN ({listing}) ORDER BY uid"
    return [(uid, raw) for uid, raw in con.sql(query).fetchall()]


@dataclass
class ReferenceResult:
    matches: set[tuple[str, str]] = field(default_factory=set)  # (rule id, event uid)
    converted: set[str] = field(default_factory=set)  # rule ids the reference could run
    failures: dict[str, str] = field(default_factory=dict)  # rule id → why not
    variant_failures: dict[str, str] = field(default_factory=dict)  # rule id → why no audit reading


def _rule_docs(sources: Iterable[str | Path | None]) -> Iterator[tuple[str, str]]:
    for source in sources:
        yield from iter_rule_files(source)


def reference_matches(
    db: ReferenceDB, sources: Iterable[str | Path | None], only: set[str] | None = None
) -> ReferenceResult:
    """(rule id, uid) matches of the Windows rules in ``sources`` by pySigma's SQLite backend.

    Each rule is converted with the Sysmon + Windows log source pipelines and, where pySigma's
    ``windows_audit_pipeline`` maps its category (process_creation, registry_*), once more with that
    pipeline + the log source pipeline, both unchanged; the rule's matches are the union.
    """
    from sigma.backends.sqlite.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection
    from sigma.pipelines.sysmon.sysmon import sysmon_pipeline
    from sigma.pipelines.windows.windows import windows_audit_pipeline, windows_logsource_pipeline
    from sigma.rule import SigmaRule

    result = ReferenceResult()
    for _path, text in _rule_docs(sources):
        try:
            collection = SigmaCollection.from_yaml(text)
        except Exception:
            continue
        for rule in collection.rules:
            if not isinstance(rule, SigmaRule) or rule.logsource.product != "windows":
                continue
            rid = str(rule.id)
            if only is not None and rid not in only:
                continue
            audit = rule.logsource.category in AUDIT_CATEGORIES
            for variant in ("sysmon", "audit") if audit else ("sysmon",):
                pipeline = (windows_audit_pipeline() if variant == "audit" else sysmon_pipeline()) + (
                    windows_logsource_pipeline()
                )
                why = _run_rule(db, sqliteBackend(pipeline), copy.deepcopy(rule), rid, result)
                if why is None:
                    if variant == "sysmon":
                        result.converted.add(rid)
                elif variant == "sysmon":
                    result.failures[rid] = why
                else:
                    result.variant_failures[rid] = why
    return result


def _run_rule(db: ReferenceDB, backend: Any, rule: Any, rid: str, result: ReferenceResult) -> str | None:
    """Add the rule's matches to ``result``; why it could not run, if it could not."""
    try:
        queries = backend.convert_rule(rule)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    found: set[tuple[str, str]] = set()
    for q in queries:
        sql = str(q).replace("SELECT * FROM logs", "SELECT row_uid FROM logs", 1)
        try:
            found.update((rid, uid) for (uid,) in _execute(db, sql))
        except sqlite3.Error as exc:
            return f"sqlite: {exc}"[:200]
    result.matches |= found
    return None


def _execute(db: ReferenceDB, sql: str) -> list[tuple[str]]:
    return execute_adding_columns(db.con, sql)


def execute_adding_columns(con: sqlite3.Connection, sql: str) -> list[tuple[Any]]:
    """Run a query over ``logs``; a column no row has is added (all NULL) instead of failing the rule.

    Zircolite lets such queries fail, which also drops ``not`` conditions over absent fields.
    """
    for _ in range(64):
        try:
            return con.execute(sql).fetchall()
        except sqlite3.OperationalError as exc:
            m = re.match(r"no such column: (.+)$", str(exc))
            if not m:
                raise
            name = m.group(1).strip().strip('`"')
            quoted = '"' + name.replace('"', '""') + '"'
            con.execute(f"ALTER TABLE logs ADD COLUMN {quoted} TEXT COLLATE NOCASE")
    raise sqlite3.OperationalError("too many missing columns")
