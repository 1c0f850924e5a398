"""What a boundary alert shows of its findings is the earliest finding's, whatever order the findings
come in: two findings of one alert (the same rule, account, source and target, seen on two logging hosts
with two source names), the expected fields written out by hand."""

from __future__ import annotations

import json

import duckdb
import pytest

from sekimori.detect.detectors.boundary import _ALERTS_SQL

FINDINGS = [
    # edge, first time, host, source shown, reason, the source's organisation, zone
    (1, "2024-03-01 10:00:00+00", "dc-b", "WS1.corp", "reason of the later finding", "ctr", "ctr-b"),
    (2, "2024-03-01 09:00:00+00", "dc-a", "ws1", "reason of the earlier finding", "aff", "ctr-a"),
]


def _alerts(order: list[int], threads: int) -> list[dict]:
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET TimeZone = 'UTC'")
    rows = [FINDINGS[i] for i in order]
    values = ", ".join(
        f"({edge}, TIMESTAMPTZ '{t}', '{host}', '{shown}', '{reason}', '{org}', '{zone}')"
        for edge, t, host, shown, reason, org, zone in rows
    )
    con.execute(
        f"""CREATE TEMP TABLE _findings AS
        SELECT 'boundary.x' AS rule_id, edge, false AS escalate, first_time, first_time AS last_time, host,
               'alice' AS principal, 'CORP' AS domain, shown AS src_host_shown, '10.0.0.5' AS src_ip,
               'srv1' AS target_shown, 'parent' AS account_org, org AS source_org, 'parent' AS target_org,
               reason, 3 AS events, 'corp' AS account_realm, ['g1'] AS grants, zone AS source_zone,
               'parent-net' AS target_zone, 'ws1' AS source, 'srv1' AS target
        FROM (VALUES {values}) v(edge, first_time, host, shown, reason, org, zone)"""
    )
    con.execute(
        "CREATE TEMP TABLE _rules AS SELECT 'boundary.x' AS rule_id, 'X' AS title, 'high' AS level, "
        "['T1078'] AS attack"
    )
    con.execute(
        """CREATE TEMP TABLE _evidence AS SELECT 'boundary.x' AS rule_id, edge, 'f.evtx' AS source_file,
        edge * 10 AS record_id, 'u' || edge AS uid, TIMESTAMPTZ '2024-03-01 12:00:00+00' AS time
        FROM (VALUES (1), (2)) v(edge)"""
    )
    return con.sql(_ALERTS_SQL).to_arrow_table().to_pylist()


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
@pytest.mark.parametrize("threads", [1, 4])
def test_an_alert_shows_its_earliest_finding(order, threads):
    (alert,) = _alerts(order, threads)
    assert (alert["host"], alert["src_host"], alert["description"]) == (
        "dc-a",
        "ws1",
        "reason of the earlier finding",
    )
    assert sorted(alert["organisations"]) == ["aff", "parent"]  # not ctr: the later finding's source
    details = json.loads(alert["details"])
    assert (details["source_org"], details["source_zone"], details["events"]) == ("aff", "ctr-a", 6)
    assert [e["uid"] for e in alert["evidence"]] == ["u2", "u1"]  # the earliest finding's events first
    assert str(alert["time"]).startswith("2024-03-01 09:00")
