"""The trust-boundary rules with their edges aggregated on Spark, against the DuckDB detector on a copy
of the same store (same segments): the same alerts, every column, and the same per-segment edge and
pair files, row for row.

- The fixtures of tests/detect (logons across organisations, traffic between zones, a first access to
  personal data, an RDP logon from a contractor's address) with tests/detect's model, a segment each.
- The LANL sample in three segments with tests/detect's LANL model (three organisations, a shared
  realm): 1,488 alerts of three rules.
- Hand-written events on the readings where the two SQL engines can part ways (case folding of
  non-ASCII names, loopback, failures and missing outcomes, machine and system accounts, missing keys).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sekimori.detect import BOUNDARY_EDGES_SQL, BOUNDARY_PAIRS_SQL, DetectProgress, run_detectors
from sekimori.detect.edges import EDGES_KIND, PAIRS_KIND
from sekimori.ingest import EVENT_SCHEMA
from sekimori.model import GroupModel
from sekimori.spark import SparkEngine
from sekimori.spark.edges import EdgesBatch, per_segment_sql, spark_segment_aggregates
from sekimori.store import Store
from tests.conftest import corpus
from tests.detect.test_boundary import BASE
from tests.detect.test_boundary_edges import FIXTURES, LANL_MODEL
from tests.spark.alerts import every_column

pytestmark = pytest.mark.spark


def _twins(tmp_path: Path, files: list[Path], reader: str | None = None) -> tuple[Store, Store]:
    """A store ingesting ``files`` one at a time (a segment each), and a copy of it: the same segments
    under the same names, one for each engine."""
    duck = Store(tmp_path / "duckdb")
    for f in files:
        duck.ingest([str(f)], reader=reader)
    shutil.copytree(duck.root, tmp_path / "spark")
    return duck, Store(tmp_path / "spark")


def _rows(path: Path) -> list[tuple[Any, ...]]:
    return sorted((tuple(r.values()) for r in pq.read_table(path).to_pylist()), key=repr)


def _kept(store: Store) -> dict[str, tuple[Any, ...]]:
    """Segment → its kept edges' and pairs' rows (sorted) and the files' Arrow schemas."""
    edges, pairs = store.derived_files(EDGES_KIND), store.derived_files(PAIRS_KIND)
    return {
        s: (_rows(edges[s]), _rows(pairs[s]), pq.read_schema(edges[s]), pq.read_schema(pairs[s]))
        for s in sorted(edges)
    }


def _detect(
    store: Store, model: dict[str, Any], engine: SparkEngine | None = None, **kw: Any
) -> tuple[pa.Table, list[DetectProgress]]:
    told: list[DetectProgress] = []
    report = run_detectors(
        store, GroupModel.model_validate(model), only=["boundary"], engine=engine, progress=told.append, **kw
    )
    return report.alerts, [p for p in told if p.step == "pass"]


def _spark_passes(passes: list[DetectProgress]) -> int:
    """Segments whose edges Spark computed in a run."""
    return sum(int(p.logsource.split()[3]) for p in passes if (p.logsource or "").startswith("spark: edges"))


def _same_on_both(
    duck: Store, spark: Store, model: dict[str, Any], engine: SparkEngine
) -> tuple[pa.Table, dict[str, tuple[Any, ...]]]:
    duck_alerts, duck_passes = _detect(duck, model)
    spark_alerts, spark_passes = _detect(spark, model, engine)
    assert _spark_passes(duck_passes) == 0
    assert _spark_passes(spark_passes) == len(spark.segments())  # every segment's edges: Spark's
    assert every_column(spark_alerts) == every_column(duck_alerts)
    kept = _kept(spark)
    assert sorted(kept) == [p.name for p in spark.segments()]
    assert kept == _kept(duck)  # the same files, row for row, the same column types
    return duck_alerts, kept


def test_fixtures_on_spark_equal_duckdb(tmp_path: Path, spark_engine: SparkEngine) -> None:
    duck, spark = _twins(tmp_path, FIXTURES)
    alerts, kept = _same_on_both(duck, spark, BASE, spark_engine)
    assert Counter(alerts["rule_id"].to_pylist()) == {
        "boundary.logon_without_grant": 2,
        "boundary.account_from_foreign_host": 1,
        "boundary.shared_realm_crossing": 2,
        "boundary.flow_not_allowed": 1,
        "boundary.first_personal_data_access": 1,
    }
    assert sum(len(edges) for edges, *_ in kept.values()) == 24
    assert sum(len(pairs) for _, pairs, *_ in kept.values()) == 2  # the RDP client's name and address
    # one job per segment (a batch limit of one event) gives the same rows as one job for all
    jobs: list[EdgesBatch] = []
    segments = sorted(kept)
    alone = spark_segment_aggregates(spark_engine.spark, spark, segments, on_batch=jobs.append, limit=1)
    assert {
        s: (_sorted(r["boundary_edges"], kept[s][2]), _sorted(r["boundary_pairs"], kept[s][3]))
        for s, r in alone
    } == {s: rows[:2] for s, rows in kept.items()}
    assert [j.segments for j in jobs] == [[s] for s in segments]


