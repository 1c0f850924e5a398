"""``sekimori demo``: a store built from the logs bundled in the package, and what sekimori finds in it.

The logs are real (see ``data/logs/ATTRIBUTION.md``); the group model is an invented example modelled
on the 2023 incident chain (contractor PC → affiliate → shared authentication → parent systems).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from sekimori.detect.run import DetectReport, run_detectors
from sekimori.model import GroupModel, load_model
from sekimori.store import IngestReport, Store

DATA = resources.files("sekimori.demo") / "data"


def demo_logs() -> list[str]:
    folder = Path(str(DATA / "logs"))
    return sorted(str(p) for p in folder.iterdir() if p.suffix in (".evtx", ".log", ".csv", ".json", ".gz"))


def demo_model_path() -> Path:
    return Path(str(DATA / "group.yaml"))


def demo_model() -> GroupModel:
    return load_model(demo_model_path())


def build_demo_store(store_dir: Path) -> tuple[Store, IngestReport]:
    store = Store(store_dir)
    return store, store.ingest(demo_logs())


def overview(store: Store) -> list[dict[str, Any]]:
    """Events per category and host: what the store holds."""
    return store.sql(
        """
        SELECT category, host, count(*) AS events, min(time) AS first, max(time) AS last
        FROM events GROUP BY ALL ORDER BY category, events DESC
        """
    ).to_pylist()


def detect(store: Store, model: GroupModel) -> DetectReport:
    """Every detector over the demo store (the boundary rules need the model); alerts kept in the store."""
    return run_detectors(store, model)
