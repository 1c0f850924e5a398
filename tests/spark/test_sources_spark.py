"""Sigma's non-Windows log sources and correlations on Spark against the DuckDB engine.

- The whole bundled SigmaHQ ruleset over the real identity, cloud, Linux and Zeek corpora of
  ../shared/data (Entra ID, Okta, Google Workspace, CloudTrail, auditd, loghub syslog, the WRCCDC Zeek
  logs) and the small fixtures of tests/data: the same (rule, event) pairs and alert rows from both
  engines, with no rule failing on Spark, and matches from each family of sources (the comparison has
  teeth).
- Correlations (event_count, value_count) over Spark's matches: the alerts the DuckDB engine's tests
  check against record ids read from the EVTX files by hand (tests/detect/sigma/test_sigma_detector.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sekimori.detect import run_detectors
from sekimori.spark import SparkEngine
from sekimori.store import Store
from tests.conftest import DATA, corpus
from tests.spark.alerts import pairs, rows

pytestmark = pytest.mark.spark

SIGMA = DATA / "sigma"
ANYDESK = "0b9ad457-2554-44c1-82c2-d56a99c42377"


@pytest.mark.corpus
def test_non_windows_sources_on_both_engines(tmp_path: Path, spark_engine: SparkEngine) -> None:
    store = Store(tmp_path / "store")
    store.ingest(
        [
            str(corpus("identity-cloud")),
            str(corpus("zeek-wrccdc2018", "zeek-json")),
            str(corpus("loghub")),
            str(DATA / "auditd"),
            str(DATA / "zeek"),
            str(DATA / "syslog"),
        ]
    )
    duck = run_detectors(store, only=["sigma"], save=False).alerts
    spark = run_detectors(store, only=["sigma"], save=False, engine=spark_engine).alerts
    assert spark_engine.last is not None
    assert spark_engine.last.failures == []
    assert spark_engine.last.not_run == []
    formats = dict(store.connect().execute("SELECT uid, source_format FROM events").fetchall())
    matched = {formats[uid] for _, uid in pairs(duck)}
    assert {"entra", "okta", "google_workspace", "cloudtrail", "auditd", "zeek"} <= matched
    assert pairs(spark) == pairs(duck)
    assert rows(spark) == rows(duck)


@pytest.fixture(scope="module")
def evtx_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("store"))
    store.ingest([str(p) for p in sorted((SIGMA / "evtx").glob("*.evtx"))])
    return store


def _with_correlation(tmp_path: Path, body: str) -> dict[str, object]:
    rules = tmp_path / "rules"
    rules.mkdir(parents=True)
    for p in (SIGMA / "rules").glob("*.yml"):
        (rules / p.name).write_text(p.read_text())
    (rules / "corr.yml").write_text(
        "title: AnyDesk config written repeatedly\nid: 11111111-1111-1111-1111-111111111111\nlevel: high\n"
        "tags: [attack.t1219]\ncorrelation:\n" + body
    )
    return {"sigma": {"rules": str(rules), "cache": False}}


def test_event_count_correlation_on_spark(
    tmp_path: Path, evtx_store: Store, spark_engine: SparkEngine
) -> None:
    config = _with_correlation(
        tmp_path,
        f"  type: event_count\n  rules: [{ANYDESK}]\n  group-by: [Computer]\n  timespan: 1m\n"
        "  condition: {gte: 3}\n",
    )
    spark = run_detectors(evtx_store, only=["sigma"], config=config, save=False, engine=spark_engine).alerts
    (a,) = [a for a in spark.to_pylist() if a["rule_id"].startswith("1111")]
    assert a["level"] == "high" and a["attack"] == ["T1219"]
    assert sorted(e["record_id"] for e in a["evidence"]) == [14985, 14988, 14990]
    assert json.loads(a["details"])["group"] == {"Computer": "ar-win-dc.attackrange.local"}
    duck = run_detectors(evtx_store, only=["sigma"], config=config, save=False).alerts
    assert rows(spark) == rows(duck)


def test_value_count_correlation_on_spark(
    tmp_path: Path, evtx_store: Store, spark_engine: SparkEngine
) -> None:
    config = _with_correlation(
        tmp_path,
        f"  type: value_count\n  rules: [{ANYDESK}]\n  group-by: [Computer]\n  timespan: 10s\n"
        "  condition: {gte: 2, field: TargetFilename}\n",
    )
    spark = run_detectors(evtx_store, only=["sigma"], config=config, save=False, engine=spark_engine).alerts
    (a,) = [a for a in spark.to_pylist() if a["rule_id"].startswith("1111")]
    assert len(a["evidence"]) == 3  # two distinct file names among the three events
    below = _with_correlation(
        tmp_path / "below",
        f"  type: event_count\n  rules: [{ANYDESK}]\n  group-by: [Computer]\n  timespan: 1m\n"
        "  condition: {gte: 4}\n",
    )
    spark = run_detectors(evtx_store, only=["sigma"], config=below, save=False, engine=spark_engine).alerts
    assert not [a for a in spark.to_pylist() if a["rule_id"].startswith("1111")]
