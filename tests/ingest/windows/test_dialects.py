"""The JSON shapes of a Windows record (sekimori.ingest.windows.dialects)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sekimori.ingest.windows.dialects import DIALECTS

HEADER = ("Security", 4624, "Microsoft-Windows-Security-Auditing", "DC01", 17, "2024-01-02T03:04:05Z")


def test_every_dialect_finds_the_same_header():
    records = {
        "evtx": {
            "Event": {
                "System": {
                    "Channel": "Security",
                    "EventID": {"#text": 4624},
                    "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
                    "Computer": "DC01",
                    "EventRecordID": 17,
                    "TimeCreated": {"#attributes": {"SystemTime": "2024-01-02T03:04:05Z"}},
                },
                "EventData": {"TargetUserName": "alice"},
            }
        },
        "flat": {
            "Channel": "Security",
            "EventID": 4624,
            "SourceName": "Microsoft-Windows-Security-Auditing",
            "Hostname": "DC01",
            "RecordNumber": 17,
            "TimeCreated": "2024-01-02T03:04:05Z",
            "TargetUserName": "alice",
        },
        "beat": {
            "@timestamp": "2024-01-02T03:04:05Z",
            "winlog": {
                "channel": "Security",
                "event_id": 4624,
                "provider_name": "Microsoft-Windows-Security-Auditing",
                "computer_name": "DC01",
                "record_id": 17,
                "event_data": {"TargetUserName": "alice"},
            },
        },
        "beat6": {
            "@timestamp": "2024-01-02T03:04:05Z",
            "log_name": "Security",
            "event_id": 4624,
            "source_name": "Microsoft-Windows-Security-Auditing",
            "computer_name": "DC01",
            "record_number": 17,
            "event_data": {"TargetUserName": "alice"},
        },
    }
    assert set(records) == set(DIALECTS)
    for name, record in records.items():
        dialect = DIALECTS[name]
        system, data = dialect.split(record)
        assert dialect.header(system) == HEADER, name
        assert data["TargetUserName"] == "alice", name


def test_evtx_user_data_stands_in_for_event_data():
    record = {"Event": {"System": {}, "UserData": {"EventXML": {"Param1": "alice"}}}}
    _system, data = DIALECTS["evtx"].split(record)
    assert data == {"Param1": "alice"}


def test_a_record_without_its_shape_splits_into_nothing():
    assert DIALECTS["evtx"].split({"Event": "text"}) == ({}, {})
    assert DIALECTS["beat"].split({"winlog": None}) == ({}, {})


# A flat record's header fields, each missing, "no value" ("-", ""), text, a number or an object.
_GIVEN = st.one_of(st.none(), st.sampled_from(["", "-", "x", "2024-01-02T03:04:05Z", 0, 17, {"a": 1}, [1]]))
_FLAT_KEYS = (
    "Channel",
    "EventID",
    "SourceName",
    "ProviderName",
    "Provider",
    "Hostname",
    "Computer",
    "computer_name",
    "RecordNumber",
    "EventRecordID",
    "TimeCreated",
    "@timestamp",
    "EventTime",
    "UtcTime",
)


def _first_given(record: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = record.get(key)
        if value is not None and value != "" and value != "-":
            return value
    return None


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({}, optional=dict.fromkeys(_FLAT_KEYS, _GIVEN)))
def test_a_flat_header_is_the_first_given_value_of_each_key_list(record: dict[str, Any]) -> None:
    # The Channel and EventID as they are; the others the first value given of their keys, in order.
    expected = (
        record.get("Channel"),
        record.get("EventID"),
        _first_given(record, "SourceName", "ProviderName", "Provider"),
        _first_given(record, "Hostname", "Computer", "computer_name"),
        _first_given(record, "RecordNumber", "EventRecordID"),
        _first_given(record, "TimeCreated", "@timestamp", "EventTime", "UtcTime"),
    )
    system, _ = DIALECTS["flat"].split(record)
    assert DIALECTS["flat"].header(system) == expected
