"""A correlation's alerts do not depend on the order DuckDB meets the matches in.

Logs of one-second resolution give many matches of one group at one time. Before, the fold kept
whichever of the tied first rows the window met first (its uid is in the alert id), a window's evidence
listed tied rows in any order, and a temporal_ordered chain kept any of its tied ends: two detection
runs of one store could give an alert different ids and evidence. The oracle here is the same matches in
other orders and on other thread counts, and, for what is chosen, the order (time, uid) written out.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from sekimori.detect.sigma.correlation import CorrelationPlan, correlation_sql
from sekimori.detect.sigma.engine import MATCH_SCHEMA
from sekimori.detect.sigma.ruleset import Correlation

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _matches() -> list[dict]:
    """Rule 0 and rule 1 matched on channel A, 40 events at each of three seconds, in uid order."""
    rows = []
    for second in (0, 1, 2):
        for n in range(40):
            uid = f"u{second}-{n:02d}"
            rows.append(
                {
                    "rule_index": n % 2,
                    "uid": uid,
                    "time": T0 + timedelta(seconds=second),
                    "source_file": "f.evtx",
                    "record_id": second * 100 + n,
                    "host": "h",
                    "principal": "p",
                    "domain": "d",
                }
            )
    return rows


def _run(kind: str, rules: list[int], rows: list[dict], threads: int) -> list[dict]:
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    events = [
        {
            "uid": r["uid"],
            "source_format": "evtx",
            "raw": "{}",
            "channel": "A",
            "provider": "x",
            "event_code": 1,
        }
        for r in rows
    ]
    con.register("events", pa.Table.from_pylist(events))
    con.register("_sigma_matches", pa.Table.from_pylist(rows, schema=MATCH_SCHEMA))
    condition = {"gte": 3} if kind == "event_count" else {}
    corr = Correlation(
        "c1", "burst", "high", [], "c.yml", kind, ["r"] * len(rules), ["Channel"], "1m", condition
    )
    out = con.sql(correlation_sql(CorrelationPlan(corr, rules), "events")).to_arrow_table().to_pylist()
    con.close()
    return sorted(out, key=lambda a: a["alert_id"])


@pytest.mark.parametrize(
    ("kind", "rules"), [("event_count", [0]), ("temporal", [0, 1]), ("temporal_ordered", [0, 1])]
)
def test_a_correlation_gives_the_same_alerts_whatever_the_order_of_its_matches(kind, rules):
    rows = _matches()
    first = _run(kind, rules, rows, threads=1)
    assert len(first) == 1  # one burst: the three seconds fold into one alert
    uids = [e["uid"] for e in first[0]["evidence"]]
    if kind == "temporal_ordered":
        # the chain from the earliest rule-0 match (u0-00) to the earliest rule-1 match after it
        assert uids == ["u0-00", "u0-01"]
    else:
        # the window of the first match, in (time, uid) order: every match of rule 0 (or of both rules)
        assert uids == sorted(r["uid"] for r in rows if r["rule_index"] in rules)
    for seed in range(12):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert _run(kind, rules, shuffled, threads=1 + seed % 4) == first, f"seed {seed}"
