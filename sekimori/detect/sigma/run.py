"""Run a Sigma ruleset over a store connection and build alerts (all in SQL, no per-event Python)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from sekimori.detect.alerts import LEVEL_SCORE
from sekimori.detect.sigma.batches import Budget, batch_views
from sekimori.detect.sigma.correlation import run_correlations
from sekimori.detect.sigma.engine import groups
from sekimori.detect.sigma.passes import SigmaBatch, SigmaPass, run_groups
from sekimori.detect.sigma.ruleset import LEVELS, CompiledRule, RuleFailure, Ruleset

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


@dataclass
class SigmaResult:
    alerts: pa.Table
    matches: pa.Table  # rule_index, uid, time, source_file, record_id, host, principal, domain
    passes: int
    rules_run: int
    failures: list[RuleFailure] = field(default_factory=list)


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


def run_sigma(
    con: duckdb.DuckDBPyConnection,
    ruleset: Ruleset,
    rules: list[CompiledRule],
    table: str = "events",
    on_pass: Callable[[SigmaPass], None] | None = None,
    files: Sequence[str] | None = None,
    budget: Budget | None = None,
    on_batch: Callable[[SigmaBatch], None] | None = None,
) -> SigmaResult:
    """The alerts of ``rules`` over ``table``; given ``files`` (the Parquet files ``events`` reads), the
    passes read them in batches of ``budget`` (``batches.py``), so memory stays flat in store size."""
    failures: list[RuleFailure] = []
    if files is None:
        matches = run_groups(con, rules, table, failures=failures, on_pass=on_pass, on_batch=on_batch)
    else:
        with batch_views(con, files, budget) as views:
            matches = run_groups(
                con, rules, failures=failures, on_pass=on_pass, batches=views, on_batch=on_batch
            )
    alerts = alerts_of_matches(con, ruleset, rules, matches, table)
    return SigmaResult(alerts, matches, len(groups(rules)), sum(1 for r in rules if r.readings()), failures)


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
