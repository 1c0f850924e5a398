"""A large file of independent lines read in slices by two worker processes (``sekimori.store.slices``)
stores exactly what reading it whole in one process stores: every event with its columns and uid, every
quarantine row with its line number and byte offset, and the file's result.

The files are the real fixture lines of each reader that reads lines (tests/data, see its ATTRIBUTION),
repeated, with what a cut between slices could get wrong placed among them: a byte-order mark, blank
lines, CRLF endings, a broken record, a line that is not UTF-8, a line longer than a slice, and a last
line without a newline. Slices of 4 KiB make a cut fall in every kind of place.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sekimori.store import Store, reading, slices
from sekimori.store.results import Resume
from sekimori.store.slices import line_slices, split_reader
from tests.conftest import DATA, corpus

SLICE = 4096


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def _windows_lines() -> list[bytes]:
    with zipfile.ZipFile(DATA / "windows_json" / "otrf_empire_psexec_sample.zip") as z:
        return [line for line in z.read(z.namelist()[0]).splitlines() if line.strip()]


FIXTURES = {
    "okta": lambda: _lines(DATA / "okta" / "panther_okta_sample.jsonl"),
    "entra": lambda: (
        _lines(DATA / "entra" / "azure_monitor_storage_lines.json")
        + _lines(DATA / "entra" / "azure_monitor_eventhub_records.json")
    ),
    "google_workspace": lambda: (
        _lines(DATA / "google_workspace" / "reports_api_activities.jsonl")
        + _lines(DATA / "google_workspace" / "cloud_logging_workspace.jsonl")
    ),
    "windows_json": _windows_lines,
}


def _padded(line: bytes) -> bytes:
    """A real record made longer than a slice by a member no mapping reads."""
    return b'{"zz_padding": "' + b"x" * (3 * SLICE) + b'", ' + line[1:]


def _build(lines: list[bytes], copies: int) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """The file's bytes, and (line number, byte offset) of the broken and the non-UTF-8 line."""
    out: list[bytes] = [b"\xef\xbb\xbf" + lines[0]]
    where: dict[str, tuple[int, int]] = {}

    def add(line: bytes, name: str | None = None) -> None:
        if name:
            where[name] = (len(out) + 1, sum(len(done) + 1 for done in out))
        out.append(line)

    for copy in range(copies):
        for i, line in enumerate(lines):
            if (copy + i) % 7 == 3:
                add(b"")  # a blank line
            add(line + b"\r" if (copy + i) % 5 == 1 else line)  # CRLF
            if copy == copies // 2 and i == 0:
                add(line[: len(line) // 2], "broken")
                add(b"\xff" + line[1:], "not utf-8")
                add(_padded(line))
    add(lines[-1])
    return b"\n".join(out), where  # the last line without a newline


def _stored(root: Path) -> tuple[pa.Table, list[dict], list[dict]]:
    seg = sorted((root / "segments").iterdir())
    events = pa.concat_tables([pq.read_table(f) for s in seg for f in sorted(s.glob("events-*.parquet"))])
    quarantine = [
        row
        for s in seg
        if (s / "quarantine.parquet").exists()
        for row in pq.read_table(s / "quarantine.parquet").to_pylist()
    ]
    files = [f for s in seg for f in json.loads((s / "manifest.json").read_text())["files"]]
    return events.sort_by("uid"), sorted(quarantine, key=lambda r: json.dumps(r, default=str)), files


def _cuts(data: bytes, size: int) -> list[int]:
    """Where slices start, found by walking the bytes: a slice ends at the first newline at or after its
    ``size``-th byte, or at the end."""
    starts, start = [], 0
    while start < len(data):
        starts.append(start)
        end = start + size - 1
        while end < len(data) and data[end : end + 1] != b"\n":
            end += 1
        start = end + 1
    return starts


@pytest.mark.parametrize("reader", sorted(FIXTURES))
def test_a_file_read_in_slices_by_two_workers_stores_what_reading_it_whole_stores(
    tmp_path, monkeypatch, reader
):
    data, where = _build(FIXTURES[reader](), copies=12)
    path = tmp_path / f"{reader}.jsonl"
    path.write_bytes(data)
    monkeypatch.setattr(slices, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(slices, "SLICE_BYTES", SLICE)

    whole = Store(tmp_path / "whole").ingest([str(path)], workers=1)
    pieces: list[int] = []
    sliced = Store(tmp_path / "sliced").ingest(
        [str(path)], workers=2, progress=lambda p, s, events, done: None if done else pieces.append(events)
    )
    assert sliced.workers == 2
    # one piece before each slice but the last, each with the events of the slices so far
    assert len(pieces) == len(_cuts(data, SLICE)) - 1 > 10
    assert pieces == sorted(pieces) and pieces[-1] < sliced.events

    events, quarantine, files = _stored(tmp_path / "sliced")
    whole_events, whole_quarantine, whole_files = _stored(tmp_path / "whole")
    assert events.num_rows == whole.events == sliced.events > 0
    assert events.equals(whole_events)
    assert quarantine == whole_quarantine
    assert files == whole_files and files[0]["status"] == "ingested"

    # by hand: the broken line and the one that is not UTF-8 are named by their line and byte offset
    placed = {(q["record"], q["offset"]) for q in quarantine}
    assert where["broken"] in placed and where["not utf-8"] in placed
    prefix = files[0]["digest"][:16]
    assert set(events.column("uid").to_pylist()) == {f"{prefix}:{i}" for i in range(events.num_rows)}


def test_a_record_numbered_by_its_line_keeps_its_line_number_in_a_slice(tmp_path, monkeypatch):
    # Okta's record_id is the line number: the n-th line of the file written below is record n.
    lines = FIXTURES["okta"]()
    body = [lines[i % len(lines)] for i in range(200)]
    path = tmp_path / "okta.jsonl"
    path.write_bytes(b"\n".join(body) + b"\n")
    monkeypatch.setattr(slices, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(slices, "SLICE_BYTES", SLICE)
    report = Store(tmp_path / "s").ingest([str(path)], workers=2)
    events, quarantine, _ = _stored(tmp_path / "s")
    got = dict(zip(events.column("record_id").to_pylist(), events.column("raw").to_pylist(), strict=True))
    quarantined = {q["record"] for q in quarantine}
    # each event is the line its record_id names (its raw is that line's text); the others quarantined
    assert all(raw == body[n - 1].decode() for n, raw in got.items())
    assert set(got) | quarantined == set(range(1, 201)) and not set(got) & quarantined
    assert report.workers == 2 and len(got) > 100


def test_which_files_are_read_in_slices(tmp_path, monkeypatch):
    lines = FIXTURES["okta"]()
    monkeypatch.setattr(slices, "SPLIT_MIN_BYTES", 2000)
    plain = tmp_path / "lines.jsonl"
    plain.write_bytes(b"\n".join(lines * 3) + b"\n")
    array = tmp_path / "array.json"
    array.write_bytes(b"[" + b",\n".join(lines * 3) + b"]")
    gz = tmp_path / "lines.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    small = tmp_path / "small.jsonl"
    small.write_bytes(lines[0] + b"\n")
    evtx = next((DATA / "evtx").glob("*.evtx"))

    def task(path: Path) -> tuple[str, str, int, None]:
        return (str(path), "0" * 64, path.stat().st_size, None)

    assert split_reader(task(plain), None) == "okta"
    assert split_reader(task(plain), "okta") == "okta"
    assert split_reader(task(array), None) is None  # an array is parsed as one document
    assert split_reader(task(gz), None) is None  # a gzip stream cannot be cut into byte ranges
    assert split_reader(task(small), None) is None  # below SPLIT_MIN_BYTES
    assert split_reader(task(evtx), None) is None  # a reader that does not say it reads lines
    grown = (str(plain), "0" * 64, plain.stat().st_size, Resume("1" * 64, skip_events=3))
    assert split_reader(grown, None) is None  # a grown file is read from where it was


@given(st.binary(max_size=300).map(lambda b: b.replace(b"a", b"\n")), st.integers(1, 40))
def test_line_slices_cut_just_after_a_newline_once_a_slice_holds_its_size(tmp_path_factory, data, size):
    path = tmp_path_factory.mktemp("cut") / "data"
    path.write_bytes(data)
    got = list(line_slices(str(path), len(data), size))
    starts = _cuts(data, size)
    assert [offset for offset, _, _ in got] == starts
    ends = [*starts[1:], len(data)] if starts else []
    assert [length for _, length, _ in got] == [end - start for start, end in zip(starts, ends, strict=True)]
    assert [first for _, _, first in got] == [data[:start].count(b"\n") + 1 for start in starts]


def test_a_file_that_shrank_or_went_away_still_ends_with_its_last_slice(tmp_path, monkeypatch):
    monkeypatch.setattr(slices, "SLICE_BYTES", 10)
    path = tmp_path / "lines"
    path.write_bytes(b"0123456789\n" * 5)  # 55 bytes, hashed when it had 80
    units = list(reading._slices((str(path), "0" * 64, 80, None), "okta"))
    # by hand: slices of 11 bytes (10 bytes, then up to the newline) at 0, 11, 22, 33, 44
    assert [(u.offset, u.size, u.first_line, u.last) for u in units] == [
        (0, 11, 1, False),
        (11, 11, 2, False),
        (22, 11, 3, False),
        (33, 11, 4, False),
        (44, 11, 5, True),
    ]
    gone = (str(tmp_path / "gone"), "0" * 64, 80, None)
    assert list(reading._slices(gone, "okta")) == [[gone]]  # read whole: read_file reports it


def test_the_report_says_how_many_processes_read(tmp_path, monkeypatch):
    monkeypatch.setattr(slices, "SPLIT_MIN_BYTES", 2000)
    monkeypatch.setattr(slices, "SLICE_BYTES", SLICE)
    lines = FIXTURES["okta"]()
    plain = tmp_path / "lines.jsonl"
    plain.write_bytes(b"\n".join(lines * 3) + b"\n")  # ~40 KB: about ten slices
    gz = tmp_path / "lines.jsonl.gz"
    gz.write_bytes(gzip.compress(b"\n".join(lines * 4) + b"\n"))
    assert Store(tmp_path / "a").ingest([str(plain)], workers=2).workers == 2
    # one gzip stream is one unit of work: read here, not by a pool started for it
    assert Store(tmp_path / "b").ingest([str(gz)], workers=2).workers == 1


def _whole_event(record: dict) -> bool:
    """A record with an event name and an ISO 8601 time (the sample's redacted ones have neither)."""
    try:
        dt.datetime.fromisoformat(str(record.get("eventTime")).replace("Z", "+00:00"))
    except ValueError:
        return False
    return bool(record.get("eventName"))


def _cloudtrail_file() -> tuple[bytes, dict[int, dict], dict[int, dict], set[int], set[int]]:
    """Real CloudTrail records (identity-cloud) on lines of both kinds: one record per line (numbered by
    its line) and S3 delivery objects, ``{"Records": [...]}``, whose records number on from one such
    line to the next. Returns the bytes; the records expected by line number and by count; and the
    line numbers and counts expected in the quarantine (worked out here, while the file is built)."""
    sample = corpus("identity-cloud", "cloudtrail", "panther_aws_cloudtrail.jsonl").read_text().splitlines()
    records = [r for r in (json.loads(line) for line in sample if line.strip()) if _whole_event(r)]
    lines: list[bytes] = []
    by_line: dict[int, dict] = {}
    by_count: dict[int, dict] = {}
    bad_lines: set[int] = set()
    bad_counts: set[int] = set()
    counted = 0
    r = 0
    for i in range(160):
        number = len(lines) + 1
        if i % 9 == 4:
            lines.append(b"")  # a blank line
            continue
        if i % 4 == 0:  # one record on its line
            by_line[number] = records[r % len(records)]
            lines.append(json.dumps(records[r % len(records)]).encode())
            r += 1
        elif i == 37:
            lines.append(b'{"Records": [{"eventVersion": "1.08", "eventTi')  # cut short
            bad_lines.add(number)
        else:  # an S3 object: 1 to 6 records, one of them not a JSON object now and then
            held: list[object] = []
            for k in range(1 + i % 6):
                counted += 1
                if i % 11 == 2 and k == 0:
                    held.append(["not", "a", "record"])
                    bad_counts.add(counted)
                else:
                    held.append(records[r % len(records)])
                    by_count[counted] = records[r % len(records)]
                    r += 1
            if i == 50:  # an S3 object longer than a slice
                for _ in range(3 * SLICE // 900):
                    counted += 1
                    held.append(records[r % len(records)])
                    by_count[counted] = records[r % len(records)]
                    r += 1
            lines.append(json.dumps({"Records": held}).encode() + (b"\r" if i % 5 == 1 else b""))
    return b"\n".join(lines) + b"\n", by_line, by_count, bad_lines, bad_counts


def test_cloudtrail_lines_read_in_slices_keep_their_records_numbered_across_lines(tmp_path, monkeypatch):
    data, by_line, by_count, bad_lines, bad_counts = _cloudtrail_file()
    path = tmp_path / "trail.jsonl"
    path.write_bytes(data)
    monkeypatch.setattr(slices, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(slices, "SLICE_BYTES", SLICE)
    assert split_reader((str(path), "0" * 64, len(data), None), None) == "cloudtrail"

    whole = Store(tmp_path / "whole").ingest([str(path)], workers=1)
    sliced = Store(tmp_path / "sliced").ingest([str(path)], workers=2)
    assert sliced.workers == 2 and len(_cuts(data, SLICE)) > 10
    events, quarantine, files = _stored(tmp_path / "sliced")
    whole_events, whole_quarantine, whole_files = _stored(tmp_path / "whole")
    assert events.equals(whole_events) and quarantine == whole_quarantine and files == whole_files
    assert whole.events == sliced.events == events.num_rows

    # by hand: records on their own line are numbered by it; those of S3 objects by their count in the
    # file (the two numberings overlap: a record is told by its raw text, the record itself)
    got: dict[int, list[dict]] = {}
    for number, raw in zip(
        events.column("record_id").to_pylist(), events.column("raw").to_pylist(), strict=True
    ):
        got.setdefault(number, []).append(json.loads(raw))
    expected: dict[int, list[dict]] = {}
    for number, record in [*by_line.items(), *by_count.items()]:
        expected.setdefault(number, []).append(record)
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    assert {n: sorted(rs, key=key) for n, rs in got.items()} == {
        n: sorted(rs, key=key) for n, rs in expected.items()
    }
    assert {q["record"] for q in quarantine} == bad_lines | bad_counts
    assert len(quarantine) == len(bad_lines) + len(bad_counts)