@pytest.fixture(scope="module")
def lanl_parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The LANL sample cut into three files (a segment each)."""
    lines = corpus("lanl-2015", "auth_head", "auth_first50k.csv").read_text().splitlines()
    folder = tmp_path_factory.mktemp("lanl-parts")
    parts = []
    for n, (start, end) in enumerate(((0, 18_000), (18_000, 35_000), (35_000, len(lines)))):
        path = folder / f"auth-{n}.csv"
        path.write_text("\n".join(lines[start:end]) + "\n")
        parts.append(path)
    return parts


@pytest.mark.corpus
def test_lanl_on_spark_equals_duckdb(
    tmp_path: Path, spark_engine: SparkEngine, lanl_parts: list[Path]
) -> None:
    duck, spark = _twins(tmp_path, lanl_parts, reader="lanl")
    alerts, kept = _same_on_both(duck, spark, LANL_MODEL, spark_engine)
    assert Counter(alerts["rule_id"].to_pylist()) == {
        "boundary.logon_without_grant": 522,
        "boundary.account_from_foreign_host": 432,
        "boundary.shared_realm_crossing": 534,
    }
    assert len(kept) == 3 and sum(len(edges) for edges, *_ in kept.values()) > 2_000


@pytest.mark.corpus
def test_edges_spark_kept_serve_the_next_runs(
    tmp_path: Path, spark_engine: SparkEngine, lanl_parts: list[Path]
) -> None:
    """Spark's files are the store's edges: a DuckDB run reads them and computes none; a new segment's
    edges alone are computed by the next Spark run; ``save=False`` and ``full`` give the same alerts."""
    store = Store(tmp_path / "store")
    store.ingest([str(lanl_parts[0])], reader="lanl")
    store.ingest([str(lanl_parts[1])], reader="lanl")
    first, passes = _detect(store, LANL_MODEL, spark_engine)
    assert _spark_passes(passes) == 2
    files = {s: (p, p.stat().st_mtime_ns) for s, p in store.derived_files(EDGES_KIND).items()}
    again, passes = _detect(store, LANL_MODEL)  # DuckDB, on Spark's edges
    assert every_column(again) == every_column(first) and _spark_passes(passes) == 0
    assert {s: (p, p.stat().st_mtime_ns) for s, p in store.derived_files(EDGES_KIND).items()} == files
    store.ingest([str(lanl_parts[2])], reader="lanl")
    grown, passes = _detect(store, LANL_MODEL, spark_engine)
    assert _spark_passes(passes) == 1  # the new segment only
    assert {
        s: (p, p.stat().st_mtime_ns) for s, p in store.derived_files(EDGES_KIND).items() if s in files
    } == files
    fresh = Store(tmp_path / "fresh")
    fresh.ingest([str(p) for p in lanl_parts], reader="lanl")
    unsaved, passes = _detect(fresh, LANL_MODEL, spark_engine, save=False)
    assert _spark_passes(passes) == 1 and fresh.derived_files(EDGES_KIND) == {}
    full, passes = _detect(store, LANL_MODEL, spark_engine, full=True)
    assert _spark_passes(passes) == 3
    assert every_column(grown) == every_column(unsaved) == every_column(full)


# ---- hand-written events -------------------------------------------------------------------------


def _event(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "uid": f"u{n}",
        "time": datetime(2026, 1, 1, 0, n, tzinfo=UTC),
        "source_format": "hand",
        "source_file": "hand.jsonl",
        "record_id": n,
        "category": "authentication",
        "activity": "logon",
        "outcome": "success",
        "host": "dc1",
        "principal": "alice",
        "domain": "CORP",
        "logon_type": 3,
        **fields,
    }


# Each row: what it tries. Host names fold case per letter, as DuckDB does (İ to i, a final Σ to σ).
EVENTS = [
    _event(1, src_host="WS-İSTANBUL", src_ip="10.0.0.1"),
    _event(2, src_host="ws-istanbul", src_ip="10.0.0.1"),  # the same group, shown as the least spelling
    _event(3, src_host="ΟΔΟΣ", src_ip="10.0.0.2", target_host="ΣΟΦΙΑΣ"),
    _event(4, src_host="οδοσ", src_ip="10.0.0.2", target_host="σοφιασ"),  # the same group again
    _event(5, src_host="STRAßE", principal="straße"),  # ß upper-cased as DuckDB does: not a system name
    _event(6, src_ip="127.0.0.1", logon_type=10),  # RDP through the host itself: counted
    _event(7, src_ip="127.0.0.1", logon_type=3),  # the host's own logon: evidence only
    _event(8, src_host="ws2", outcome="failure"),  # a failure: evidence only
    _event(9, src_host="ws2", outcome=None),  # no outcome: counted
    _event(10, src_host="ws2", activity="logoff"),  # another activity: evidence only
    _event(11, principal="WS2$"),  # a machine account: not an edge
    _event(12, principal="system"),  # the system itself: not an edge
    _event(13, principal=None, category="network", src_ip="10.0.0.3", target_ip="10.0.1.1", target_port=445),
    _event(14, principal=None, category="network", src_ip="10.0.0.3", target_ip="10.0.1.1"),  # no port
    _event(15, category="data_access", object="dbo.Customers", target_host="DB-1", protocol="TDS"),
    _event(16, category="process", activity="start"),  # another category: not an edge
    _event(17, target_host="localhost"),  # onto the host itself: evidence only
    _event(18, src_host="ws3", src_ip="::1", logon_type=12),  # a reconnect over loopback: counted
]


def _hand_store(root: Path) -> Store:
    """A store of EVENTS, written as one segment of the store's layout."""
    segment = root / "segments" / "20260101T000000-hand"
    segment.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(EVENTS, EVENT_SCHEMA), segment / "events-00000.parquet")
    files = [{"path": "hand.jsonl", "events": len(EVENTS)}]
    (segment / "manifest.json").write_text(json.dumps({"segment": segment.name, "files": files}))
    return Store(root)


