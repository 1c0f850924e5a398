"""Record shapes and typed parameters of Workspace activities, expectations from the vendor references."""

from __future__ import annotations

import pytest

from sekimori.ingest.google_workspace import ShapeError, activities_of, record_shape, zoned_time
from sekimori.ingest.google_workspace.shapes import parameters

API = {
    "kind": "admin#reports#activity",
    "id": {"time": "2024-01-02T03:04:05.678Z", "applicationName": "login", "customerId": "C1"},
    "actor": {"callerType": "KEY", "key": "SYSTEM"},
    "events": [{"type": "login", "name": "logout"}],
}


@pytest.mark.parametrize(
    ("doc", "shape"),
    [
        (API, "api"),
        ({"kind": "admin#reports#activities", "items": [API]}, "list"),
        ({"items": [API], "nextPageToken": "t"}, "list"),
        ({"id": {"applicationName": "drive"}, "name": "view", "type": "access"}, "flat"),
        ({"kind": "admin#reports#activity", "name": "view"}, "flat"),
        (
            {"protoPayload": {"serviceName": "login.googleapis.com", "metadata": {"event": []}}},
            "cloud_logging",
        ),
        (
            {"jsonPayload": {"@type": "type.googleapis.com/ccc_hosted_reporting.ActivityProto", "event": []}},
            "cloud_logging",
        ),
        ({"protoPayload": {"serviceName": "storage.googleapis.com", "metadata": {}}}, None),
        ({"id": "a string id", "name": "x"}, None),  # e.g. a Graph sign-in: id is not an object
        ({"eventType": "user.session.start"}, None),
        ([API], None),
    ],
)
def test_record_shape(doc, shape):
    assert record_shape(doc) == shape


def test_typed_parameters_become_a_map():
    # Reports API names (value, intValue as text, boolValue, multiValue, multiIntValue, messageValue)
    given = [
        {"name": "a", "value": "x"},
        {"name": "b", "intValue": "42"},
        {"name": "c", "boolValue": False},
        {"name": "d", "multiValue": ["p", "q"]},
        {"name": "e", "multiIntValue": ["1", "2"]},
        {"name": "f", "messageValue": {"parameter": [{"name": "g", "value": "h"}]}},
        {"name": "i", "multiStrValue": ["r"], "type": "TYPE_STRING", "label": "LABEL_REPEATED"},
        {"name": "j"},
    ]
    assert parameters(given, "p") == {
        "a": "x",
        "b": "42",
        "c": False,
        "d": ["p", "q"],
        "e": ["1", "2"],
        "f": {"parameter": [{"name": "g", "value": "h"}]},
        "i": ["r"],
        "j": None,
    }
    assert parameters({"already": "a map"}, "p") == {"already": "a map"}
    assert parameters(None, "p") == {}
    with pytest.raises(ShapeError) as err:
        parameters([{"value": "no name"}], "events[0].parameters")
    assert err.value.field == "events[0].parameters"


def test_an_api_activity_with_a_key_actor():
    (activity,) = activities_of(API)
    assert (activity.time, activity.application, activity.customer) == (
        "2024-01-02T03:04:05.678Z",
        "login",
        "C1",
    )
    assert (activity.email, activity.key, activity.caller_type) == (None, "SYSTEM", "KEY")
    assert [(e.type, e.name, e.parameters) for e in activity.events] == [("login", "logout", {})]


def test_event_status_of_the_reports_api_and_of_activity_proto():
    failed = dict(API, events=[{"name": "x", "status": {"eventStatus": "FAILED", "httpStatusCode": 403}}])
    warned = dict(API, events=[{"name": "x", "status": {"eventStatus": "SUCCEEDED_WITH_WARNINGS"}}])
    skipped = dict(API, events=[{"name": "x", "status": {"eventStatus": "SKIPPED", "errorCode": "E1"}}])
    assert [(e.success, e.error) for e in activities_of(failed)[0].events] == [(False, "403")]
    assert [(e.success, e.error) for e in activities_of(warned)[0].events] == [(True, None)]
    assert [(e.success, e.error) for e in activities_of(skipped)[0].events] == [(None, "E1")]


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"id": {"applicationName": "login"}, "events": "x"}, "events"),
        ({"id": {"applicationName": "login"}, "events": [1]}, "events[0]"),
        ({"id": {"applicationName": "login"}, "events": [{"type": "login"}]}, "events[0].name"),
        ({"id": {"applicationName": "login"}, "type": "login"}, "name"),
        ({"p_log_type": "GSuite.ActivityEvent"}, "id"),
        (
            {
                "protoPayload": {
                    "serviceName": "admin.googleapis.com",
                    "metadata": {"event": [{"eventType": "T"}]},
                }
            },
            "protoPayload.metadata.event[0].eventName",
        ),
    ],
)
def test_malformed_activities_name_the_field(doc, field):
    with pytest.raises(ShapeError) as err:
        activities_of(doc)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("given", "zoned"),
    [
        ("2020-09-07T15:50:49.617Z", "2020-09-07T15:50:49.617Z"),
        ("2022-12-11 02:57:48.693000000", "2022-12-11 02:57:48.693000000Z"),  # Panther: UTC, no zone
        ("2024-01-02T12:00:00+09:00", "2024-01-02T12:00:00+09:00"),
        ("2024-01-02T12:00:00-05:00", "2024-01-02T12:00:00-05:00"),
        (None, None),
    ],
)
def test_zoned_time(given, zoned):
    assert zoned_time(given) == zoned
