"""A real PostgreSQL server with pgAudit for the report tests, on 127.0.0.1 (a free port, a socket in its
own temporary directory), writing its log as csvlog, started once per session and stopped at the end.

It reuses the helpers of tests/respond/conftest.py; that fixture cannot load pgAudit (its options are
fixed), hence this one. Without PostgreSQL or pgAudit the cases skip, or fail when
SEKIMORI_REQUIRE_SERVERS=1 (CI).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.respond.conftest import _as_user, _ensure_user, _free_port, _pg_bin


@dataclass(frozen=True)
class PgauditServer:
    url: str  # libpq URL without a database: postgresql://postgres@127.0.0.1:PORT
    log_dir: Path  # where the csvlog files are written


def _missing(message: str) -> None:
    if os.environ.get("SEKIMORI_REQUIRE_SERVERS") == "1":
        pytest.fail(message + " (SEKIMORI_REQUIRE_SERVERS=1)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pgaudit_server() -> Iterator[PgauditServer]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        _missing("PostgreSQL not installed (no initdb/pg_ctl): apt-get install postgresql")
    assert initdb is not None and pg_ctl is not None
    libdir = Path(pg_ctl).resolve().parents[1] / "lib"
    if not (libdir / "pgaudit.so").exists():
        _missing(f"pgAudit not installed (no {libdir / 'pgaudit.so'}): apt-get install postgresql-15-pgaudit")
    user = _ensure_user() if os.geteuid() == 0 else None  # initdb refuses to run as root
    base = Path(tempfile.mkdtemp(prefix="sekimori-pgaudit-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    data, log, log_dir = base / "data", base / "server.log", base / "pglog"
    subprocess.run(
        _as_user(
            [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], user
        ),
        check=True,
        capture_output=True,
    )
    settings = (
        "-c fsync=off -c shared_preload_libraries=pgaudit -c pgaudit.log=read,write "
        "-c pgaudit.log_relation=on -c logging_collector=on -c log_destination=csvlog "
        f"-c log_directory={log_dir} -c log_filename=postgresql.log -c log_connections=on "
        "-c log_timezone=UTC -c log_min_messages=warning"
    )
    for _attempt in range(5):  # the free port may be taken between finding and binding it
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} {settings}"
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
        pytest.fail(f"PostgreSQL with pgAudit did not start: {started.stderr}\n{server_log}")
    try:
        yield PgauditServer(f"postgresql://postgres@127.0.0.1:{port}", log_dir)
    finally:
        subprocess.run(
            _as_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], user), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)