def _sorted(table: pa.Table, schema: pa.Schema) -> list[tuple[Any, ...]]:
    rows = table.select(schema.names).cast(schema).to_pylist()
    return sorted((tuple(r.values()) for r in rows), key=repr)


def test_hand_edges_on_both_engines(tmp_path: Path, spark_engine: SparkEngine) -> None:
    store = _hand_store(tmp_path / "store")
    segment = store.segments()[0].name
    queries = (BOUNDARY_EDGES_SQL, BOUNDARY_PAIRS_SQL)
    con = store.connect(segments=[segment])
    try:
        duck = [con.sql(q).to_arrow_table() for q in queries]
        # the per-segment SQL Spark runs means the same on DuckDB (its case rewrites change nothing there)
        con.execute(f"CREATE VIEW _boundary_events AS SELECT *, '{segment}' AS segment FROM events")
        tagged = [con.sql(per_segment_sql(q)).to_arrow_table() for q in queries]
    finally:
        con.close()
    [(name, rows)] = list(spark_segment_aggregates(spark_engine.spark, store, [segment]))
    assert name == segment
    edges, pairs = rows["boundary_edges"], rows["boundary_pairs"]
    for spark_rows, duck_rows, tagged_rows in zip((edges, pairs), duck, tagged, strict=True):
        assert _sorted(spark_rows, duck_rows.schema) == _sorted(duck_rows, duck_rows.schema)
        assert _sorted(tagged_rows, duck_rows.schema) == _sorted(duck_rows, duck_rows.schema)
    # worked out by hand
    got = {(r["src_host"], r["target"], r["activity"], r["counted"]): r for r in edges.to_pylist()}
    assert got[("ws-istanbul", "dc1", "logon", True)]["events"] == 2
    assert got[("ws-istanbul", "dc1", "logon", True)]["src_host_shown"] == "WS-İSTANBUL"
    assert got[("οδοσ", "σοφιασ", "logon", True)]["events"] == 2
    assert got[("straße", "dc1", "logon", True)]["principal"] == "straße"
    assert Counter((r["activity"], r["counted"]) for r in edges.to_pylist()) == {
        ("logon", True): 8,  # 1-2, 3-4, 5, 6, 9, 13, 15, 18
        ("logon", False): 3,  # 7, 8, 17
        ("logoff", False): 1,  # 10
    }
    assert sorted(pairs.to_pylist(), key=repr) == [
        {"name": "ws-istanbul", "ip": "10.0.0.1"},
        {"name": "οδοσ", "ip": "10.0.0.2"},
    ]
