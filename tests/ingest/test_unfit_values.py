"""Values that do not fit their column cost their record only, named in the quarantine: a fuzz test of
Windows JSON exports (evtx_dump JSON lines and NXLog-style flat records) through the store, and the
conversion helpers on their own."""

import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sekimori.ingest.base import Quarantine
from sekimori.ingest.rows import BatchBuilder
from sekimori.ingest.schema import make_batch
from sekimori.ingest.source import Source
from sekimori.store import Store

# Good values and what the event holds for them.
GOOD_TIMES = {
    "2019-03-18T11:27:00.438449Z": datetime(2019, 3, 18, 11, 27, 0, 438449, tzinfo=UTC),
    "2021-01-01T08:00:00+09:00": datetime(2020, 12, 31, 23, 0, tzinfo=UTC),
    "9999-12-31T23:59:59Z": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    "0001-01-01T00:00:00Z": datetime(1, 1, 1, tzinfo=UTC),
}
GOOD_PORTS = {"445": 445, 0: 0, 65535: 65535, "-": None}
GOOD_PIDS = {"0x1a4": 420, 4: 4, 2**63 - 1: 2**63 - 1}
GOOD_USERS = {"alice": "alice", "CORP\\bob": "bob", "": None}

# (field in the record, bad value, the column the quarantine names)
BAD = [
    *(
        ("EventRecordID", v, "record_id")
        for v in (2**63, 2**64 - 1, -1, -(2**63) - 1, 10**20, "abc", {"x": 1}, [1], True, 1.5)
    ),
    *(
        ("time", v, "time")
        for v in (
            "2023-02-30T00:00:00Z",  # no such day
            "2019-03-18T25:00:00Z",
            "yesterday",
            1552908420,
            {"a": 1},
            None,
            "9999-12-31T23:59:59-05:00",  # after year 9999 in UTC
            "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        )
    ),
    *(("EventID", v, "EventID") for v in ("abc", 70000, -1, {"a": 1}, None, True, 4624.5)),
    *(("IpPort", v, "src_port") for v in (70000, -1, "abc", [1], 2**64 - 1, {"a": 1}, 44.5)),
    *(("ProcessId", v, "process_id") for v in (2**64 - 1, "zz", {"a": 1}, False)),
    *(("LogonType", v, "logon_type") for v in (40000, "x", [3])),
    ("Channel", {"a": 1}, "Channel"),
    ("Computer", ["pc"], "Computer"),
    ("IpPort", float("nan"), None),  # NaN is not JSON: the line is quarantined as such
]


def record(dialect, rid, time, event_id, port, pid, logon_type, user):
    data = {"TargetUserName": user, "IpPort": port, "ProcessId": pid, "LogonType": logon_type}
    if dialect == "evtx":  # evtx_dump -o jsonl
        system = {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
            "EventID": event_id,
            "TimeCreated": {"#attributes": {"SystemTime": time}},
            "EventRecordID": rid,
            "Channel": "Security",
            "Computer": "dc1.corp.example",
        }
        return {"Event": {"System": system, "EventData": data}}
    flat = {"EventID": event_id, "@timestamp": time, "EventRecordID": rid, "Channel": "Security"}
    return {**flat, "Hostname": "dc1.corp.example", **data}


def good_args():
    return st.tuples(
        st.integers(0, 2**63 - 1),
        st.sampled_from(sorted(GOOD_TIMES)),
        st.sampled_from(list(GOOD_PORTS)),
        st.sampled_from(list(GOOD_PIDS)),
        st.integers(0, 11),
        st.sampled_from(list(GOOD_USERS)),
    )


def build(dialect, item):
    """(JSON line, expected event or None, expected quarantine field or "good")."""
    if item[0] == "good":
        rid, time, port, pid, logon_type, user = item[1]
        doc = record(dialect, rid, time, 4624, port, pid, logon_type, user)
        event = (
            rid,
            GOOD_TIMES[time],
            "4624",
            GOOD_PORTS[port],
            GOOD_PIDS[pid],
            logon_type,
            GOOD_USERS[user],
        )
        return json.dumps(doc), event, "good"
    _, (field, value, column), rid = item
    args = {"rid": rid, "time": "2019-03-18T11:27:00Z", "event_id": 4624, "port": "445", "pid": 4}
    args |= {"logon_type": 3, "user": "alice"}
    key = {"EventRecordID": "rid", "EventID": "event_id", "IpPort": "port", "ProcessId": "pid"}
    key |= {"LogonType": "logon_type", "time": "time"}
    if field in key:
        args[key[field]] = value
    doc = record(dialect, **args)
    if field == "Channel":
        (doc["Event"]["System"] if dialect == "evtx" else doc)["Channel"] = value
    if field == "Computer":
        if dialect == "evtx":
            doc["Event"]["System"]["Computer"] = value
        else:
            doc["Hostname"] = value
    return json.dumps(doc), None, column


items = st.lists(
    st.one_of(
        st.tuples(st.just("good"), good_args()),
        st.tuples(st.just("bad"), st.sampled_from(BAD), st.integers(0, 10**6)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["evtx", "flat"]), items), min_size=1, max_size=3))
