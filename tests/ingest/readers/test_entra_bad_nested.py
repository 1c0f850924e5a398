"""A bad value inside a nested Entra column (``initiatedBy.user``, an item of ``targetResources``…) on
Panther's real records: the run goes on, every other record is stored, and the record is quarantined
naming the place when the value is a broken JSON object, or stored when it is plain text.

Each case changes one value of one record; which record and what the other records are is worked out
here with plain ``json``. These tests fail on the code before the fix (the reader raised
``JSONDecodeError`` and the file's remaining records were lost).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sekimori.ingest.base import Quarantine
from sekimori.ingest.readers.entra import EntraReader
from sekimori.ingest.source import Source
from sekimori.store import Store
from tests.conftest import corpus

BROKEN = '{"userPrincipalName": "eve@contoso.com", '  # a JSON object cut short
IPV6 = "[2001:db8::1]:443"  # starts like a JSON array, is an address


def _records() -> list[dict[str, Any]]:
    path = corpus("identity-cloud", "entra-signin", "panther_azure_audit.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _put(key: str, index: int | None = None) -> Callable[[dict[str, Any], Any], None]:
    def put(props: dict[str, Any], value: Any) -> None:
        if index is None:
            props["initiatedBy"][key] = value
        else:
            props[key][index] = value

    return put


# place → (which records have it, how to put a value there)
PLACES: dict[str, tuple[Callable[[dict[str, Any]], bool], Callable[[dict[str, Any], Any], None]]] = {
    "initiatedBy.user": (lambda p: "user" in p.get("initiatedBy", {}), _put("user")),
    "initiatedBy.app": (lambda p: "initiatedBy" in p, _put("app")),
    "targetResources[1]": (lambda p: len(p.get("targetResources", [])) > 1, _put("targetResources", 1)),
    # the steps are read when mfaDetail names no method
    "authenticationDetails[0]": (
        lambda p: p.get("authenticationDetails") and "mfaDetail" not in p,
        _put("authenticationDetails", 0),
    ),
    "additionalDetails[0]": (lambda p: p.get("additionalDetails"), _put("additionalDetails", 0)),
}


def _file_with(tmp_path: Path, place: str, value: str) -> tuple[Path, int, int]:
    """The Panther file with ``value`` at ``place`` in a record amid the others: (path, its line, lines)."""
    records = _records()
    has_place, put = PLACES[place]
    lines = [n for n, r in enumerate(records, start=1) if has_place(r["properties"])]
    line = lines[len(lines) // 2]
    put(records[line - 1]["properties"], value)
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path, line, len(records)


def _read(path: Path) -> tuple[list[int], Quarantine]:
    source = Source(str(path), path)
    quarantine = Quarantine(source)
    ids = [i for batch in EntraReader().read(source, quarantine) for i in batch["record_id"].to_pylist()]
    return ids, quarantine


@pytest.mark.parametrize("place", list(PLACES))
def test_broken_json_object_quarantines_that_record_naming_the_place(tmp_path: Path, place: str) -> None:
    path, line, count = _file_with(tmp_path, place, BROKEN)
    ids, quarantine = _read(path)
    assert ids == [n for n in range(1, count + 1) if n != line]
    (bad,) = quarantine.records
    assert (bad.record, bad.field) == (line, place)
    assert bad.reason.startswith(f"{place} is not valid JSON")
    assert bad.excerpt is not None and path.read_text().splitlines()[line - 1].startswith(bad.excerpt[:100])


@pytest.mark.parametrize("place", list(PLACES))
def test_text_that_only_starts_like_json_is_kept(tmp_path: Path, place: str) -> None:
    path, _, count = _file_with(tmp_path, place, IPV6)
    ids, quarantine = _read(path)
    assert ids == list(range(1, count + 1))
    assert len(quarantine) == 0


def test_initiator_as_address_gives_no_principal_and_keeps_it_in_raw(tmp_path: Path) -> None:
    path, line, _ = _file_with(tmp_path, "initiatedBy.user", IPV6)
    source = Source(str(path), path)
    rows = [r for b in EntraReader().read(source, Quarantine(source)) for r in b.to_pylist()]
    (row,) = [r for r in rows if r["record_id"] == line]
    assert IPV6 in row["raw"]
    # Panther's record has the user only: no app, no identity, so no principal at all.
    assert row["principal"] is None and row["event_code"] is not None


def test_a_run_with_one_broken_record_stores_all_the_others(tmp_path: Path) -> None:
    path, line, count = _file_with(tmp_path, "targetResources[1]", BROKEN)
    store = Store(tmp_path / "store")
    result = store.ingest([str(path)], workers=1)
    assert (result.events, result.quarantined) == (count - 1, 1)
    (state,) = store.files()
    assert state["status"] == "ingested"
    rows = store.connect().sql("SELECT record, field, reason FROM quarantine").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(line, "targetResources[1]")]
