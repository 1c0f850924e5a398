"""The sign-in rules (``tenant_boundary``) with their per-segment crossings aggregated on Spark, against
the DuckDB detector on a copy of the same store (same segments): the same alerts, every column, and the
same kept files (``sekimori/detect/signin_segments.py``), row for row and type for type.

- The identity and cloud corpus, a segment per file, with the model of tests/detect/test_signin_segments.py
  (alerts of the three rules).
- Eve's sign-in 330 times in three segments (an alert's first 100 events cut from every segment's).
- Hand-written sign-ins on the readings where the two engines can part ways: missing times, hosts,
  record ids and uids (sorted last on both), ties on time, non-ASCII case folding, an application's
  spacing, failures and missing outcomes, and a finding whose tenant is empty (its evidence read from
  the events on the driver).

A run after Spark's computes nothing new (on Spark or on DuckDB) and gives the same alerts.
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

from sekimori.detect import TENANT_SEGMENT_TABLES, DetectProgress, run_detectors
from sekimori.detect.signin_segments import SEGMENT_SIGNINS_SQL, SIGNINS_KIND
from sekimori.ingest import EVENT_SCHEMA
from sekimori.model import load_model_text
from sekimori.spark import SparkEngine
from sekimori.spark.edges import spark_segment_aggregates
from sekimori.store import Store
from tests.detect.test_signin_segments import MODEL, eve_parts, identity_files, one_pass  # noqa: F401
from tests.spark.alerts import every_column

pytestmark = pytest.mark.spark


def _twins(tmp_path: Path, files: list[Path]) -> tuple[Store, Store]:
    """A store ingesting ``files`` one at a time (a segment each), and a copy of it."""
    duck = Store(tmp_path / "duckdb")
    for f in files:
        duck.ingest([str(f)])
    shutil.copytree(duck.root, tmp_path / "spark")
    return duck, Store(tmp_path / "spark")


def _kept(store: Store) -> dict[str, tuple[list[str], pa.Schema]]:
    """Segment → its kept crossings (each row's repr, sorted) and the file's Arrow schema."""
    files = store.derived_files(SIGNINS_KIND)
    return {
        s: (sorted(repr(r) for r in pq.read_table(p).to_pylist()), pq.read_schema(p))
        for s, p in sorted(files.items())
    }


def _detect(
    store: Store, engine: SparkEngine | None = None, **kw: Any
) -> tuple[pa.Table, list[DetectProgress]]:
    told: list[DetectProgress] = []
    report = run_detectors(
        store, load_model_text(MODEL), only=["tenant_boundary"], engine=engine, progress=told.append, **kw
    )
    return report.alerts, [p for p in told if p.step == "pass"]


def _spark_segments(passes: list[DetectProgress]) -> int:
    """Segments whose crossings Spark computed in a run."""
    return sum(
        int((p.logsource or "").split()[3])
        for p in passes
        if (p.logsource or "").startswith("spark: sign-ins")
    )


def _same_on_both(duck: Store, spark: Store, engine: SparkEngine) -> pa.Table:
    duck_alerts, duck_passes = _detect(duck)
    spark_alerts, spark_passes = _detect(spark, engine)
    assert _spark_segments(duck_passes) == 0
    assert _spark_segments(spark_passes) == len(spark.segments())  # every segment's crossings: Spark's
    assert every_column(spark_alerts) == every_column(duck_alerts)
    assert spark_alerts.schema == duck_alerts.schema
    kept = _kept(spark)
    assert kept == _kept(duck)  # the same files, row for row, the same column types
    assert sorted(kept) == [p.name for p in spark.segments()] and any(rows for rows, _ in kept.values())
    # the next runs compute nothing: on Spark, and on DuckDB over Spark's files
    files = {s: p.stat().st_mtime_ns for s, p in spark.derived_files(SIGNINS_KIND).items()}
    again, passes = _detect(spark, engine)
    assert _spark_segments(passes) == 0 and every_column(again) == every_column(duck_alerts)
    again, passes = _detect(spark)
    assert every_column(again) == every_column(duck_alerts)
    assert {s: p.stat().st_mtime_ns for s, p in spark.derived_files(SIGNINS_KIND).items()} == files
    return duck_alerts


@pytest.mark.corpus
def test_identity_corpus_on_spark_equals_duckdb(tmp_path: Path, spark_engine: SparkEngine) -> None:
    duck, spark = _twins(tmp_path, identity_files())
    alerts = _same_on_both(duck, spark, spark_engine)
    # Google Workspace's sign-ins name no tenant: its segment keeps no crossing
    assert sum(1 for rows, _ in _kept(spark).values() if rows) == 3
    assert Counter(alerts["rule_id"].to_pylist()) == {
        "boundary.cross_tenant_signin": 3,
        "boundary.shared_tenant_crossing": 6,
        "boundary.signin_from_foreign_network": 9,
    }
    assert every_column(alerts) == every_column(one_pass(duck, load_model_text(MODEL)))


@pytest.mark.corpus
def test_more_than_100_events_on_spark(
    tmp_path: Path,
    spark_engine: SparkEngine,
    eve_parts: list[Path],  # noqa: F811  (the imported fixture)
) -> None:
    duck, spark = _twins(tmp_path, eve_parts)
    alerts = _same_on_both(duck, spark, spark_engine)
    (eve,) = [a for a in alerts.to_pylist() if a["account"] == "eve"]
    assert len(eve["evidence"]) == 100 and json.loads(eve["details"])["events"] == 330
    assert len({e["path"] for e in eve["evidence"]}) == 3


# ---- hand-written sign-ins -----------------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _signin(n: int, minute: int | None, **fields: Any) -> dict[str, Any]:
    return {
        "uid": f"u{n:03d}",
        "time": None if minute is None else T0.replace(minute=minute),
        "source_format": "hand",
        "source_file": "hand.jsonl",
        "record_id": n,
        "category": "authentication",
        "activity": "logon",
        "outcome": "success",
        "principal": "aragorn",
        "domain": "lotr.com",
        "tenant": None,
        "resource_tenant": "tenant-123",
        "application": "Custom App",
        "src_ip": "2.2.2.2",
        **fields,
    }


# Per segment: what each row tries. LOTR accounts into the shared tenant (LOTR's and the parent's):
# crossings of two rules; from LexCorp's office, a third.
SEGMENTS = [
    [
        _signin(1, 5, host=None),  # the earliest has no host: the earliest with one is shown
        _signin(2, 6, host="web-b"),
        _signin(3, 6, host="web-a"),  # the same time: the least host
        _signin(4, None, host="web-0"),  # no time: last
        _signin(5, 7, record_id=None, uid="u900"),  # no record id: after those with one at 7
        _signin(6, 7, record_id=7, uid=None),
        _signin(7, 7, record_id=7, uid="u007"),  # the same time and record id as 6: by uid, missing last
        _signin(8, 8, application=" custom app "),  # the same crossing, another spelling
        _signin(9, 9, outcome="failure"),  # a failure: neither counted nor evidence
        _signin(10, 9, outcome=None),  # no outcome: counted
        _signin(11, 3, resource_tenant="TENANT-123"),  # tenant case folded, and the earliest: shown
    ],
    [
        _signin(20, 1, application="custom app", host="web-z"),  # earlier than segment 1's: shown
        _signin(21, None, host=None),
        _signin(22, 2, resource_tenant="TENANT-İ23", domain="LOTR.com"),  # non-ASCII folded alike
        # an empty tenant and nothing else: its evidence also takes sign-ins naming no tenant (24)
        _signin(
            23,
            2,
            principal="gandalf",
            tenant="",
            resource_tenant=None,
            application=None,
            src_ip="12.12.12.12",
        ),
        _signin(24, 4, principal="gandalf", resource_tenant=None, application=None, src_ip="12.12.12.12"),
        _signin(25, 3, src_ip="12.12.12.12"),  # from LexCorp's network
    ],
]


def _hand_store(root: Path) -> Store:
    """A store of SEGMENTS, each written as one segment of the store's layout."""
    for n, events in enumerate(SEGMENTS):
        segment = root / "segments" / f"2026010{n + 1}T000000-hand"
        segment.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(events, EVENT_SCHEMA), segment / "events-00000.parquet")
        files = [{"path": "hand.jsonl", "events": len(events)}]
        (segment / "manifest.json").write_text(json.dumps({"segment": segment.name, "files": files}))
    return Store(root)


