"""The EVTX corpus stores exactly what the reference normalization stored: every column of every event
(sorted by uid) and the same quarantine rows.

The reference is ``tests/ingest/windows_reference.py`` (the normalizer kept from before the fast
paths), building its batches the way ``make_batch`` did then: OCSF names by the vectorised lookup
whatever the batch's size, times checked against the years 1-9999 value by value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sekimori.ingest.readers import evtx as evtx_reader
from sekimori.store import Store
from tests.conftest import corpus
from tests.ingest.windows_reference import batches_as_before, reference_normalize_docs


class _Docs:
    """Stands for the reader's ``NormalizedRows``: keeps the records added, for the reference to
    normalize as one list, as the reader did before it normalized each record as it decoded it."""

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []

    def add(self, doc: dict[str, Any], hint: int | None, fallback: int | None) -> None:
        self.docs.append(doc)


def _reference_batch(rows: _Docs, raws: list[str], ids: list[int], quarantine: Any) -> Any:
    batch = reference_normalize_docs("evtx", rows.docs, raws, quarantine, record_numbers=ids)
    if batch is not None:
        yield batch


def as_before(patch: pytest.MonkeyPatch) -> None:
    """Batches built as before: the reference normalizer, ``make_batch`` as it was then."""
    patch.setattr(evtx_reader, "normalized_rows", lambda dialect: _Docs())
    patch.setattr(evtx_reader, "_batch", _reference_batch)
    batches_as_before(patch)


def same_stores(new: Store, old: Store) -> int:
    new_events = new.events().sort_by("uid")
    old_events = old.events().sort_by("uid")
    assert new_events.schema == old_events.schema
    assert new_events.num_rows == old_events.num_rows
    for name in new_events.column_names:
        assert new_events.column(name).equals(old_events.column(name)), name
    quarantine = "SELECT * FROM quarantine ORDER BY ALL"
    assert new.sql(quarantine).to_pylist() == old.sql(quarantine).to_pylist()
    return int(new_events.num_rows)


@pytest.mark.corpus
def test_the_evtx_attack_samples_store_the_same_events_and_quarantine(tmp_path: Path, monkeypatch) -> None:
    files = sorted(str(p) for p in corpus("evtx-attack-samples").rglob("*.evtx"))
    new = Store(tmp_path / "new")
    new.ingest(files, workers=1)
    with monkeypatch.context() as patch:
        as_before(patch)
        old = Store(tmp_path / "old")
        old.ingest(files, workers=1)
    assert same_stores(new, old) > 8000  # the whole corpus
