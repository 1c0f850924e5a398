"""Sigma on Spark against Sigma on DuckDB: the same compiled rules, the same alerts.

- The whole bundled SigmaHQ ruleset over the real EVTX attack samples (../shared/data), run by
  ``run_detectors`` on DuckDB and with ``engine=SparkEngine`` (Spark local[2]): the same (rule id,
  event uid) pairs and the same alert rows.
- Hand-written rules over hand-written events, on the readings where two SQL engines can part ways
  (case, wildcards, backslashes, regex flags, null vs empty, numbers as text, a field given several
  times, spaced field names, keywords): both engines against the matches worked out by hand.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sekimori.detect import DetectProgress, load_ruleset, run_detectors
from sekimori.detect.sigma.rules import BUNDLED
from sekimori.ingest import EVENT_SCHEMA
from sekimori.spark import SparkEngine
from sekimori.store import Store
from tests.conftest import DATA, corpus
from tests.spark.alerts import every_column, pairs, rows

pytestmark = pytest.mark.spark


@pytest.mark.corpus
def test_sigmahq_on_the_evtx_attack_samples(tmp_path: Path, spark_engine: SparkEngine) -> None:
    store = Store(tmp_path / "store")
    store.ingest([str(corpus("evtx-attack-samples"))])
    duck = run_detectors(store, only=["sigma"], save=False).alerts
    spark = run_detectors(store, only=["sigma"], save=False, engine=spark_engine).alerts
    assert spark_engine.last is not None
    assert spark_engine.last.failures == []
    assert len({r for r, _ in pairs(duck)}) >= 24  # dozens of rules fire: the comparison has teeth
    assert pairs(spark) == pairs(duck)
    assert rows(spark) == rows(duck)


# ---- hand-written rules and events ---------------------------------------------------------------


def _rule(rid: str, detection: dict[str, Any]) -> str:
    doc = {
        "title": f"hand {rid}",
        "id": rid,
        "status": "test",
        "level": "high",
        "logsource": {"product": "windows", "service": "security"},
        "detection": detection,
    }
    return json.dumps(doc)  # JSON is YAML


RULES = {
    # plain values match case-insensitively; |cased does not
    "00000000-0000-0000-0000-000000000001": {"sel": {"TargetUserName": "ADMIN"}, "condition": "sel"},
    "00000000-0000-0000-0000-000000000002": {"sel": {"TargetUserName|cased": "ADMIN"}, "condition": "sel"},
    # wildcards: * and ? inside a value, backslashes as literal characters
    "00000000-0000-0000-0000-000000000003": {
        "sel": {"Image": "C:\\Win?ows\\\\*\\cmd.exe"},
        "condition": "sel",
    },
    "00000000-0000-0000-0000-000000000004": {"sel": {"Image|endswith": "\\CMD.exe"}, "condition": "sel"},
    "00000000-0000-0000-0000-000000000005": {"sel": {"CommandLine|contains": "50%_off"}, "condition": "sel"},
    # regular expressions: case-sensitive unless i; m: ^ at each line; s: . over a newline
    "00000000-0000-0000-0000-000000000006": {"sel": {"CommandLine|re": "Foo\\s+bar"}, "condition": "sel"},
    "00000000-0000-0000-0000-000000000007": {"sel": {"CommandLine|re|i": "foo\\s+bar"}, "condition": "sel"},
    "00000000-0000-0000-0000-000000000008": {"sel": {"CommandLine|re|m": "^second"}, "condition": "sel"},
    "00000000-0000-0000-0000-000000000009": {"sel": {"CommandLine|re|s": "first.second"}, "condition": "sel"},
    # null = absent or JSON null, not ''; '' = empty only
    "00000000-0000-0000-0000-000000000010": {"sel": {"Note": None}, "condition": "sel"},
    "00000000-0000-0000-0000-000000000011": {"sel": {"Note": ""}, "condition": "sel"},
    # numbers: equal as text or as a number (JSON number, "3", "03"); |gt numerically
    "00000000-0000-0000-0000-000000000012": {"sel": {"LogonType": 3}, "condition": "sel"},
    "00000000-0000-0000-0000-000000000013": {"sel": {"LogonType|gt": 5}, "condition": "sel"},
    # a field given several times reads as its values joined by a space
    "00000000-0000-0000-0000-000000000014": {"sel": {"Data|contains": "one C:\\two"}, "condition": "sel"},
    # a field missing under its own name is read spaced (Windows Defender's "Threat Name")
    "00000000-0000-0000-0000-000000000015": {"sel": {"ThreatName|contains": "mimi"}, "condition": "sel"},
    # keywords search the whole record; not over an absent field holds
    "00000000-0000-0000-0000-000000000016": {"keywords": ["SEKRIT"], "condition": "keywords"},
    "00000000-0000-0000-0000-000000000017": {"sel": {"Note": "x"}, "condition": "not sel"},
}

# (uid, EventData) of Security 4624 events in the evtx crate's shape.
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("e1", {"TargetUserName": "admin", "Image": "C:\\Windows\\System32\\cmd.exe", "LogonType": 3}),
    ("e2", {"TargetUserName": "ADMIN", "Image": "C:\\Winxows\\a\\cmd.exe", "LogonType": "03", "Note": ""}),
    ("e3", {"TargetUserName": "administrator", "CommandLine": "foo  bar 50%_off", "Note": None}),
    ("e4", {"CommandLine": "Foo\tbar\nsecond line", "LogonType": "10", "Note": "x"}),
    ("e5", {"CommandLine": "first\nsecond", "Data": {"#text": ["one", "C:\\two"]}, "Note": "y"}),
    (
        "e6",
        {"Threat Name": "HackTool:Win32/Mimikatz", "Image": "C:\\Windows\\cmd.exe", "Extra": "a SEKRIT b"},
    ),
    ("e7", {"CommandLine": "50 off", "LogonType": "three", "Data": "one C:\\\\two"}),
]

EXPECTED = {
    "00000000-0000-0000-0000-000000000001": {"e1", "e2"},
    "00000000-0000-0000-0000-000000000002": {"e2"},
    "00000000-0000-0000-0000-000000000003": {"e1", "e2"},
    "00000000-0000-0000-0000-000000000004": {"e1", "e2", "e6"},
    "00000000-0000-0000-0000-000000000005": {"e3"},
    "00000000-0000-0000-0000-000000000006": {"e4"},
    "00000000-0000-0000-0000-000000000007": {"e3", "e4"},
    "00000000-0000-0000-0000-000000000008": {"e4", "e5"},
    "00000000-0000-0000-0000-000000000009": {"e5"},
    "00000000-0000-0000-0000-000000000010": {"e1", "e3", "e6", "e7"},
    "00000000-0000-0000-0000-000000000011": {"e2"},
    "00000000-0000-0000-0000-000000000012": {"e1", "e2"},
    "00000000-0000-0000-0000-000000000013": {"e4"},
    "00000000-0000-0000-0000-000000000014": {"e5"},
    "00000000-0000-0000-0000-000000000015": {"e6"},
    "00000000-0000-0000-0000-000000000016": {"e6"},
    "00000000-0000-0000-0000-000000000017": {"e1", "e2", "e3", "e5", "e6", "e7"},
}


def _hand_store(root: Path) -> Store:
    """A store of EVENTS, written as one segment of the store's layout."""
    segment = root / "segments" / "20260101T000000-hand"
    segment.mkdir(parents=True)
    records = []
    for i, (uid, data) in enumerate(EVENTS):
        raw = {"Event": {"System": {"EventID": 4624, "Channel": "Security"}, "EventData": data}}
        records.append(
            {
                "uid": uid,
                "source_format": "evtx",
                "source_file": "hand.evtx",
                "record_id": i + 1,
                "channel": "Security",
                "provider": "Microsoft-Windows-Security-Auditing",
                "event_code": "4624",
                "host": "ws1",
                "raw": json.dumps(raw),
            }
        )
    pq.write_table(pa.Table.from_pylist(records, EVENT_SCHEMA), segment / "events-00000.parquet")
    (segment / "manifest.json").write_text(json.dumps({"segment": segment.name, "files": []}))
    return Store(root)


