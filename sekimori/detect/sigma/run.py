"""Sigma alerts from matches (single-event alerts and correlations, all in SQL, no per-event Python)
and the rules a run chooses."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa

from sekimori.detect.alerts import LEVEL_SCORE
from sekimori.detect.sigma.correlation import run_correlations
from sekimori.detect.sigma.ruleset import LEVELS, CompiledRule, Ruleset

RULES_SCHEMA = pa.schema(
    [
        pa.field("rule_index", pa.int64()),
        pa.field("rule_id", pa.string()),
        pa.field("title", pa.string()),
        pa.field("level", pa.string()),
        pa.field("attack", pa.list_(pa.string())),
        pa.field("path", pa.string()),
        pa.field("status", pa.string()),
    ]
)


def select_rules(
    ruleset: Ruleset, min_level: str | None = None, statuses: Iterable[str] | None = None
) -> list[CompiledRule]:
    rules = ruleset.rules
    if min_level:
        floor = LEVELS.index(min_level.lower())
        rules = [r for r in rules if r.level in LEVELS and LEVELS.index(r.level) >= floor]
    if statuses:
        wanted = {s.lower() for s in statuses}
        rules = [r for r in rules if r.status in wanted]
    return rules


def rules_table(rules: Iterable[CompiledRule]) -> pa.Table:
    rows = [
        {
            "rule_index": r.index,
            "rule_id": r.id,
            "title": r.title,
            "level": r.level,
            "attack": r.attack,
            "path": r.path,
            "status": r.status,
        }
        for r in rules
    ]
    return pa.Table.from_pylist(rows, schema=RULES_SCHEMA)


_SCORE = " ".join(f"WHEN '{k}' THEN {v}" for k, v in LEVEL_SCORE.items())

ALERTS_SQL = f"""
SELECT substr(sha256(r.rule_id || chr(0) || m.uid), 1, 24) AS alert_id,
       r.rule_id, r.title, 'sigma' AS source, r.level,
       CASE r.level {_SCORE} ELSE 0.5 END AS score,
       r.attack, m.time, m.time AS last_time, m.host, m.principal AS account, m.domain,
       'Sigma rule matched: ' || r.title AS description,
       [{{'path': m.source_file, 'record_id': m.record_id, 'uid': m.uid}}] AS evidence,
       to_json({{'sigma_file': r.path, 'status': r.status}})::VARCHAR AS details
FROM _sigma_matches m JOIN _sigma_rules r USING (rule_index)
ORDER BY m.time, r.rule_id, m.uid
"""


def alerts_of_matches(
    con: duckdb.DuckDBPyConnection,
    ruleset: Ruleset,
    rules: list[CompiledRule],
    matches: pa.Table,
    table: str = "events",
) -> pa.Table:
    """The alerts of base-rule ``matches`` (``MATCH_SCHEMA``), one per (rule, event), and of the
    ruleset's correlations over them; ``table``: the events the correlations read group-by fields of."""
    con.register("_sigma_matches", matches)
    con.register("_sigma_rules", rules_table(rules))
    try:
        alerts = con.sql(ALERTS_SQL).to_arrow_table()
        corr = run_correlations(con, ruleset, matches, table)
    finally:
        con.unregister("_sigma_matches")
        con.unregister("_sigma_rules")
    if corr.num_rows:
        alerts = pa.concat_tables([alerts, corr.select(alerts.column_names).cast(alerts.schema)])
    return alerts
