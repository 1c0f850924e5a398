"""Spark SQL from the Sigma compilation's DuckDB SQL.

Two kinds of SQL reach Spark:

- what the compilation writes once per rule (``CompiledRule.sql``, the detection as a boolean over the
  ``"o:Field"``/``"l:Field"`` columns) and the log source filters (``sigma_filter_sql``): transpiled by
  sqlglot (DuckDB → Spark dialect; ``contains``/``starts_with``/``ends_with`` → ``CONTAINS``/
  ``STARTSWITH``/``ENDSWITH``, ``regexp_matches`` → ``RLIKE``, ``LIKE … ESCAPE``, ``TRY_CAST``, quoted
  identifiers to backticks, string literals re-escaped for Spark's backslash escapes);
- the field extraction (``detect/sigma/engine.py`` ``field_expressions``), whose DuckDB form
  (``json_extract_string`` with a list of paths, list indexing) has no Spark counterpart: written here
  with the same reading, as Spark SQL (``get_json_object``, ``from_json`` to a string map).

Regular expressions: DuckDB runs RE2, Spark ``java.util.regex``; both search unanchored and read the
inline flags ``(?i)``, ``(?m)``, ``(?s)`` the compilation writes. A pattern Java refuses fails its rule
only (``sigma.py`` retries a failing group rule by rule).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from sekimori.detect import (
    SIGMA_COLUMN_FIELDS,
    SIGMA_MATCH_COLUMNS,
    SIGMA_RAW_FIELD,
    SIGMA_SYSTEM_FIELDS,
    sigma_column,
)

if TYPE_CHECKING:
    from sekimori.detect import CompiledRule

# Keys a JSON object is read as: every value as text (objects and arrays as their JSON text), as
# DuckDB's ``json_extract_string`` reads them; a JSON null is NULL.
STRING_MAP = "'map<string,string>'"
_MULTI = '{"#text":['  # a field given several times, as the evtx crate writes it
_LOCK = threading.Lock()


def spark_str(text: str) -> str:
    """A Spark SQL string literal (Spark reads backslash escapes inside quotes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


FORMS_VERSION = 3  # of ``_spark_forms``: a change makes the cached transpilations stale
_TRANSPILED: dict[str, str] | None = None  # DuckDB SQL → Spark SQL, kept across runs (``save_transpiled``)
_NEW = 0  # transpiled since the last save
# Entries kept, the most recently used: the corpus's readings are ~5,000, but some queries hold a run's
# own values (the behaviour analytics' baseline end) and would otherwise pile up run after run.
KEPT = 20_000


def _cache_file() -> Path:
    base = os.environ.get("SEKIMORI_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sekimori"
    )
    version = importlib.metadata.version("sqlglot")
    return Path(base) / "spark" / f"transpiled-{FORMS_VERSION}-sqlglot-{version}.json"


def to_spark(duckdb_sql: str) -> str:
    """A DuckDB expression or query in Spark SQL (sqlglot). The corpus's ~5,000 rule readings take
    ~14 s to transpile: results are kept in a cache file per sqlglot version (``save_transpiled``)."""
    global _TRANSPILED, _NEW
    with _LOCK:
        if _TRANSPILED is None:
            try:
                _TRANSPILED = dict(json.loads(_cache_file().read_text()))
            except (OSError, ValueError):
                _TRANSPILED = {}
        known = _TRANSPILED.pop(duckdb_sql, None)
        if known is not None:
            _TRANSPILED[duckdb_sql] = known  # the most recently used last
    if known is not None:
        return known
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb").transform(_spark_forms)
    spark_sql = tree.sql(dialect="spark")
    with _LOCK:
        _TRANSPILED[duckdb_sql] = spark_sql
        _NEW += 1
        if len(_TRANSPILED) > KEPT:
            del _TRANSPILED[next(iter(_TRANSPILED))]  # the least recently used
    return spark_sql


def _plain_path(node: exp.Expression) -> bool:
    """A JSON path literal without wildcards (``$.a."b c"``), which bracket notation reads the same."""
    return (
        isinstance(node, exp.Literal)
        and node.is_string
        and node.this.startswith("$")
        and "*" not in node.this
    )


def _get_json(column: exp.Expression, duckdb_path: str) -> exp.Expression:
    # ``get_json_object`` written as it is: sqlglot would rewrite the path in dot notation, which
    # misreads a key holding a dot (Zeek's ``id.orig_h``).
    return exp.Anonymous(
        this="get_json_object", expressions=[column.copy(), exp.Literal.string(json_path(duckdb_path))]
    )


def _spark_forms(node: exp.Expression) -> exp.Expression:
    """DuckDB functions sqlglot leaves as they are, in a Spark form: ``regexp_full_match(x, 'p')``
    (RE2, the whole text) → ``x RLIKE '\\A(?:p)\\z'`` (Java: ``$`` would also match before a final
    newline)."""
    if isinstance(node, exp.JSONExtractScalar) and not isinstance(node.this, exp.Array):
        paths = node.expression
        if isinstance(paths, exp.Array) and all(_plain_path(p) for p in paths.expressions):
            # DuckDB's list form: one text per path (NULL where absent), as an array
            return exp.Array(expressions=[_get_json(node.this, p.this) for p in paths.expressions])
        if _plain_path(paths):
            return _get_json(node.this, paths.this)
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string and not node.args.get("options"):
            return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"\\A(?:{pattern.this})\\z"))
    return node


