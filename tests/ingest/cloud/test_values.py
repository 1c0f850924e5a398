"""Times, accounts and addresses as the cloud audit logs write them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sekimori.ingest.cloud.values import parse_time, split_account, text
from sekimori.ingest.fit import BadValue


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("2022-03-22T14:21:53.225Z", datetime(2022, 3, 22, 14, 21, 53, 225000, tzinfo=UTC)),
        ("2022-03-22 14:21:53.225", datetime(2022, 3, 22, 14, 21, 53, 225000, tzinfo=UTC)),
        ("2020-11-25 21:27:03.496000000", datetime(2020, 11, 25, 21, 27, 3, 496000, tzinfo=UTC)),
        ("2021-08-02T13:32:07.0000000Z", datetime(2021, 8, 2, 13, 32, 7, tzinfo=UTC)),
        ("2015-06-29T20:03:19", datetime(2015, 6, 29, 20, 3, 19, tzinfo=UTC)),
        ("2024-01-01T09:00:00+09:00", datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)),
    ],
)
def test_times(value, want):
    assert parse_time(value, "published") == want


@pytest.mark.parametrize("value", [None, "", "redacted", "8/2/2021 1:32:07 PM", 1700000000])
def test_bad_times_name_their_field(value):
    with pytest.raises(BadValue) as err:
        parse_time(value, "CreationTime")
    assert err.value.field == "CreationTime"


def test_accounts():
    assert split_account("ann@Example.COM") == ("ann", "example.com")
    assert split_account("CONTOSO\\ann") == ("ann", "CONTOSO")
    assert split_account("admin") == ("admin", None)
    assert split_account("unknown") == (None, None)
    assert split_account(None) == (None, None)
    assert text("  x ") == "x" and text({"a": 1}) is None and text("null") is None