def test_bad_values_are_quarantined_by_file_record_and_field_and_the_rest_is_stored(files):
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"
        logs.mkdir()
        want_events, want_quarantine, per_file = [], [], {}
        for n, (dialect, records) in enumerate(files):
            path = str(logs / f"{n:02d}-{dialect}.jsonl")
            # a good first line (the reader is chosen by content), a different one in each file
            lines = [build(dialect, ("good", (n, "2019-03-18T11:27:00.438449Z", 0, 4, 3, "alice")))]
            lines += [build(dialect, item) for item in records]
            Path(path).write_text("\n".join(text for text, _, _ in lines) + "\n")
            for lineno, (_, event, column) in enumerate(lines, start=1):
                if column == "good":
                    want_events.append((path, *event))
                else:
                    want_quarantine.append((path, lineno, column))
            per_file[path] = len(lines)

        store = Store(Path(tmp) / "store")
        report = store.ingest([str(logs)])

        for result in report.files:
            assert result.status == "ingested", result
            assert result.events + result.quarantined == per_file[result.path]
        got = store.sql(
            "SELECT source_file, record_id, time, event_code, src_port, process_id, logon_type, principal"
            " FROM events"
        ).to_pylist()
        assert sorted((tuple(r.values()) for r in got), key=_key) == sorted(want_events, key=_key)
        rows = store.sql("SELECT source_file, record, field, reason FROM quarantine").to_pylist()
        got_quarantine = [(r["source_file"], r["record"], r["field"]) for r in rows]
        assert sorted(got_quarantine, key=_key) == sorted(want_quarantine, key=_key)
        for r in rows:
            assert r["reason"] if r["field"] is not None else r["reason"].startswith("not JSON")
        assert report.events + report.quarantined == sum(per_file.values())


def _key(row):
    return tuple((x is None, str(x.astimezone(UTC)) if isinstance(x, datetime) else str(x)) for x in row)


def _zone(minutes):
    return timezone(timedelta(minutes=minutes))


def test_make_batch_names_every_row_whose_value_does_not_fit():
    from sekimori.ingest.fit import UnfitValues  # here: the other tests also run on trees without it

    with pytest.raises(UnfitValues) as caught:
        make_batch(
            {
                "record_id": [1, 2**63, 3, -(2**63) - 1],
                "process_id": ["12", 5, 6, 7],
                "time": [datetime(2020, 1, 1, tzinfo=UTC)] * 2
                + [datetime(9999, 12, 31, 23, tzinfo=_zone(-60)), datetime(2020, 1, 1, tzinfo=UTC)],
            }
        )
    assert {row: column for row, (column, _) in caught.value.rows.items()} == {
        0: "process_id",
        1: "record_id",
        2: "time",
        3: "record_id",
    }
    assert caught.value.rows[2][1] == "10000-01-01 00:00:00.000000Z is outside the years 1-9999 (UTC)"
    assert "9223372036854775808" in caught.value.rows[1][1]


def test_the_batch_builder_quarantines_unfit_rows_and_keeps_the_rest():
    quarantine = Quarantine(Source("auth.log", Path("auth.log")))
    builder = BatchBuilder(16, quarantine)
    builder.add(record_id=1, process_id=10, raw="one")
    builder.add(record_id=2, process_id=2**64, raw="two")
    builder.add(record_id=3, src_port="ssh", raw="three")
    builder.add(record_id=4, time=datetime(10000 - 1, 12, 31, 23, tzinfo=_zone(-120)), raw="four")
    builder.add(record_id=2**63, raw="five")
    batch = builder.flush()
    assert batch is not None and batch.column("record_id").to_pylist() == [1]
    assert [(b.record, b.field, b.excerpt) for b in quarantine.records] == [
        (2, "process_id", "two"),
        (3, "src_port", "three"),
        (4, "time", "four"),
        (None, "record_id", "five"),  # the id itself is the bad value: the reason carries it
    ]
    assert "9223372036854775808" in quarantine.records[3].reason


def test_a_record_number_beyond_int64_is_kept_in_the_reason():
    quarantine = Quarantine(Source("x.evtx", Path("x.evtx")))
    quarantine.add("cannot parse", record=2**64 - 1, offset=-(2**63) - 1, field="time")
    (bad,) = quarantine.records
    assert (bad.record, bad.offset, bad.field) == (None, None, "time")
    assert bad.reason == (
        "cannot parse (record number 18446744073709551615 does not fit int64)"
        " (offset -9223372036854775809 does not fit int64)"
    )
    table = pa.Table.from_pylist([{"record": bad.record, "offset": bad.offset}])
    assert table.num_rows == 1


_EDGES = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2020, 1, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
@pytest.mark.parametrize(
    "micros",
    [[], [None], [0], [-1], [1], [0, None, 2], [-(10**6)], [10**6], [-(10**6), 10**6], [None, 10**6 + 1]],
)
def test_the_one_min_max_check_of_times_finds_what_the_value_by_value_check_found(monkeypatch, unit, micros):
    """Times one tick inside and outside the years 1-9999 (µs offsets from the first two edges, in each
    unit): ``column_array`` keeps or names the same rows as with the comparison of every value."""
    from sekimori.ingest import fit

    typ = pa.timestamp(unit, tz="UTC")
    tick = {"s": 10**6, "ms": 10**3, "us": 1}[unit]
    base = [pa.scalar(t, typ).value for t in _EDGES]
    values = [
        None if m is None else base[i % 2] + (m // tick or (1 if m > 0 else -1 if m < 0 else 0))
        for i, m in enumerate(micros)
    ] + [base[2]]
    arr = pa.array(values, pa.int64()).cast(typ)

    def outcome():
        try:
            return fit.column_array("time", arr, typ).equals(arr)
        except fit.UnfitValues as exc:
            return exc.rows

    new = outcome()
    monkeypatch.setattr(fit, "_within_years", lambda arr, typ: False)
    assert new == outcome()