def save_transpiled() -> None:
    """Write the transpiled SQL to the cache file (atomically; a failure to write only costs time)."""
    global _NEW
    with _LOCK:
        if not _NEW or _TRANSPILED is None:
            return
        target = _cache_file()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(_TRANSPILED))
            os.replace(tmp, target)
            _NEW = 0
        except OSError:
            pass


def spark_col(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def used_fields(rules: Sequence[CompiledRule]) -> set[str]:
    """The Sigma fields any of ``rules`` reads."""
    return set().union(*(r.fields for r in rules)) if rules else set()


def project_fields(rules: Sequence[CompiledRule], exprs: dict[str, str], rows: str) -> str:
    """``rows`` (Spark SQL) as the match columns plus one ``o:`` column per field ``rules`` read (its
    expression in ``exprs``) and an ``l:`` (lower-cased) one per field a rule compares lower-cased: the
    columns the compiled rule SQL names."""

    def column(field: str, lowered: bool) -> str:
        name = sigma_column(field, lowered)  # the compilation's DuckDB name: "o:Image"
        return spark_col(name[1:-1].replace('""', '"'))

    lower = sorted({f for r in rules for f in r.fields if sigma_column(f, True) in r.sql})
    values = "".join(f", {exprs[f]} AS {column(f, False)}" for f in sorted(used_fields(rules)))
    lowered = "".join(f", lower({column(f, False)}) AS {column(f, True)}" for f in lower)
    return f"SELECT *{lowered} FROM (SELECT {', '.join(SIGMA_MATCH_COLUMNS)}{values} FROM ({rows}))"


def json_path(duckdb_path: str) -> str:
    """A DuckDB JSON path (``$.Event.System.Security."#attributes".UserID``) in the bracket notation
    ``get_json_object`` reads for any key (``$['Event']['System']…``)."""
    keys = re.findall(r'\.(?:"((?:[^"\\]|\\.)*)"|([^."]+))', duckdb_path[1:])
    parts = [(q.replace('\\"', '"').replace("\\\\", "\\") if q else p) for q, p in keys]
    return "$" + "".join("['" + k.replace("'", "\\'") + "']" for k in parts)


def _get(column: str, path: str) -> str:
    return f"get_json_object({column}, {spark_str(json_path(path))})"


def _names(field: str) -> list[str]:
    """A field's names in the record: itself, and spaced (``ThreatName`` → ``Threat Name``), as the
    DuckDB engine reads them (Windows Defender writes EventData names with spaces)."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", field)
    return [field] if spaced == field else [field, spaced]


def _at(map_column: str, key: str) -> str:
    return f"{map_column}[{spark_str(key)}]"


def _elements(value: str) -> str:
    """A field given several times (``{"#text": ["a", "b"]}``) reads as its values joined by a space;
    any other value (or a text that is not that JSON) as it is."""
    joined = f"array_join(from_json({value}, 'struct<`#text`:array<string>>').`#text`, ' ')"
    multi = f"startswith({value}, {spark_str(_MULTI)})"
    return f"CASE WHEN {multi} THEN coalesce({joined}, {value}) ELSE {value} END"


def windows_field_expressions(fields: Iterable[str]) -> tuple[list[list[str]], dict[str, str]]:
    """Spark SQL giving each field's text per Windows event: (extraction stages, each a list of columns
    over the one before, the first over the events; field → expression over the last). The same
    reading as the DuckDB engine's ``field_expressions``:

    - evtx crate JSON: ``Event.EventData.<name>``, else the single child of ``Event.UserData``; a field
      given several times joined by spaces; System fields from ``Event.System`` (an EventData field of
      the same name first);
    - other shapes (flat NXLog/OTRF, Winlogbeat 7+ ``winlog.event_data``, 6 ``event_data``, and
      ``Event.EventData``), in that order, each name then its spaced form;
    - ``EventID``, ``Channel``, ``Provider_Name`` from the store's typed columns; keywords from ``raw``.

    Each JSON object is parsed once per event into a string map (``from_json``), the fields are map
    lookups.
    """
    fields = set(fields)
    data = sorted(
        f
        for f in fields
        if f not in SIGMA_COLUMN_FIELDS and f not in SIGMA_SYSTEM_FIELDS and f != SIGMA_RAW_FIELD
    )
    system = sorted(f for f in fields if f in SIGMA_SYSTEM_FIELDS)
    exprs: dict[str, str] = {f: SIGMA_COLUMN_FIELDS[f] for f in fields if f in SIGMA_COLUMN_FIELDS}
    if SIGMA_RAW_FIELD in fields:
        exprs[SIGMA_RAW_FIELD] = "raw"
    if not (data or system):
        return [], exprs
    evtx, other = "source_format = 'evtx'", "source_format <> 'evtx'"
    extract = [
        f"CASE WHEN {evtx} THEN from_json(get_json_object(raw, '$.Event.EventData'), {STRING_MAP}) "
        "END AS _ev",
        f"CASE WHEN {evtx} AND contains(raw, '\"UserData\"') THEN from_json(map_values(from_json("
        f"get_json_object(raw, '$.Event.UserData'), {STRING_MAP}))[0], {STRING_MAP}) END AS _ud",
        f"CASE WHEN {other} THEN from_json(raw, {STRING_MAP}) END AS _js",
    ]
    # The other shapes' nested objects, parsed from the top level's text of them.
    nested = [
        f"from_json(get_json_object(_js['winlog'], '$.event_data'), {STRING_MAP}) AS _wl",
        f"from_json(_js['event_data'], {STRING_MAP}) AS _ed",
        f"from_json(get_json_object(_js['Event'], '$.EventData'), {STRING_MAP}) AS _ee",
    ]
    for d in data:
        names = _names(d)
        on_evtx = ", ".join([_at("_ev", n) for n in names] + [_at("_ud", n) for n in names])
        on_other = ", ".join(_at(m, n) for m in ("_js", "_wl", "_ed", "_ee") for n in names)
        exprs[d] = f"CASE WHEN {evtx} THEN {_elements(f'coalesce({on_evtx})')} ELSE coalesce({on_other}) END"
    for f in system:
        evtx_path, beat_path = SIGMA_SYSTEM_FIELDS[f]
        exprs[f] = (
            f"CASE WHEN {evtx} THEN coalesce({_at('_ev', f)}, {_get('raw', evtx_path)}) ELSE "
            f"coalesce({_at('_js', f)}, {_get('raw', beat_path)}, {_get('raw', evtx_path)}) END"
        )
    return [extract, nested], exprs
