"""Ingest with the readers in Spark tasks against the same ingest in this process.

The second engine's reading is the check: the same files ingested by ``Store.ingest(workers=1)`` and
by ``Store.ingest(reading=SparkFileReading(…))`` (Spark local[2], many partitions, several jobs) give
the same events (every column, ``raw`` and ``uid`` included), the same quarantine rows and the same
per-file results; a file large enough to be spilled by its task arrives as a Parquet part moved into
the segment; a file that grew is resumed from where the store left it. ``file_chunks`` against cuts
worked out by hand.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sekimori.spark import SparkEngine, SparkFileReading
from sekimori.store import Store, file_chunks
from tests.conftest import DATA, REPO, corpus

pytestmark = pytest.mark.spark

BIG_ZIP = ("security-datasets", "datasets", "atomic", "windows", "lateral_movement", "host")


def _table(store: Store, view: str) -> pa.Table:
    return store.connect().sql(f"SELECT * FROM {view} ORDER BY ALL").arrow().read_all()


def _files(store: Store) -> list[dict[str, Any]]:
    return sorted(store.files(), key=lambda f: f["path"])


def _same_stores(local: Store, spark: Store) -> None:
    for view in ("events", "quarantine"):
        assert _table(spark, view).equals(_table(local, view)), view
    assert _files(spark) == _files(local)


def test_file_chunks_cut_by_size_and_count() -> None:
    tasks = [(f"f{i}", f"d{i}", size, None) for i, size in enumerate([5, 5, 1, 9, 2, 2, 2, 2])]
    # chunk_bytes 10: 5+5 | 1+9 | 2+2+2 (three files) | 2
    chunks = list(file_chunks(tasks, chunk_bytes=10, chunk_files=3))
    assert [[t[0] for t in c] for c in chunks] == [["f0", "f1"], ["f2", "f3"], ["f4", "f5", "f6"], ["f7"]]
    assert list(file_chunks([], 10, 3)) == []


@pytest.mark.corpus
def test_spark_ingest_equals_local_ingest(tmp_path: Path, spark_engine: SparkEngine) -> None:
    big = sorted(corpus(*BIG_ZIP).glob("empire_dcom_shellwindows_stager.zip"))
    assert big, "the Security-Datasets file this test spills is missing"
    corrupt = tmp_path / "in" / "corrupt.evtx"
    corrupt.parent.mkdir()
    # an EVTX magic and then noise the evtx crate reads without an error (seed 16; 1 in 12 is)
    corrupt.write_bytes(b"ElfFile\x00" + random.Random(16).randbytes(4096))
    paths = [str(DATA), str(corpus("evtx-attack-samples")), str(big[0]), str(corrupt)]

    local = Store(tmp_path / "local")
    local_report = local.ingest(paths, workers=1)
    reading = SparkFileReading(spark_engine.spark, window=1, chunk_files=8)
    spark = Store(tmp_path / "spark")
    spark_report = spark.ingest(paths, reading=reading)

    assert reading.partitions > 2 * spark_engine.spark.sparkContext.defaultParallelism  # several jobs
    assert spark_report.events == local_report.events and spark_report.events > 0
    assert spark_report.quarantined == local_report.quarantined
    _same_stores(local, spark)
    # the corrupt file is reported, not lost, on both
    results = {f["path"]: f for f in _files(spark)}
    assert results[str(corrupt)]["quarantined"] > 0 and results[str(corrupt)]["events"] == 0
    # the big file's events were written by its task and moved into the segment
    spilled = [p for seg in spark.segments() for p in seg.glob("events-spill-*.parquet")]
    assert spilled
    big_events = results[str(big[0])]["events"]
    in_spilled = sum(pq.read_metadata(p).num_rows for p in spilled)
    assert in_spilled == big_events

    # the same run again: every file is known, nothing is read
    again = spark.ingest(paths, reading=reading)
    assert again.events == 0 and again.skipped == len(again.files)


def test_spark_ingest_resumes_a_grown_file(tmp_path: Path, spark_engine: SparkEngine) -> None:
    source = DATA / "syslog" / "loghub-openssh.log"
    lines = source.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    stores = {"local": Store(tmp_path / "local"), "spark": Store(tmp_path / "spark")}
    for name, store in stores.items():
        log = tmp_path / name / "in" / "auth.log"
        log.parent.mkdir(parents=True)
        log.write_bytes(b"".join(lines[:half]))
        reading = SparkFileReading(spark_engine.spark) if name == "spark" else None
        first = store.ingest([str(log)], workers=1, reading=reading)
        with log.open("ab") as fh:
            fh.write(b"".join(lines[half:]))
        second = store.ingest([str(log)], workers=1, reading=reading)
        assert first.events > 0 and second.events > 0
        assert second.files[0].grown_from == first.files[0].digest  # resumed, not read again whole
    # the paths differ (one input folder per store): compare everything but source_file
    tables = {
        name: store.connect()
        .sql("SELECT * EXCLUDE (source_file) FROM events ORDER BY ALL")
        .arrow()
        .read_all()
        for name, store in stores.items()
    }
    assert tables["spark"].equals(tables["local"])
    # every line of the file is an event or a quarantine row, exactly once (counted from the file itself)
    spark_store = stores["spark"]
    events = spark_store.connect().execute("SELECT count(*), count(DISTINCT uid) FROM events").fetchone()
    quarantined = spark_store.connect().execute("SELECT count(*) FROM quarantine").fetchone()
    non_empty = sum(1 for line in lines if line.strip())
    assert events is not None and quarantined is not None
    assert events[0] == events[1] and events[0] + quarantined[0] == non_empty


def test_cli_ingest_on_spark(tmp_path: Path, spark_engine: SparkEngine) -> None:
    # A process of its own: the command stops its Spark session at the end, which here would stop
    # the suite's shared one.
    config = tmp_path / "spark.yaml"
    config.write_text("spark:\n  master: local[1]\n  driver_memory: 1g\n")
    inputs = tmp_path / "in"
    shutil.copytree(DATA / "syslog", inputs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEKIMORI_SPARK")}
    command = [sys.executable, "-m", "sekimori", "ingest", "--store", str(tmp_path / "store")]
    done = subprocess.run(
        [*command, "--engine", "spark", "--config", str(config), "--json", str(inputs)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    local = Store(tmp_path / "local")
    local.ingest([str(inputs)], workers=1)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["events"] == local.connect().execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
    _same_stores(local, Store(tmp_path / "store"))

    bad = subprocess.run(
        [*command, "--engine", "sparc", str(inputs)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert bad.returncode != 0 and "unknown engine 'sparc'" in bad.stdout + bad.stderr
