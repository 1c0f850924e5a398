"""The real servers the tests start on loopback: what they share (a free port, the rule for a missing
server, a throw-away PostgreSQL cluster)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_USER = "postgres"  # the system user the server runs as when the tests run as root


def server_missing(message: str) -> None:
    """Skip the test, or fail it where servers are required (CI sets SEKIMORI_REQUIRE_SERVERS=1 and
    installs them: there a missing server is a failure)."""
    if os.environ.get("SEKIMORI_REQUIRE_SERVERS") == "1":
        pytest.fail(message + " (SEKIMORI_REQUIRE_SERVERS=1)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_bin(name: str) -> str | None:
    """A PostgreSQL program on PATH, else from the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]), reverse=True
    )
    return candidates[0] if candidates else None


def _as_user(argv: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


def _ensure_user() -> str:
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER], check=True
        )
    return PG_USER


@contextmanager
def postgres_cluster(what: str, settings: str = "") -> Iterator[tuple[int, Path]]:
    """A new PostgreSQL cluster on 127.0.0.1 (a free port; its socket in its own temporary directory),
    started with the extra server ``settings`` (``{base}`` in them is that directory) and removed at the
    end: (port, that directory)."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        server_missing(
            "PostgreSQL not installed (no initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin): "
            "apt-get install postgresql"
        )
    assert initdb is not None and pg_ctl is not None
    user = _ensure_user() if os.geteuid() == 0 else None  # initdb refuses to run as root
    # Not under pytest's tmp dirs: those are private to root, and the server may run as another user.
    base = Path(tempfile.mkdtemp(prefix="sekimori-pg-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    data, log = base / "data", base / "server.log"
    subprocess.run(
        _as_user(
            [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], user
        ),
        check=True,
        capture_output=True,
    )
    extra = settings.format(base=base)
    port = 0
    for _attempt in range(5):  # the free port may be taken between finding and binding it
        port = free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off {extra}"
        started = subprocess.run(
            _as_user(
                [pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"], user
            ),
            capture_output=True,
            text=True,
        )
        if started.returncode == 0:
            break
    else:
        server_log = log.read_text() if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"{what} did not start: {started.stderr}\n{server_log}")
    try:
        yield port, base
    finally:
        subprocess.run(
            _as_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], user), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)
