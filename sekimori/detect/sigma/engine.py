"""Evaluate compiled Sigma rules over the store: one pass over the events per log source group.

Rules are grouped by their log source filter (Channel + EventID sets from the pipelines). For each
group one query reads the group's events once and extracts every field the group's rules use in one
JSON parse per event (``json_extract_string`` with a list of paths) into a temporary table, with the
lower-cased values; the rules are then computed over that table, a chunk at a time, as a list of
``CASE WHEN <rule> THEN <index> END`` per event, and the matches unnested (``run_groups``).

Field access is the same whatever the source shape (``sigma_fields``): the ``evtx`` crate's JSON
(``Event.EventData.*``, ``Event.UserData.<elem>.*``, ``Event.System.*``), flat NXLog/OTRF JSON (top
level) and Winlogbeat (``winlog.event_data.*``). ``EventID``, ``Channel`` and ``Provider_Name`` come
from the store's typed columns (``event_code``, ``channel``, ``provider``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from sekimori.detect.sigma.backend import RAW_FIELD, col, sql_str
from sekimori.detect.sigma.ruleset import CompiledRule, LogsourceFilter, RuleFailure
from sekimori.detect.sigma.source import resolve

WINDOWS_FORMATS = ("evtx", "windows_json")
# System fields read from typed store columns.
COLUMN_FIELDS = {"EventID": "event_code", "Channel": "channel", "Provider_Name": "provider"}
# Other System fields: where the evtx crate keeps them, and Winlogbeat's name.
SYSTEM_FIELDS = {
    "Computer": ("$.Event.System.Computer", "$.winlog.computer_name"),
    "EventRecordID": ("$.Event.System.EventRecordID", "$.winlog.record_id"),
    "Level": ("$.Event.System.Level", "$.winlog.level"),
    "Task": ("$.Event.System.Task", "$.winlog.task"),
    "Opcode": ("$.Event.System.Opcode", "$.winlog.opcode"),
    "Keywords": ("$.Event.System.Keywords", "$.winlog.keywords"),
    "Version": ("$.Event.System.Version", "$.winlog.version"),
    "Security_UserID": ('$.Event.System.Security."#attributes".UserID', "$.winlog.user.identifier"),
    "ProcessID": ('$.Event.System.Execution."#attributes".ProcessID', "$.winlog.process.pid"),
    "ThreadID": ('$.Event.System.Execution."#attributes".ThreadID', "$.winlog.process.thread.id"),
}
MATCH_COLUMNS = ("uid", "time", "source_file", "record_id", "host", "principal", "domain")


def _key(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _names(field: str) -> list[str]:
    """Names a Sigma field may have in the record: itself, and spaced (``ThreatName`` → ``Threat Name``).

    Some providers (Windows Defender) name EventData fields with spaces; Sigma rules, like Zircolite
    and Hayabusa, write them without.
    """
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", field)
    return [field] if spaced == field else [field, spaced]


def _elements(value: str) -> str:
    """A field given several times (``<Data>a</Data><Data>b</Data>``, which the evtx crate writes as
    ``{"#text": ["a", "b"]}``) reads as its values joined by a space, not as that JSON text: the JSON
    escapes (``\\\\`` for each backslash) would match values the record does not hold."""
    return (
        f"CASE WHEN starts_with({value}, '{{\"#text\":[') AND json_valid({value}) "
        f"THEN array_to_string(json_extract_string({value}, '$.\"#text\"[*]'), ' ') ELSE {value} END"
    )


def field_expressions(fields: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """SQL that gives each field's text value per event: (extraction columns, field → expression).

    The extraction columns parse ``raw`` once each (one for evtx, one for the other JSON shapes, one
    for evtx UserData); the per-field expressions index into their lists.
    """
    fields = set(fields)
    data = sorted(f for f in fields if f not in COLUMN_FIELDS and f not in SYSTEM_FIELDS and f != RAW_FIELD)
    system = sorted(f for f in fields if f in SYSTEM_FIELDS)
    exprs: dict[str, str] = {f: COLUMN_FIELDS[f] for f in fields if f in COLUMN_FIELDS}
    if RAW_FIELD in fields:
        exprs[RAW_FIELD] = "raw"
    extract: list[str] = []
    if not (data or system):
        return extract, exprs
    evtx: list[str] = []  # JSON paths into the evtx shape
    user: list[str] = []  # JSON paths into the UserData element
    other: list[str] = []  # JSON paths into the other shapes

    def add(paths: list[str], path: str) -> int:
        paths.append(path)
        return len(paths)

    for d in data:
        names = _names(d)
        ev = [add(evtx, f"$.Event.EventData.{_key(n)}") for n in names]
        ud = [add(user, f"$.{_key(n)}") for n in names]
        js = [
            add(other, f"{prefix}.{_key(n)}")
            for prefix in ("$", "$.winlog.event_data", "$.event_data", "$.Event.EventData")
            for n in names
        ]
        evtx_value = ", ".join([f"_ev[{i}]" for i in ev] + [f"_ud[{i}]" for i in ud])
        other_value = ", ".join(f"_js[{i}]" for i in js)
        exprs[d] = (
            f"CASE WHEN source_format = 'evtx' THEN {_elements(f'coalesce({evtx_value})')} "
            f"ELSE coalesce({other_value}) END"
        )
    for f in system:
        # An EventData field of the same name (e.g. ProcessID) comes first, as in the flat shapes.
        evtx_path, beat_path = SYSTEM_FIELDS[f]
        k, i = add(evtx, f"$.Event.EventData.{_key(f)}"), add(evtx, evtx_path)
        js = [add(other, f"$.{_key(f)}"), add(other, beat_path), add(other, evtx_path)]
        exprs[f] = (
            f"CASE WHEN source_format = 'evtx' THEN coalesce(_ev[{k}], _ev[{i}]) ELSE "
            f"coalesce({', '.join(f'_js[{j}]' for j in js)}) END"
        )

    def lst(paths: list[str]) -> str:
        return "[" + ", ".join(sql_str(p) for p in paths) + "]"

    extract.append(f"CASE WHEN source_format = 'evtx' THEN json_extract_string(raw, {lst(evtx)}) END AS _ev")
    extract.append(
        f"CASE WHEN source_format <> 'evtx' THEN json_extract_string(raw, {lst(other)}) END AS _js"
    )
    if user:
        extract.append(
            "CASE WHEN source_format = 'evtx' AND contains(raw, '\"UserData\"') THEN json_extract_string("
            f"json_extract(raw, '$.Event.UserData.*')[1], {lst(user)}) END AS _ud"
        )
    else:
        extract.append("NULL::VARCHAR[] AS _ud")
    return extract, exprs


def filter_sql(flt: LogsourceFilter) -> str:
    parts = ["source_format IN ('evtx', 'windows_json')"]
    for name, values in flt:
        if name == "EventID":
            parts.append(f"event_code IN ({', '.join(sql_str(v) for v in values)})")
        elif name == "Channel":
            parts.append(f"lower(channel) IN ({', '.join(sql_str(v.lower()) for v in values)})")
        elif name == "Provider_Name":
            parts.append(f"lower(provider) IN ({', '.join(sql_str(v.lower()) for v in values)})")
        else:  # pragma: no cover - the pipelines add only Channel and EventID
            raise ValueError(f"log source condition on {name} is not supported")
    return " AND ".join(parts)


def source_expressions(key: str, fields: Iterable[str], table: str) -> tuple[str, dict[str, str]]:
    """The rows of a non-Windows source (``source.py``) with one JSON extraction column ``_js`` for
    the fields read by path, and each field's expression over them."""
    src, kind = resolve(key)
    paths: list[str] = []
    exprs: dict[str, str] = {}
    for f in sorted(fields):
        read = src.read_field(kind, f)
        if read.sql is not None:
            exprs[f] = f"({read.sql})"
        elif read.paths:
            start = len(paths) + 1
            paths.extend(read.paths)
            exprs[f] = "coalesce(" + ", ".join(f"_js[{start + i}]" for i in range(len(read.paths))) + ")"
        else:
            exprs[f] = "NULL::VARCHAR"
    rows = src.rows(kind, table)
    if paths:
        listed = "[" + ", ".join(sql_str(p) for p in paths) + "]"
        rows = f"SELECT *, json_extract_string(_doc, {listed}) AS _js FROM ({rows})"
    return rows, exprs


