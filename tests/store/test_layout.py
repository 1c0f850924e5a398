"""The events' layout: one Parquet file per (log source, UTC day), the same events as the readers give,
and statistics that let a time- or source-filtered query skip files and row groups.

The oracles are independent of the partitioning code: the reference events are what ``read_file`` (the
readers) gives, concatenated with pyarrow (what the store wrote before, in arrival order); days are
computed with ``datetime`` from each file's rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sekimori.ingest import EVENT_SCHEMA
from sekimori.store import Store
from sekimori.store import partition as partition_module
from sekimori.store import reading as reading_module
from sekimori.store.partition import SMALL_ROWS, PartitionedWriter, file_partition
from sekimori.store.reading import read_file
from sekimori.store.results import FileOutcome, FileResult
from sekimori.store.segments import SegmentWriter
from sekimori.store.store import part_wanted
from tests.conftest import DATA, corpus

UTC = dt.UTC
MULTI_DAY = [DATA / "syslog" / "loghub-linux.log", DATA / "lanl" / "redteam_head.txt.gz"]


def _reference(store: Store, tmp_path: Path) -> pa.Table:
    """The events of every file the store read, as the readers give them (no spilling), concatenated."""
    tables = []
    for f in store.files():
        if f["status"] == "skipped" or not f["digest"]:
            continue
        outcome = read_file(f["path"], f["digest"], f["size"], None, str(tmp_path / "ref-spill"), 2**62)
        tables.append(pa.Table.from_batches(outcome.batches, EVENT_SCHEMA))
    return pa.concat_tables(tables)


def _stored(store: Store) -> pa.Table:
    return pa.concat_tables([pq.read_table(p, schema=EVENT_SCHEMA) for p in store.event_files()])


def _same_events(store: Store, tmp_path: Path) -> None:
    reference = _reference(store, tmp_path)
    stored = _stored(store)
    assert len(set(reference.column("uid").to_pylist())) == reference.num_rows  # uid orders rows fully
    assert stored.num_rows == reference.num_rows
    assert stored.sort_by("uid").equals(reference.sort_by("uid"))


def _day(value: dt.datetime | None) -> dt.date | None:
    return None if value is None else value.astimezone(UTC).date()


def _check_layout(store: Store) -> set[tuple[str, dt.date | None]]:
    """Every events file holds one source_format and one UTC day, or gathered small days of one source
    in day order, as its name and the manifest say; returns the partitions seen."""
    seen = set()
    for seg in store.segments():
        manifest = json.loads((seg / "manifest.json").read_text())
        index = {p["file"]: p for p in manifest["parts"]}
        files = sorted(p.name for p in seg.glob("events-*.parquet"))
        assert sorted(index) == files
        for name in files:
            parquet = pq.ParquetFile(seg / name)
            rows = parquet.read(columns=["time", "source_format"]).to_pylist()
            keys = {(r["source_format"], _day(r["time"])) for r in rows}
            sources = {source for source, _ in keys}
            days = sorted({day for _, day in keys}, key=lambda d: (d is not None, d))
            assert len(sources) == 1, (name, keys)
            (source,) = sources
            entry = index[name]
            if len(days) == 1:
                (day,) = days
                stamp = "nodate" if day is None else day.strftime("%Y%m%d")
                assert entry["last_day"] is None
            else:  # gathered small days: each day of the file holds fewer than SMALL_ROWS events
                assert None not in days
                stamp = f"{days[0]:%Y%m%d}_{days[-1]:%Y%m%d}"
                assert entry["last_day"] == days[-1].isoformat()
                per_day = Counter(day for _, day in keys for r in rows if _day(r["time"]) == day)
                assert max(per_day.values()) < SMALL_ROWS
                in_days = [_day(r["time"]) for r in rows]
                assert in_days == sorted(in_days)
            day = days[0]
            assert name.split("-")[-3:-1] == [source, stamp]
            assert (entry["source"], entry["day"], entry["rows"]) == (
                source,
                None if day is None else day.isoformat(),
                len(rows),
            )
            # "ordered" (each row group in time order) is never claimed wrongly
            groups = [
                parquet.read_row_group(g, columns=["time"]).column("time").to_pylist()
                for g in range(parquet.num_row_groups)
            ]
            if entry["ordered"] and day is not None:
                assert all(times == sorted(times) for times in groups), name
            seen.update((source, d) for d in days)
    return seen


def test_fixtures_are_stored_one_file_per_source_and_day_with_the_same_events(tmp_path):
    store = Store(tmp_path / "store")
    report = store.ingest([str(DATA)], workers=1)
    assert report.events > 1000
    seen = _check_layout(store)
    assert len({source for source, _ in seen}) > 5 and len(seen) > 30  # many sources, many days
    _same_events(store, tmp_path)


@pytest.mark.parametrize("workers", [1, 2])
def test_spilled_parts_spanning_days_are_split_and_keep_every_event(tmp_path, monkeypatch, workers):
    # In this process every batch spills; worker processes (spawned: no monkeypatch there) spill a file
    # whose events outgrow WORKER_SPILL_BYTES: weeks of real syslog lines, repeated. The parts cross
    # days; the commit splits them.
    monkeypatch.setattr(reading_module, "SPILL_BYTES", 1)
    lines = (DATA / "syslog" / "loghub-linux.log").read_text().splitlines()
    big = tmp_path / "in" / "weeks.log"
    big.parent.mkdir()
    big.write_text("".join(f"{line} #{i}\n" for i in range(150) for line in lines))
    inputs = [big, *MULTI_DAY, *sorted((DATA / "evtx").glob("*.evtx"))]
    store = Store(tmp_path / "store")
    store.ingest([str(p) for p in inputs], workers=workers)
    spilled = [p for p in store.event_files() if Path(p).name.startswith("events-spill-")]
    spilled_days = {_day(t) for p in spilled for t in pq.read_table(p, columns=["time"])["time"].to_pylist()}
    assert len(spilled_days) > 3  # several days among spilled files
    _check_layout(store)
    _same_events(store, tmp_path)
    assert not list((tmp_path / "store" / ".staging").glob("spill-*/*"))


def test_a_part_spanning_days_is_split_at_the_commit_and_a_one_day_part_is_moved(tmp_path, monkeypatch):
    # A reader process writes a large file's part in arrival order: it may cross days. (Small days not
    # gathered here: the split is what is checked.)
    monkeypatch.setattr(partition_module, "SMALL_ROWS", 0)
    log = DATA / "syslog" / "loghub-linux.log"
    outcome = read_file(str(log), "1" * 64, log.stat().st_size, None, "unused", 2**62)
    weeks = pa.Table.from_batches(outcome.batches, EVENT_SCHEMA)
    one_day = _times_batch([3] * 50)
    parts = {"weeks.parquet": weeks, "day.parquet": pa.Table.from_batches([one_day])}
    for name, table in parts.items():
        pq.write_table(table, tmp_path / name, row_group_size=100)
    (tmp_path / "staging").mkdir()
    (tmp_path / "segments").mkdir()
    segment = SegmentWriter(tmp_path / "staging", tmp_path / "segments")
    result = FileResult(str(log), "1" * 64, 1, events=weeks.num_rows + one_day.num_rows)
    segment.add(FileOutcome(result, spilled=[str(tmp_path / n) for n in parts]))
    segment.commit()
    assert not any((tmp_path / n).exists() for n in parts)  # moved or split, never left behind
    store = Store(tmp_path)
    files = [Path(p).name for p in store.event_files()]
    assert all(f.startswith("events-spill-syslog-") for f in files)
    assert len(files) > 10  # the weeks' part split by day; the day's part moved in as it is
    assert "events-spill-syslog-20240304-00001.parquet" in files
    _check_layout(store)
    expected = pa.concat_tables(parts.values())
    assert _stored(store).sort_by("uid").equals(expected.sort_by("uid"))


def _times_batch(days: list[int | None], source: str = "syslog") -> pa.RecordBatch:
    """A real sshd event (tests/data) repeated, with the times (days after 2024-03-01) asked for."""
    log = DATA / "syslog" / "loghub-openssh.log"
    outcome = read_file(str(log), "0" * 64, log.stat().st_size, None, "unused", 2**62)
    n = len(days)
    table = pa.concat_tables([pa.Table.from_batches(outcome.batches[:1], EVENT_SCHEMA).slice(0, 1)] * n)
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    times = [
        None if d is None else start + dt.timedelta(days=d, seconds=(7 * i) % 86_400)
        for i, d in enumerate(days)
    ]
    replaced = {
        "time": pa.array(times, EVENT_SCHEMA.field("time").type),
        "uid": pa.array([f"u:{i}" for i in range(n)], pa.string()),
        "source_format": pa.array([source] * n, pa.string()),
    }
    for name, values in replaced.items():
        table = table.set_column(table.schema.get_field_index(name), name, values)
    return table.combine_chunks().to_batches()[0]


def test_the_writer_bounds_pending_bytes_and_open_files_and_keeps_every_row(tmp_path):
    # 40 days interleaved row by row, and events without a time: the worst order for a partitioner.
    days: list[int | None] = [None if i % 50 == 0 else i % 40 for i in range(8_000)]
    batch = _times_batch(days)
    bound = 4 * batch.nbytes // 40
    writer = PartitionedWriter(tmp_path, row_group_rows=1_000, pending_bytes=bound, max_open=3)
    open_files = []
    for lo in range(0, batch.num_rows, 500):
        writer.write(batch.slice(lo, 500))
        assert writer.pending < bound
        open_files.append(len(writer.open_files))
    assert max(open_files) == 3  # the bound is reached and never passed
    parts = writer.close()
    assert writer.pending == 0
    written = pa.concat_tables([pq.read_table(tmp_path / p.file) for p in parts])
    assert written.sort_by("uid").equals(pa.Table.from_batches([batch]).sort_by("uid"))
    for p in parts:
        keys = {_day(t) for t in pq.read_table(tmp_path / p.file).column("time").to_pylist()}
        if p.last_day is None:
            assert keys == {None if p.day is None else dt.date.fromisoformat(p.day)}
        else:  # gathered small days (those never written out before the close)
            assert min(keys) == dt.date.fromisoformat(p.day) and max(keys) == dt.date.fromisoformat(
                p.last_day
            )
    assert any(p.day is None and "-nodate-" in p.file for p in parts)


def test_freed_memory_is_handed_back_to_the_system_after_every_row_group(tmp_path, monkeypatch):
    # Arrow's allocator keeps freed pages until asked (RSS grew with the days an ingest touched). By hand:
    # 3 writes of days {0, 1, 2, none} with a pending bound of 0 are 3 x 4 row groups, each written out
    # at once and each followed by one release.
    real = pa.default_memory_pool()

    class Counting:
        releases = 0

        def release_unused(self) -> None:
            Counting.releases += 1
            real.release_unused()

    monkeypatch.setattr(partition_module.pa, "default_memory_pool", Counting)
    writer = PartitionedWriter(tmp_path, row_group_rows=1_000, pending_bytes=0)
    for _ in range(3):
        writer.write(_times_batch([0, 1, None, 2, 0]))
    parts = writer.close()
    row_groups = sum(pq.ParquetFile(tmp_path / p.file).num_row_groups for p in parts)
    assert row_groups == 12
    assert Counting.releases == 12


@pytest.mark.parametrize(
    "days",
    [[3] * 5, [None] * 4, [1, 2], [1, None], [0, 0, 0], "one source null", "two sources", "before 1970"],
)
def test_a_batch_of_one_source_and_day_is_told_by_its_min_max_and_stored_as_it_is(tmp_path, days):
    if days == "one source null":
        batch = _times_batch([0, 0])
        batch = batch.set_column(
            batch.schema.get_field_index("source_format"), "source_format", pa.array(["syslog", None])
        )
    elif days == "two sources":
        batch = pa.concat_batches([_times_batch([0]), _times_batch([0], "zeek")])
    elif days == "before 1970":
        batch = _times_batch([0, 0])
        old = pa.array([dt.datetime(1969, 5, 1, 3, tzinfo=UTC)] * 2, EVENT_SCHEMA.field("time").type)
        batch = batch.set_column(batch.schema.get_field_index("time"), "time", old)
    else:
        batch = _times_batch(days)
    keys = {
        (s, None if t is None else (_day(t) - dt.date(1970, 1, 1)).days)
        for s, t in zip(
            batch.column("source_format").to_pylist(), batch.column("time").to_pylist(), strict=True
        )
    }
    single = partition_module.one_partition(batch)
    if days in ("one source null", "two sources") or len(keys) > 1:
        assert single is None  # left to the sort and split
    else:
        assert single == keys.pop()
    pieces = list(partition_module.split(batch))
    assert (len(pieces) == 1 and pieces[0][2] is batch) == (single is not None)  # no copy when single
    assert sum(p[2].num_rows for p in pieces) == batch.num_rows
    # the size a caller knows is the one the writer would measure
    measured = PartitionedWriter(tmp_path, row_group_rows=1_000, pending_bytes=1 << 30)
    told = PartitionedWriter(tmp_path, row_group_rows=1_000, pending_bytes=1 << 30)
    measured.write(batch)
    told.write(batch, size=batch.nbytes)
    assert told.pending == measured.pending == sum(p[2].nbytes for p in pieces)


def test_small_days_of_one_source_are_gathered_in_day_order_and_large_days_keep_their_files(tmp_path):
    # By hand, with small_rows 10: syslog days 0 (4 events) and 2 (3) are small and gathered into one
    # file; day 1 (12 events) keeps its own; the 2 events without a time keep theirs; zeek's one small day
    # is alone of its source, so it keeps its own file too.
    days = [2, 0, 1, 0, None, 2, 1, 0, 2, 0, None] + [1] * 10
    syslog = _times_batch(days)
    zeek = _times_batch([5, 5], "zeek")
    writer = PartitionedWriter(tmp_path, row_group_rows=1_000, pending_bytes=1 << 30, small_rows=10)
    writer.write(syslog)
    writer.write(zeek)
    assert writer.pending > 0
    parts = {p.file: p for p in writer.close()}
    assert writer.pending == 0  # the gathered days' bytes left the count with them
    stamps = sorted(name.split("-")[-3] + "-" + name.split("-")[-2] for name in parts)
    assert stamps == ["syslog-20240301_20240303", "syslog-20240302", "syslog-nodate", "zeek-20240306"]
    gathered = next(p for p in parts.values() if "_" in p.file)
    assert (gathered.day, gathered.last_day, gathered.rows) == ("2024-03-01", "2024-03-03", 7)
    # day 0 (rows 1, 3, 7, 9), then day 2 (rows 0, 5, 8): each day's rows in the order they came
    uids = pq.read_table(tmp_path / gathered.file).column("uid").to_pylist()
    assert uids == ["u:1", "u:3", "u:7", "u:9", "u:0", "u:5", "u:8"]
    written = pa.concat_tables([pq.read_table(tmp_path / name) for name in parts])
    both = pa.concat_tables([pa.Table.from_batches([syslog]), pa.Table.from_batches([zeek])])
    order = [("source_format", "ascending"), ("uid", "ascending")]
    assert written.sort_by(order).equals(both.sort_by(order))
    # the index's day range decides which files a window of days opens
    store_parts = [dataclasses.asdict(p) for p in parts.values()]
    window = (dt.date(2024, 3, 2), dt.date(2024, 3, 2))
    chosen = sorted(p["file"].split("-")[-2] for p in store_parts if part_wanted(p, window, {"syslog"}))
    assert chosen == ["20240301_20240303", "20240302", "nodate"]


def test_a_parts_one_partition_is_read_from_its_statistics(tmp_path):
    one_day = _times_batch([0] * 10)
    before_1970 = one_day.set_column(
        one_day.schema.get_field_index("time"),
        "time",
        pa.array([dt.datetime(1969, 12, 31, 23, 0, tzinfo=UTC)] * 10, EVENT_SCHEMA.field("time").type),
    )
    cases = {
        "one.parquet": (one_day, ("syslog", (dt.date(2024, 3, 1) - dt.date(1970, 1, 1)).days)),
        "two-days.parquet": (_times_batch([0, 1]), None),
        "no-time.parquet": (_times_batch([None, None]), ("syslog", None)),
        "some-time.parquet": (_times_batch([None, 0]), None),
        "two-sources.parquet": (
            pa.concat_tables(
                [pa.Table.from_batches([_times_batch([0], "zeek")]), pa.Table.from_batches([one_day])]
            )
            .combine_chunks()
            .to_batches()[0],
            None,
        ),
        "before-1970.parquet": (before_1970, ("syslog", -1)),
    }
    for name, (batch, expected) in cases.items():
        pq.write_table(pa.Table.from_batches([batch]), tmp_path / name)
        assert file_partition(tmp_path / name) == expected, name


def _overlapping(files: list[str], lo: dt.datetime, hi: dt.datetime) -> tuple[int, int, int, int]:
    """(files, row groups) whose ``time`` statistics overlap [lo, hi), and the totals."""
    files_hit = groups_hit = groups = 0
    for path in files:
        meta = pq.read_metadata(path)
        index = meta.schema.names.index("time")
        hit = False
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(index).statistics
            groups += 1
            if stats.has_min_max and stats.min < hi and stats.max >= lo:
                groups_hit += 1
                hit = True
        files_hit += hit
    return files_hit, len(files), groups_hit, groups


@pytest.mark.parametrize("small_rows", [0, 30])
def test_a_time_window_overlaps_fewer_files_and_row_groups_and_duckdb_gives_the_same_rows(
    tmp_path, monkeypatch, small_rows
):
    # loghub-linux.log: 206 events over weeks. Small days gathered (30) or each day its own file (0).
    monkeypatch.setattr(partition_module, "SMALL_ROWS", small_rows)
    store = Store(tmp_path / "store")
    store.ingest([str(p) for p in MULTI_DAY], workers=1)
    # one log read in time order (weeks of days) is stored in time order
    parts = [p for m in store.manifests() for p in m["parts"] if p["source"] == "syslog"]
    assert all(p["ordered"] for p in parts)
    if small_rows:  # a gathered file: its row groups are whole days, 30 events or more but the last
        gathered = [p for p in parts if p["last_day"]]
        assert len(gathered) == 1 and len(parts) < 10
        path = next(f for f in store.event_files() if Path(f).name == gathered[0]["file"])
        groups = pq.ParquetFile(path)
        sizes = [groups.metadata.row_group(g).num_rows for g in range(groups.num_row_groups)]
        assert len(sizes) > 2 and min(sizes[:-1]) >= 30
    else:
        assert len(parts) > 10
    _check_layout(store)
    lo = dt.datetime(2026, 6, 17, tzinfo=UTC)  # loghub-linux.log spans weeks (year inferred)
    hi = lo + dt.timedelta(days=1)
    files_hit, files, groups_hit, groups = _overlapping(store.event_files(), lo, hi)
    assert 0 < files_hit < files and 0 < groups_hit < groups
    con = store.connect()
    got = con.execute("SELECT uid FROM events WHERE time >= ? AND time < ? ORDER BY uid", [lo, hi]).fetchall()
    everything = _stored(store).select(["uid", "time"]).to_pylist()
    expected = sorted(r["uid"] for r in everything if r["time"] is not None and lo <= r["time"] < hi)
    assert expected and [r[0] for r in got] == expected
    # a source filter: only that source's files hold it
    lanl = [p for p in store.event_files() if "-lanl_redteam-" in Path(p).name]
    assert 0 < len(lanl) < files
    n = con.execute("SELECT count(*) FROM events WHERE source_format = 'lanl_redteam'").fetchone()
    assert n == (sum(pq.read_metadata(p).num_rows for p in lanl),)


@pytest.mark.corpus
def test_a_corpus_slice_in_worker_processes_keeps_every_event(tmp_path):
    zeek = sorted(corpus("zeek-wrccdc2018", "zeek-default").glob("*.gz"))[:8]
    windows = sorted(corpus("security-datasets", "datasets", "atomic", "windows").rglob("*.zip"))[:6]
    lanl = corpus("lanl-2015", "auth_head")
    store = Store(tmp_path / "store")
    store.ingest([str(p) for p in [*zeek, *windows, lanl]], workers=2)
    _check_layout(store)
    _same_events(store, tmp_path)


def test_a_window_of_days_and_sources_reads_only_the_files_that_can_hold_it(tmp_path: Path) -> None:
    """``Store.connect(days=…, sources=…)`` gives the rows a full scan filtered in Python gives, from the
    files whose own rows (read with pyarrow) fall in the window, and no others."""
    store = Store(tmp_path / "store")
    store.ingest([str(p) for p in MULTI_DAY], workers=1)
    everything = _stored(store).to_pylist()
    days = sorted({_day(e["time"]) for e in everything if e["time"] is not None})
    assert len(days) > 2
    window = (days[1], days[-2])
    source = everything[0]["source_format"]

    def wanted(e: dict) -> bool:
        return (
            e["source_format"] == source
            and e["time"] is not None
            and window[0] <= _day(e["time"]) <= window[1]
        )

    expected = sorted(e["uid"] for e in everything if wanted(e))
    assert 0 < len(expected) < len(everything)
    con = store.connect(days=window, sources=[source])
    lo, hi = (d.isoformat() for d in window)
    got = con.execute(
        f"SELECT uid FROM events WHERE source_format = '{source}' "
        f"AND CAST(time AS DATE) BETWEEN DATE '{lo}' AND DATE '{hi}' ORDER BY uid"
    ).fetchall()
    con.close()
    assert [r[0] for r in got] == expected
    chosen = set(store.event_files(days=window, sources=[source]))
    holding = set()  # the files with a row in the window, or rows without a time of that source
    for path in store.event_files():
        rows = pq.read_table(path, columns=["time", "source_format"]).to_pylist()
        if any(
            r["source_format"] == source and (r["time"] is None or window[0] <= _day(r["time"]) <= window[1])
            for r in rows
        ):
            holding.add(path)
    assert chosen == holding
    assert len(chosen) < len(store.event_files())
