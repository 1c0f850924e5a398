"""The column-wise path of Zeek JSON lines (``sekimori.ingest.zeek.jsonvec``) against the row path.

The row path (one ``orjson.loads`` per line) is the reference: every column of every event and every
quarantine row must be the same whichever path a line takes. Oracles: the row path itself on the whole
WRCCDC corpus (through the store, so uids are compared too) and on the fixtures, outcomes written out
by hand for lines built to hit each fallback, and random lines.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekimori.ingest.base import Quarantine
from sekimori.ingest.readers.zeek import ZeekReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import expand
from sekimori.ingest.zeek import jsonvec
from sekimori.store import Store
from tests.conftest import DATA, corpus

ZEEK = DATA / "zeek"
JSON_CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "zeek-wrccdc2018" / "zeek-json"


class VectorReader(ZeekReader):
    """Every chunk through the column-wise path; a chunk that fails is split down to single lines."""

    vector_min_rows = 1
    json_parse_failures = 1 << 30


class RowReader(ZeekReader):
    """Every line through the row path (the reference)."""

    vector_min_rows = 1 << 60


def read(path: Path, reader: type[ZeekReader]) -> tuple[pa.Table, Quarantine]:
    (source,) = expand(str(path))
    quarantine = Quarantine(source)
    batches = list(reader().read(source, quarantine))
    return pa.Table.from_batches(batches, schema=EVENT_SCHEMA), quarantine


def bad_rows(q: Quarantine) -> list[tuple[Any, ...]]:
    return [(r.record, r.offset, r.field, r.reason, r.excerpt) for r in q.records]


def assert_same(path: Path, reader: type[ZeekReader] = VectorReader) -> tuple[pa.Table, Quarantine]:
    fast, qf = read(path, reader)
    row, qr = read(path, RowReader)
    assert bad_rows(qf) == bad_rows(qr)
    assert fast.num_rows == row.num_rows
    for column in EVENT_SCHEMA.names:  # raw too: the line as written, on both paths
        assert fast[column].to_pylist() == row[column].to_pylist(), column
    return fast, qf


def row_path_lines(monkeypatch: pytest.MonkeyPatch, path: Path, reader: type[ZeekReader]) -> list[int]:
    """The line numbers ``reader`` hands to the row path."""
    calls: list[int] = []
    original = ZeekReader._json_line

    def counted(self: ZeekReader, lineno: int, *args: Any) -> None:
        calls.append(lineno)
        original(self, lineno, *args)

    with monkeypatch.context() as patch:
        patch.setattr(ZeekReader, "_json_line", counted)
        read(path, reader)
    return calls


# --------------------------------------------------------------------------------------------------
# The whole corpus and the fixtures
# --------------------------------------------------------------------------------------------------


def _store_tables(tmp: Path, files: list[str]) -> tuple[pa.Table, pa.Table]:
    store = Store(tmp)
    store.ingest(files, workers=1)  # in this process, so the patched class attribute holds
    events = store.events()
    events = events.take(pc.sort_indices(events, [("uid", "ascending")]))
    quarantine = store.sql("SELECT * FROM quarantine ORDER BY source_file, record")
    return events, quarantine


@pytest.mark.corpus
def test_whole_corpus_same_as_row_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus("zeek-wrccdc2018")
    files = [str(p) for p in sorted(JSON_CORPUS.glob("*.json.gz"))]
    fast, fast_q = _store_tables(tmp_path / "fast", files)
    monkeypatch.setattr(ZeekReader, "vector_min_rows", 1 << 60)
    row, row_q = _store_tables(tmp_path / "row", files)
    assert fast.num_rows == row.num_rows == 158_439
    assert fast.column_names == row.column_names
    for column in fast.column_names:
        assert fast[column].equals(row[column]), column
    assert fast_q.num_rows == row_q.num_rows == 0


@pytest.mark.corpus
def test_corpus_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # The comparison above would pass if nothing took the fast path: the row path must not be called.
    corpus("zeek-wrccdc2018")
    assert row_path_lines(monkeypatch, JSON_CORPUS / "dns.json.gz", ZeekReader) == []


@pytest.mark.parametrize("path", sorted(ZEEK.glob("*.json")), ids=lambda p: p.name)
def test_fixtures_same_as_row_path(path: Path) -> None:
    table, q = assert_same(path)
    assert len(q) == 0 and table.num_rows > 0


# --------------------------------------------------------------------------------------------------
# Lines built to hit the fallbacks, each outcome written out
# --------------------------------------------------------------------------------------------------

DNS = (ZEEK / "dns.json").read_text().splitlines()
KERBEROS = (ZEEK / "kerberos.json").read_text().splitlines()
BASE = orjson.loads(DNS[0])  # {"_path":"dns", ..., "id.orig_h":"10.47.1.100", "id.orig_p":41772, ...}


def _dns(**changes: Any) -> str:
    record = {**BASE, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not _DROP}, separators=(",", ":"))


_DROP = object()

# line number -> (the line, what the row path makes of it: an event's columns, or a quarantine row)
SPECIAL: dict[int, tuple[str, dict[str, Any] | tuple[str | None, str]]] = {
    3: (DNS[0][:-9], (None, "invalid JSON")),
    5: (_dns(**{"id.orig_p": "80"}), {"src_port": 80}),  # a port as a string: the row path takes it
    7: (_dns(**{"id.orig_p": 80.0}), ("id.orig_p", "bad port 80.0")),
    9: (_dns(ts="0000-01-01T00:00:00.000000Z"), ("ts", "bad timestamp '0000-01-01T00:00:00.000000Z'")),
    11: (_dns(ts="2018-02-30T00:00:00.000000Z"), ("ts", "bad timestamp '2018-02-30T00:00:00.000000Z'")),
    13: (_dns(ts="2018-03-24T23:59:60.000000Z"), {"time": "2018-03-25T00:00:00+00:00"}),  # leap second
    15: (_dns(ts=1e12), ("ts", "timestamp out of range 1000000000000.0")),
    17: (_dns(ts=1521911885713), {"time": "2018-03-24T17:18:05.713000+00:00"}),  # integer milliseconds
    19: (_dns(ts=1521911885.713879), {"time": "2018-03-24T17:18:05.713879+00:00"}),
    21: (_dns(query="日本.example"), {"object": "日本.example"}),
    23: (
        '{"_path":"dns","query":"a\\"b\\\\c\\u00e9","rcode":0}',
        {"object": 'a"b\\cé', "outcome": "success"},
    ),
    25: (_dns(query=_DROP, **{"id.orig_h": _DROP}), {"object": None, "src_ip": None}),  # fields missing
    27: (_dns(extra={"x": [1, 2]}), {"object": BASE["query"]}),  # a field no log has
    29: (_dns(query=["a", "b"], rcode=[0]), {"object": "a,b", "outcome": None}),  # arrays where scalars go
    31: (_dns(rcode="0"), {"outcome": None, "status": BASE["rcode_name"]}),  # a count as a string
    33: (DNS[0][:-1] + ',"x":NaN}', (None, "invalid JSON")),  # Arrow would read it, orjson does not
    35: (DNS[0] + " " + DNS[1], (None, "invalid JSON")),  # two objects on one line
    37: (DNS[0][:-1] + ',"x":' + "[" * 1100 + "]" * 1100 + "}", (None, "invalid JSON")),  # too deep
    39: (DNS[0].replace("ise.wrccdc.org", "ise\twrccdc.org"), (None, "invalid JSON")),  # a raw tab
    41: (_dns(**{"id.orig_h": "10.0.0.300"}), ("id.orig_h", "bad address '10.0.0.300'")),
    43: (_dns(**{"id.resp_p": 70000}), ("id.resp_p", "bad port 70000")),
    45: (_dns(**{"id.orig_p": True}), ("id.orig_p", "bad port True")),
    47: (_dns(_path=_DROP), {"channel": "dns"}),  # no _path: told from the keys
    49: (_dns(_path=""), {"channel": "dns"}),
    51: (KERBEROS[0], {"channel": "kerberos"}),  # another log amid dns lines
    53: (
        '{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","id":{"orig_h":"10.1.2.3","orig_p":5}}',
        {"src_ip": "10.1.2.3", "src_port": 5},  # a nested id object
    ),
    55: (_dns(_system_name="sensor-1", _node_name=""), {"host": "sensor-1"}),
    57: (_dns(_node_name=7, _node="n2"), {"host": "n2"}),  # a sensor key that is not a string
    59: (_dns(rcode=True), {"outcome": None}),  # a bool where a count goes
    61: (_dns(ts=None), {"time": None}),
    63: (  # keys written with escapes
        '{"_path":"dns","t\\u0073":1521911885.5,"id\\u002eorig_h":"10.1.2.3"}',
        {"time": "2018-03-24T17:18:05.500000+00:00", "src_ip": "10.1.2.3"},
    ),
}


def _special_file(tmp_path: Path) -> Path:
    lines = []
    for n in range(1, 121):
        lines.append(SPECIAL[n][0] if n in SPECIAL else DNS[n % len(DNS)])
    path = tmp_path / "mixed.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("reader", [VectorReader, ZeekReader], ids=["split-to-lines", "default"])
def test_fallbacks_same_as_row_path_and_as_written(tmp_path: Path, reader: type[ZeekReader]) -> None:
    path = _special_file(tmp_path)
    table, q = assert_same(path, reader)
    quarantined = {r.record: (r.field, r.reason) for r in q.records}
    events = {row["record_id"]: row for row in table.to_pylist()}
    assert sorted([*quarantined, *events]) == list(range(1, 121))
    lines = path.read_text(encoding="utf-8").split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.encode()) + 1)
    for n, (text, outcome) in SPECIAL.items():
        if isinstance(outcome, tuple):
            field, reason = outcome
            assert quarantined[n][0] == field and quarantined[n][1].startswith(reason), n
            assert next(r.offset for r in q.records if r.record == n) == starts[n - 1]
        else:
            event = events[n]
            assert event["raw"] == text, n  # the line as written
            for column, value in outcome.items():
                got = event[column]
                if column == "time" and got is not None:
                    got = got.isoformat()
                assert got == value, (n, column)


# Epoch times (Zeek's default JSON): line number -> (ts, the event's time, or the quarantine reason)
EPOCH: dict[int, tuple[Any, str]] = {
    2: (1521911885.713879, "2018-03-24T17:18:05.713879+00:00"),
    4: (1521911885, "2018-03-24T17:18:05+00:00"),  # an integer: seconds
    6: (1521911885713, "2018-03-24T17:18:05.713000+00:00"),  # an integer this large: milliseconds
    8: (1521911885713.0, "timestamp out of range"),  # the same as a float: seconds, after year 9999
    10: (-1.5, "1969-12-31T23:59:58.500000+00:00"),
    12: (0.0000005, "1970-01-01T00:00:00+00:00"),  # half a microsecond: rounded to even
    14: (0.0000015, "1970-01-01T00:00:00.000002+00:00"),
    # The nearest double to 8999999999.999999 is a little below it: .999998 after rounding.
    16: (8999999999.999999, "2255-03-14T15:59:59.999998+00:00"),
    18: (9e9, "2255-03-14T16:00:00+00:00"),  # from here on the row path converts
    20: (99999999999, "5138-11-16T09:46:39+00:00"),
    22: (1e300, "timestamp out of range"),
    24: ("1521911885.5", "2018-03-24T17:18:05.500000+00:00"),  # epoch seconds as a string
}


def test_epoch_times_same_as_row_path_and_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = []
    for n in range(1, 101):
        ts = EPOCH[n][0] if n in EPOCH else 1521911885 + n / 8
        lines.append(_dns(ts=ts))
    path = tmp_path / "epoch.json"
    path.write_text("\n".join(lines) + "\n")
    for reader in (VectorReader, ZeekReader):
        table, q = assert_same(path, reader)
        events = {row["record_id"]: row["time"] for row in table.to_pylist()}
        quarantined = {r.record: r.reason for r in q.records}
        for n, (_, outcome) in EPOCH.items():
            if outcome.startswith("timestamp"):
                assert quarantined[n].startswith(outcome), n
            else:
                assert events[n].isoformat() == outcome, n
        assert events[3].isoformat() == "2018-03-24T17:18:05.375000+00:00"
    # Integers that may be milliseconds, times beyond 9e9 s and strings: the row path's.
    assert row_path_lines(monkeypatch, path, VectorReader) == [6, 8, 18, 20, 22, 24]


def test_good_lines_amid_bad_ones_keep_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A chunk with bad lines is split until they are found (down to pieces of one line here); the
    # other lines stay on the fast path, and so do the special lines it can take: an epoch float,
    # unicode, escapes, missing and extra fields, another log, sensor keys, a null ts, escaped keys.
    calls = row_path_lines(monkeypatch, _special_file(tmp_path), VectorReader)
    assert calls == [n for n in SPECIAL if n not in (19, 21, 23, 25, 27, 51, 55, 61, 63)]


def test_crlf_bom_comments_and_a_truncated_stream(tmp_path: Path) -> None:
    # What the block reader does before the chunks: the same on both paths, and as written here.
    body = "\r\n".join(DNS[:40]) + "\r\n# a comment line\r\n" + "\r\n".join(DNS[40:]) + "\r\n"
    path = tmp_path / "crlf.json"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    table, q = assert_same(path)
    assert len(q) == 0
    assert table["record_id"].to_pylist() == [*range(1, 41), *range(42, len(DNS) + 2)]
    assert table["raw"].to_pylist() == DNS  # without the CR and the byte-order mark
    cut = tmp_path / "cut.json.gz"
    whole = gzip.compress("\n".join(DNS * 40).encode())
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    table, q = assert_same(cut, ZeekReader)
    ((record, offset, field, reason, _),) = bad_rows(q)
    assert reason.startswith("stream broke off") and field is None
    assert table["record_id"].to_pylist() == list(range(1, record))
    assert offset == sum(len(line.encode()) + 1 for line in (DNS * 40)[: record - 1])


def test_a_log_of_unexpected_types_costs_a_bounded_number_of_parses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every line has rcode as a string: each parse fails. The first chunk gives up after
    # json_parse_failures failed parses, the later chunks of the file do not try.
    path = tmp_path / "strings.json"
    path.write_text("\n".join(_dns(rcode=str(n % 3)) for n in range(3 * 256)) + "\n")

    class Chunked(ZeekReader):
        batch_size = 256
        json_parse_failures = 5

    calls: list[int] = []
    original = jsonvec.pajson.read_json

    def counted(*args: Any, **kwargs: Any) -> pa.Table:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(jsonvec.pajson, "read_json", counted)
    table, q = assert_same(path, Chunked)
    assert len(calls) == 5 and len(q) == 0
    assert table["status"].to_pylist() == [BASE["rcode_name"]] * 768 and set(
        table["outcome"].to_pylist()
    ) == {None}


def test_a_log_too_small_to_try_in_one_chunk_is_tried_in_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunk 1: 120 dns lines and 8 kerberos lines (fewer than vector_min_rows: row path); chunk 2:
    # 128 kerberos lines, which take the fast path (the small group did not mark kerberos as slow).
    lines = [DNS[n % len(DNS)] for n in range(120)] + [KERBEROS[n % len(KERBEROS)] for n in range(8 + 128)]
    path = tmp_path / "two.json"
    path.write_text("\n".join(lines) + "\n")

    class Chunked(ZeekReader):
        batch_size = 128

    assert_same(path, Chunked)
    assert row_path_lines(monkeypatch, path, Chunked) == list(range(121, 129))


# --------------------------------------------------------------------------------------------------
# Random lines
# --------------------------------------------------------------------------------------------------

_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=5,
)
_special = st.sampled_from(
    [
        "2018-03-24T17:18:05.713879Z",
        "2018-02-29T00:00:00.000000Z",
        "2016-02-29T23:59:59.999999Z",
        "0001-01-01T00:00:00.000000Z",
        "9999-12-31T23:59:59.999999Z",
        1521911885.713879,
        1521911885713,
        -1.5,
        8999999999.9999995,
        9e9,
        "10.0.0.1",
        "::1",
        "300.1.1.1",
        65535,
        65536,
        -1,
        "",
        "NOERROR",
        "a\\b",
    ]
)
_key = st.sampled_from(
    ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "id", "query", "rcode", "qtype_name",
     "rcode_name", "_system_name", "_node", "x"]
)  # fmt: skip


@st.composite
def _line(draw: st.DrawFn) -> str:
    record = draw(st.dictionaries(_key, _special | _value, max_size=7))
    path = draw(st.sampled_from(["dns", "dns", "kerberos", "weird"]))
    text = json.dumps({"_path": path, **record}, allow_nan=True)  # NaN and huge integers too
    if draw(st.integers(0, 9)) == 0:
        text = text[: draw(st.integers(1, len(text)))]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line(), min_size=1, max_size=40))
def test_random_lines_same_as_row_path(tmp_path_factory: pytest.TempPathFactory, lines: list[str]) -> None:
    path = tmp_path_factory.mktemp("random") / "x.json"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass"))
    table, q = assert_same(path)
    wanted = [n for n, line in enumerate(lines, 1) if line.strip()]
    assert sorted([*table["record_id"].to_pylist(), *(r.record for r in q.records)]) == wanted


def _oracle_groups(lines: list[str], irregular: set[int]) -> dict[str, list[int]]:
    """Line by line in Python: the log a line names at its start and whether '"ts":"' is in its
    first 128 bytes (or anywhere, when some line lacks it there)."""
    import re

    prefix = re.compile(r'^\{"_path":"([A-Za-z0-9_]+)",')
    early = all(b'"ts":"' in line.encode()[:128] for line in lines)
    groups: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        match = prefix.match(line)
        if match is None or i in irregular:
            continue
        iso = b'"ts":"' in (line.encode()[:128] if early else line.encode())
        groups.setdefault(f"{match.group(1)} {'iso' if iso else 'epoch'}", []).append(i)
    return groups


_STARTS = [
    '{"_path":"dns","_write_ts":"2018-03-24T17:15:20.866586Z","ts":"2018-03-24T17:15:20.865716Z","a":1}',
    '{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","a":1}',
    '{"_path":"dns","_write_ts":"' + "x" * 120 + '","ts":"2018-03-24T17:15:20.865716Z"}',
    '{"_path":"dnsx","_write_ts":"2018-03-24T17:15:20.866586Z","ts":"2018-03-24T17:15:20.865716Z","a":1}',
    '{"_path":"dns","_write_ts":"2018-03-24T17:15:20.866586Z","ts":1521911720.865716,"a":1}',
    '{"_path":"dns",}',
    '{"_path":"dns"',
    '{"_path":"dné","ts":"x"}',
    ' {"_path":"dns","ts":"x"}',
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(_STARTS), min_size=1, max_size=30),
    st.sampled_from(_STARTS[:3]),
    st.sets(st.integers(0, 40), max_size=3),
)
def test_line_groups_match_a_line_by_line_reading(some: list[str], first: str, irregular: set[int]) -> None:
    # Mostly one layout (what _uniform looks for), with other lines among them.
    lines = [first, *([first] * 5), *some] if len(some) % 2 else [first] * (len(some) + 1)
    array = pa.array(lines, pa.string())
    skip = sorted(i for i in irregular if i < len(lines))
    expected = _oracle_groups(lines, set(skip))
    assert jsonvec._groups(array, skip) == expected
    uniform = jsonvec._uniform(array)
    if uniform is not None:
        assert _oracle_groups(lines, set()) == {f"{uniform} iso": list(range(len(lines)))}
    if len(set(lines)) == 1 and lines[0] != _STARTS[2]:
        # one layout whose '"ts":"' is within 128 bytes: found without the regex
        assert uniform == "dns"


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=60).map(lambda b: b.translate(bytes(i % 4 + 78 for i in range(256)))),
    st.sampled_from([b"NaN", b"NOP", b"N", b"PQ", b"NaNNaN"]),
)
def test_contains_is_a_substring_search(data: bytes, literal: bytes) -> None:
    # bytes of N, O, P, Q only: many near matches
    assert jsonvec._contains(data, literal) == (literal in data)


_TS = "2018-03-24T17:15:20.865716Z"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet="0123456789-T:.Z /\n:é", min_size=25, max_size=29),
            st.builds(
                lambda i, c: _TS[:i] + c + _TS[i + 1 :],
                st.integers(0, 26),
                st.sampled_from(["0", "9", "a", "-", ":", ".", "T", "Z", "/", "\n", "é", ""]),
            ),
            st.sampled_from(
                [_TS, "0000-01-01T00:00:00.000000Z", "0001-01-01T00:00:00.000000Z", "9999" + _TS[4:]]
            ),
        ),
        max_size=20,
    ),
    st.integers(0, 3),
)
def test_iso_form_matches_the_regex(values: list[str | None], offset: int) -> None:
    # The oracle: Arrow's regex engine on the pattern; the array sliced to test a non-zero offset.
    ts = pa.array([None, *values, _TS, "x", None][:offset] + values, pa.string())[offset:]
    expected = pc.fill_null(pc.match_substring_regex(ts, jsonvec._ISO), False)
    assert jsonvec._iso_form(ts).to_pylist() == expected.to_pylist()
