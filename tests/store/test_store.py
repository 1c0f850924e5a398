"""The store: idempotent, resumable after a kill, quarantine instead of crashes, views and stats."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sekimori.store import QueryRefused, Store
from tests.conftest import DATA

EVTX = sorted((DATA / "evtx").glob("*.evtx"))
JSON = sorted((DATA / "windows_json").iterdir())


def _inputs(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    for p in [*EVTX, *JSON]:
        shutil.copy(p, folder / p.name)
    return folder


def test_ingest_then_query_the_views(tmp_path):
    store = Store(tmp_path / "store")
    report = store.ingest([str(p) for p in EVTX])
    assert report.events > 0 and report.quarantined == 0
    con = store.connect()
    n, distinct_uids = con.execute("SELECT count(*), count(DISTINCT uid) FROM events").fetchone()
    assert n == report.events == distinct_uids
    per_file = dict(con.execute("SELECT source_file, count(*) FROM events GROUP BY 1").fetchall())
    assert per_file == {f.path: f.events for f in report.files}
    assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
    stats = store.stats()
    assert stats["events"] == report.events
    assert {f["path"] for f in stats["files"]} == {str(p) for p in EVTX}


def test_same_content_twice_counts_once_even_under_another_name(tmp_path):
    store = Store(tmp_path / "store")
    first = store.ingest([str(EVTX[0])])
    copy = tmp_path / "copy-with-another-name.evtx"
    shutil.copy(EVTX[0], copy)
    again = store.ingest([str(EVTX[0]), str(copy)])
    assert again.events == 0 and again.skipped == 2
    assert store.stats()["events"] == first.events
    assert store.sql("SELECT count(*) AS n FROM events").column("n")[0].as_py() == first.events


def test_a_corrupt_file_among_good_ones_is_reported_and_the_run_finishes(tmp_path):
    folder = _inputs(tmp_path)
    (folder / "corrupt.zip").write_bytes(b"PK\x03\x04" + os.urandom(200))
    (folder / "empty.evtx").write_bytes(b"")
    (folder / "notes.txt").write_text("meeting notes, not a log\n")
    store = Store(tmp_path / "store")
    report = store.ingest([str(folder)])
    by_name = {os.path.basename(f.path): f for f in report.files}
    assert by_name["corrupt.zip"].status == "failed" and by_name["corrupt.zip"].quarantined == 1
    assert by_name["empty.evtx"].quarantined == 1 and by_name["notes.txt"].quarantined == 1
    good = sum(f.events for f in report.files)
    assert good > 0
    reasons = store.sql("SELECT source_file, reason FROM quarantine").to_pylist()
    assert any(r["source_file"].endswith("corrupt.zip") and "zip" in r["reason"] for r in reasons)
    assert any("no reader recognises" in r["reason"] for r in reasons)


def test_a_reader_that_crashes_keeps_what_it_read(tmp_path, monkeypatch):
    from sekimori.ingest.readers import evtx as evtx_module

    original = evtx_module.EvtxReader.read

    def crash_after_first_batch(self, source, quarantine):
        for batch in original(self, source, quarantine):
            yield batch
            raise RuntimeError("simulated reader bug")

    monkeypatch.setattr(evtx_module.EvtxReader, "read", crash_after_first_batch)
    store = Store(tmp_path / "store")
    report = store.ingest([str(EVTX[0])])
    (result,) = report.files
    assert result.status == "partial" and result.events > 0
    assert "simulated reader bug" in store.sql("SELECT reason FROM quarantine").column("reason")[0].as_py()


def _ingest_process(folder, store_dir, workers=1):
    env = {**os.environ, "SEKIMORI_SEGMENT_ROWS": "40", "SEKIMORI_WORKERS": str(workers)}
    code = "import sys; from sekimori.store import Store; Store(sys.argv[1]).ingest([sys.argv[2]])"
    return subprocess.Popen([sys.executable, "-c", code, str(store_dir), str(folder)], env=env)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize(("kill_after_segments", "workers"), [(0, 1), (1, 1), (3, 1), (1, 2), (2, 2)])
def test_killed_at_any_point_and_rerun_nothing_lost_nothing_doubled(tmp_path, kill_after_segments, workers):
    folder = _inputs(tmp_path)
    reference = Store(tmp_path / "reference", segment_rows=40)
    expected = reference.ingest([str(folder)])

    store_dir = tmp_path / "store"
    proc = _ingest_process(folder, store_dir, workers)
    deadline = time.time() + 60
    seen: set[int] = set()  # every child seen while the ingest ran: its readers may end before the kill
    while time.time() < deadline and proc.poll() is None:
        if workers > 1:
            seen.update(_children(proc.pid))
        committed = len(list((store_dir / "segments").glob("*/manifest.json"))) if store_dir.exists() else 0
        if committed >= kill_after_segments:
            break
        time.sleep(0.002)
    alive = proc.poll() is None
    children = sorted(seen | set(_children(proc.pid)))
    # the readers were there to be killed with it
    assert len(children) >= (workers if workers > 1 and alive else 0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # its reader processes (and multiprocessing's resource tracker) end with it, not wait forever
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)]

    store = Store(store_dir, segment_rows=40)
    store.ingest([str(folder)])  # resume
    got = store.stats()
    assert got["events"] == expected.events
    assert got["quarantined"] == expected.quarantined
    assert sorted((f["path"], f["events"]) for f in got["files"]) == sorted(
        (f.path, f.events) for f in expected.files
    )
    n, uids = store.connect().execute("SELECT count(*), count(DISTINCT uid) FROM events").fetchone()
    assert n == uids == expected.events
    assert not (store_dir / ".staging").exists() or not any((store_dir / ".staging").iterdir())


def test_queries_are_sandboxed_to_the_store(tmp_path):
    import duckdb

    store = Store(tmp_path / "store")
    store.ingest([str(EVTX[0])])
    assert store.sql("SELECT count(*) AS n FROM events").column("n")[0].as_py() > 0
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    for query in (
        f"SELECT * FROM read_csv('{outside}')",
        f"COPY (SELECT 1) TO '{tmp_path / 'leak.csv'}'",
        "SET enable_external_access = true",
        f"ATTACH '{tmp_path / 'other.db'}'",
    ):
        with pytest.raises((duckdb.Error, QueryRefused)):
            store.sql(query)
    assert not (tmp_path / "leak.csv").exists()


def test_reading_an_empty_store_gives_typed_empty_views(tmp_path):
    store = Store(tmp_path / "nothing")
    table = store.sql("SELECT * FROM events")
    assert table.num_rows == 0 and "principal" in table.column_names
    assert store.stats() == {"events": 0, "quarantined": 0, "files": []}


def _content(store):
    rows = store.sql(
        "SELECT uid, source_file, record_id, event_code, principal, time FROM events ORDER BY uid"
    ).to_pylist()
    quarantined = store.sql("SELECT source_file, record, reason FROM quarantine ORDER BY ALL").to_pylist()
    return rows, quarantined


def test_parallel_ingest_gives_exactly_what_a_serial_one_gives(tmp_path):
    folder = _inputs(tmp_path)
    (folder / "corrupt.zip").write_bytes(b"PK\x03\x04" + b"\x01" * 300)
    serial = Store(tmp_path / "serial")
    serial_report = serial.ingest([str(folder)], workers=1)
    parallel = Store(tmp_path / "parallel")
    parallel_report = parallel.ingest([str(folder)], workers=2)
    # under pytest's guarded main the two workers are used (sekimori.store.spawning)
    assert (serial_report.workers, parallel_report.workers) == (1, 2)
    assert [(f.path, f.events, f.quarantined, f.status) for f in parallel_report.files] == [
        (f.path, f.events, f.quarantined, f.status) for f in serial_report.files
    ]
    assert _content(parallel) == _content(serial)
    assert parallel.stats() == serial.stats()


def test_a_large_file_spills_to_parquet_parts_with_the_same_content(tmp_path, monkeypatch):
    from sekimori.store import reading as reading_module

    normal = Store(tmp_path / "normal")
    normal.ingest([str(p) for p in JSON])
    monkeypatch.setattr(reading_module, "SPILL_BYTES", 1)  # every batch goes to a part file
    spilled = Store(tmp_path / "spilled")
    spilled.ingest([str(p) for p in JSON])
    parts = [p for p in spilled.event_files() if "events-spill-" in p]
    assert parts, spilled.event_files()
    assert _content(spilled) == _content(normal)
    assert not any((tmp_path / "spilled" / ".staging").glob("spill-*"))


def test_ten_thousand_files_with_one_corrupt_finish_and_name_the_corrupt_one(tmp_path):
    """Real sshd lines (tests/data/syslog) spread over 10,000 files, one truncated EVTX among them."""
    lines = (DATA / "syslog" / "loghub-openssh.log").read_text().splitlines()
    folder = tmp_path / "logs"
    folder.mkdir()
    expected = 0
    for i in range(10_000):
        start = (i * 7) % (len(lines) - 5)
        chunk = lines[start : start + 1 + i % 5]
        # each file unique: one own line, so no file is a duplicate of another
        chunk.append(
            f"Dec 10 11:11:11 host{i} sshd[{i}]: Connection closed by 10.0.{i % 250}.{i % 200} [preauth]"
        )
        (folder / f"auth-{i:05d}.log").write_text("\n".join(chunk) + "\n")
        expected += len(chunk)
    corrupt = folder / "corrupt.evtx"
    corrupt.write_bytes(EVTX[0].read_bytes()[:3000])
    store = Store(tmp_path / "store")
    report = store.ingest([str(folder)])
    assert len(report.files) == 10_001 and report.skipped == 0
    assert report.events == expected
    (bad,) = [f for f in report.files if f.quarantined]
    assert bad.path == str(corrupt)
    (row,) = store.sql("SELECT source_file, reason FROM quarantine").to_pylist()
    assert row["source_file"] == str(corrupt) and "not a readable EVTX file" in row["reason"]


def _lines_of(path) -> list[str]:
    return path.read_text().splitlines()


def test_a_growing_log_is_ingested_once_per_line(tmp_path):
    """auth.log that grows between runs: each run adds only the new lines (sshd lines from loghub)."""
    lines = _lines_of(DATA / "syslog" / "loghub-openssh.log")[:120]
    log = tmp_path / "auth.log"
    store = Store(tmp_path / "store")
    log.write_text("\n".join(lines[:50]) + "\n")
    first = store.ingest([str(log)])
    with open(log, "a") as fh:
        fh.write("\n".join(lines[50:100]) + "\n\x00garbage line that is not syslog\n")
    second = store.ingest([str(log)])
    (grown,) = second.files
    assert grown.grown_from == first.files[0].digest and grown.skipped_events == first.events
    with open(log, "a") as fh:
        fh.write("\n".join(lines[100:]) + "\n")
    store.ingest([str(log)])

    reference = Store(tmp_path / "reference")
    whole = reference.ingest([str(log)])
    stats = store.stats()
    assert stats["events"] == whole.events and stats["quarantined"] == whole.quarantined == 1
    assert stats["files"] == [{"path": str(log), "events": whole.events, "quarantined": 1}]
    rows = store.sql("SELECT count(*) AS n, count(DISTINCT record_id) AS ids FROM events").to_pylist()[0]
    assert rows["n"] == rows["ids"] == whole.events  # no line twice
    assert store.ingest([str(log)]).skipped == 1  # unchanged: nothing to do


def test_a_growing_json_export_and_a_rewritten_file(tmp_path):
    import zipfile

    with zipfile.ZipFile(JSON[0]) as z:
        lines = z.read(z.namelist()[0]).decode().splitlines()
    export = tmp_path / "export.json"
    store = Store(tmp_path / "store")
    export.write_text("\n".join(lines[:40]) + "\n")
    store.ingest([str(export)])
    export.write_text("\n".join(lines) + "\n")
    store.ingest([str(export)])
    assert store.stats()["events"] == len(lines)
    uids = store.sql("SELECT count(DISTINCT uid) AS u, count(DISTINCT raw) AS r FROM events").to_pylist()[0]
    assert uids["u"] == len(lines) and uids["r"] == len(set(lines))

    # not an append (the start changed): a new version, read whole
    export.write_text("\n".join(lines[10:]) + "\n" + "\n".join(lines[:10]) + "\n")
    report = store.ingest([str(export)])
    assert report.files[0].grown_from is None and report.events == len(lines)


@pytest.mark.parametrize(
    "name",
    [
        "windows_json/otrf_empire_psexec_sample.zip",
        "windows_json/winlogbeat6_empire_enable_rdp_sample.json.gz",
        "evtx/LM_WMIC_4648_rpcss.evtx",
        "not a zip",
        "empty",
    ],
)
def test_the_digest_and_decompressed_size_read_in_one_opening(tmp_path, name):
    import gzip
    import hashlib
    import zipfile

    from sekimori.store.inputs import digest_and_size

    path = DATA / name
    if name == "not a zip":  # a zip's magic and nothing of a zip after it: its size
        path = tmp_path / "fake.zip"
        path.write_bytes(b"PK\x03\x04" + b"x" * 3000)
    elif name == "empty":
        path = tmp_path / "empty"
        path.write_bytes(b"")
    data = path.read_bytes()
    size = len(data)
    # the reference: the hashes of the bytes, and the content's size by decompressing it
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            decompressed = sum(len(z.read(n)) for n in z.namelist())
    elif name.endswith(".gz"):
        decompressed = len(gzip.decompress(data))
    else:
        decompressed = size
    assert decompressed >= size
    digest = hashlib.sha256(data).hexdigest()
    prefix = hashlib.sha256(data[: size // 2]).hexdigest()
    assert digest_and_size(path, size // 2, size) == (digest, prefix, decompressed)
    assert digest_and_size(path) == (digest, None, decompressed)