def test_hand_signins_on_both_engines(tmp_path: Path, spark_engine: SparkEngine) -> None:
    store = _hand_store(tmp_path / "duckdb")
    segments = [p.name for p in store.segments()]
    # Spark's rows of each segment equal DuckDB's of the same SQL, row for row, after DuckDB's types
    got = dict(spark_segment_aggregates(spark_engine.spark, store, segments, tables=TENANT_SEGMENT_TABLES))
    assert sorted(got) == segments
    for segment in segments:
        con = store.connect(segments=[segment])
        try:
            duck = con.sql(SEGMENT_SIGNINS_SQL).to_arrow_table()
        finally:
            con.close()
        if segment == segments[0]:  # the earliest event with a host, the least host of that time
            hosts = {
                (r["principal"], r["src_ip"], r["resource_tenant"]): r["host_first"] for r in duck.to_pylist()
            }
            assert hosts[("aragorn", "2.2.2.2", "tenant-123")]["v"] == "web-a"
        spark_rows = got[segment]["tenant_signins"]
        assert spark_rows.column_names == duck.schema.names
        assert sorted(map(repr, spark_rows.cast(duck.schema).to_pylist())) == sorted(
            map(repr, duck.to_pylist())
        )
    # the alerts, both engines, and the one pass over the events
    shutil.copytree(store.root, tmp_path / "spark")
    alerts = _same_on_both(store, Store(tmp_path / "spark"), spark_engine)
    # the one pass: the same, but for the order of events with the same time and record id (6 and 7),
    # which it left to chance
    assert _unordered(alerts) == _unordered(one_pass(store, load_model_text(MODEL)))
    by = {(a["rule_id"], a["account"], a["src_ip"]): a for a in alerts.to_pylist()}
    shared = by[("boundary.shared_tenant_crossing", "aragorn", "2.2.2.2")]
    assert json.loads(shared["details"])["events"] == 12  # 1-8, 10, 11, 20, 21
    assert shared["host"] == "web-z" and shared["target_host"] == "custom app"
    assert [e["uid"] for e in shared["evidence"]] == [
        "u020", "u011", "u001", "u002", "u003", "u007", None, "u900", "u008", "u010", "u004", "u021",
    ]  # fmt: skip
    assert shared["time"] == T0.replace(minute=1) and shared["last_time"] == T0.replace(minute=9)
    assert ("boundary.signin_from_foreign_network", "aragorn", "12.12.12.12") in by
    blank = by[("boundary.signin_from_foreign_network", "gandalf", "12.12.12.12")]
    assert [e["uid"] for e in blank["evidence"]] == ["u023", "u024"]
    assert json.loads(blank["details"])["events"] == 1  # 24 names no tenant: evidence only


def _unordered(alerts: pa.Table) -> list[dict[str, Any]]:
    rows = every_column(alerts)
    for row in rows:
        row["evidence"] = sorted(row["evidence"], key=repr)
    return rows
