"""A real PostgreSQL server with pgAudit for the report tests, on 127.0.0.1 (a free port, a socket in its
own temporary directory), writing its log as csvlog, started once per session and stopped at the end.

A cluster of its own (tests/servers.py), as the respond tests' server runs without pgAudit. Without
PostgreSQL or pgAudit the cases skip, or fail when SEKIMORI_REQUIRE_SERVERS=1 (CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import pg_bin, postgres_cluster, server_missing


@dataclass(frozen=True)
class PgauditServer:
    url: str  # libpq URL without a database: postgresql://postgres@127.0.0.1:PORT
    log_dir: Path  # where the csvlog files are written


@pytest.fixture(scope="session")
def pgaudit_server() -> Iterator[PgauditServer]:
    pg_ctl = pg_bin("pg_ctl")
    libdir = Path(pg_ctl).resolve().parents[1] / "lib" if pg_ctl else None
    if libdir is not None and not (libdir / "pgaudit.so").exists():
        server_missing(
            f"pgAudit not installed (no {libdir / 'pgaudit.so'}): apt-get install postgresql-15-pgaudit"
        )
    settings = (
        "-c shared_preload_libraries=pgaudit -c pgaudit.log=read,write "
        "-c pgaudit.log_relation=on -c logging_collector=on -c log_destination=csvlog "
        "-c log_directory={base}/pglog -c log_filename=postgresql.log -c log_connections=on "
        "-c log_timezone=UTC -c log_min_messages=warning"
    )
    with postgres_cluster("PostgreSQL with pgAudit", settings) as (port, base):
        yield PgauditServer(f"postgresql://postgres@127.0.0.1:{port}", base / "pglog")
