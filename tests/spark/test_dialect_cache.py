"""The cache of transpiled SQL keeps the most recently used entries only: queries that hold a run's own
values (the behaviour analytics' baseline end) must not pile up in it run after run. No Spark session:
sqlglot alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sekimori.spark import dialect


def test_the_cache_keeps_the_most_recently_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEKIMORI_CACHE", str(tmp_path))
    monkeypatch.setattr(dialect, "_TRANSPILED", None)
    monkeypatch.setattr(dialect, "_NEW", 0)
    monkeypatch.setattr(dialect, "KEPT", 3)
    queries = [
        f"SELECT {n} AS x FROM events WHERE time < CAST('2026-01-0{n} 00:00:00' AS TIMESTAMPTZ)"
        for n in range(1, 6)
    ]
    for q in queries[:3]:
        dialect.to_spark(q)
    assert "TIMESTAMP" in dialect.to_spark(queries[0])  # used again: now the most recent
    for q in queries[3:]:
        dialect.to_spark(q)
    dialect.save_transpiled()
    files = list((tmp_path / "spark").glob("transpiled-*.json"))
    assert len(files) == 1
    kept = list(json.loads(files[0].read_text()))
    # by hand: 1, 2, 3 used; 1 again (order 2, 3, 1); 4 drops 2; 5 drops 3
    assert kept == [queries[0], queries[3], queries[4]]
