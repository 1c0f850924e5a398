"""Fixtures for the trust-model tests: the shipped example, small models written to files, DuckDB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from sekimori.model import EXAMPLE_PATH, GroupModel, load_model, register_model

# The smallest valid model; tests append sections to it.
MINIMAL = """\
version: 1
group: Test Group
organisations:
  - id: parent
    name: Parent Corp
    kind: parent
    country: JP
  - id: affiliate
    name: Affiliate
    kind: affiliate
    country: KR
"""


def line_of(text: str, marker: str) -> int:
    """Line number (from 1) of the only line of ``text`` containing ``marker``."""
    lines = [number for number, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(lines) == 1, f"marker {marker!r} is on lines {lines}"
    return lines[0]


@pytest.fixture(scope="session")
def example() -> GroupModel:
    return load_model(EXAMPLE_PATH)


@pytest.fixture(scope="session")
def example_con(example: GroupModel) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the example registered as schema ``model`` (read-only use)."""
    con = duckdb.connect()
    register_model(con, example)
    yield con
    con.close()


@pytest.fixture
def write_model(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text to ``<tmp>/model.yaml`` and return the path."""

    def write(text: str) -> Path:
        path = tmp_path / "model.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
