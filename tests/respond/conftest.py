"""Databases for the respond tests: SQLite in tmp_path and a real PostgreSQL server, started once per
session on 127.0.0.1 (a free port, a socket in its own temporary directory) and stopped at the end.

Without PostgreSQL installed the PostgreSQL cases skip, or fail when SEKIMORI_REQUIRE_SERVERS=1 (CI).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "postgres"  # the system user the server runs as when the tests run as root


@dataclass(frozen=True)
class Database:
    backend: str  # sqlite | postgresql
    url: str
    anchor: Path | None  # the audit anchor to give; None: the default (beside an SQLite database)


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]), reverse=True
    )
    return candidates[0] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The base URL (no database) of a PostgreSQL server for this session."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        message = (
            "PostgreSQL not installed (no initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin): "
            "apt-get install postgresql"
        )
        if os.environ.get("SEKIMORI_REQUIRE_SERVERS") == "1":
            pytest.fail(message + " (SEKIMORI_REQUIRE_SERVERS=1)")
        pytest.skip(message)
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
    port = 0
    for _attempt in range(5):  # the free port may be taken between finding and binding it
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off -c max_connections=100"
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
        pytest.fail(f"PostgreSQL did not start: {started.stderr}\n{server_log}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], user), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


def _admin(server: str, sql: str) -> None:
    import psycopg

    url = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    for attempt in range(50):
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql)
            return
        except psycopg.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'cases.db'}", None)
        return
    server = request.getfixturevalue("postgres_server")
    name = "t_" + uuid.uuid4().hex[:16]
    _admin(server, f"CREATE DATABASE {name}")
    try:
        yield Database("postgresql", f"{server}/{name}", tmp_path / "audit.anchor")
    finally:
        _admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
