"""Run the registered detectors over a store and keep their alerts in it (table ``alerts``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from sekimori.detect.alerts import ALERT_SCHEMA, conform
from sekimori.detect.base import DEFAULT_MEMORY_LIMIT, DetectContext, DetectProgress, detectors
from sekimori.model import GroupModel
from sekimori.store import Store


@dataclass
class DetectorRun:
    name: str
    source: str
    alerts: int = 0
    seconds: float = 0.0
    skipped: str | None = None  # why it did not run
    kept: int = 0  # alerts of an earlier run kept because this detector did not run now
    passes: list[DetectProgress] = field(default_factory=list)  # its passes (Sigma: one per log source)


class DetectEngine(Protocol):
    """Runs some detectors on another engine than DuckDB (e.g. ``sekimori.spark.SparkEngine``): those it
    ``handles``, each giving the same alerts table its detector would."""

    def handles(self, detector: str) -> bool: ...

    def run(self, detector: str, ctx: DetectContext) -> pa.Table: ...


@dataclass
class DetectReport:
    runs: list[DetectorRun] = field(default_factory=list)
    alerts: pa.Table = field(default_factory=ALERT_SCHEMA.empty_table)
    new_alerts: pa.Table = field(default_factory=ALERT_SCHEMA.empty_table)  # not in the store before

    def since(self, when: datetime) -> pa.Table:
        """The alerts with evidence at or after ``when`` (their last time), newest first."""
        if self.alerts.num_rows == 0:
            return self.alerts
        table = self.alerts.filter(
            pc.greater_equal(self.alerts["last_time"], pa.scalar(when, pa.timestamp("us", "UTC")))
        )
        return table.sort_by([("last_time", "descending"), ("rule_id", "ascending")])


def run_detectors(
    store: Store,
    model: GroupModel | None = None,
    only: Iterable[str] | None = None,
    config: dict[str, Any] | None = None,
    save: bool = True,
    progress: Callable[[DetectProgress], None] | None = None,
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    full: bool = False,
    engine: DetectEngine | None = None,
) -> DetectReport:
    """Every registered detector (or those named/whose source is named in ``only``), alerts saved.

    The stored ``alerts`` hold the latest result of each detector: those of a detector that did not run
    now (not chosen, or needing a model that was not given) are kept as they were, and counted in its
    run's ``kept``. Saving holds the store's writer lock for the whole run, so two runs do not interleave.
    ``progress`` is told as each detector starts and ends and of each of its passes; ``memory_limit``
    caps DuckDB's memory (None: DuckDB's default, most of the machine's). Sigma judges only the segments
    its last run did not (the same alerts as a full run); ``full`` judges every segment again.
    ``engine``: the detectors it handles run on it instead (``--engine spark``); the others on DuckDB.
    """
    if not save:
        return _run(store, model, only, config, save, progress, memory_limit, full, engine)
    with store.writer("detect"):
        return _run(store, model, only, config, save, progress, memory_limit, full, engine)


def _run(
    store: Store,
    model: GroupModel | None,
    only: Iterable[str] | None,
    config: dict[str, Any] | None,
    save: bool,
    progress: Callable[[DetectProgress], None] | None,
    memory_limit: str | None,
    full: bool,
    engine: DetectEngine | None = None,
) -> DetectReport:
    wanted = set(only) if only else None
    report = DetectReport()
    lock = threading.Lock()

    def told(event: DetectProgress) -> None:
        with lock:  # passes end on the engine's worker threads
            if event.step == "pass":
                for run in report.runs:
                    if run.name == event.detector:
                        run.passes.append(event)
            if progress is not None:
                progress(event)

    ctx = DetectContext(store, model, config or {}, told, memory_limit, save=save, full=full)
    tables = []
    try:
        for name, cls in detectors().items():
            run = DetectorRun(name, cls.source)
            report.runs.append(run)
            if wanted is not None and name not in wanted and cls.source not in wanted:
                run.skipped = "not chosen (--only)"
                continue
            if cls.needs_model and model is None:
                run.skipped = "needs a group model (--model)"
                continue
            started = time.perf_counter()
            told(DetectProgress(name, "start"))
            elsewhere = engine is not None and engine.handles(name)
            table = conform(engine.run(name, ctx) if engine and elsewhere else cls().run(ctx))
            run.seconds = time.perf_counter() - started
            run.alerts = table.num_rows
            told(DetectProgress(name, "end", seconds=run.seconds, alerts=run.alerts))
            tables.append(table)
    finally:
        ctx.close()
    alerts = pa.concat_tables(tables) if tables else ALERT_SCHEMA.empty_table()
    if save:
        kept = _kept_alerts(store, report.runs)
        alerts = pa.concat_tables([alerts, kept]) if kept.num_rows else alerts
    # the alert id last: detectors give alerts tied on (time, rule) in their SQL's order, any run's own
    alerts = alerts.sort_by([("time", "ascending"), ("rule_id", "ascending"), ("alert_id", "ascending")])
    report.alerts = alerts
    report.new_alerts = alerts.filter(pc.invert(pc.is_in(alerts["alert_id"], _stored_ids(store))))
    if save:
        store.put_table("alerts", alerts)
    return report


def _stored_ids(store: Store) -> pa.Array:
    import pyarrow.parquet as pq

    stored = store.tables().get("alerts")
    if stored is None:
        return pa.array([], pa.string())
    return pq.read_table(stored, columns=["alert_id"]).column("alert_id").combine_chunks()


def _kept_alerts(store: Store, runs: list[DetectorRun]) -> pa.Table:
    """The stored alerts of the detectors that did not run now (their latest result stays). Two
    detectors may share a source (``boundary`` and ``tenant_boundary``): an alert of a skipped source is
    kept unless its rule is one a detector that ran now owns (that detector's fresh result replaces it)."""
    skipped = [r for r in runs if r.skipped]
    stored = store.tables().get("alerts")
    skipped_sources = {r.source for r in skipped}
    if stored is None or not skipped_sources:
        return ALERT_SCHEMA.empty_table()
    import pyarrow.parquet as pq

    ran_rules = sorted(
        {rule for r in runs if not r.skipped for rule in getattr(detectors()[r.name], "rules", {})}
    )
    table = conform(pq.read_table(stored))
    keep = pc.and_(
        pc.is_in(table["source"], pa.array(sorted(skipped_sources))),
        pc.invert(pc.is_in(table["rule_id"], pa.array(ran_rules, pa.string()))),
    )
    kept = table.filter(keep)
    for run in skipped:
        run.kept = int(pc.sum(pc.equal(kept["source"], run.source)).as_py() or 0)
    return kept
