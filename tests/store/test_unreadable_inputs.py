"""Nothing in a log folder is skipped silently: what cannot be read (a folder or file without
permission, a FIFO, a socket, a device, a broken or looping link) is reported per path as failed, with
a note saying why, and never opened; everything else is ingested.

Each ingest runs in a child process with a timeout, so code that opens a FIFO (which blocks until a
writer comes) or reads /dev/zero fails the test instead of hanging it. Permissions are real: when the
tests run as root (as in CI), the child runs without the capabilities that let root read anything
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so mode 000 stops it as it stops any other user.
"""

import ctypes
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import sekimori
from tests.conftest import DATA

EVTX = DATA / "evtx" / "LM_WMIC_4648_rpcss.evtx"  # 5 records
OTHER = DATA / "evtx" / "LM_Remote_Service02_7045.evtx"
REPO = Path(sekimori.__file__).resolve().parents[1]  # the tree under test, for the child

CHILD = """
import json, sys
from dataclasses import asdict
from sekimori.store import Store
from sekimori.store import iter_input_files
store = Store(sys.argv[1])
paths = sys.argv[3:]
# "listed": as the CLI does, list the files first and hand the list to ingest
report = store.ingest(list(iter_input_files(paths)) if sys.argv[2] == "listed" else paths)
print(json.dumps({"files": [asdict(f) for f in report.files], "stats": store.stats()}))
"""
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_SETPCAP = 24, 1, 2, 8


def _effective_caps() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def _drop_read_anything() -> None:
    """In the child, before exec: root keeps only the bounding set's capabilities after exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def ingest_in_child(store: Path, *paths: Path, listed: bool = False, timeout: float = 60) -> dict:
    preexec = None
    if os.geteuid() == 0:
        if not _effective_caps() & (1 << CAP_SETPCAP):
            pytest.skip("running as root without CAP_SETPCAP: cannot make mode 000 unreadable")
        preexec = _drop_read_anything
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(store), "listed" if listed else "given", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=timeout,  # kills the child: a hang is a failure, not a stuck suite
        preexec_fn=preexec,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def outcome(summary: dict) -> dict[str, tuple]:
    """Per path, relative to the folder ingested: (status, events, note)."""
    return {f["path"]: (f["status"], f["events"], f["note"]) for f in summary["files"]}


@pytest.mark.parametrize("listed", [False, True], ids=["folder", "listed-like-the-cli"])
def test_fifos_sockets_devices_and_unreadable_paths_are_reported_not_opened(tmp_path, listed):
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(EVTX, logs / "a_good.evtx")
    os.mkfifo(logs / "b_pipe")  # no writer ever comes: opening it would block forever
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(logs / "c_socket"))
    (logs / "d_zero").symlink_to("/dev/zero")  # reading it never ends
    (logs / "e_dangling").symlink_to("no-such-file")
    (logs / "f_self").symlink_to("f_self")
    locked = logs / "g_locked"
    locked.mkdir()
    shutil.copy(OTHER, locked / "inside.evtx")
    locked.chmod(0)
    shutil.copy(OTHER, logs / "h_secret.evtx")
    (logs / "h_secret.evtx").chmod(0)
    sub = logs / "i_sub"
    sub.mkdir()
    (sub / "back").symlink_to("..")  # a loop: i_sub/back/i_sub/back/...
    (sub / "same.evtx").symlink_to(logs / "a_good.evtx")  # a link to a file is read (same content: skipped)

    try:
        summary = ingest_in_child(tmp_path / "store", logs, listed=listed)
    finally:
        server.close()

    p = f"{logs}/"
    assert outcome(summary) == {
        p + "a_good.evtx": ("ingested", 5, None),
        p + "b_pipe": ("failed", 0, "not a regular file (named pipe (FIFO)): not opened"),
        p + "c_socket": ("failed", 0, "not a regular file (socket): not opened"),
        p + "d_zero": ("failed", 0, "not a regular file (character device): not opened"),
        p + "e_dangling": ("failed", 0, "broken symbolic link to 'no-such-file'"),
        p + "f_self": ("failed", 0, "symbolic link loop: the link never reaches a file"),
        p + "h_secret.evtx": ("failed", 0, "cannot read: Permission denied"),
        p + "i_sub/same.evtx": ("skipped", 0, f"same content as {p}a_good.evtx"),
        p + "g_locked": ("failed", 0, "cannot list folder: Permission denied"),
        p + "i_sub/back": (
            "failed",
            0,
            "symbolic link loop: a link to a folder it is inside; not walked again",
        ),
    }
    # `sekimori stats` shows each failed path with its reason; its quarantine row too
    stats = {f["path"]: f for f in summary["stats"]["files"]}
    assert stats[p + "g_locked"] == {
        "path": p + "g_locked",
        "events": 0,
        "quarantined": 1,
        "status": "failed",
        "note": "cannot list folder: Permission denied",
    }
    assert summary["stats"]["events"] == 5 and summary["stats"]["quarantined"] == 8
    assert stat.S_ISFIFO(os.lstat(logs / "b_pipe").st_mode)


def test_a_fifo_named_on_the_command_line_is_reported_and_the_run_finishes(tmp_path):
    pipe = tmp_path / "pipe.log"
    os.mkfifo(pipe)
    summary = ingest_in_child(tmp_path / "store", pipe, EVTX)
    assert outcome(summary) == {
        str(pipe): ("failed", 0, "not a regular file (named pipe (FIFO)): not opened"),
        str(EVTX): ("ingested", 5, None),
    }


def test_a_folder_that_cannot_be_listed_named_directly_is_reported(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(EVTX, locked / "x.evtx")
    locked.chmod(0)
    summary = ingest_in_child(tmp_path / "store", locked)
    assert outcome(summary) == {str(locked): ("failed", 0, "cannot list folder: Permission denied")}


@pytest.fixture(autouse=True)
def _restore_modes(tmp_path):
    yield  # pytest must be able to remove what the tests locked
    for root, dirs, files in os.walk(tmp_path):
        for name in dirs + files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)
