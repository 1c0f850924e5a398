"""A record the Windows mapping itself fails on (a bug meeting an odd value: any exception but
``BadValue`` while its row is filled) costs that record only: it goes to the quarantine naming the
exception (and the event and column when known), and every other record of its batch and of its file is
stored; the file is ingested, not partial. Both readers (EVTX and Windows JSON) normalize through the
same rows (sekimori.ingest.windows.normalize), so each is tested here on real records."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from sekimori.ingest.readers.evtx import EvtxReader
from sekimori.ingest.readers.windows_json import WindowsJsonReader
from sekimori.ingest.windows import WINDOWS_EVENTS, dialects, normalize
from sekimori.store import Store
from tests.conftest import DATA, read_all

EVTX = DATA / "evtx" / "CA_4624_4625_LogonType2_LogonProc_chrome.evtx"
OTRF = DATA / "windows_json" / "otrf_empire_psexec_sample.zip"


def _fail_src_host_of(monkeypatch: pytest.MonkeyPatch, logon_id: str) -> None:
    """Security 4624's ``src_host`` fill function raises for the record of ``logon_id`` only."""
    event = next(ev for ev in WINDOWS_EVENTS if ev.family == "security" and ev.event_id == 4624)
    original = event.columns["src_host"]

    @functools.wraps(original)  # type: ignore[arg-type]
    def src_host(system: dict[str, Any], data: dict[str, Any], *computer: Any) -> Any:
        if data.get("TargetLogonId") == logon_id:
            raise TypeError(f"odd value in {logon_id}")
        return original(system, data, *computer)  # type: ignore[operator]

    assert src_host.needs_computer  # type: ignore[attr-defined]  # so called with the Computer too

    monkeypatch.setitem(event.columns, "src_host", src_host)
    monkeypatch.setattr(normalize, "_NORMALIZERS", {})  # compiled anew


def _quarantined(store: Store) -> list[tuple[Any, ...]]:
    rows = store.sql("SELECT record, field, reason FROM quarantine ORDER BY record").to_pylist()
    return [(r["record"], r["field"], r["reason"]) for r in rows]


def _record_ids(store: Store) -> list[int]:
    return store.sql("SELECT record_id FROM events ORDER BY record_id")["record_id"].to_pylist()


def test_evtx_a_real_record_the_mapping_fails_on_is_quarantined_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file's 4 records (header number → EventRecordID): 1 → 137222 (4625), 2 → 137223 (4624,
    # SYSTEM, TargetLogonId 0x3e7), 3 → 137224 and 4 → 137225 (4624). Record 2 fails.
    _fail_src_host_of(monkeypatch, "0x3e7")
    table, (quarantine,) = read_all(EvtxReader, EVTX)
    assert table["record_id"].to_pylist() == [137222, 137224, 137225]
    (bad,) = quarantine.records
    assert bad.record == 2 and bad.field == "src_host"
    assert bad.reason == "mapping Security 4624 failed: TypeError: odd value in 0x3e7"

    store = Store(tmp_path / "store")
    (result,) = store.ingest([str(EVTX)], workers=1).files
    assert (result.status, result.events, result.quarantined) == ("ingested", 3, 1)
    assert _record_ids(store) == [137222, 137224, 137225]
    assert _quarantined(store) == [(2, "src_host", bad.reason)]


def test_windows_json_a_real_record_the_mapping_fails_on_is_quarantined_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The OTRF sample: 90 lines, all stored. Line 53 is Security 4624 (RecordNumber 1325221,
    # TargetLogonId 0x4b0b265), between line 52 (4672, 1325220) and line 54 (5140, 1325223); line 51
    # is the 4624 before it (1325204), line 55 the 5145 after it (1325224).
    _fail_src_host_of(monkeypatch, "0x4b0b265")
    table, (quarantine,) = read_all(WindowsJsonReader, OTRF)
    assert table.num_rows == 89
    ids = set(table["record_id"].to_pylist())
    assert 1325221 not in ids and {1325204, 1325220, 1325223, 1325224} <= ids
    (bad,) = quarantine.records
    assert bad.record == 53 and bad.field == "src_host"
    assert bad.reason == "mapping Security 4624 failed: TypeError: odd value in 0x4b0b265"
    logons = table.filter(pc.equal(table["event_code"], "4624"))
    assert logons.num_rows == 7  # of 8 (7 in channel Security, 1 in security)

    store = Store(tmp_path / "store")
    (result,) = store.ingest([str(OTRF)], workers=1).files
    assert (result.status, result.events, result.quarantined) == ("ingested", 89, 1)
    stored = _record_ids(store)
    assert len(stored) == 89 and 1325221 not in stored
    assert {1325204, 1325220, 1325223, 1325224} <= set(stored)
    assert _quarantined(store) == [(53, "src_host", bad.reason)]


_LOGON = {"EventID": 4624, "Channel": "Security", "TimeCreated": "2020-09-21T03:18:50Z"}


def test_a_failing_header_is_quarantined_without_a_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The header raises before the channel and event id are known: the reason names the exception only.
    flat = dialects.DIALECTS["flat"]
    header = flat.fast_header or flat.header

    def failing(system: dict[str, Any]) -> Any:
        if system.get("TargetUserName") == "b":
            raise KeyError("odd")
        return header(system)

    monkeypatch.setitem(dialects.DIALECTS, "flat", dataclasses.replace(flat, fast_header=failing))
    monkeypatch.setattr(normalize, "_NORMALIZERS", {})
    path = tmp_path / "logons.json"
    lines = [
        {**_LOGON, "TargetUserName": user, "RecordNumber": n} for n, user in ((7, "a"), (8, "b"), (9, "c"))
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    table, (quarantine,) = read_all(WindowsJsonReader, path)
    assert table["record_id"].to_pylist() == [7, 9]
    assert [(r.record, r.field, r.reason) for r in quarantine.records] == [
        (2, None, "mapping failed: KeyError: 'odd'")
    ]
