"""Compiled Sigma rules run on Spark: the same rules, groups, filters and alerts as the DuckDB engine
(``sekimori.detect``), in Spark SQL (``dialect.py``).

Per log source group (``sigma_groups``: rules sharing a Channel/EventID filter), one Spark job reads the
group's events (the filter pushed down to the Parquet reader), extracts every field its rules use and
returns per event the indexes of the matching rules (``filter(array(CASE WHEN rule THEN index END, …))``,
exploded). One aggregate job first counts each group's events, so groups with none are not planned. A
group Spark rejects is run rule by rule and the rules it rejects are listed (``failures``). The matches
become alerts with the DuckDB engine's own ``ALERTS_SQL``, transpiled.

The non-Windows log sources (cloud, identity, Linux, Zeek) are read by their source plugins' own
answers, in Spark SQL (``sources.py``). Not yet on Spark: correlation rules (``not_run``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sekimori.detect import (
    SIGMA_ALERTS_SQL,
    SIGMA_MATCH_COLUMNS,
    SIGMA_MATCH_SCHEMA,
    RuleFailure,
    sigma_filter_sql,
    sigma_groups,
    sigma_rules_table,
    sigma_source,
)
from sekimori.spark.dialect import (
    project_fields,
    save_transpiled,
    to_spark,
    used_fields,
    windows_field_expressions,
)
from sekimori.spark.sources import distinct_matches, source_fields_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sekimori.detect import CompiledRule
    from sekimori.detect import SigmaGroup as Group


@dataclass(frozen=True)
class SparkPass:
    """One group's job: its log source, rules, events read and seconds."""

    logsource: str
    rules: int
    events: int
    seconds: float


@dataclass
class SparkSigmaResult:
    alerts: pa.Table
    matches: pa.Table  # SIGMA_MATCH_SCHEMA, as the DuckDB engine's
    passes: list[SparkPass] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)  # rule ids of readings Spark does not run yet


def fields_sql(group: Group, table: str = "events") -> str:
    """The group's events with one ``o:``/``l:`` column per field its rules use (Spark SQL)."""
    stages, exprs = windows_field_expressions(used_fields(group.rules))
    base = ", ".join(SIGMA_MATCH_COLUMNS)
    sql = (
        f"SELECT {base}, source_format, raw, channel, provider, event_code FROM {table} "
        f"WHERE {to_spark(sigma_filter_sql(group.filter))}"
    )
    for stage in stages:
        sql = f"SELECT *, {', '.join(stage)} FROM ({sql})"
    return project_fields(group.rules, exprs, sql)


CHUNK = 40  # rules per query: Spark's code generation for one projection grows with its expressions


def match_sql(rules: Sequence[CompiledRule], source: str, distinct: bool = False) -> str:
    """(rule_index, MATCH_COLUMNS) of every match of ``rules`` over ``source`` (``fields_sql`` of their
    group, or a view of it). ``distinct``: a source giving several rows per event (auditd records)
    reports a rule's match of an event once."""
    cases = ", ".join(f"CASE WHEN {to_spark(r.sql)} THEN {int(r.index)} END" for r in rules)
    base = ", ".join(SIGMA_MATCH_COLUMNS)
    hits = f"SELECT {base}, filter(array({cases}), x -> x IS NOT NULL) AS _m FROM {source}"
    matches = f"SELECT explode(_m) AS rule_index, {base} FROM ({hits}) WHERE size(_m) > 0"
    return f"SELECT DISTINCT * FROM ({matches})" if distinct else matches


def _to_arrow(frame: DataFrame) -> pa.Table:
    table: pa.Table = frame.toArrow()
    return table.select(SIGMA_MATCH_SCHEMA.names).cast(SIGMA_MATCH_SCHEMA)


def _events_of(group: Group) -> str:
    """The condition over the events choosing a group's events (Spark SQL)."""
    if group.source is None:
        return f"source_format IN ('evtx', 'windows_json') AND {to_spark(sigma_filter_sql(group.filter))}"
    src, kind = sigma_source(group.source)
    return to_spark(src.where(kind))


def group_events(spark: SparkSession, groups: Sequence[Group], table: str = "events") -> list[int]:
    """Each group's number of events, in one scan."""
    if not groups:
        return []
    sums = ", ".join(
        f"sum(CASE WHEN {_events_of(g)} THEN 1 ELSE 0 END) AS g{i}" for i, g in enumerate(groups)
    )
    row = spark.sql(f"SELECT {sums} FROM {table}").first()
    return [int(row[i] or 0) if row is not None else 0 for i in range(len(groups))]


