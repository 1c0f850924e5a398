"""PostgreSQL log time stamps (sekimori.ingest.pgaudit.times)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sekimori.ingest.pgaudit.entries import EntryError
from sekimori.ingest.pgaudit.times import parse_time


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-05-01 10:00:00 UTC", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00:00.5 GMT", datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2024-05-01 19:00:00 JST", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 19:00:00 +09", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 06:30:00 -0330", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 12:00:00 Europe/Berlin", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ],
)
def test_zones_are_read_into_utc(text: str, utc: datetime):
    assert parse_time(text) == utc


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2024-05-01 10:00:00 XYZT", "unknown time zone abbreviation"),
        ("2024-13-01 10:00:00 UTC", "date or time out of range"),
        ("yesterday", "not a PostgreSQL log time stamp"),
    ],
)
def test_a_time_that_cannot_be_read_names_the_timestamp(text: str, reason: str):
    with pytest.raises(EntryError) as err:
        parse_time(text)
    assert err.value.field == "timestamp" and err.value.reason == reason
