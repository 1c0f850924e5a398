"""The behaviour analytics with each segment's logon rows aggregated on Spark, against the DuckDB detector
on a copy of the same store (same segments): the same alerts, every column, and the same per-segment
rows, row for row.

DuckDB's own run on these stores takes the one pass over the events (the rows stand for few events
each), so the comparison is of Spark's rows merged on the driver against the one pass: two readings of
the same events, not one shared code path.

- The LANL-format scenario of tests/detect/test_behaviour.py (real LANL lines, then fan-out, spraying,
  brute force, a new source, a rare logon type), in three segments in time order, under two settings.
- The LANL sample in three segments.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from sekimori.detect import DetectContext, DetectProgress, run_detectors
from sekimori.spark import SparkEngine
from sekimori.store import Store
from tests.conftest import DATA, corpus
from tests.detect.test_behaviour import _lanl_lines, _line
from tests.spark.alerts import every_column

pytestmark = pytest.mark.spark


def _twins(tmp_path: Path, parts: list[list[str]]) -> tuple[Store, Store]:
    """A store ingesting each part as one LANL file (a segment each), and a copy of it."""
    duck = Store(tmp_path / "duckdb")
    for n, lines in enumerate(parts):
        path = tmp_path / f"auth-{n}.txt"
        path.write_text("\n".join(lines) + "\n")
        duck.ingest([str(path)], reader="lanl", workers=1)
    shutil.copytree(duck.root, tmp_path / "spark")
    return duck, Store(tmp_path / "spark")


def _kept(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Kind family → every segment's kept rows (sorted), with the segment's name."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for kind in store.derived_kinds():
        family = kind.rsplit("_", 1)[0]
        if family.startswith("behaviour_"):
            rows = [
                (segment, *r.values())
                for segment, path in store.derived_files(kind).items()
                for r in pq.read_table(path).to_pylist()
            ]
            out[family] = sorted(rows, key=repr)
    return out


def _same_on_both(
    duck: Store, spark: Store, engine: SparkEngine, settings: dict, monkeypatch: pytest.MonkeyPatch
) -> list[dict]:
    config = {"behaviour": settings}
    passes: list[DetectProgress] = []
    expected = run_detectors(duck, only=["behaviour"], config=config).alerts
    # On Spark the driver reads no segment's events, not even those of the segments holding logons
    # across the baseline's end (Spark groups them again, cut at the end).
    opened: list[list[str]] = []
    connect = DetectContext.connect_segments

    def recorded(ctx: DetectContext, segments: list[str]) -> Any:
        opened.append(segments)
        return connect(ctx, segments)

    with monkeypatch.context() as patch:
        patch.setattr(DetectContext, "connect_segments", recorded)
        got = run_detectors(spark, only=["behaviour"], config=config, engine=engine, progress=passes.append)
    assert opened == []
    assert every_column(got.alerts) == every_column(expected)
    spark_jobs = [p.logsource for p in passes if p.step == "pass" and str(p.logsource).startswith("spark:")]
    # the rows of every segment (one job); with the baseline over the whole store, whose end falls inside
    # a segment here, a second job groups that segment's logons again, cut at the end (with a baseline
    # per file, no row of these stores lies across its file's end)
    assert len(spark_jobs) == (2 if settings.get("baseline_scope", "global") == "global" else 1), spark_jobs
    return every_column(got.alerts)


def _scenario() -> list[list[str]]:
    lines = (DATA / "lanl" / "auth_head.csv").read_text().splitlines() + _lanl_lines()
    lines += [_line(t, "U1@DOM1", "C1", "C10") for t in (900, 950, 1050, 1100)]
    at = [int(line.split(",", 1)[0]) for line in lines]
    return [
        [x for x, t in zip(lines, at, strict=True) if lo <= t < hi]
        for lo, hi in ((0, 500), (500, 2500), (2500, 10**9))
    ]


@pytest.mark.parametrize("settings", [{}, {"baseline_scope": "source_file", "evidence_cap": 5}])
def test_scenario_on_spark_equals_duckdb(
    tmp_path: Path, spark_engine: SparkEngine, settings: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    duck, spark = _twins(tmp_path, _scenario())
    alerts = _same_on_both(duck, spark, spark_engine, settings, monkeypatch)
    rules = {a["rule_id"] for a in alerts}
    assert "behaviour.fan_out" in rules and len(rules) >= 3  # teeth: the scenario's attacks are found


@pytest.mark.corpus
def test_lanl_sample_on_spark_equals_duckdb(
    tmp_path: Path, spark_engine: SparkEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = corpus("lanl-2015", "auth_head", "auth_first50k.csv").read_text().splitlines()
    duck, spark = _twins(tmp_path, [lines[:18_000], lines[18_000:35_000], lines[35_000:]])
    alerts = _same_on_both(duck, spark, spark_engine, {}, monkeypatch)
    assert len(alerts) > 10


def test_spark_rows_equal_duckdb_rows(tmp_path: Path, spark_engine: SparkEngine) -> None:
    """Each segment's kept rows computed by Spark equal DuckDB's, row for row and type for type."""
    duck, spark = _twins(tmp_path, _scenario())
    run_detectors(spark, only=["behaviour"], engine=spark_engine)
    run_detectors(duck, only=["behaviour"])
    from_spark, from_duckdb = _kept(spark), _kept(duck)
    assert from_spark == from_duckdb
    assert len(from_spark["behaviour_logons"]) > 50
    for kind in spark.derived_kinds():
        if kind.startswith("behaviour_"):
            for segment, path in spark.derived_files(kind).items():
                assert pq.read_schema(path) == pq.read_schema(duck.derived_files(kind)[segment])
