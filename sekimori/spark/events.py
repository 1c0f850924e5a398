"""The store's events as a Spark DataFrame: the same Parquet segment files DuckDB reads.

The store's layout (``sekimori.store``): ``segments/<segment>/events-<source>-<day>-NNNNN.parquet``,
one file per log source and UTC day, committed by a directory rename, with ``manifest.json`` beside
them (its ``parts`` index each file's source and day). Spark prunes by the files' and row groups'
statistics (a time window, or a log source filter on ``event_code``, ``channel`` or ``source_format``,
is pushed down to the reader); no directory partitioning, so both engines read the same files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.ingest import EVENT_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sekimori.store import Store

# Arrow → Spark SQL type names for the event schema's columns.
_SPARK_TYPES = {
    "string": "STRING",
    "int64": "BIGINT",
    "int32": "INT",
    "int16": "SMALLINT",
    "bool": "BOOLEAN",
    "timestamp[us, tz=UTC]": "TIMESTAMP",
}


def event_schema_ddl() -> str:
    """EVENT_SCHEMA as a Spark DDL schema (``uid STRING, time TIMESTAMP, …``)."""
    return ", ".join(f"`{f.name}` {_SPARK_TYPES[str(f.type)]}" for f in EVENT_SCHEMA)


def read_events(
    spark: SparkSession, store: Store, view: str | None = "events", segments: list[str] | None = None
) -> DataFrame:
    """The store's events (every committed segment's event files, or those of ``segments``) with
    EVENT_SCHEMA's columns; a column a segment written before it was added reads as NULL, as in the
    DuckDB view. ``view``: also register the frame as a temporary view of that name."""
    files = store.event_files(segments)
    if files:
        frame = spark.read.schema(event_schema_ddl()).parquet(*files)
    else:
        frame = spark.createDataFrame([], event_schema_ddl())
    if view:
        frame.createOrReplaceTempView(view)
    return frame
