"""Every EVTX file of ../shared/data/evtx-attack-samples: the store holds exactly what the raw parser
gives, per file; corrupted copies of real files end in quarantine rows, not crashes."""

import random
import shutil
from pathlib import Path

import evtx
import pytest

from sekimori.store import Store
from tests.conftest import corpus
from tests.ingest.readers.test_evtx import raw_count

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def samples() -> Path:
    return corpus("evtx-attack-samples")


@pytest.fixture(scope="module")
def ingested(samples, tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("evtx-corpus") / "store")
    report = store.ingest([str(samples)])
    return store, report


def test_every_evtx_file_count_equals_the_raw_parser(samples, ingested):
    store, report = ingested
    per_file = {f.path: f for f in report.files}
    evtx_files = sorted(str(p) for p in samples.rglob("*.evtx"))
    assert len(evtx_files) >= 270
    by_digest = {f.digest: f for f in report.files if f.status != "skipped"}
    in_store = dict(store.connect().execute("SELECT source_file, count(*) FROM events GROUP BY 1").fetchall())
    for path in evtx_files:
        expected, errors = raw_count(path)
        result = per_file[path]
        if result.status == "skipped":  # same bytes as another file: counted once, there
            result = by_digest[result.digest]
        assert result.events == expected, path
        assert result.quarantined == errors, path
        assert in_store.get(result.path, 0) == expected, path


def raw_record_ids(path) -> set[int]:
    """The record numbers of the records the raw evtx parser gives."""
    found: set[int] = set()
    try:
        records = evtx.PyEvtxParser(str(path)).records_json()
    except Exception:  # not even a header (the crate raises OSError or RuntimeError)
        return found
    while True:
        try:
            found.add(next(records)["event_record_id"])
        except StopIteration:
            return found
        except Exception:
            continue


def test_files_that_are_not_logs_are_quarantined_with_a_reason(ingested):
    store, _ = ingested
    rows = store.sql("SELECT source_file, reason FROM quarantine").to_pylist()
    readme = [r for r in rows if r["source_file"].endswith("README.md")]
    assert readme and readme[0]["reason"] == "no reader recognises this content"
    assert all(r["reason"] for r in rows)


def test_corrupted_copies_of_real_files_are_quarantined_and_the_run_finishes(samples, tmp_path):
    rng = random.Random(2026)
    originals = sorted(samples.rglob("*.evtx"))
    chosen = rng.sample(originals, 25)
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i, src in enumerate(chosen):
        data = bytearray(src.read_bytes())
        shutil.copy(src, folder / f"{i:02d}-good.evtx")
        (folder / f"{i:02d}-truncated.evtx").write_bytes(bytes(data[: rng.randrange(200, len(data))]))
        for _ in range(rng.randrange(20, 400)):
            pos = rng.randrange(len(data))
            data[pos] ^= 1 << rng.randrange(8)
        (folder / f"{i:02d}-flipped.evtx").write_bytes(bytes(data))
    store = Store(tmp_path / "store")
    report = store.ingest([str(folder)])
    assert len(report.files) == 75
    unfit = store.sql(
        "SELECT source_file, record, field, reason FROM quarantine WHERE field IS NOT NULL "
        "AND reason NOT LIKE 'Failed to parse record%'"
    ).to_pylist()
    reasons = store.sql("SELECT source_file, reason FROM quarantine").to_pylist()
    cut_copies = 0
    for result in report.files:
        if result.status == "skipped":
            continue
        expected, errors = raw_count(result.path)
        # a record the raw parser gives whose value does not fit its column (a flipped LogonType beyond
        # int16, ...) is quarantined naming its record and field; the rest of the file is stored
        moved = [r for r in unfit if r["source_file"] == result.path]
        given = raw_record_ids(result.path)
        assert all(
            r["record"] in given and r["field"] in r["reason"].lower().replace(" ", "_") for r in moved
        )
        assert result.events + len(moved) == expected, result.path
        # The crate reads a copy cut inside its first chunk (or with a flipped header) as an empty log,
        # without an error; none of these copies is one (every original holds records): one row says so.
        silent = expected == 0 and errors == 0
        # A copy cut inside a later chunk gives the whole chunks' records, again without an error: one
        # row names the records lost, as many as the crate reads from the original's chunk that was cut.
        lost = 0
        name = Path(result.path).name
        if expected and name.endswith("-truncated.evtx"):
            size, original = Path(result.path).stat().st_size, chosen[int(name[:2])].read_bytes()
            whole = (size - 4096) // 65536
            if (size - 4096) % 65536:
                fuller = tmp_path / "fuller.evtx"
                fuller.write_bytes(original[: 4096 + (whole + 1) * 65536])
                lost = raw_count(fuller)[0] - expected
        assert result.quarantined == errors + len(moved) + silent + (lost > 0), result.path
        if silent:
            (reason,) = [r["reason"] for r in reasons if r["source_file"] == result.path]
            assert reason.startswith(("no record could be read", "not a readable EVTX file")), reason
        if lost:
            (reason,) = [r["reason"] for r in reasons if r["source_file"] == result.path]
            assert reason.startswith(f"{lost} records (record ids "), reason
            cut_copies += 1
    assert unfit, "the seeded corruption includes a value that does not fit (record 10 of 02-flipped)"
    assert cut_copies, "the seeded cuts include a copy cut inside a later chunk holding records"
    assert sum(f.quarantined for f in report.files) > 0
    q = store.sql("SELECT count(*) AS n, count(reason) AS r FROM quarantine").to_pylist()[0]
    assert q["n"] == q["r"] == sum(f.quarantined for f in report.files)
