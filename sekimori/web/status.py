"""What the overview says about the store: the ingest (segments, files, events, quarantined records, files
that failed, the last commit) and the detection (when the alerts were last written, and what was ingested
since: segments, events). Read from the store's manifests and table files, once per version of the store
(:func:`sekimori.store.store_version`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sekimori.store import Store


@dataclass(frozen=True)
class StoreStatus:
    segments: int
    files: int
    events: int
    quarantined: int
    failed_files: int  # paths whose latest read failed or stopped part way
    last_ingest: datetime | None  # when the newest segment was committed
    last_detection: datetime | None  # when the alerts were last written (None: never)
    pending_segments: int  # segments committed after the alerts were written
    pending_events: int


_KEPT: dict[str, tuple[Any, StoreStatus]] = {}
_LOCK = threading.Lock()


def store_status(store: Store) -> StoreStatus:
    from sekimori.store import store_version

    version = store_version(store)
    key = str(store.root)
    with _LOCK:
        found = _KEPT.get(key)
        if found is not None and found[0] == version:
            return found[1]
    manifests = store.manifests()
    stats = store.stats()
    alerts = store.tables().get("alerts")
    written = alerts.stat().st_mtime if alerts is not None and alerts.exists() else None
    created = [float(m.get("created") or 0.0) for m in manifests]
    pending = [m for m, c in zip(manifests, created, strict=True) if written is None or c > written]
    status = StoreStatus(
        segments=len(manifests),
        files=len(stats["files"]),
        events=int(stats["events"]),
        quarantined=int(stats["quarantined"]),
        failed_files=sum(1 for f in stats["files"] if f.get("status") in ("failed", "partial")),
        last_ingest=datetime.fromtimestamp(max(created), UTC) if created else None,
        last_detection=datetime.fromtimestamp(written, UTC) if written is not None else None,
        pending_segments=len(pending),
        pending_events=sum(int(f.get("events") or 0) for m in pending for f in m["files"]),
    )
    with _LOCK:
        _KEPT[key] = (version, status)
    return status
