"""``sekimori demo``: a store built from the logs bundled in the package, and what sekimori finds in it.

The logs are real (see ``data/logs/ATTRIBUTION.md``); the group model is an invented example modelled
on the 2023 incident chain (contractor PC → affiliate → shared authentication → parent systems).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
class Separation:
    """One what-if of the demo: its blast radius before and after, and, when people are still exposed,
    the easiest path that remains (what the change alone leaves open)."""

    result: WhatIf
    still: AttackPath | None


@dataclass
class GraphStory:
    paths: list[AttackPath]
    blast: BlastRadius
    choke: ChokeReport
    separation: WhatIf  # both changes together
    picture: Path
    separations: list[Separation] = field(default_factory=list)  # each change alone, then together


def graph_story(store: Store, model: GroupModel, picture: Path) -> GraphStory:
    """From the contractor's PC: the attack paths, the blast radius, the choke points of the contractor,
    and the blast radius once the shared realm is separated, once the affiliate's flows are blocked, and
    once both are (with the path each change alone leaves open); drawn to ``picture``."""
    from sekimori.graph.draw import draw
    from sekimori.graph.views import paths_view

    graph = graph_from_store(store, model)
    blast = blast_radius(graph, DEMO_ENTRY)
    paths = attack_paths(graph, DEMO_ENTRY, k=6)
    choke = choke_points(graph, "org:contractor-kr")
    separations = []
    for changes in [[c] for c in DEMO_SEPARATION] + [list(DEMO_SEPARATION)]:
        result = what_if(graph, DEMO_ENTRY, changes)
        still = (
            None
            if result.after.is_zero
            else next(iter(attack_paths(graph, DEMO_ENTRY, k=1, changes=changes)), None)
        )
        separations.append(Separation(result, still))
    draw(paths_view(graph, blast, paths), picture)
    return GraphStory(
        paths=paths,
        blast=blast,
        choke=choke,
        separation=separations[-1].result,
        picture=picture,
        separations=separations,
    )


@dataclass
class CaseStory:
    case_id: str
    title: str
    scope: Any  # sekimori.respond.scope.Scope
    timeline: Any  # sekimori.respond.timeline.Timeline
    plan: list[dict[str, Any]]


def demo_case(store: Store, model: GroupModel, database: Path, actor: str = "demo-analyst") -> CaseStory:
    """A case opened from the demo's boundary alerts (the first group: the contractor's chain), scoped
    through the store, with its timeline and the containment plan as a dry-run. Opened once per
    database: a second run shows the same case."""
    from sekimori.cli_respond import case_timeline, dry_run
    from sekimori.respond.cases import CaseStore, group_alerts
    from sekimori.respond.playbook import propose_containment
    from sekimori.respond.principals import Principal
    from sekimori.respond.scope import scope_from_alerts

    who = Principal("demo", actor, actor)  # the demo's own analyst, not a login
    alerts = store.sql("SELECT * FROM alerts WHERE source = 'boundary' ORDER BY time").to_pylist()
    group = next(g for g in group_alerts(alerts) if any(a["src_host"] for a in g))
    with CaseStore(f"sqlite:///{database}") as cases:
        existing = cases.list_cases()
        case = (
            existing[0]
            if existing
            else cases.open_case("Contractor PC → affiliate → shared domain → parent", group, who)
        )
        scope = scope_from_alerts(store, group, model)
        if not existing:
            cases.set_scope(case.id, scope.to_dict(), who)
        timeline = case_timeline(cases, case.id)
    plan = [
        {"action": p.action.to_dict(), "connector": p.connector, **dry_run(p)}
        for p in propose_containment(scope, model)
    ]
    return CaseStory(case.id, case.title, scope, timeline, plan)


# The seed case's reports are judged as of three days after the company learned of the leak (2023-10-27).
DEMO_REPORTS_AS_OF = datetime(2023, 10, 30, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def seed_facts_path() -> Path:
    return Path(str(DATA / "seed-case.yaml"))


def seed_reports(output: Path) -> list[Any]:
    """The seed case's reports (every kind due, ja and en, HTML/PDF/JSON) and progress page in ``output``."""
    from sekimori.report import load_facts, produce_reports

    return produce_reports(load_facts(seed_facts_path()), output, now=DEMO_REPORTS_AS_OF)
