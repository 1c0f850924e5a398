"""Near real time: watch folders, ingest new and growing files in micro-batches, detect, report delays.

Each tick scans the folders, ingests the files that are new or changed (a file that grew is read from
where the store left it: see ``Store.ingest``), runs the detectors and reports the alerts it had not
seen before, each with its delay: from the moment its newest evidence landed on disk (the file's
modification time) to the moment the alert exists. A tick reads the events of the segments it added,
not the store: Sigma judges only those segments (``sigma/incremental.py``: the alerts of a full run);
the boundary and behaviour rules group each new segment's events once and judge the groups of every
segment (``edges.py``, ``behaviour/segments.py``), so their baselines still span the whole store.
Alerts are identified by stable ids, so a tick reports only what is new.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sekimori.detect.run import run_detectors
from sekimori.model import GroupModel
from sekimori.store import Store, iter_input_files


@dataclass
class WatchTick:
    """What one micro-batch did."""

    started: float  # epoch seconds
    files: list[str] = field(default_factory=list)
    events: int = 0
    quarantined: int = 0
    new_alerts: list[dict[str, Any]] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)  # seconds, one per new alert
    seconds: float = 0.0


def _scan(paths: Iterable[str]) -> dict[str, tuple[int, float]]:
    state: dict[str, tuple[int, float]] = {}
    for path in iter_input_files(paths):
        try:
            st = os.stat(path)
        except OSError:
            continue  # vanished between listing and stat (rotation): next tick sees the new file
        state[path] = (st.st_size, st.st_mtime)
    return state


def watch(
    store: Store,
    paths: list[str],
    model: GroupModel | None = None,
    *,
    interval: float = 2.0,
    only: list[str] | None = None,
    config: dict[str, Any] | None = None,
    max_ticks: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[WatchTick]:
    """Yield one ``WatchTick`` per micro-batch that ingested something (and the first one)."""
    for path in paths:
        if not Path(path).exists():
            raise FileNotFoundError(path)
    seen: dict[str, tuple[int, float]] = {}
    ticks = 0
    while True:
        started = time.time()
        current = _scan(paths)
        changed = [p for p, stat in current.items() if seen.get(p) != stat]
        seen = current
        if changed or ticks == 0:
            tick = WatchTick(started, files=changed)
            with store.writer("watch"):  # one tick is one writer; others may write between ticks
                ingested = store.ingest(changed) if changed else None
                if ingested is not None:
                    tick.events, tick.quarantined = ingested.events, ingested.quarantined
                if ticks == 0 or tick.events:
                    report = run_detectors(store, model, only=only, config=config)
                    now = time.time()
                    for alert in report.new_alerts.to_pylist():
                        landed = [
                            current[e["path"]][1] for e in alert["evidence"] or [] if e["path"] in current
                        ]
                        tick.new_alerts.append(alert)
                        tick.delays.append(now - max(landed) if landed else float("nan"))
            tick.seconds = time.time() - started
            yield tick
        ticks += 1
        if (max_ticks is not None and ticks >= max_ticks) or (should_stop is not None and should_stop()):
            return
        time.sleep(max(0.0, interval - (time.time() - started)))
