"""``sekimori detect --engine spark``: the Sigma detector's rules, the trust-boundary rules' edges and the
behaviour analytics' logon rows run on Spark, the other detectors on DuckDB
(``run_detectors(engine=SparkEngine(…))``). The same settings, the same rule selection and the same
alerts table as the DuckDB run. Sigma correlations run on the driver, by the DuckDB engine's SQL over
Spark's matches; so do the boundary rules' judging and the behaviour analytics, over the per-segment
rows Spark aggregated (kept in the store as DuckDB's would be).
``file_reading``: an ingest's readers in Spark tasks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sekimori.detect import (
    BEHAVIOUR_SEGMENT_TABLES,
    BehaviourDetector,
    BoundaryDetector,
    DetectProgress,
    load_ruleset,
    select_rules,
    sigma_correlations,
    sigma_placeholders,
)
from sekimori.spark.edges import EdgesBatch, spark_segment_aggregates
from sekimori.spark.events import read_events
from sekimori.spark.ingest import SparkFileReading
from sekimori.spark.session import SparkSettings, spark_session
from sekimori.spark.sigma import SparkPass, SparkSigmaResult, run_sigma_spark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from sekimori.detect import DetectContext

SIGMA = "sigma"
BOUNDARY = "boundary"
BEHAVIOUR = "behaviour"


class SparkEngine:
    """A Spark session, started on first use and stopped by ``close`` (or on leaving ``with``)."""

    def __init__(self, settings: SparkSettings | None = None) -> None:
        self.settings = settings or SparkSettings()
        self._spark: SparkSession | None = None
        self.last: SparkSigmaResult | None = None  # the last Sigma run (failures, rules not run)

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            self._spark = spark_session(self.settings)
        return self._spark

    def handles(self, detector: str) -> bool:
        return detector in (SIGMA, BOUNDARY, BEHAVIOUR)

    def run(self, detector: str, ctx: DetectContext) -> pa.Table:
        if detector == BOUNDARY:
            return self._boundary(ctx)
        if detector == BEHAVIOUR:
            return self._behaviour(ctx)
        if detector != SIGMA:
            raise ValueError(f"the Spark engine does not run the {detector!r} detector")
        settings: dict[str, Any] = ctx.settings(SIGMA)
        rules = settings.get("rules")
        sources = [None] if rules is None else ([rules] if isinstance(rules, str) else list(rules))
        values = sigma_placeholders(ctx.model, settings.get("placeholders"))
        ruleset = load_ruleset(sources, values, bool(settings.get("cache", True)))
        status = settings.get("status")
        chosen = select_rules(
            ruleset, settings.get("levels"), [status] if isinstance(status, str) else status
        )
        read_events(self.spark, ctx.store)

        def on_pass(p: SparkPass) -> None:
            ctx.notify(DetectProgress(SIGMA, "pass", f"spark: {p.logsource}", p.rules, p.events, p.seconds))

        self.last = run_sigma_spark(self.spark, chosen, on_pass=on_pass)
        alerts = self.last.alerts
        if ruleset.correlations:
            # Correlations work on the matches (few) and read their group-by fields from the matched
            # events: by the DuckDB engine's own SQL on the driver, over Spark's matches.
            con = ctx.store.connect()
            try:
                started = time.perf_counter()
                correlated = sigma_correlations(con, ruleset, self.last.matches, "events")
            finally:
                con.close()
            ctx.notify(
                DetectProgress(
                    SIGMA,
                    "pass",
                    "correlations (DuckDB, over Spark's matches)",
                    len(ruleset.correlations),
                    self.last.matches.num_rows,
                    time.perf_counter() - started,
                )
            )
            if correlated.num_rows:
                alerts = pa.concat_tables(
                    [alerts, correlated.select(alerts.column_names).cast(alerts.schema)]
                )
        return alerts

    def _boundary(self, ctx: DetectContext) -> pa.Table:
        """The boundary detector with the edges of the segments that have none (all with ``full``)
        aggregated by Spark; the judging over the edges, on the driver (small: groups, not events)."""

        def on_batch(batch: EdgesBatch) -> None:
            label = f"spark: edges of {len(batch.segments)} segment(s), {batch.rows} rows"
            ctx.notify(DetectProgress(BOUNDARY, "pass", label, 0, batch.events, batch.seconds))

        def aggregate(segments: list[str]) -> Iterator[tuple[str, dict[str, pa.Table]]]:
            return spark_segment_aggregates(self.spark, ctx.store, segments, on_batch=on_batch)

        return BoundaryDetector(aggregate=aggregate).run(ctx)

    def _behaviour(self, ctx: DetectContext) -> pa.Table:
        """The behaviour analytics with the logon rows of the segments that have none aggregated by
        Spark; the segments holding logons across the baseline's end are read again, and the analytics
        run, on the driver (DuckDB)."""

        def on_batch(batch: EdgesBatch) -> None:
            label = f"spark: logons of {len(batch.segments)} segment(s), {batch.rows} rows"
            ctx.notify(DetectProgress(BEHAVIOUR, "pass", label, 0, batch.events, batch.seconds))

        def aggregate(segments: list[str]) -> Iterator[tuple[str, dict[str, pa.Table]]]:
            return spark_segment_aggregates(
                self.spark, ctx.store, segments, on_batch=on_batch, tables=BEHAVIOUR_SEGMENT_TABLES
            )

        return BehaviourDetector(aggregate=aggregate).run(ctx)

    def file_reading(self) -> SparkFileReading:
        """Reading an ingest's files in this engine's Spark tasks (``Store.ingest(reading=…)``)."""
        return SparkFileReading(self.spark)

    def close(self) -> None:
        if self._spark is not None:
            self._spark.stop()
            self._spark = None

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
