"""Apache Spark as sekimori's scale-out engine: a session (local mode, a cluster or Spark Connect), the
store's Parquet segments as a DataFrame, the compiled Sigma rules run as Spark SQL, and the readers of an
ingest run in Spark tasks.

pyspark is an optional extra (``pip install 'sekimori[spark]'``) and is imported only when a session is
started: importing this package (or ``sekimori``) does not import it. See ``docs/scale.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.lazy import lazy_exports

if TYPE_CHECKING:
    from sekimori.spark.dialect import to_spark, windows_field_expressions
    from sekimori.spark.engine import SparkEngine
    from sekimori.spark.events import event_schema_ddl, read_events
    from sekimori.spark.ingest import SparkFileReading
    from sekimori.spark.session import SparkSettings, spark_session
    from sekimori.spark.sigma import (
        SparkPass,
        SparkSigmaResult,
        run_sigma_spark,
        spark_sigma_alerts,
        spark_sigma_matches,
    )

__all__ = [
    "SparkEngine",
    "SparkFileReading",
    "SparkPass",
    "SparkSettings",
    "SparkSigmaResult",
    "event_schema_ddl",
    "read_events",
    "run_sigma_spark",
    "spark_session",
    "spark_sigma_alerts",
    "spark_sigma_matches",
    "to_spark",
    "windows_field_expressions",
]

_LAZY = {
    "to_spark": "sekimori.spark.dialect",
    "windows_field_expressions": "sekimori.spark.dialect",
    "SparkEngine": "sekimori.spark.engine",
    "event_schema_ddl": "sekimori.spark.events",
    "read_events": "sekimori.spark.events",
    "SparkFileReading": "sekimori.spark.ingest",
    "SparkSettings": "sekimori.spark.session",
    "spark_session": "sekimori.spark.session",
    "SparkPass": "sekimori.spark.sigma",
    "SparkSigmaResult": "sekimori.spark.sigma",
    "run_sigma_spark": "sekimori.spark.sigma",
    "spark_sigma_alerts": "sekimori.spark.sigma",
    "spark_sigma_matches": "sekimori.spark.sigma",
}

__getattr__ = lazy_exports(__name__, _LAZY)
