"""One writer per store, between real processes: a second ingest (or detect) waits for the first, or
refuses with a clear error; nothing is doubled, nothing half-written is seen, and a killed writer does not
leave the store locked.

The oracle for "nothing doubled" is a clean run of the same inputs into a store of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from sekimori.store import Store, StoreBusyError
from tests.conftest import DATA

SAMPLE = DATA / "windows_json" / "otrf_empire_psexec_sample.zip"


def _inputs(folder: Path, files: int = 24, copies: int = 40) -> Path:
    """Distinct NDJSON files of real OTRF records (each file's records renumbered so no two files share
    content): enough work that a writer killed half a second in is cut mid-way."""
    folder.mkdir()
    with zipfile.ZipFile(SAMPLE) as z:
        lines = [json.loads(x) for x in z.read(z.namelist()[0]).splitlines() if x.strip()]
    for i in range(files):
        with (folder / f"part-{i:02d}.json").open("w") as fh:
            for c in range(copies):
                for n, record in enumerate(lines):
                    record = dict(record, RecordNumber=(i * copies + c) * 1000 + n)
                    fh.write(json.dumps(record) + "\n")
    return folder


# The first writer of a test runs the real ingest command, but holds the lock, once taken, until the
# test says go: whether the second process starts before the first has finished is then no longer a
# race between the first run's length and the second's start-up on a loaded machine.
_GATED = """import contextlib, os, sys, time
import sekimori.store.store as store_module
real, held, release = store_module.writer_lock, sys.argv[1], sys.argv[2]
@contextlib.contextmanager
def gated(*args, **kwargs):
    with real(*args, **kwargs):
        open(held, "w").close()
        deadline = time.monotonic() + 240
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield
store_module.writer_lock = gated
sys.argv = ["sekimori", *sys.argv[3:]]
from sekimori.cli import main
main()
"""


def _ingest(logs: Path, store: Path, *extra: str, gate: Path | None = None) -> subprocess.Popen[str]:
    """``sekimori ingest``; with ``gate``, it holds the lock until ``gate/release`` exists, once it has
    said so by creating ``gate/held``."""
    command = (
        ["-m", "sekimori.cli"] if gate is None else ["-c", _GATED, str(gate / "held"), str(gate / "release")]
    )
    return subprocess.Popen(
        [sys.executable, *command, "ingest", str(logs), "--store", str(store), "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its reading workers with it, for the kill below
    )


def _held(gate: Path, writer: subprocess.Popen[str]) -> None:
    """Wait until the gated ``writer`` holds the lock (failing if it ends first)."""
    deadline = time.monotonic() + 120
    while not (gate / "held").exists():
        assert writer.poll() is None, writer.communicate()
        assert time.monotonic() < deadline, "the first writer never took the lock"
        time.sleep(0.05)


def _said(process: subprocess.Popen[Any], words: bytes, who: str) -> bytes:
    """What ``process`` wrote to stderr up to and including ``words`` (the line may be wrapped), failing
    if it ends before."""
    assert process.stderr is not None
    said = b""
    while words not in b" ".join(said.split()):
        chunk = os.read(process.stderr.fileno(), 4096)
        assert chunk, f"{who} ended without waiting: {said.decode(errors='replace')}"
        said += chunk
    return said


def _counts(store: Path) -> tuple[int, int, int]:
    st = Store(store)
    events, uids = st.connect().execute("SELECT count(*), count(DISTINCT uid) FROM events").fetchone()
    return events, uids, st.stats()["events"]


def test_a_second_ingest_waits_for_the_first_and_each_event_is_stored_once(tmp_path):
    logs = _inputs(tmp_path / "logs")
    clean = Store(tmp_path / "clean").ingest([str(logs)])
    assert clean.events == 24 * 40 * 90

    store, gate = tmp_path / "store", tmp_path / "gate"
    gate.mkdir()
    first = _ingest(logs, store, gate=gate)
    _held(gate, first)
    second = _ingest(logs, store)
    # the second is let go on only once it has said that it waits for the first
    said = _said(second, b"waiting for ingest (pid", "the second ingest")
    (gate / "release").touch()
    out1, err1 = first.communicate(timeout=600)
    out2, err2 = second.communicate(timeout=600)
    err2 = said.decode() + err2
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    assert "Traceback" not in err1 + err2
    runs = [json.loads(out1), json.loads(out2)]
    # the first read every file; the second, let in after it, found every file already in the store
    assert [r["events"] for r in runs] == [clean.events, 0]
    assert [r["skipped"] for r in runs] == [0, 24]
    assert f"waiting for ingest (pid {first.pid}" in " ".join(err2.split())
    assert _counts(store) == (clean.events, clean.events, clean.events)


def test_a_second_writer_that_may_not_wait_is_refused_and_the_first_finishes(tmp_path):
    logs = _inputs(tmp_path / "logs")
    store, gate = tmp_path / "store", tmp_path / "gate"
    gate.mkdir()
    first = _ingest(logs, store, gate=gate)
    _held(gate, first)
    second = _ingest(logs, store, "--wait", "0")
    try:
        out2, err2 = second.communicate(timeout=120)
    finally:
        (gate / "release").touch()  # the first holds the lock until the second has answered
    out1, err1 = first.communicate(timeout=600)
    assert first.returncode == 0, err1
    assert second.returncode == 2 and out2 == ""
    message = " ".join(err2.split())
    assert f"the store is being written by ingest (pid {first.pid}" in message and "Traceback" not in err2
    assert _counts(store)[0] == json.loads(out1)["events"] == 24 * 40 * 90


def test_a_killed_writer_leaves_no_lock_and_the_rerun_completes(tmp_path):
    logs = _inputs(tmp_path / "logs")
    store = tmp_path / "store"
    first = _ingest(logs, store)
    deadline = time.monotonic() + 60
    while not (store / ".writer.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(first.pid, signal.SIGKILL)  # the writer and its workers, at once
    first.communicate(timeout=60)
    again = _ingest(logs, store, "--wait", "0")
    _out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert _counts(store) == (24 * 40 * 90,) * 3


def test_detect_waits_for_an_ingest_and_the_library_refuses_when_told_not_to_wait(tmp_path):
    logs = _inputs(tmp_path / "logs", files=4)
    store = tmp_path / "store"
    Store(store).ingest([str(logs)])
    release = tmp_path / "release"
    # The holder lets go only once the detect below has said it waits: no race with its start-up time.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time; from sekimori.store import Store\n"
            "with Store(sys.argv[1]).writer('test holder'):\n"
            "    print('held', flush=True)\n"
            "    deadline = time.monotonic() + 240\n"
            "    while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:\n"
            "        time.sleep(0.05)\n",
            str(store),
            str(release),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    try:
        refused = Store(store, lock_wait=0)
        try:
            refused.put_table("alerts", Store(store).sql("SELECT 1 AS x"))
        except StoreBusyError as exc:
            assert "test holder" in str(exc)
        else:
            raise AssertionError("a second writer was let in")
        waiting = subprocess.Popen(
            [sys.executable, "-m", "sekimori.cli", "detect", "--store", str(store), "--only", "behaviour"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        said = _said(waiting, b"waiting for test holder", "detect")
        assert waiting.poll() is None  # still waiting while the holder holds
        release.touch()
        _, err = waiting.communicate(timeout=300)
        assert waiting.returncode == 0, (said + err).decode(errors="replace")
    finally:
        release.touch()
        child.wait(timeout=60)
    assert "alerts" in Store(store).tables()