@dataclass
class Group:
    filter: LogsourceFilter
    rules: list[CompiledRule]
    source: str | None = None  # a non-Windows source's key; None: Windows events by ``filter``

    def fields_sql(self, table: str = "events", rename: Mapping[str, str] | None = None) -> str:
        """The group's events with one ``o:``/``l:`` column per field its rules use (named as ``rename``
        says, for a field it names)."""
        fields: set[str] = set()
        for r in self.rules:
            fields |= r.fields
        name = (lambda f: rename.get(f, f)) if rename else (lambda f: f)
        lower = sorted({f for r in self.rules for f in r.fields if col(f, True) in r.sql})
        lowered = [f"lower({col(name(f), False)}) AS {col(name(f), True)}" for f in lower]
        base = ", ".join(MATCH_COLUMNS)
        if self.source is not None:
            stage1, exprs = source_expressions(self.source, fields, table)
        else:
            extract, exprs = field_expressions(fields)
            src = (
                f"SELECT {base}, source_format, raw, channel, provider, event_code FROM {table} "
                f"WHERE {filter_sql(self.filter)}"
            )
            stage1 = f"SELECT *{''.join(', ' + e for e in extract)} FROM ({src})"
        values = [f"{exprs[f]} AS {col(name(f), False)}" for f in sorted(fields)]
        stage2 = f"SELECT {base}{''.join(', ' + v for v in values)} FROM ({stage1})"
        return f"SELECT *{''.join(', ' + v for v in lowered)} FROM ({stage2})"

    @property
    def label(self) -> str:
        """The log source the group reads, for progress and timings (``Channel=Security EventID=4688``,
        ``entra:signinlogs``)."""
        if self.source is not None:
            return self.source
        return " ".join(f"{k}={'|'.join(v)}" for k, v in self.filter) or "windows (no channel)"

    def part(self, rules: list[CompiledRule]) -> Group:
        return Group(self.filter, rules, self.source)

    def match_sql(self, source: str) -> str:
        """(rule_index, event columns) of every match, over ``source`` (``fields_sql`` or its table).

        A source that gives several rows per event (auditd records) reports a rule's match of an event
        once."""
        cases = ", ".join(f"CASE WHEN {r.sql} THEN {r.index} END" for r in self.rules)
        base = ", ".join(MATCH_COLUMNS)
        hits = f"SELECT {base}, list_filter([{cases}], lambda x: x IS NOT NULL) AS _m FROM {source}"
        distinct = "DISTINCT " if self.source is not None and _distinct(self.source) else ""
        return f"SELECT {distinct}unnest(_m) AS rule_index, {base} FROM ({hits}) WHERE len(_m) > 0"

    def sql(self, table: str = "events") -> str:
        return self.match_sql(f"({self.fields_sql(table)})")


