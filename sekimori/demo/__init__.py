"""``sekimori demo``: a store built from the logs bundled in the package, and what sekimori finds in it.

The logs are real (see ``data/logs/ATTRIBUTION.md``); the group model is an invented example modelled
on the 2023 incident chain (contractor PC → affiliate → shared authentication → parent systems).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sekimori.detect.run import DetectReport, run_detectors
from sekimori.graph import (
    AttackPath,
    BlastRadius,
    ChokeReport,
    WhatIf,
    attack_paths,
    blast_radius,
    choke_points,
    graph_from_store,
    what_if,
)
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


# The entry of the seed incident: the contractor's PC; and the separation the regulators demanded.
DEMO_ENTRY = "host:PC02"
DEMO_SEPARATION = ("separate realm example-ad", "block flows affiliate-kr -> parent")


@dataclass
class GraphStory:
    paths: list[AttackPath]
    blast: BlastRadius
    choke: ChokeReport
    separation: WhatIf
    picture: Path


def graph_story(store: Store, model: GroupModel, picture: Path) -> GraphStory:
    """From the contractor's PC: the attack paths, the blast radius, the choke points of the contractor,
    and the blast radius once the shared realm and the affiliate's flows are separated; drawn to
    ``picture``."""
    from sekimori.graph.draw import draw
    from sekimori.graph.views import paths_view

    graph = graph_from_store(store, model)
    blast = blast_radius(graph, DEMO_ENTRY)
    paths = attack_paths(graph, DEMO_ENTRY, k=6)
    choke = choke_points(graph, "org:contractor-kr")
    separation = what_if(graph, DEMO_ENTRY, list(DEMO_SEPARATION))
    draw(paths_view(graph, blast, paths), picture)
    return GraphStory(paths=paths, blast=blast, choke=choke, separation=separation, picture=picture)
