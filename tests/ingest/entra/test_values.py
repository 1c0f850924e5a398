"""Value parsing of the Entra reader: times, error codes, enum spellings, UPNs, JSON-string columns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sekimori.ingest.entra.values import (
    as_obj,
    enum_value,
    error_code,
    inner_object,
    keyed,
    nested,
    parse_time,
    split_upn,
)
from sekimori.ingest.fit import BadValue


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-06-30T16:34:32Z", datetime(2021, 6, 30, 16, 34, 32, tzinfo=UTC)),  # Graph
        ("2023-07-26 22:58:30.983201900", datetime(2023, 7, 26, 22, 58, 30, 983201, tzinfo=UTC)),  # 9 digits
        ("2019-03-12T16:02:15.5522137+00:00", datetime(2019, 3, 12, 16, 2, 15, 552213, tzinfo=UTC)),
        ("2024-01-01T09:00:00+09:00", datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)),
        ("2024-01-01T00:30:00-0130", datetime(2024, 1, 1, 2, 0, 0, tzinfo=UTC)),
        ("7/23/2024, 3:19:52 PM", datetime(2024, 7, 23, 15, 19, 52, tzinfo=UTC)),
        ("7/23/2024, 12:05:00 AM", datetime(2024, 7, 23, 0, 5, 0, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text, "createdDateTime") == expected


@pytest.mark.parametrize("text", [None, "", "yesterday", "2024-02-30T00:00:00Z", "2024-01-01T25:00:00Z"])
def test_parse_time_rejects(text: str | None) -> None:
    with pytest.raises(BadValue) as err:
        parse_time(text, "createdDateTime")
    assert err.value.field == "createdDateTime"


def test_error_code() -> None:
    assert [error_code(v, "f") for v in (0, "0", 50126, "50126", 7000215.0, None, "")] == [
        0,
        0,
        50126,
        50126,
        7000215,
        None,
        None,
    ]
    for bad in ("Success", True, 1.5, "12a"):
        with pytest.raises(BadValue):
            error_code(bad, "status.errorCode")


def test_enum_value_folds_display_forms() -> None:
    assert enum_value("Not Applied") == "notApplied"
    assert enum_value("B2B collaboration") == "b2bCollaboration"
    assert enum_value("B2B direct connect") == "b2bDirectConnect"
    assert enum_value("None") == "none" and enum_value("Success") == "success"
    assert enum_value("notApplied") == "notApplied" and enum_value("b2bCollaboration") == "b2bCollaboration"
    assert enum_value(None) is None


def test_split_upn() -> None:
    assert split_upn("alice@contoso.com") == ("alice", "contoso.com")
    assert split_upn("first.last@sub.example.org") == ("first.last", "sub.example.org")
    assert split_upn("Unknown") == ("Unknown", None)
    assert split_upn(None) == (None, None)


def test_json_strings_are_parsed_and_keys_folded() -> None:
    assert keyed({"errorCode": 0, "FailureReason": "x"}) == {"errorcode": 0, "failurereason": "x"}
    assert as_obj("[1, 2]") == [1, 2] and as_obj("plain") == "plain" and keyed("plain") == {}
    with pytest.raises(BadValue) as err:
        nested({"status": '{"errorCode": 0'}, "status")
    assert err.value.field == "status"


def test_inner_objects_parse_only_what_can_be_an_object() -> None:
    assert inner_object('{"UserPrincipalName": "a@b"}', "initiatedBy.user") == {"userprincipalname": "a@b"}
    assert inner_object({"Id": 1}, "initiatedBy.user") == {"id": 1}
    for not_an_object in ("[2001:db8::1]:443", "[1, 2]", "alice", 5, None):
        assert inner_object(not_an_object, "initiatedBy.user") == {}
    with pytest.raises(BadValue) as err:
        inner_object('  {"broken": ', "targetResources[2]")
    assert err.value.field == "targetResources[2]"
