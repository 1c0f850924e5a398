"""Sigma v2 correlation rules (event_count, value_count, temporal, temporal_ordered) in SQL.

A correlation works on the matches of the rules it names (by id or ``name``), grouped by its
``group-by`` fields (read from the matched events like any Sigma field) within ``timespan``:

- windows start at each matching event and reach ``timespan`` forward (``RANGE ... FOLLOWING``);
- ``event_count``: the window's event count meets the condition;
- ``value_count``: the count of distinct values of ``condition.field`` meets the condition;
- ``temporal``: every named rule matched in the window;
- ``temporal_ordered``: the named rules matched in the order given (a chain of joins).

One alert per group and burst: a qualifying window that starts within ``timespan`` of the group's
previous qualifying window is folded into it. ``aliases`` are not supported (listed as a failure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from sekimori.detect.alerts import LEVEL_SCORE
from sekimori.detect.sigma.backend import col, sql_str
from sekimori.detect.sigma.engine import MATCH_COLUMNS, field_expressions
from sekimori.detect.sigma.ruleset import Correlation, Ruleset, attack_ids

_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def timespan_seconds(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([smhdwM]?)\s*", str(text))
    if not m:
        raise ValueError(f"timespan {text!r} is not <number><s|m|h|d>")
    unit = m.group(2) or "s"
    if unit == "M":
        return int(m.group(1)) * 30 * 86400
    return int(m.group(1)) * _UNITS[unit]


@dataclass
class CorrelationPlan:
    corr: Correlation
    rule_indexes: list[int]
    fields: list[str] = field(default_factory=list)


def _condition(corr: Correlation) -> tuple[str, int]:
    cond = corr.condition or {}
    for key, op in _OPS.items():
        if key in cond:
            return op, int(cond[key])
    raise ValueError(f"correlation {corr.id}: no condition operator in {cond}")


def correlation_sql(plan: CorrelationPlan, table: str = "events") -> str:
    corr = plan.corr
    span = timespan_seconds(corr.timespan)
    group = [f for f in corr.group_by]
    value_field = (corr.condition or {}).get("field")
    fields = sorted(set(group) | ({value_field} if value_field else set()))
    extract, exprs = field_expressions(fields)
    base = ", ".join(f"m.{c}" for c in MATCH_COLUMNS)
    idx = ", ".join(str(i) for i in plan.rule_indexes)
    src = (
        f"SELECT m.rule_index, {base}, e.source_format, e.raw, e.channel, e.provider, e.event_code "
        f"FROM _sigma_matches m JOIN {table} e ON e.uid = m.uid WHERE m.rule_index IN ({idx})"
    )
    stage1 = f"SELECT *{''.join(', ' + x for x in extract)} FROM ({src})"
    values = "".join(f", {exprs[f]} AS {col(f, False)}" for f in fields)
    stage2 = f"SELECT rule_index, {', '.join(MATCH_COLUMNS)}{values} FROM ({stage1})"
    part = ", ".join(col(f, False) for f in group) or "1"
    window = (
        f"PARTITION BY {part} ORDER BY time RANGE BETWEEN CURRENT ROW AND INTERVAL {span} SECOND FOLLOWING"
    )
    # RANGE takes one ORDER BY key (time), so ties within the frame are put in order by the list itself
    evidence = "list({'path': source_file, 'record_id': record_id, 'uid': uid} ORDER BY time, uid) OVER w"
    group_json = "to_json({" + ", ".join(f"{sql_str(f)}: {col(f, False)}" for f in group) + "})::VARCHAR"
    if corr.type in ("event_count", "value_count", "temporal"):
        if corr.type == "event_count":
            op, n = _condition(corr)
            measure, test = "count(*) OVER w", f"_n {op} {n}"
        elif corr.type == "value_count":
            op, n = _condition(corr)
            if not value_field:
                raise ValueError(f"correlation {corr.id}: value_count needs condition.field")
            measure, test = f"count(DISTINCT {col(value_field, False)}) OVER w", f"_n {op} {n}"
        else:
            measure = "count(DISTINCT rule_index) OVER w"
            if corr.condition:
                op, n = _condition(corr)
                test = f"_n {op} {n}"
            else:
                test = f"_n >= {len(set(plan.rule_indexes))}"
        windows = (
            f"SELECT *, {measure} AS _n, {evidence} AS _ev, max(time) OVER w AS _last, "
            f"{group_json} AS _group FROM ({stage2}) WINDOW w AS ({window})"
        )
        hits = f"SELECT * FROM ({windows}) WHERE {test}"
    elif corr.type == "temporal_ordered":
        order = plan.rule_indexes
        k = len(order)
        joins = []
        for i in range(1, k):
            same = "".join(
                f" AND s{i}.{col(f, False)} IS NOT DISTINCT FROM s0.{col(f, False)}" for f in group
            )
            joins.append(
                f"JOIN s s{i} ON s{i}.rule_index = {order[i]} AND s{i}.time >= s{i - 1}.time "
                f"AND s{i}.time <= s0.time + INTERVAL {span} SECOND{same}"
            )
        evid = ", ".join(
            f"{{'path': s{i}.source_file, 'record_id': s{i}.record_id, 'uid': s{i}.uid}}" for i in range(k)
        )
        chain = (
            f"WITH s AS ({stage2}) SELECT s0.*, s0.uid AS _start, [{evid}] AS _ev, s{k - 1}.time AS _last, "
            f"{_prefixed_group(group, 's0')} AS _group "
            f"FROM s s0 {' '.join(joins)} WHERE s0.rule_index = {order[0]}"
        )
        # of the chains from one start that end together, the one whose events' uids come first
        hits = (
            f"SELECT * FROM ({chain}) QUALIFY row_number() OVER (PARTITION BY _start "
            "ORDER BY _last, list_transform(_ev, lambda x: x.uid)) = 1"
        )
    else:
        raise ValueError(f"correlation type {corr.type!r} is not supported")
    # (time, uid, rule_index) is total: of matches at one time the fold keeps the same one every run (its
    # uid makes the alert id), not whichever the sort met first
    in_time = "PARTITION BY _group ORDER BY time, uid, rule_index"
    folded = (
        f"SELECT * FROM ({hits}) QUALIFY lag(time) OVER ({in_time}) IS NULL "
        f"OR time > lag(time) OVER ({in_time}) + INTERVAL {span} SECOND"
    )
    score = LEVEL_SCORE.get(corr.level, 0.5)
    return (
        f"SELECT substr(sha256({sql_str(corr.id)} || chr(0) || uid || chr(0) || _group), 1, 24) AS alert_id, "
        f"{sql_str(corr.id)} AS rule_id, {sql_str(corr.title)} AS title, 'sigma' AS source, "
        f"{sql_str(corr.level)} AS level, {score} AS score, "
        f"{_list(attack_ids(corr.tags))} AS attack, time, _last AS last_time, host, principal AS account, "
        f"domain, {sql_str('Sigma correlation (' + corr.type + '): ' + corr.title)} AS description, "
        f"_ev AS evidence, to_json({{'sigma_file': {sql_str(corr.path)}, 'group': _group::JSON}})::VARCHAR "
        f"AS details FROM ({folded})"
    )


def _prefixed_group(group: list[str], alias: str) -> str:
    return "to_json({" + ", ".join(f"{sql_str(f)}: {alias}.{col(f, False)}" for f in group) + "})::VARCHAR"


def _list(values: list[str]) -> str:
    return "[" + ", ".join(sql_str(v) for v in values) + "]::VARCHAR[]"


def plan_correlations(
    ruleset: Ruleset, active: set[int] | None = None
) -> tuple[list[CorrelationPlan], list[str]]:
    """Correlations whose rules are all known (and active), and why the others cannot run."""
    by_ref: dict[str, int] = {}
    for r in ruleset.rules:
        by_ref[r.id] = r.index
        if r.name:
            by_ref[r.name] = r.index
    plans, problems = [], []
    for corr in ruleset.correlations:
        missing = [ref for ref in corr.rules if ref not in by_ref]
        if missing:
            problems.append(f"{corr.id}: unknown rules {missing}")
            continue
        if corr.aliases:
            problems.append(f"{corr.id}: aliases are not supported")
            continue
        indexes = [by_ref[ref] for ref in corr.rules]
        if active is not None and not set(indexes) <= active:
            continue
        plans.append(CorrelationPlan(corr, indexes))
    return plans, problems


def run_correlations(
    con: duckdb.DuckDBPyConnection, ruleset: Ruleset, matches: pa.Table, table: str = "events"
) -> pa.Table:
    """Alerts of the ruleset's correlations over base-rule ``matches`` (``MATCH_SCHEMA``), whose group-by
    fields are read from the events of ``table``. ``matches`` is registered on ``con`` as
    ``_sigma_matches`` (replacing one registered there)."""
    con.register("_sigma_matches", matches)
    active = set(matches.column("rule_index").to_pylist()) if matches.num_rows else set()
    plans, _ = plan_correlations(ruleset, None)
    tables = []
    for plan in plans:
        if not set(plan.rule_indexes) & active:
            continue
        tables.append(con.sql(correlation_sql(plan, table)).to_arrow_table())
    if not tables:
        return pa.table({})
    return pa.concat_tables(tables, promote_options="permissive")
