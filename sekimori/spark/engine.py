"""``sekimori detect --engine spark``: the Sigma detector's rules run on Spark, the other detectors on
DuckDB (``run_detectors(engine=SparkEngine(…))``). The same settings (``sigma:`` block), the same rule
selection and the same alerts table as the DuckDB run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sekimori.detect import DetectProgress, load_ruleset, select_rules, sigma_placeholders
from sekimori.spark.events import read_events
from sekimori.spark.session import SparkSettings, spark_session
from sekimori.spark.sigma import SparkPass, SparkSigmaResult, run_sigma_spark

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import SparkSession

    from sekimori.detect import DetectContext

SIGMA = "sigma"


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
        return detector == SIGMA

    def run(self, detector: str, ctx: DetectContext) -> pa.Table:
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
        return self.last.alerts

    def close(self) -> None:
        if self._spark is not None:
            self._spark.stop()
            self._spark = None

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
