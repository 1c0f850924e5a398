"""The alert listing and the timelines are in one order whatever the order of the stored alerts.

One event is the evidence of several alerts, all at its time: before, the listing ordered by time only
and the timelines by (time, record), so alerts and rows tied there came out in whatever order DuckDB
met them. The oracle is the order written out in Python, and the same alerts stored in other orders.
"""

from __future__ import annotations

import json
import random

import pyarrow as pa
from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.detect.alerts import ALERT_SCHEMA
from sekimori.detect.export import TimelineFormat, timeline
from sekimori.store import Store
from tests.conftest import DATA

runner = CliRunner()


def _alerts(events: list[dict]) -> list[dict]:
    """40 alerts on each of the first events, every alert at its event's time."""
    return [
        {
            "alert_id": f"a{n:03d}-{e['record_id']}",
            "rule_id": f"rule-{n % 7}",
            "title": "t",
            "source": "sigma",
            "level": "high",
            "time": e["time"],
            "evidence": [{"path": e["source_file"], "record_id": e["record_id"], "uid": e["uid"]}],
        }
        for e in events
        for n in range(40)
    ]


def test_the_listing_and_the_timelines_put_tied_alerts_in_one_order(tmp_path):
    store = Store(tmp_path / "store")
    store.ingest([str(DATA / "evtx" / "LM_ScheduledTask_ATSVC_target_host.evtx")])
    events = store.sql("SELECT time, record_id, source_file, uid FROM events ORDER BY time, uid LIMIT 3")
    alerts = _alerts(events.to_pylist())
    outputs = []
    for seed in range(5):
        random.Random(seed).shuffle(alerts)
        store.put_table("alerts", pa.Table.from_pylist(alerts, schema=ALERT_SCHEMA))
        listed = runner.invoke(app, ["alerts", "--store", str(store.root), "--format", "jsonl"])
        assert listed.exit_code == 0, listed.output
        ids = [json.loads(line)["alert_id"] for line in listed.stdout.splitlines()]
        assert ids == [a["alert_id"] for a in sorted(alerts, key=lambda a: (a["time"], a["alert_id"]))]
        rows = timeline(store, TimelineFormat.timesketch).to_pylist()
        key = [(r["datetime"], r["record_id"], r["source_file"], r["alert_id"]) for r in rows]
        assert key == sorted(key) and len(key) == len(alerts)
        outputs.append(timeline(store, TimelineFormat.hayabusa_csv).to_pylist())
    assert all(o == outputs[0] for o in outputs)