def _distinct(key: str) -> bool:
    src, kind = resolve(key)
    return src.distinct(kind)


def groups(rules: Iterable[CompiledRule]) -> list[Group]:
    """Rules grouped by the events they read: Windows rules by log source filter, others by source.

    A rule with variants (its reading on the built-in audit event, on Zeek's logs) is in one group per
    reading, under the same index: an event is in one group only, so it is matched once.
    """
    by: dict[tuple[LogsourceFilter, str], list[CompiledRule]] = defaultdict(list)
    for r in rules:
        for v in r.readings():
            by[(v.filter, v.source or "")].append(v)
    return [Group(k[0], v, k[1] or None) for k, v in sorted(by.items(), key=lambda kv: str(kv[0]))]


MATCH_SCHEMA = pa.schema(
    [
        pa.field("rule_index", pa.int64()),
        pa.field("uid", pa.string()),
        pa.field("time", pa.timestamp("us", tz="UTC")),
        pa.field("source_file", pa.string()),
        pa.field("record_id", pa.int64()),
        pa.field("host", pa.string()),
        pa.field("principal", pa.string()),
        pa.field("domain", pa.string()),
    ]
)


def _empty_table(con: duckdb.DuckDBPyConnection) -> str:
    con.execute("CREATE OR REPLACE TEMP TABLE _sigma_empty AS SELECT * FROM events LIMIT 0")
    return "_sigma_empty"


def validate(
    con: duckdb.DuckDBPyConnection, rules: list[CompiledRule]
) -> tuple[list[CompiledRule], list[RuleFailure]]:
    """Rules whose SQL DuckDB accepts (binds, regexes compile), and the others with the reason.

    Each group is checked with one query over an empty table; only a group that fails is checked
    rule by rule.
    """
    table = _empty_table(con)
    bad: dict[int, RuleFailure] = {}
    for g in groups(rules):
        try:
            con.sql(g.sql(table)).to_arrow_table()
            continue
        except duckdb.Error:
            pass
        for r in g.rules:
            try:
                con.sql(g.part([r]).sql(table)).to_arrow_table()
            except duckdb.Error as exc:
                reason = f"DuckDB: {str(exc).splitlines()[0]}"
                bad.setdefault(r.index, RuleFailure(r.path, r.id, r.title, reason))
    good = sorted((r for r in rules if r.index not in bad), key=lambda r: r.index)
    return good, list(bad.values())
