"""``sekimori query --days … --source …``: ``events`` holds exactly the events of those UTC days and log
sources. The oracle reads every events file of the store with pyarrow and filters in Python (days from
``datetime``), sharing nothing with the view's SQL or the file index."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.store import Store
from tests.conftest import DATA

runner = CliRunner()
INPUTS = [
    DATA / "syslog" / "loghub-linux.log",
    DATA / "lanl" / "redteam_head.txt.gz",
    *sorted((DATA / "evtx").glob("*.evtx")),
]


def _all_events(store: Store) -> list[dict]:
    rows = []
    for path in store.event_files():
        rows += pq.read_table(path, columns=["uid", "time", "source_format"]).to_pylist()
    return rows


def _day(t: dt.datetime | None) -> dt.date | None:
    return None if t is None else t.astimezone(dt.UTC).date()


def _wanted(e: dict, sources: set[str] | None, window: tuple[dt.date, dt.date] | None) -> bool:
    if sources is not None and e["source_format"] not in sources:
        return False
    day = _day(e["time"])
    return window is None or (day is not None and window[0] <= day <= window[1])


def test_days_and_sources_narrow_events_exactly(tmp_path):
    root = tmp_path / "store"
    store = Store(root)
    store.ingest([str(p) for p in INPUTS], workers=1)
    everything = _all_events(store)
    days = sorted({_day(e["time"]) for e in everything if e["source_format"] == "syslog" and e["time"]})
    assert len(days) > 4
    first, last = days[1], days[3]
    cases: list[tuple[list[str], set[str] | None, tuple[dt.date, dt.date] | None]] = [
        ([f"--days={first}..{last}", "--source", "syslog"], {"syslog"}, (first, last)),
        ([f"--days={first}"], None, (first, first)),
        (["--source", "syslog", "--source", "evtx"], {"syslog", "evtx"}, None),
    ]
    for options, sources, window in cases:
        expected = sorted(e["uid"] for e in everything if _wanted(e, sources, window))
        assert 0 < len(expected) < len(everything), options
        result = runner.invoke(
            app,
            ["query", "--store", str(root), "-f", "jsonl", *options, "SELECT uid FROM events ORDER BY uid"],
        )
        assert result.exit_code == 0, result.output
        got = [json.loads(line)["uid"] for line in result.output.splitlines()]
        assert got == expected, options


def test_a_bad_day_range_is_refused_naming_the_value(tmp_path):
    root = tmp_path / "store"
    Store(root).ingest([str(INPUTS[0])], workers=1)
    for value, reason in [("2024-13-01", "is not a day"), ("2024-03-05..2024-03-01", "before the first")]:
        result = runner.invoke(app, ["query", "--store", str(root), f"--days={value}", "SELECT 1"])
        assert result.exit_code == 2
        text = " ".join(result.output.split())
        assert value in text and reason in text, text
