"""The syslog and LANL readers on the full real corpora in ../shared/data (run with ``-m corpus``)."""

from __future__ import annotations

import csv
import gzip
import re
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.lanl import LanlAuthReader, LanlRedteamReader
from sekimori.ingest.readers.syslog import SyslogReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import expand
from tests.conftest import corpus as _corpus

pytestmark = pytest.mark.corpus

SSHD_AUTH = re.compile(r"sshd\[\d+\]: (?:message repeated \d+ times: \[ )?(Accepted|Failed) \S+ for ")


def _read(reader, path: Path) -> tuple[pa.Table, Quarantine, type]:
    (src,) = expand(str(path))
    q = Quarantine(src)
    table = pa.Table.from_batches(list(reader.read(src, q)), schema=EVENT_SCHEMA)
    return table, q, detect(src.head(), src)


@pytest.mark.parametrize("name", ["OpenSSH/OpenSSH_2k.log", "Linux/Linux_2k.log"])
def test_loghub_every_line_accounted_for_and_sshd_counts_match(name):
    path = _corpus("loghub", name)
    lines = [ln for ln in path.read_bytes().decode("utf-8").splitlines() if ln.strip()]
    table, q, detected = _read(SyslogReader(year=2020), path)
    assert detected is SyslogReader
    assert table.num_rows + len(q) == len(lines)
    assert sorted(table["record_id"].to_pylist() + [r.record for r in q.records]) == list(
        range(1, len(lines) + 1)
    )
    assert table["time"].null_count == 0 and table["host"].null_count == 0

    accepted = sum(1 for ln in lines if (m := SSHD_AUTH.search(ln)) and m[1] == "Accepted")
    failed = sum(1 for ln in lines if (m := SSHD_AUTH.search(ln)) and m[1] == "Failed")
    codes = table["event_code"]
    assert (pc.sum(pc.starts_with(codes, "sshd.accepted_")).as_py() or 0) == accepted
    assert (pc.sum(pc.starts_with(codes, "sshd.failed_")).as_py() or 0) == failed
    opened = sum(1 for ln in lines if "session opened for user" in ln)
    assert (pc.sum(pc.equal(codes, "pam.session_opened")).as_py() or 0) == opened
    if name.startswith("OpenSSH"):
        assert (accepted, failed) == (1, 524)


def test_lanl_auth_sample_every_line_an_event():
    path = _corpus("lanl-2015", "auth_head", "auth_first50k.csv")
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    start = time.perf_counter()
    table, q, detected = _read(LanlAuthReader(), path)
    elapsed = time.perf_counter() - start
    assert detected is LanlAuthReader
    assert table.num_rows == len(rows) == 50_000 and len(q) == 0
    assert table["record_id"].to_pylist() == list(range(1, 50_001))
    fails = sum(1 for r in rows if r[8] == "Fail")
    assert pc.sum(pc.equal(table["outcome"], "failure")).as_py() == fails
    print(f"lanl: {table.num_rows / elapsed:,.0f} events/s on {path.name}")


def test_lanl_redteam_every_line_an_event():
    path = _corpus("lanl-2015", "redteam.txt.gz")
    with gzip.open(path, "rt") as fh:
        n = sum(1 for ln in fh if ln.strip())
    table, q, detected = _read(LanlRedteamReader(), path)
    assert detected is LanlRedteamReader
    assert table.num_rows == n == 749 and len(q) == 0
    assert set(table["activity"].to_pylist()) == {"redteam_label"}
    assert table["principal"].null_count == 0 and table["target_host"].null_count == 0
