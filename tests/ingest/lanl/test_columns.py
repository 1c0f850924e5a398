"""LANL fields computed column-wise (sekimori.ingest.lanl.columns)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pytest

from sekimori.ingest.lanl.columns import (
    DEFAULT_EPOCH,
    EPOCH_ENV,
    Column,
    epoch_microseconds,
    event_times,
    parse_epoch,
    parse_seconds,
    raw_json,
)


def test_the_epoch_comes_from_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(EPOCH_ENV, raising=False)
    assert parse_epoch(None) == DEFAULT_EPOCH
    monkeypatch.setenv(EPOCH_ENV, "2015-01-01")
    assert parse_epoch(None) == datetime(2015, 1, 1, tzinfo=UTC)
    assert parse_epoch("2015-01-01T09:00:00+09:00") == datetime(2015, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match=EPOCH_ENV):
        parse_epoch("yesterday")


def test_seconds_out_of_range_or_not_whole_are_flagged():
    epoch = epoch_microseconds(datetime(2015, 1, 1, tzinfo=UTC))
    seconds, bad = parse_seconds(pa.array(["1", "60"]), epoch)
    assert seconds.to_pylist() == [1, 60] and bad is None
    seconds, bad = parse_seconds(pa.array(["1", "x", "-5", "9" * 13]), epoch)
    assert bad is not None and bad.to_pylist() == [False, True, True, True]
    assert event_times(pa.array([60], pa.int64()), epoch).to_pylist() == [
        datetime(2015, 1, 1, 0, 1, tzinfo=UTC)
    ]


def test_a_column_splits_users_and_blanks_unknowns_per_distinct_value():
    users = Column(pa.array(["U1@DOM1", "U1@DOM1", "ANONYMOUS LOGON@C586", "SYSTEM", "@x"]))
    principal, domain = users.split_user()
    assert principal.to_pylist() == ["U1", "U1", "ANONYMOUS LOGON", "SYSTEM", None]
    assert domain.to_pylist() == ["DOM1", "DOM1", "C586", None, "x"]
    hosts = Column(pa.array(["C1", "?", "", "C1"]))
    assert hosts.expand(hosts.known()).to_pylist() == ["C1", None, None, "C1"]
    kinds = Column(pa.array(["Network", "Odd"]))
    assert kinds.lookup({"Network": 3}, pa.int16()).to_pylist() == [3, None]


def test_raw_is_json_also_for_values_that_need_escapes():
    cols = [Column(pa.array(["plain", 'quo"te'])), Column(pa.array(["a\\b", "c"]))]
    raw = raw_json(("time", "user", "host"), pa.array([1, 2], pa.int64()), cols).to_pylist()
    assert [orjson.loads(r) for r in raw] == [
        {"time": 1, "user": "plain", "host": "a\\b"},
        {"time": 2, "user": 'quo"te', "host": "c"},
    ]
