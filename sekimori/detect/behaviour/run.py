"""Running the behaviour analytics: the shared staging, each enabled analytic's tables and query, and the
findings turned into ranked alerts (``ALERT_SCHEMA``)."""

from __future__ import annotations

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.detect.alerts import ALERT_SCHEMA, BEHAVIOUR, alert_id, conform, empty_alerts
from sekimori.detect.base import DetectContext
from sekimori.detect.behaviour import segments
from sekimori.detect.behaviour.analytic import ANALYTICS, Analytic, JointStage
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.sql import scope_sql
from sekimori.detect.behaviour.staging import (
    create_macros,
    stage_bounds,
    stage_history,
    stage_logons,
    stage_raw_logons,
)
from sekimori.detect.segment_tables import SegmentRows

# The columns every analytic's query gives, in one type each (the queries are unioned).
FINDING_COLUMNS = (
    "rule_id, time, last_time, account, domain, src_host, src_ip, target_host, "
    "CAST(score AS DOUBLE) AS score, "
    "ntlm, evidence, CAST(events AS BIGINT) AS events, CAST(to_json(info) AS VARCHAR) AS info_json"
)


def enabled_analytics(cfg: BehaviourConfig) -> list[Analytic]:
    """The analytics the settings name and that can run with them, in name order."""
    chosen = set(cfg.rules)
    analytics = [cls() for name, cls in ANALYTICS.all().items() if name in chosen]
    return [analytic for analytic in analytics if analytic.applies(cfg)]


def run_behaviour(
    con: duckdb.DuckDBPyConnection,
    cfg: BehaviourConfig | None = None,
    ctx: DetectContext | None = None,
    aggregate: SegmentRows | None = None,
) -> pa.Table:
    """All enabled analytics over the ``events`` view of ``con``, as alerts (``ALERT_SCHEMA``), ranked.

    With ``ctx`` (a detection over a store, ``con`` its connection), the logons are read from per-segment
    rows kept in the store (``segments.py``: a segment's events are read once, by the first run that sees
    it) when the settings allow; otherwise in one pass over the events. ``aggregate``: the new segments'
    rows computed by another engine (``sekimori.spark``), then always merged."""
    cfg = cfg or BehaviourConfig.model_validate({})
    con.execute("SET TimeZone = 'UTC'")
    create_macros(con, cfg)
    by_segment = ctx is not None and segments.usable(cfg)
    spans = segments.segment_spans(ctx, aggregate) if ctx is not None and by_segment else None
    if not stage_bounds(con, cfg, scope_sql(cfg), spans):
        return empty_alerts()
    if ctx is not None and by_segment:
        segments.stage_raw_logons_from_segments(con, ctx, cfg, aggregate)
    else:
        stage_raw_logons(con, cfg)
    stage_logons(con, cfg)
    stage_history(con)
    analytics = enabled_analytics(cfg)
    running = frozenset(analytic.name for analytic in analytics)
    # Every analytic stages its tables before any query runs: a query may read another's tables.
    found = [analytic for analytic in analytics if analytic.prepare(con, cfg, running)]
    joint: dict[JointStage, list[str]] = {}
    for analytic in found:
        stage = analytic.joint_stage()
        if stage is not None:
            joint.setdefault(stage, []).append(analytic.name)
    for stage, names in joint.items():
        stage(con, cfg, names)
    if not found:
        return empty_alerts()
    union = " UNION ALL ".join(
        f"SELECT {FINDING_COLUMNS} FROM ({analytic.sql(cfg, running)})" for analytic in found
    )
    findings = con.sql(
        f"SELECT * FROM ({union}) ORDER BY score DESC, time, rule_id, account"
    ).to_arrow_table()
    return to_alerts(findings, {analytic.rule_id(): analytic for analytic in found}, cfg)


def alert_level(score: float) -> str:
    if score >= 0.8:
        return "high"
    if score >= 0.5:
        return "medium"
    if score >= 0.3:
        return "low"
    return "informational"


def to_alerts(findings: pa.Table, analytics: dict[str, Analytic], cfg: BehaviourConfig) -> pa.Table:
    """Findings → alert rows (per alert, not per event: Python here is bounded by the alert count)."""
    out = []
    for r in findings.to_pylist():
        analytic = analytics[r["rule_id"]]
        info = orjson.loads(r["info_json"]) if r["info_json"] else {}
        attack = analytic.techniques(info, bool(r["ntlm"]))
        evidence = [e for e in (r["evidence"] or []) if e is not None]
        score = round(float(r["score"]), 4)
        info.update(
            {
                "events_total": r["events"],
                "evidence_listed": len(evidence),
                "evidence_kind": analytic.evidence_kind,
                "evidence_truncated": analytic.evidence_truncated(info, len(evidence), cfg.evidence_cap),
                "evidence_cap": cfg.evidence_cap,
            }
        )
        who = r["account"] or r["src_host"] or r["src_ip"] or "?"
        title = analytic.title
        out.append(
            {
                "alert_id": alert_id(r["rule_id"], [e.get("uid") or "" for e in evidence]),
                "rule_id": r["rule_id"],
                "title": title,
                "source": BEHAVIOUR,
                "level": alert_level(score),
                "score": score,
                "attack": sorted(set(attack)),
                "time": r["time"],
                "last_time": r["last_time"] or r["time"],
                "host": r["target_host"],
                "account": r["account"],
                "domain": r["domain"],
                "src_host": r["src_host"],
                "src_ip": r["src_ip"],
                "target_host": r["target_host"],
                "organisations": [],
                "description": f"{title}: {who}",
                "evidence": evidence,
                "details": orjson.dumps(info, option=orjson.OPT_SORT_KEYS).decode(),
            }
        )
    table = pa.Table.from_pylist(out, schema=ALERT_SCHEMA) if out else empty_alerts()
    return conform(table)


def rank(alerts: pa.Table) -> pa.Table:
    """Alerts by descending score, then time."""
    if alerts.num_rows == 0:
        return alerts
    idx = pc.sort_indices(alerts, sort_keys=[("score", "descending"), ("time", "ascending")])
    return alerts.take(idx)
