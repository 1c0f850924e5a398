"""Shared test helpers: where the fixtures and the real corpora are."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import settings

from sekimori.ingest.base import Quarantine, Reader
from sekimori.ingest.source import expand

# The suite is deterministic: the property tests draw the same examples on every run, so CI passes or
# fails on the code, not the seed. Fuzz for new cases with `HYPOTHESIS_PROFILE=explore pytest`, and pin
# what it finds with @example. No deadline: an example's wall-clock time on a loaded CI machine is no
# property of the code, and a slow run of one example fails as DeadlineExceeded or Flaky.
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=3000, derandomize=False, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
REPO = TESTS.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def corpus(*parts: str) -> Path:
    """A path in ../shared/data; skips (or fails, when SEKIMORI_REQUIRE_CORPUS=1, as in CI) if absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"corpus not found: {path} (expected ../shared/data beside the repository)"
        if os.environ.get("SEKIMORI_REQUIRE_CORPUS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def read_all(reader: type[Reader], path: Path | str) -> tuple[pa.Table, list[Quarantine]]:
    """Everything one reader gives for a file: the events and the quarantines of its sources."""
    batches: list[pa.RecordBatch] = []
    quarantines = []
    for source in expand(str(path)):
        q = Quarantine(source)
        batches.extend(reader().read(source, q))
        quarantines.append(q)
    from sekimori.ingest.schema import EVENT_SCHEMA

    return pa.Table.from_batches(batches, schema=EVENT_SCHEMA), quarantines