def spark_sigma_matches(
    spark: SparkSession,
    rules: Sequence[CompiledRule],
    table: str = "events",
    on_pass: Callable[[SparkPass], None] | None = None,
    chunk: int = CHUNK,
) -> SparkSigmaResult:
    """Every (rule, event) match of ``rules`` over the Spark view ``table``."""
    groups = sigma_groups(rules)  # Windows ones by log source filter, the others by source
    not_run: list[str] = []
    counts = group_events(spark, groups, table)
    failures: list[RuleFailure] = []

    def one(job: tuple[int, Group, int]) -> list[pa.Table]:
        n, group, events = job
        started = time.perf_counter()
        out: list[pa.Table] = []
        if events:
            # The group's fields once (cached), its rules over them a chunk at a time.
            view = f"_sigma_fields_{n}"
            query = fields_sql(group, table) if group.source is None else source_fields_sql(group, table)
            distinct = group.source is not None and distinct_matches(group)
            try:
                fields = spark.sql(query).persist()
            except Exception as exc:  # the group's reading is one Spark does not take: its rules fail
                failures.extend(
                    RuleFailure(r.path, r.id, r.title, f"Spark: {_reason(exc)}") for r in group.rules
                )
                return out
            fields.createOrReplaceTempView(view)
            try:
                for i in range(0, len(group.rules), chunk):
                    part = group.rules[i : i + chunk]
                    try:
                        out.append(_to_arrow(spark.sql(match_sql(part, view, distinct))))
                    except Exception:  # Spark's analysis and task errors share no pyspark base class
                        out += [
                            t
                            for r in part
                            if (t := _one_rule(spark, r, view, failures, distinct)) is not None
                        ]
            finally:
                spark.catalog.dropTempView(view)
                fields.unpersist()
        if on_pass is not None:
            on_pass(SparkPass(group.label, len(group.rules), events, time.perf_counter() - started))
        return out

    # One group after another: each job already uses every core (Spark's own tasks); jobs submitted
    # from several Python threads at once gave wrong matches in testing.
    jobs = sorted(
        ((n, g, c) for n, (g, c) in enumerate(zip(groups, counts, strict=True))),
        key=lambda j: -j[2] * len(j[1].rules),
    )
    tables = [t for job in jobs for t in one(job)]
    save_transpiled()
    tables = [t for t in tables if t.num_rows]
    matches = pa.concat_tables(tables) if tables else SIGMA_MATCH_SCHEMA.empty_table()
    passes: list[SparkPass] = []
    return SparkSigmaResult(SIGMA_MATCH_SCHEMA.empty_table(), matches, passes, failures, not_run)


def _one_rule(
    spark: SparkSession, rule: CompiledRule, view: str, failures: list[RuleFailure], distinct: bool
) -> pa.Table | None:
    try:
        return _to_arrow(spark.sql(match_sql([rule], view, distinct)))
    except Exception as exc:  # the rule's SQL or its regex is one Spark does not take
        failures.append(RuleFailure(rule.path, rule.id, rule.title, f"Spark: {_reason(exc)}"))
        return None


def _reason(exc: Exception) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return reason[:300]


def spark_sigma_alerts(spark: SparkSession, matches: pa.Table, rules: Sequence[CompiledRule]) -> pa.Table:
    """Alerts of ``matches``, by the DuckDB engine's ``ALERTS_SQL`` run on Spark (same columns, same
    ``alert_id``: the first 24 hex digits of sha256(rule_id, NUL, event uid))."""
    # One record batch: pyspark 4.3's createDataFrame(pyarrow.Table) drops the rows that follow an
    # empty batch of a table (15 rows in, 12 out with batches of 5, 7, 0, 3).
    frame: Any = spark.createDataFrame(matches.combine_chunks())
    frame.createOrReplaceTempView("_sigma_matches")
    spark.createDataFrame(sigma_rules_table(rules)).createOrReplaceTempView("_sigma_rules")
    try:
        alerts: pa.Table = spark.sql(to_spark(SIGMA_ALERTS_SQL)).toArrow()
    finally:
        spark.catalog.dropTempView("_sigma_matches")
        spark.catalog.dropTempView("_sigma_rules")
    return alerts


def run_sigma_spark(
    spark: SparkSession,
    rules: Sequence[CompiledRule],
    table: str = "events",
    on_pass: Callable[[SparkPass], None] | None = None,
    alerts: bool = True,
) -> SparkSigmaResult:
    """Matches and alerts of ``rules`` over the Spark view ``table`` (``read_events``); ``alerts``: make
    the alerts too (the detector makes them on the driver from the matches)."""
    passes: list[SparkPass] = []

    def told(p: SparkPass) -> None:
        passes.append(p)
        if on_pass is not None:
            on_pass(p)

    result = spark_sigma_matches(spark, rules, table, told)
    result.passes = passes
    if alerts:
        result.alerts = spark_sigma_alerts(spark, result.matches, rules)
    return result
