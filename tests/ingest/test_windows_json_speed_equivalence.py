"""The fast Windows JSON path (lines read as bytes in blocks, the raw column made with one join) stores
exactly what the line-by-line path stored: every column of every event, and the same quarantine rows.

The reference is the reader as it was before (``iter_lines`` + ``orjson`` of each line's text + the
normalizer kept in ``tests/ingest/windows_reference.py``); it shares none of the new code."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekimori.ingest.base import Quarantine
from sekimori.ingest.byte_lines import decoded_lines, utf8_array
from sekimori.ingest.readers.windows_json import WindowsJsonReader, dialect_of
from sekimori.ingest.rows import iter_lines
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import Source, expand
from sekimori.ingest.windows import WINDOWS_EVENTS, normalize_docs
from sekimori.ingest.windows.events import DEFAULTS
from sekimori.store import Store
from tests.conftest import corpus
from tests.ingest.windows_reference import batches_as_before, reference_normalize_docs


def _plain_fields(source: Any) -> list[str]:
    """The record fields a column source names (not literals, System fields or functions)."""
    if isinstance(source, tuple):
        return [s for part in source for s in _plain_fields(part)]
    return [source] if isinstance(source, str) and source[:1] not in "'@" else []


def reference_read(self: WindowsJsonReader, source: Source, quarantine: Quarantine) -> Any:
    """``WindowsJsonReader.read`` of NDJSON before the fast path: a line at a time, as text."""
    dialect_now: str | None = None
    docs: list[dict[str, Any]] = []
    raws: list[str] = []
    lines: list[int] = []
    for lineno, offset, text in iter_lines(source, quarantine, encoding="utf-8-sig"):
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            quarantine.add(f"not JSON: {exc}", record=lineno, offset=offset, data=text)
            continue
        if not isinstance(doc, dict):
            quarantine.add("not a JSON object", record=lineno, offset=offset, data=text)
            continue
        dialect = dialect_of(doc)
        if dialect is None:
            quarantine.add(
                "not a Windows event (no EventID / winlog / event_data / Event.System)",
                record=lineno,
                offset=offset,
                field="EventID",
                data=text,
            )
            continue
        if docs and (dialect != dialect_now or len(docs) >= self.batch_size):
            batch = reference_normalize_docs(dialect_now or dialect, docs, raws, quarantine, lines)
            if batch is not None:
                yield batch
            docs, raws, lines = [], [], []
        dialect_now = dialect
        docs.append(doc)
        raws.append(text)
        lines.append(lineno)
    if docs and dialect_now is not None:
        batch = reference_normalize_docs(dialect_now, docs, raws, quarantine, lines)
        if batch is not None:
            yield batch


def _read(read: Any, path: Path) -> tuple[pa.Table, list[tuple[Any, ...]]]:
    batches: list[pa.RecordBatch] = []
    rows: list[tuple[Any, ...]] = []
    for source in expand(str(path)):
        q = Quarantine(source)
        batches.extend(read(WindowsJsonReader(), source, q))
        rows.extend((r.reason, r.record, r.offset, r.field, r.excerpt) for r in q.records)
    return pa.Table.from_batches(batches, EVENT_SCHEMA), rows


def _same_reading(path: Path) -> None:
    new, new_q = _read(WindowsJsonReader.read, path)
    old, old_q = _read(reference_read, path)
    assert new_q == old_q  # the same rows in the same order
    assert new.num_rows == old.num_rows
    for name in EVENT_SCHEMA.names:
        assert new.column(name).equals(old.column(name)), name


def _block_lines(source: Source, quarantine: Quarantine, block: int) -> list[tuple[int, int, str]]:
    return list(decoded_lines(source, quarantine, block))


# Lines of every kind the line reader treats apart: JSON events, blank and whitespace-only lines, CR,
# byte-order marks, NUL bytes, bytes that are not UTF-8, non-ASCII text, not-JSON and non-object JSON.
_EVENT = json.dumps(
    {
        "EventID": 4624,
        "Channel": "Security",
        "Hostname": "wks1",
        "TimeCreated": "2020-09-21T03:18:52.000Z",
        "TargetUserName": "CORP\\bob",
        "IpPort": "49152",
    }
)
_PIECES = st.sampled_from(
    [
        _EVENT.encode(),
        _EVENT.replace("bob", "bøb").encode(),
        _EVENT.replace("4624", "4625").replace("49152", "99999").encode(),
        _EVENT.replace("2020-09-21T03:18:52.000Z", "yesterday").encode(),
        b"",
        b"  ",
        b"\t",
        b"\r",
        b"\xef\xbb\xbf",
        b"\x00",
        b"\xff\xfe",
        b'{"EventID": 1, "Channel": "\xed\xa0\x80", "@timestamp": "2020-01-01T00:00:00Z"}',
        b'{"EventID": 1, "Channel": "a\x00", "@timestamp": "2020-01-01T00:00:00Z"}',
        b"\xc0\xaf",
        b"{not json",
        b"[1, 2]",
        b'{"no": "event"}',
        "é".encode(),
    ]
)
_LINES = st.lists(st.lists(_PIECES, min_size=1, max_size=3).map(b"".join), max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_LINES, st.sampled_from([8, 64, 1 << 20]), st.booleans(), st.booleans())
def test_line_blocks_are_the_lines_of_iter_lines(tmp_path: Path, lines, block, final_newline, gz) -> None:
    content = b"\n".join(lines) + (b"\n" if final_newline else b"")
    path = tmp_path / ("lines.json.gz" if gz else "lines.json")
    path.write_bytes(gzip.compress(content) if gz else content)
    (source,) = expand(str(path))
    old_q, new_q = Quarantine(source), Quarantine(source)
    old = list(iter_lines(source, old_q, encoding="utf-8-sig"))
    new = _block_lines(source, new_q, block)
    assert new == old
    assert new_q.records == old_q.records


@pytest.mark.parametrize("keep", [0.5, 0.8, 0.99])
def test_a_stream_that_breaks_off_gives_the_lines_and_the_row_it_gave(tmp_path: Path, keep: float) -> None:
    lines = [_EVENT.encode(), b"\xff bad"]
    lines += [_EVENT.replace("49152", str(n)).replace("bob", f"u{n * 7919}").encode() for n in range(400)]
    path = tmp_path / "cut.json.gz"
    whole = gzip.compress(b"\n".join(lines) + b"\n")
    path.write_bytes(whole[: int(len(whole) * keep)])
    (source,) = expand(str(path))
    old_q, new_q = Quarantine(source), Quarantine(source)
    old = list(iter_lines(source, old_q, encoding="utf-8-sig"))
    new = _block_lines(source, new_q, 256)
    assert new == old
    assert new_q.records == old_q.records
    assert old_q.records[-1].reason.startswith("stream broke off")
    _same_reading(path)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_LINES)
def test_the_reader_gives_what_the_line_by_line_reader_gave(tmp_path: Path, lines) -> None:
    path = tmp_path / "mixed.json"
    path.write_bytes(b"{}\n" + b"\n".join(lines) + b"\n")  # never read as one JSON array
    _same_reading(path)


def test_utf8_array_is_the_array_of_the_texts() -> None:
    lines = [b"", b"abc", "bøb \u20ac".encode(), b"{}"]
    got = utf8_array(lines)
    assert got.equals(pa.array([line.decode() for line in lines], pa.string()))
    got.validate(full=True)


def _sample() -> list[Path]:
    root = corpus("security-datasets", "datasets", "atomic", "windows")
    files = sorted(p for p in root.rglob("*") if p.name.endswith((".zip", ".tar.gz")))
    # Every sixth file by name (both shippers: NXLog zips and Winlogbeat tarballs) and the Winlogbeat ones.
    picked = files[::6] + [p for p in files if p.name.endswith(".tar.gz") and p.stat().st_size < 800_000]
    return sorted(set(picked))


@pytest.mark.corpus
def test_security_datasets_store_the_same_events_and_quarantine(tmp_path: Path, monkeypatch) -> None:
    files = [str(p) for p in _sample()]
    new = Store(tmp_path / "new")
    new.ingest(files, workers=1)
    with monkeypatch.context() as patch:
        patch.setattr(WindowsJsonReader, "read", reference_read)
        batches_as_before(patch)
        old = Store(tmp_path / "old")
        old.ingest(files, workers=1)
    new_events = new.events().sort_by("uid")
    old_events = old.events().sort_by("uid")
    assert new_events.num_rows == old_events.num_rows
    assert new_events.num_rows > 100_000  # the sample is a real share of the corpus
    assert new_events.schema == old_events.schema
    for name in new_events.column_names:
        assert new_events.column(name).equals(old_events.column(name)), name
    quarantine = "SELECT * FROM quarantine ORDER BY ALL"
    assert new.sql(quarantine).to_pylist() == old.sql(quarantine).to_pylist()


# Records of the flat dialect with the fields the mapping reads, each missing, empty, "-", text with a
# domain, a number, a float, a boolean or an object: every branch of the compiled fills and the header.
_VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        ["", "-", "CORP\\bob", "bob@corp.local", "\\\\wks1", "::ffff:10.0.0.1", "0x0", "0xC000006D"]
    ),
    st.sampled_from(["3", "0x1f", "65536", "NTLM", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", "x"]),
    # the edges of the inline fast paths: digits in and out of range, too long for int() (past 4300
    # digits), not ASCII, padded; text with or without a domain or a leading backslash
    st.sampled_from(
        ["65535", "007", " 80", "-5", "32768", "9" * 19, "9" * 25, "9" * 4400, "9223372036854775808"]
    ),
    st.sampled_from(["\u0663", "\u00b2", "bob", "\\", "::ffff:", "CORP\\", "@corp", "\\wks1\\x"]),
    st.integers(-5, 70000),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 32767, -32769]),
    st.sampled_from([1.0, 2.5, True, {"a": 1}, [1], 2**64]),
)
_FIELDS = sorted(
    {
        *(s for ev in WINDOWS_EVENTS for src in ev.columns.values() for s in _plain_fields(src)),
        *(s for src in DEFAULTS.values() for s in _plain_fields(src)),
        "SourceName",
        "ProviderName",
        "Hostname",
        "Computer",
        "RecordNumber",
        "EventRecordID",
        "UserID",
    }
)
_TEXT_CHANNELS = [
    "Security",
    "security",
    "Microsoft-Windows-Sysmon/Operational",
    "System",
    "Windows PowerShell",
]
# Not text too: as text, or the record quarantined.
_CHANNELS = st.sampled_from([*_TEXT_CHANNELS, "", "-", None, 5, {"a": 1}, ["Security"]])
_CODES = st.one_of(
    st.sampled_from([ev.event_id for ev in WINDOWS_EVENTS]),
    st.sampled_from(["4624", "x", None, -1, 65535, 65536, True, 4624.0, "0x10"]),
)
_DOCS = st.fixed_dictionaries(
    {"Channel": _CHANNELS, "EventID": _CODES, "TimeCreated": st.sampled_from(["2020-09-21T03:18:52Z", "-"])},
    optional={name: _VALUES for name in _FIELDS},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_DOCS, min_size=1, max_size=40))
def test_the_normalizer_gives_what_the_reference_gave(docs) -> None:
    raws = [json.dumps(doc).encode() for doc in docs]
    numbers = list(range(1, len(docs) + 1))
    source = Source("x.json", Path("x.json"))
    new_q, old_q = Quarantine(source), Quarantine(source)
    new = normalize_docs("flat", docs, raws, new_q, record_numbers=numbers)
    old = reference_normalize_docs("flat", docs, [r.decode() for r in raws], old_q, numbers)
    assert new_q.records == old_q.records
    assert (new is None) == (old is None)
    if new is not None and old is not None:
        assert new.equals(old)


# A record the mapping itself fails on: 5145's share path, as it was before a typed ShareName was read as
# text (a number made the join raise), put back by ``failing_share_path``.
_FAILING = json.dumps(
    {"EventID": 5145, "Channel": "Security", "TimeCreated": "2020-09-21T03:18:52Z", "ShareName": 5}
).encode()


def _share_path_of_text_only(system: dict[str, Any], data: dict[str, Any]) -> Any:
    parts = [p for p in (data.get("ShareName"), data.get("RelativeTargetName")) if p not in (None, "", "-")]
    return "\\".join(parts) or None


@pytest.fixture
def failing_share_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 5145 mapping raises on a ShareName that is not text, in both normalizers (compiled anew)."""
    from sekimori.ingest.windows import normalize
    from tests.ingest import windows_reference

    event = next(ev for ev in WINDOWS_EVENTS if ev.event_id == 5145)
    monkeypatch.setitem(event.columns, "object", _share_path_of_text_only)
    monkeypatch.setattr(normalize, "_NORMALIZERS", {})
    monkeypatch.setattr(windows_reference, "_NORMALIZERS", {})


