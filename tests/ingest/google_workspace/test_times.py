"""A batch of activity times read in one Arrow cast, and the rows it refuses found without a cast per row:
against a cast of each time alone (what Arrow says of that time), on generated times and on the real
sample's, and through the reader, whose quarantine must name exactly the activities whose time is bad."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sekimori.ingest.base import Quarantine
from sekimori.ingest.google_workspace import utc_times, zoned_time
from sekimori.ingest.readers.google_workspace import GoogleWorkspaceReader
from sekimori.ingest.schema import EVENT_SCHEMA, TIME_TYPE
from sekimori.ingest.source import expand
from tests.conftest import corpus

SAMPLE = ("identity-cloud", "google-workspace", "panther_gsuite_activityevent.jsonl")
NS_UTC = pa.timestamp("ns", tz="UTC")


def _alone(times: list[str | None]) -> tuple[list[datetime | None], set[int]]:
    """The oracle: each time cast by itself (None where Arrow refuses it), and the rows refused."""
    values: list[datetime | None] = []
    bad: set[int] = set()
    for i, text in enumerate(times):
        try:
            one = pa.array([text], pa.string()).cast(NS_UTC)
        except (pa.ArrowException, ValueError, OverflowError):
            values.append(None)
            bad.add(i)
        else:
            values.append(one.cast(TIME_TYPE, safe=False)[0].as_py())
    return values, bad


GOOD = st.datetimes(min_value=datetime(1678, 1, 1), max_value=datetime(2261, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC).isoformat()
)
ODD = st.sampled_from(
    ["2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "1600-01-01T00:00:00Z", "2300-01-01T00:00:00Z",
     "garbage", "", "2024-01-01T25:00:00Z", "2024-01-01 00:00:00.123456789Z", "99999-01-01T00:00:00Z"]
)  # fmt: skip
TIMES = st.lists(st.one_of(GOOD, ODD, st.none()), max_size=300)


@settings(max_examples=200, deadline=None)
@given(TIMES)
def test_refused_rows_are_those_arrow_refuses_alone(times: list[str | None]) -> None:
    parsed, bad = utc_times(times)
    values, refused = _alone(times)
    assert bad == refused
    assert parsed.type == TIME_TYPE
    assert parsed.to_pylist() == values


def test_real_sample_times_with_bad_ones_spread_over_a_batch() -> None:
    docs = [json.loads(line) for line in corpus(*SAMPLE).read_text().splitlines() if line.strip()]
    idents = [d["id"] for d in docs if isinstance(d.get("id"), dict)]
    real = [zoned_time(ident["time"]) for ident in idents if ident.get("time")]
    assert len(real) > 50
    times: list[str | None] = real * 40
    spoilt = {3, 700, 701, 2048, len(times) - 1}
    for i in spoilt:
        times[i] = "2022-13-45 99:99:99Z"
    parsed, bad = utc_times(times)
    assert bad == spoilt
    # the good ones as Python reads them (Panther's nine-digit fractions cut to microseconds)
    expected = [
        None if i in spoilt else datetime.fromisoformat(t[:26].rstrip("Z")).replace(tzinfo=UTC)
        for i, t in enumerate(times)
        if t is not None
    ]
    assert parsed.to_pylist() == expected


class _SmallBatches(GoogleWorkspaceReader):
    batch_size = 40  # several batches, some with bad times and some without


def _read(path: Path) -> tuple[pa.Table, Quarantine]:
    (src,) = expand(str(path))
    q = Quarantine(src)
    return pa.Table.from_batches(list(_SmallBatches().read(src, q)), schema=EVENT_SCHEMA), q


def test_reader_quarantines_exactly_the_activities_with_a_bad_time(tmp_path: Path) -> None:
    docs = [json.loads(line) for line in corpus(*SAMPLE).read_text().splitlines() if line.strip()]
    clean, q_clean = _read(corpus(*SAMPLE))
    kept = clean["record_id"].to_pylist()
    timed = [n for n in kept if docs[n - 1]["id"].get("time")]
    spoilt = set(timed[::9])
    assert len(spoilt) > 5
    for n in spoilt:
        docs[n - 1]["id"]["time"] = f"2022-12-{40 + n % 50} 10:00:00"  # no such day
    path = tmp_path / "spoilt.jsonl"
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
    table, q = _read(path)
    told = [r for r in q.records if "RFC 3339" in r.reason]
    assert sorted(r.record or 0 for r in told) == sorted(spoilt)  # one row per activity
    assert {r.field for r in told} == {"id.time"}
    assert len(q.records) == len(q_clean.records) + len(spoilt)
    # every other event as it is read from the file left whole, raw aside (the spoilt file is re-written)
    rest = clean.filter(pa.array([n not in spoilt for n in kept]))
    assert table.drop_columns(["raw"]).equals(rest.drop_columns(["raw"]))
