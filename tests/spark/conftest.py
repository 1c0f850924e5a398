"""The Spark suite: a local[2] Spark engine on loopback, shared by the module's tests. Skipped (with the
reason) when pyspark or a Java runtime is missing, unless SEKIMORI_REQUIRE_SERVERS is set (CI), where
that fails instead."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator

import pytest

from sekimori.spark import SparkEngine, SparkSettings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "spark: runs Apache Spark (local mode, loopback only)")


def _missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java not on PATH, JAVA_HOME unset; Debian: default-jre-headless)"
    return None


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[SparkEngine]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("SEKIMORI_REQUIRE_SERVERS"):
            pytest.fail(f"SEKIMORI_REQUIRE_SERVERS is set but {reason}")
        pytest.skip(reason)
    engine = SparkEngine(SparkSettings(master="local[2]", loopback=True, driver_memory="2g"))
    try:
        yield engine
    finally:
        engine.close()
