"""One writer per store: an operating-system lock on ``STORE/.writer.lock``.

Two ``ingest`` runs on one store both decided the same files were new and doubled every event, for good;
the second deleted the first's ``.staging``. Every writer (ingest, detect, watch) now holds an exclusive
lock for the whole of its work, so the decisions it takes (which files are new, which leftovers are
stale) are its own. The lock is the kernel's (``flock`` on POSIX, ``msvcrt.locking`` on Windows): it is
released when the process ends, however it ends, so a killed writer never leaves the store locked.
Readers take no lock: a segment appears by one directory rename and a table by one file replace, so
they see the state before a commit or after it, never half of one.

Within one thread the lock is re-entrant (a detect inside a watch tick does not wait for itself).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sekimori.store.errors import StoreBusyError

LOCK_FILE = ".writer.lock"
HOLDER_FILE = ".writer.json"  # who holds the lock: for the message of the one who waits
POLL_SECONDS = 0.2

# (lock path, thread) -> nesting depth. Another thread opens its own descriptor, and flock makes it wait.
_held: dict[tuple[Path, int], int] = {}
_guard = threading.Lock()


def _try_lock(fh: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fh: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def holder(root: Path) -> dict[str, Any] | None:
    """Who holds the store's writer lock, as it wrote itself down; None while that is not known (the
    holder has not written it yet, or what is there is a dead process's)."""
    try:
        data = json.loads((root / HOLDER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and _alive(data.get("pid")) else None


def describe(info: dict[str, Any] | None) -> str:
    if not info:
        return "another process"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info.get("since") or 0)))
    return f"{info.get('command', 'a writer')} (pid {info.get('pid', '?')}, since {since})"


@contextmanager
def writer_lock(
    root: Path,
    command: str,
    wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the store's writer lock. ``wait``: seconds to wait for another writer (None: as long as it
    takes; 0: refuse at once); ``on_wait`` is told once, with who holds it, when this has to wait."""
    path = (root / LOCK_FILE).resolve()
    key = (path, threading.get_ident())
    with _guard:
        nested = key in _held
        if nested:
            _held[key] += 1
    if nested:
        try:
            yield
        finally:
            with _guard:
                _held[key] -= 1
        return
    fh = open(path, "a+b")  # noqa: SIM115 - held open for as long as the lock is held
    try:
        started = time.monotonic()
        deadline = None if wait is None else started + wait
        told = False
        while not _try_lock(fh):
            who = holder(root)
            if deadline is not None and time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"{root}: the store is being written by {describe(who)}; one writer at a "
                    "time (try again when it is done, or wait for it with --wait SECONDS)"
                )
            # the holder writes down who it is just after it takes the lock: give it a moment to
            if not told and on_wait is not None and (who is not None or time.monotonic() - started > 2):
                on_wait(f"waiting for {describe(who)} to finish writing to {root}")
                told = True
            time.sleep(POLL_SECONDS)
        info = {"pid": os.getpid(), "command": command, "since": time.time()}
        tmp = root / f"{HOLDER_FILE}.{os.getpid()}"
        tmp.write_text(json.dumps(info))
        os.replace(tmp, root / HOLDER_FILE)
        with _guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _guard:
                _held.pop(key, None)
            (root / HOLDER_FILE).unlink(missing_ok=True)  # still ours: the lock is held until the next line
            _unlock(fh)
    finally:
        fh.close()
