"""Alerts as timelines other tools read: Hayabusa-style CSV/JSONL and Timesketch JSONL.

One timeline row per (alert, evidence event), joined with the event in the store for its channel,
event id and record id; all in SQL.
"""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa

from sekimori.store import Store


class TimelineFormat(StrEnum):
    hayabusa_csv = "hayabusa-csv"
    hayabusa_jsonl = "hayabusa-jsonl"
    timesketch = "timesketch"


_LEVEL_ABBREV = (
    "CASE t.level WHEN 'critical' THEN 'crit' WHEN 'high' THEN 'high' WHEN 'medium' THEN 'med' "
    "WHEN 'low' THEN 'low' ELSE 'info' END"
)

_ROWS = """
WITH ev AS (
    SELECT a.alert_id, a.rule_id, a.title, a.source, a.level, a.attack, a.description, a.account,
           a.organisations, unnest(a.evidence) AS e
    FROM alerts a
)
SELECT ev.*, x.time, x.host, x.channel, x.event_code, x.record_id, x.source_file
FROM ev LEFT JOIN events x ON x.uid = ev.e.uid
"""
# Total: one event is evidence of several alerts, and two files have the same record numbers; a row's
# place in the file must not depend on the order DuckDB's threads gave the ties.
_ORDER = "t.time, t.record_id, t.source_file, t.e.uid, t.alert_id"


def timeline(store: Store, fmt: TimelineFormat) -> pa.Table:
    """The timeline rows, ordered by event time."""
    if "alerts" not in store.tables():
        raise FileNotFoundError(f"{store.root}: no alerts yet (run `sekimori detect` first)")
    if fmt is TimelineFormat.timesketch:
        # Timesketch needs message, datetime and timestamp_desc; other columns become attributes.
        query = f"""
            SELECT strftime(t.time, '%Y-%m-%dT%H:%M:%S.%fZ') AS datetime,
                   'Event Recorded' AS timestamp_desc,
                   '[' || t.level || '] ' || t.title || coalesce(' — ' || t.description, '') AS message,
                   t.rule_id, t.source AS detector, t.level, t.attack AS mitre_attack, t.host AS computer,
                   t.channel, t.event_code AS event_id, t.record_id, t.source_file, t.account,
                   t.organisations, t.alert_id, 'sekimori' AS data_type
            FROM ({_ROWS}) t ORDER BY {_ORDER}
        """
    else:
        query = f"""
            SELECT strftime(t.time, '%Y-%m-%d %H:%M:%S.%f +00:00') AS "Timestamp", t.host AS "Computer",
                   t.channel AS "Channel", t.event_code AS "EventID", {_LEVEL_ABBREV} AS "Level",
                   t.record_id AS "RecordID", t.title AS "RuleTitle", t.description AS "Details",
                   array_to_string(t.attack, ' ') AS "MitreTags", t.source AS "Detector",
                   t.rule_id AS "RuleID", t.source_file AS "EvtxFile"
            FROM ({_ROWS}) t ORDER BY {_ORDER}
        """
    return store.sql(query)
