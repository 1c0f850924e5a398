"""The reference evaluator, for the differential test and the benchmark (the Zircolite way).

Events are flattened in Python into one SQLite table (one TEXT COLLATE NOCASE column per field name,
as Zircolite does) and each rule is converted by pySigma's SQLite backend with the same Sysmon and
Windows log source pipelines, then run as its own query. Slow by design: it is the yardstick, not
the engine.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson

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
    columns: dict[str, str] = {}
    for _, rec in flat:
        for key in rec:
            columns.setdefault(key.lower(), key)
    names = list(columns.values())
    con = sqlite3.connect(":memory:")
    con.create_function("REGEXP", 2, _regexp, deterministic=True)
    quoted = ", ".join('"' + n.replace('"', '""') + '" TEXT COLLATE NOCASE' for n in names)
    con.execute(f"CREATE TABLE logs (row_uid TEXT{', ' + quoted if quoted else ''})")
    index = {n.lower(): i for i, n in enumerate(names)}
    width = len(names) + 1
    batch = []
    for uid, rec in flat:
        row: list[Any] = [None] * width
        row[0] = uid
        for k, v in rec.items():
            row[index[k.lower()] + 1] = v
        batch.append(row)
    con.executemany(f"INSERT INTO logs VALUES ({', '.join('?' * width)})", batch)
    return ReferenceDB(con, len(flat), len(names))


def store_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    query = "SELECT uid, raw FROM events WHERE source_format = 'evtx' ORDER BY uid"
    return [(uid, raw) for uid, raw in con.sql(query).fetchall()]


@dataclass
class ReferenceResult:
    matches: set[tuple[str, str]] = field(default_factory=set)  # (rule id, event uid)
    converted: set[str] = field(default_factory=set)  # rule ids the reference could run
    failures: dict[str, str] = field(default_factory=dict)  # rule id → why not


def _rule_docs(sources: Iterable[str | Path | None]) -> Iterator[tuple[str, str]]:
    for source in sources:
        yield from iter_rule_files(source)


def reference_matches(
    db: ReferenceDB, sources: Iterable[str | Path | None], only: set[str] | None = None
) -> ReferenceResult:
    """(rule id, uid) matches of the Windows rules in ``sources`` by pySigma's SQLite backend."""
    from sigma.backends.sqlite.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection
    from sigma.pipelines.sysmon.sysmon import sysmon_pipeline
    from sigma.pipelines.windows.windows import windows_logsource_pipeline
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
            backend = sqliteBackend(sysmon_pipeline() + windows_logsource_pipeline())
            try:
                queries = backend.convert_rule(rule)
            except Exception as exc:
                result.failures[rid] = f"{type(exc).__name__}: {exc}"[:200]
                continue
            result.converted.add(rid)
            for q in queries:
                sql = str(q).replace("SELECT * FROM logs", "SELECT row_uid FROM logs", 1)
                try:
                    result.matches.update((rid, uid) for (uid,) in _execute(db, sql))
                except sqlite3.Error as exc:
                    result.failures[rid] = f"sqlite: {exc}"[:200]
                    result.converted.discard(rid)
    return result


def _execute(db: ReferenceDB, sql: str) -> list[tuple[str]]:
    """Run a query; a column no event has is added (all NULL) instead of failing the rule.

    Zircolite lets such queries fail, which also drops ``not`` conditions over absent fields.
    """
    for _ in range(64):
        try:
            return db.con.execute(sql).fetchall()
        except sqlite3.OperationalError as exc:
            m = re.match(r"no such column: (.+)$", str(exc))
            if not m:
                raise
            name = m.group(1).strip().strip('`"')
            quoted = '"' + name.replace('"', '""') + '"'
            db.con.execute(f"ALTER TABLE logs ADD COLUMN {quoted} TEXT COLLATE NOCASE")
    raise sqlite3.OperationalError("too many missing columns")
