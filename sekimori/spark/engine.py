"""``sekimori detect --engine spark``: the Sigma detector's rules, the trust-boundary rules' edges, the
sign-in rules' crossings and the behaviour analytics' logon rows run on Spark, the other detectors on DuckDB
(``run_detectors(engine=SparkEngine(…))``). The same settings, the same rule selection and the same
alerts table as the DuckDB run. Sigma's matches of the segments not judged before are Spark's; they are
kept in the store with DuckDB's, and the alerts and correlations are made on the driver by the DuckDB
engine's SQL over them. So are the boundary and sign-in rules' judging and the behaviour analytics, over
the per-segment rows Spark aggregated (kept in the store as DuckDB's would be).
``file_reading``: an ingest's readers in Spark tasks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from sekimori.detect import (
    BehaviourDetector,
    BoundaryDetector,
    CompiledRule,
    DetectProgress,
    SegmentRows,
    SigmaDetector,
    TenantBoundaryDetector,
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
TENANT = "tenant_boundary"


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
        return detector in (SIGMA, BOUNDARY, BEHAVIOUR, TENANT)

    def run(self, detector: str, ctx: DetectContext) -> pa.Table:
        if detector == BOUNDARY:
            return self._boundary(ctx)
        if detector == BEHAVIOUR:
            return self._behaviour(ctx)
        if detector == TENANT:
            return self._tenant(ctx)
        if detector != SIGMA:
            raise ValueError(f"the Spark engine does not run the {detector!r} detector")
        return self._sigma(ctx)

    def _sigma(self, ctx: DetectContext) -> pa.Table:
        """The Sigma detector with the rules matched over the new segments (all with ``full``) by Spark;
        the kept matches, the single-event alerts and the correlations (which read the whole store) on
        the driver, as DuckDB's run does them. A run where Spark could not run every rule keeps nothing
        for the next, which then judges every segment again."""

        def on_pass(p: SparkPass) -> None:
            ctx.notify(DetectProgress(SIGMA, "pass", f"spark: {p.logsource}", p.rules, p.events, p.seconds))

        def matcher(rules: list[CompiledRule], segments: list[str]) -> tuple[pa.Table, bool]:
            read_events(self.spark, ctx.store, segments=segments)
            self.last = run_sigma_spark(self.spark, rules, on_pass=on_pass, alerts=False)
            return self.last.matches, not (self.last.failures or self.last.not_run)

        return SigmaDetector(matcher=matcher).run(ctx)

    def _rows(self, ctx: DetectContext, detector: str, what: str) -> SegmentRows:
        """The per-segment tables a detector asks for (each new segment's edges, logon rows, sign-in
        crossings, …), aggregated by Spark from the detector's own SQL, told as passes of ``detector``."""

        def on_batch(batch: EdgesBatch) -> None:
            label = f"spark: {what} of {len(batch.segments)} segment(s), {batch.rows} rows"
            ctx.notify(DetectProgress(detector, "pass", label, 0, batch.events, batch.seconds))

        def aggregate(
            segments: list[str], tables: Sequence[tuple[str, str]]
        ) -> Iterator[tuple[str, dict[str, pa.Table]]]:
            return spark_segment_aggregates(self.spark, ctx.store, segments, on_batch=on_batch, tables=tables)

        return aggregate

    def _boundary(self, ctx: DetectContext) -> pa.Table:
        """The boundary detector with the edges of the segments that have none (all with ``full``)
        aggregated by Spark; the judging over the edges, on the driver (small: groups, not events)."""
        return BoundaryDetector(aggregate=self._rows(ctx, BOUNDARY, "edges")).run(ctx)

    def _behaviour(self, ctx: DetectContext) -> pa.Table:
        """The behaviour analytics with the logon rows of the segments that have none aggregated by
        Spark, and those of the segments holding logons across the baseline's end (split at it); the
        analytics run on the driver (DuckDB), over the rows."""
        return BehaviourDetector(aggregate=self._rows(ctx, BEHAVIOUR, "logons")).run(ctx)

    def _tenant(self, ctx: DetectContext) -> pa.Table:
        """The sign-in rules with the crossings of the segments that have none aggregated by Spark; the
        judging over them, and the evidence of the alerts, on the driver (DuckDB)."""
        return TenantBoundaryDetector(aggregate=self._rows(ctx, TENANT, "sign-ins")).run(ctx)

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
