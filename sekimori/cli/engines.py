"""Which engine a command runs on (``--engine duckdb|spark``) and the settings file that configures it."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sekimori.cli.common import fail

if TYPE_CHECKING:
    from sekimori.spark import SparkEngine

ENGINES = ("duckdb", "spark")


def read_settings(config: Path | None) -> dict[str, Any]:
    """The YAML settings file's contents (``{}`` without one); a file that cannot be read fails the
    command naming it."""
    if config is None:
        return {}
    import yaml

    try:
        settings = yaml.safe_load(config.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise fail(f"{config}: {exc}") from exc
    if not isinstance(settings, dict):
        raise fail(f"{config}: a mapping of settings expected, not {type(settings).__name__}")
    return settings


@contextmanager
def engine_named(name: str, settings: dict[str, Any]) -> Iterator[SparkEngine | None]:
    """None for DuckDB; a Spark engine (stopped at the end) for ``spark``, from the settings' ``spark:``
    block (master or Spark Connect, see docs/scale.md)."""
    if name == "duckdb":
        yield None
        return
    if name != "spark":
        raise fail(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
    if importlib.util.find_spec("pyspark") is None:
        raise fail("--engine spark needs pyspark: pip install 'sekimori[spark]' (and a Java 17+ runtime)")
    from sekimori.spark import SparkEngine, SparkSettings

    try:
        spark_settings = SparkSettings.from_mapping(settings.get("spark"))
    except ValueError as exc:
        raise fail(str(exc)) from exc
    spark = SparkEngine(spark_settings)
    try:
        yield spark
    finally:
        spark.close()