def test_hand_semantics_on_both_engines(tmp_path: Path, spark_engine: SparkEngine) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for rid, detection in RULES.items():
        (rules / f"{rid}.yml").write_text(_rule(rid, detection))
    store = _hand_store(tmp_path / "store")
    config = {"sigma": {"rules": str(rules), "cache": False}}
    expected = {(rid, uid) for rid, uids in EXPECTED.items() for uid in uids}
    duck = run_detectors(store, only=["sigma"], config=config, save=False).alerts
    spark = run_detectors(store, only=["sigma"], config=config, save=False, engine=spark_engine).alerts
    assert pairs(duck) == expected
    assert pairs(spark) == expected
    assert rows(spark) == rows(duck)


# ---- incremental: Spark judges only the new segments ---------------------------------------------


def _firing_rules(files: list[Path], folder: Path) -> Path:
    """The bundled SigmaHQ rules that fire on ``files`` (a DuckDB run over a store of its own), written
    to ``folder``: the Spark runs below plan those alone, not the whole corpus."""
    scratch = Store(folder.parent / "firing")
    scratch.ingest([str(p) for p in files])
    fired = {a["rule_id"] for a in run_detectors(scratch, only=["sigma"], save=False).alerts.to_pylist()}
    folder.mkdir()
    by_id = {r.id: r.path for r in load_ruleset().rules}
    with zipfile.ZipFile(BUNDLED) as zf:
        for rule_id in sorted(fired):
            member = by_id[rule_id].split(":", 1)[1]
            (folder / member.replace("/", "__")).write_bytes(zf.read(member))
    return folder


