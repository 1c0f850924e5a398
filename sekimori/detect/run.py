"""Run the registered detectors over a store and keep their alerts in it (table ``alerts``)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sekimori.detect.alerts import ALERT_SCHEMA, conform
from sekimori.detect.base import DetectContext, detectors
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


@dataclass
class DetectReport:
    runs: list[DetectorRun] = field(default_factory=list)
    alerts: pa.Table = field(default_factory=ALERT_SCHEMA.empty_table)


def run_detectors(
    store: Store,
    model: GroupModel | None = None,
    only: Iterable[str] | None = None,
    config: dict[str, Any] | None = None,
    save: bool = True,
) -> DetectReport:
    """Every registered detector (or those named/whose source is named in ``only``), alerts saved.

    The stored ``alerts`` hold the latest result of each detector: those of a detector that did not run
    now (not chosen, or needing a model that was not given) are kept as they were, and counted in its
    run's ``kept``. Saving holds the store's writer lock for the whole run, so two runs do not interleave.
    """
    if not save:
        return _run(store, model, only, config, save)
    with store.writer("detect"):
        return _run(store, model, only, config, save)


def _run(
    store: Store,
    model: GroupModel | None,
    only: Iterable[str] | None,
    config: dict[str, Any] | None,
    save: bool,
) -> DetectReport:
    wanted = set(only) if only else None
    ctx = DetectContext(store, model, config or {})
    report = DetectReport()
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
            table = conform(cls().run(ctx))
            run.seconds = time.perf_counter() - started
            run.alerts = table.num_rows
            tables.append(table)
    finally:
        ctx.close()
    alerts = pa.concat_tables(tables) if tables else ALERT_SCHEMA.empty_table()
    if save:
        kept = _kept_alerts(store, [r for r in report.runs if r.skipped])
        alerts = pa.concat_tables([alerts, kept]) if kept.num_rows else alerts
    alerts = alerts.sort_by([("time", "ascending"), ("rule_id", "ascending")])
    report.alerts = alerts
    if save:
        store.put_table("alerts", alerts)
    return report


def _kept_alerts(store: Store, skipped: list[DetectorRun]) -> pa.Table:
    """The stored alerts of the detectors that did not run now (their latest result stays)."""
    stored = store.tables().get("alerts")
    ran_sources = {r.source for r in skipped}
    if stored is None or not ran_sources:
        return ALERT_SCHEMA.empty_table()
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = conform(pq.read_table(stored))
    kept = table.filter(pc.is_in(table["source"], pa.array(sorted(ran_sources))))
    for run in skipped:
        run.kept = int(pc.sum(pc.equal(kept["source"], run.source)).as_py() or 0)
    return kept
