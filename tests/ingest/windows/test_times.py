"""The event times of a batch (sekimori.ingest.windows.normalize.parse_times)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sekimori.ingest.schema import TIME_TYPE
from sekimori.ingest.windows import parse_times

# Times as records give them (Z, an offset, none, a space and "UTC"), text that is no time, and
# values that are not text.
_VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.123456+02:00",
            "2024-01-02 03:04:05",
            "2024-01-02 03:04:05 UTC",
            "",
            "-",
            "yesterday",
        ]
    ),
    st.sampled_from([0, 1704164645, 2.5, True, {"a": 1}, ["2024-01-02T03:04:05Z"]]),
)


def _one_by_one(value: Any) -> datetime | None:
    """A record's time read on its own: ISO-8601 text (no offset meaning UTC), else none."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" UTC", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@settings(max_examples=300, deadline=None)
@given(st.lists(_VALUES, max_size=12))
def test_a_batch_of_times_is_each_time_read_on_its_own(values: list[Any]) -> None:
    expected = pa.array([_one_by_one(v) for v in values], TIME_TYPE)
    assert parse_times(values).equals(expected)
