"""A corrupt record costs that record only: real EVTX files with patched records, ingested beside good
ones; a file name that is not UTF-8."""

import shutil
import struct

import evtx

from sekimori.store import Store
from tests.conftest import DATA

FIXTURE = DATA / "evtx" / "LM_WMIC_4648_rpcss.evtx"
# The fixture's first record, as the evtx crate reads it: EventRecordID 433307 (its record header says
# 1: an exported log), TimeCreated SystemTime 2019-03-18T11:27:00.4384494Z as a FILETIME.
FIRST_ID = 433307
FIRST_FILETIME = 131973820204384494
OTHER_IDS = [433308, 433333, 433340, 433350]  # the fixture's other four records
HUGE = 2**64 - 2  # a uint64 EventRecordID beyond int64


def patch_first_record(data: bytes, record_id: int, system_time: int | None = None) -> bytes:
    """The EVTX with its first record's id set to ``record_id`` in the record header and in the binxml
    ``EventRecordID`` value and, given ``system_time``, the binxml ``TimeCreated SystemTime`` replaced.

    The chunk's CRC of its records is left stale: the crate does not check it (it reads the patched
    values, see the assertions), as a log damaged on disk would be read.
    """
    out = bytearray(data)
    start = out.index(b"**\x00\x00", 4096 + 512)  # after the file header and the first chunk header
    (size,) = struct.unpack_from("<I", out, start + 4)
    record = bytes(out[start : start + size])
    struct.pack_into("<Q", out, start + 8, record_id)
    struct.pack_into("<Q", out, start + record.index(struct.pack("<Q", FIRST_ID)), record_id)
    if system_time is not None:
        at = record.index(struct.pack("<Q", FIRST_FILETIME))
        struct.pack_into("<Q", out, start + at, system_time)
    return bytes(out)


def raw_records(path) -> int:
    """Records the evtx crate parses in ``path`` (an independent count)."""
    n = 0
    records = evtx.PyEvtxParser(str(path)).records_json()
    while True:
        try:
            next(records)
        except StopIteration:
            return n
        except RuntimeError:
            continue
        n += 1


def test_a_corrupt_evtx_record_costs_that_record_not_the_run(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    good = sorted((DATA / "evtx").glob("*.evtx"))
    for path in good:
        shutil.copy(path, logs / path.name)
    data = FIXTURE.read_bytes()
    # the finding: id >= 2^63 and a time the parser cannot read (FILETIME beyond any date)
    (logs / "zz_huge_id_bad_time.evtx").write_bytes(patch_first_record(data, HUGE, 2**64 - 1))
    # id >= 2^63 with a readable time: the record reaches the normalizer
    (logs / "zz_huge_id.evtx").write_bytes(patch_first_record(data, HUGE))
    first = next(evtx.PyEvtxParser(str(logs / "zz_huge_id.evtx")).records_json())
    assert first["event_record_id"] == HUGE and f'"EventRecordID":{HUGE}' in first["data"]

    store = Store(tmp_path / "store")
    report = store.ingest([str(logs)])

    by_name = {r.path.rsplit("/", 1)[-1]: r for r in report.files}
    for path in good:
        result = by_name[path.name]
        assert (result.status, result.events, result.quarantined) == ("ingested", raw_records(path), 0)
    for name in ("zz_huge_id_bad_time.evtx", "zz_huge_id.evtx"):
        assert (by_name[name].status, by_name[name].events, by_name[name].quarantined) == ("ingested", 4, 1)
        ids = store.sql(
            f"SELECT record_id FROM events WHERE source_file LIKE '%/{name}' ORDER BY record_id"
        ).column("record_id")
        assert ids.to_pylist() == OTHER_IDS
    rows = store.sql("SELECT * FROM quarantine ORDER BY field").to_pylist()
    assert [(r["source_file"].rsplit("/", 1)[-1], r["record"], r["field"]) for r in rows] == [
        ("zz_huge_id.evtx", None, "record_id"),  # the record number is beyond the int64 column...
        ("zz_huge_id_bad_time.evtx", None, "time"),
    ]
    assert all(str(HUGE) in r["reason"] for r in rows)  # ...so the reason names it
    assert "EventRecordID 18446744073709551614" in rows[0]["reason"]
    assert "out-of-range date" in rows[1]["reason"]
    total = sum(raw_records(p) for p in good) + 8
    assert store.stats()["events"] == total == report.events

    again = store.ingest([str(logs)])  # a rerun neither fails nor doubles anything
    assert [r.status for r in again.files] == ["skipped"] * len(report.files)
    assert store.stats()["events"] == total


def test_a_file_name_that_is_not_utf8_is_read_and_the_store_stays_queryable(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    name = b"caf\xe9.evtx"  # Latin-1 é: not UTF-8, so Python names it with a lone surrogate
    (logs / name.decode("utf-8", "surrogateescape")).write_bytes(FIXTURE.read_bytes())
    store = Store(tmp_path / "store")
    (result,) = store.ingest([str(logs)]).files
    shown = f"{logs}/caf\\udce9.evtx"
    assert (result.path, result.status, result.events) == (shown, "ingested", 5)
    assert store.sql("SELECT DISTINCT source_file FROM events").column(0).to_pylist() == [shown]
    assert store.sql("SELECT path FROM files").column(0).to_pylist() == [shown]
    assert store.ingest([str(logs)]).files[0].status == "skipped"
