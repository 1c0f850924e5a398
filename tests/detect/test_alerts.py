"""The typed alert and the Arrow alert schema say the same thing: one field per column, in order."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from sekimori.detect import Alert, Evidence, alerts_from_table
from sekimori.detect.alerts import ALERT_SCHEMA, conform

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_alert_has_the_schema_fields_in_order() -> None:
    assert [f.name for f in fields(Alert)] == ALERT_SCHEMA.names
    assert [f.name for f in fields(Evidence)] == [
        f.name for f in ALERT_SCHEMA.field("evidence").type.value_type
    ]


def test_alerts_from_a_table_round_trip_through_rows() -> None:
    row = {
        "alert_id": "a1",
        "rule_id": "boundary.x",
        "title": "crossing",
        "source": "boundary",
        "level": "high",
        "attack": ["T1078"],
        "time": T0,
        "last_time": T0 + timedelta(minutes=5),
        "account": "admin01",
        "src_host": "PC02",
        "organisations": ["contractor-kr", "affiliate-kr"],
        "evidence": [{"path": "Security.evtx", "record_id": 7, "uid": "u1"}],
    }
    table = conform(pa.Table.from_pylist([row]))
    (alert,) = alerts_from_table(table)
    assert alert.alert_id == "a1" and alert.score == 0.8  # derived from the level
    assert alert.organisations == ("contractor-kr", "affiliate-kr") and alert.attack == ("T1078",)
    assert alert.evidence == (Evidence("Security.evtx", 7, "u1"),)
    assert alert.time == T0 and alert.time.tzinfo is not None
    assert alert.host is None and alert.details is None
    assert Alert.from_row(alert.to_row()) == alert
    assert pa.Table.from_pylist([alert.to_row()], schema=ALERT_SCHEMA).equals(table)


def test_times_are_aware_utc_from_text_or_naive_datetimes() -> None:
    assert Alert.from_row({"alert_id": "a", "time": "2026-03-02T09:00:00Z"}).time == T0
    assert Alert.from_row({"alert_id": "a", "time": datetime(2026, 3, 2, 9, 0)}).time == T0
    tokyo = datetime(2026, 3, 2, 18, 0, tzinfo=timezone(timedelta(hours=9)))
    assert Alert.from_row({"alert_id": "a", "time": tokyo}).time == T0
    assert Alert.from_row({"alert_id": "a", "time": None}).time is None
    with pytest.raises(ValueError, match="not a datetime"):
        Alert.from_row({"alert_id": "a", "time": 12})
    with pytest.raises(ValueError, match="without alert_id"):
        Alert.from_row({"title": "x"})
