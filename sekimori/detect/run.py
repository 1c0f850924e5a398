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
    """Every registered detector (or those named/whose source is named in ``only``), alerts saved."""
    wanted = set(only) if only else None
    ctx = DetectContext(store, model, config or {})
    report = DetectReport()
    tables = []
    try:
        for name, cls in detectors().items():
            if wanted is not None and name not in wanted and cls.source not in wanted:
                continue
            run = DetectorRun(name, cls.source)
            report.runs.append(run)
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
    alerts = alerts.sort_by([("time", "ascending"), ("rule_id", "ascending")])
    report.alerts = alerts
    if save:
        store.put_table("alerts", alerts)
    return report