def _logon(user: str, number: int) -> bytes:
    return json.dumps(
        {
            "EventID": 4624,
            "Channel": "Security",
            "TimeCreated": "2020-09-21T03:18:50Z",
            "TargetUserName": user,
            "RecordNumber": number,
        }
    ).encode()


def test_a_record_the_mapping_fails_on_is_quarantined_alone(tmp_path: Path, failing_share_path: None) -> None:
    # Lines: 1 logon (record 101), 2 the failing 5145, 3 not JSON, 4 logon (104), 5 logon (105).
    path = tmp_path / "records.json"
    lines = [_logon("a", 101), _FAILING, b"{not json", _logon("b", 104), _logon("c", 105)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    new, new_q, new_failure = _read_until_failure(WindowsJsonReader.read, path)
    old, old_q, old_failure = _read_until_failure(reference_read, path)
    assert new_failure is None and old_failure is None
    assert new_q == old_q
    # the corrupt line, quarantined as it is read; the failing record, once its batch is normalized
    assert [(row[1], row[3]) for row in new_q] == [(3, None), (2, "object")]
    reason = new_q[1][0]
    assert reason.startswith("mapping Security 5145 failed: TypeError: ")
    assert new["record_id"].to_pylist() == [101, 104, 105]  # the records before and after it
    assert new["principal"].to_pylist() == ["a", "b", "c"]
    for name in EVENT_SCHEMA.names:
        assert new.column(name).equals(old.column(name)), name

    store = Store(tmp_path / "store")
    (result,) = store.ingest([str(path)], workers=1).files
    assert (result.status, result.events, result.quarantined) == ("ingested", 3, 2)
    ids = store.sql("SELECT record_id FROM events ORDER BY record_id")["record_id"].to_pylist()
    assert ids == [101, 104, 105]
    quarantined = store.sql("SELECT record, field, reason FROM quarantine ORDER BY record").to_pylist()
    assert [(q["record"], q["field"]) for q in quarantined] == [(2, "object"), (3, None)]
    assert quarantined[0]["reason"] == reason


def _read_until_failure(read: Any, path: Path) -> tuple[pa.Table, list[tuple[Any, ...]], str | None]:
    """The batches read, the quarantine rows and the failure's message, if the reading failed (it
    should not: a record the mapping fails on is quarantined alone)."""
    (source,) = expand(str(path))
    quarantine = Quarantine(source)
    batches: list[pa.RecordBatch] = []
    failure = None
    try:
        for batch in read(WindowsJsonReader(), source, quarantine):
            batches.append(batch)
    except TypeError as exc:
        failure = f"TypeError: {exc}"
    rows = [(r.reason, r.record, r.offset, r.field, r.excerpt) for r in quarantine.records]
    return pa.Table.from_batches(batches, EVENT_SCHEMA), rows, failure


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(_DOCS.map(lambda doc: json.dumps(doc).encode()), _PIECES, st.just(_FAILING)),
        max_size=40,
    ),
    st.sampled_from([1, 3, 16]),
)
def test_records_normalized_as_read_give_the_batches_normalized_whole(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failing_share_path: None,
    lines: list[bytes],
    batch_size: int,
) -> None:
    # The reader normalizes each record as it parses it; the reference normalizes each batch once it
    # is read. Same batches, same quarantine in the same order; a record the mapping fails on is
    # quarantined alone, the reading goes on.
    monkeypatch.setattr(WindowsJsonReader, "batch_size", batch_size)
    path = tmp_path / "records.json"
    path.write_bytes(b"{}\n" + b"\n".join(lines) + b"\n")  # never read as one JSON array
    new, new_q, new_failure = _read_until_failure(WindowsJsonReader.read, path)
    old, old_q, old_failure = _read_until_failure(reference_read, path)
    assert new_failure is None and old_failure is None
    assert new_q == old_q
    assert new.num_rows == old.num_rows
    # each failing line (line 1 is "{}") is quarantined alone, named by its line and its column
    failing = {i for i, line in enumerate(lines, start=2) if line == _FAILING}
    assert failing <= {r[1] for r in new_q if r[0].startswith("mapping Security 5145 failed: TypeError")}
    assert all(r[3] == "object" for r in new_q if r[1] in failing)
    for name in EVENT_SCHEMA.names:
        assert new.column(name).equals(old.column(name)), name
