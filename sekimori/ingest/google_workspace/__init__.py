"""Support for the ``google_workspace`` reader: the record shapes of the Admin SDK Reports API
``activities`` (and their exports) and what one activity event means in the event schema.

``shapes`` turns one parsed record into activities and their events, whatever the export shape;
``mapping`` turns one (activity, event) pair into event columns; ``times`` reads a batch's times.
"""

from __future__ import annotations

from sekimori.ingest.google_workspace.mapping import COLUMNS, event_columns, event_row
from sekimori.ingest.google_workspace.shapes import (
    LIST_KIND,
    Activity,
    ActivityEvent,
    ShapeError,
    activities_of,
    record_shape,
    zoned_time,
)
from sekimori.ingest.google_workspace.times import utc_times

__all__ = [
    "COLUMNS",
    "LIST_KIND",
    "Activity",
    "ActivityEvent",
    "ShapeError",
    "activities_of",
    "event_columns",
    "event_row",
    "record_shape",
    "utc_times",
    "zoned_time",
]