def test_spark_judges_only_new_segments_and_gives_a_full_duckdb_runs_alerts(
    tmp_path: Path, spark_engine: SparkEngine
) -> None:
    """Two segments of real EVTX logs (tests/data): a Spark run keeps its matches, a second Spark run
    after a new ingest matches only the new segment's events, and its alerts equal a full DuckDB run
    over both; a DuckDB run then reuses what Spark kept and gives the same alerts again."""
    files = sorted((DATA / "evtx").glob("*.evtx"))
    config = {"sigma": {"rules": [str(_firing_rules(files, tmp_path / "rules"))]}}
    store = Store(tmp_path / "store")
    store.ingest([str(p) for p in files[:5]])
    first = run_detectors(store, only=["sigma"], config=config, engine=spark_engine).alerts
    (old,) = [p.name for p in store.segments()]
    store.ingest([str(p) for p in files[5:]])
    (new,) = [p.name for p in store.segments() if p.name != old]
    spark = run_detectors(store, only=["sigma"], config=config, engine=spark_engine).alerts
    assert spark_engine.last is not None and spark_engine.last.failures == []
    new_files = store.event_files([new])
    new_uids = set(
        pa.concat_tables([pq.read_table(f, columns=["uid"]) for f in new_files])["uid"].to_pylist()
    )
    matched = set(spark_engine.last.matches["uid"].to_pylist())
    assert matched and matched <= new_uids  # Spark read the new segment only
    full = run_detectors(store, only=["sigma"], config=config, save=False, full=True).alerts
    assert first.num_rows > 0 and spark.num_rows > first.num_rows  # both segments have alerts
    assert every_column(spark) == every_column(full)
    told: list[DetectProgress] = []
    again = run_detectors(store, only=["sigma"], config=config, progress=told.append).alerts
    assert not [e for e in told if e.step == "pass"]  # DuckDB judged nothing: Spark's kept matches
    assert every_column(again) == every_column(full)
