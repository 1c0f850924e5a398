"""Databases for the respond tests: SQLite in tmp_path and a real PostgreSQL server, started once per
session on 127.0.0.1 (a free port, a socket in its own temporary directory) and stopped at the end.

Without PostgreSQL installed the PostgreSQL cases skip, or fail when SEKIMORI_REQUIRE_SERVERS=1 (CI).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import postgres_cluster


@dataclass(frozen=True)
class Database:
    backend: str  # sqlite | postgresql
    url: str
    anchor: Path | None  # the audit anchor to give; None: the default (beside an SQLite database)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The base URL (no database) of a PostgreSQL server for this session."""
    with postgres_cluster("PostgreSQL", "-c max_connections=100") as (port, _):
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"


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
