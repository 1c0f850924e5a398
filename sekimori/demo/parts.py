"""The demo's parts: the bundled logs and group model, the store built from them, and each part of the
story (detection, the graph, a case, the seed case's reports) as a typed result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sekimori.detect import DetectReport, run_detectors
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

if TYPE_CHECKING:
    from sekimori.report import Produced
    from sekimori.respond import Scope, Timeline

DATA = resources.files("sekimori.demo") / "data"  # the package data of sekimori.demo


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


@dataclass(frozen=True)
class StoreOverviewRow:
    """Events of one category on one host, and the period they cover (UTC)."""

    category: str
    host: str | None
    events: int
    first: datetime | None
    last: datetime | None


def overview(store: Store) -> list[StoreOverviewRow]:
    """Events per category and host: what the store holds."""
    rows = store.sql(
        """
        SELECT category, host, count(*) AS events, min(time) AS first, max(time) AS last
        FROM events GROUP BY ALL ORDER BY category, events DESC, host
        """
    ).to_pylist()
    return [StoreOverviewRow(**row) for row in rows]


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
    from sekimori.graph import draw_graph, paths_view

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
    draw_graph(paths_view(graph, blast, paths), picture)
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
    scope: Scope
    timeline: Timeline
    plan: list[dict[str, Any]]
    database: Path


def demo_case(store: Store, model: GroupModel, database: Path, actor: str = "demo-analyst") -> CaseStory:
    """A case opened from the demo's boundary alerts (the first group: the contractor's chain), scoped
    through the store, with its timeline and the containment plan as a dry-run. Opened once per
    database: a second run shows the same case."""
    from sekimori.detect import alerts_from_table
    from sekimori.respond import (
        CaseStore,
        Principal,
        case_timeline,
        dry_run_plan,
        group_alerts,
        scope_from_alerts,
    )

    who = Principal("demo", actor, actor)  # the demo's own analyst, not a login
    alerts = alerts_from_table(
        store.sql("SELECT * FROM alerts WHERE source = 'boundary' ORDER BY time, alert_id")
    )
    group = next(g for g in group_alerts(alerts) if any(a.src_host for a in g))
    with CaseStore(f"sqlite:///{database}") as cases:
        existing = cases.list_cases()
        case = (
            existing[0]
            if existing
            else cases.open_case("Contractor PC → affiliate → shared domain → parent", group, who)
        )
        scope = scope_from_alerts(store, group, model)
        if not existing:
            cases.set_scope(case.id, scope, who)
        timeline = case_timeline(cases, case.id)
    plan = [step.to_dict() for step in dry_run_plan(scope, model)]
    return CaseStory(case.id, case.title, scope, timeline, plan, database)


# The seed case's reports are judged as of three days after the company learned of the leak (2023-10-27).
DEMO_REPORTS_AS_OF = datetime(2023, 10, 30, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def seed_facts_path() -> Path:
    return Path(str(DATA / "seed-case.yaml"))


def seed_reports(output: Path) -> list[Produced]:
    """The seed case's reports (every kind due, ja and en, HTML/PDF/JSON) and progress page in ``output``."""
    from sekimori.report import load_facts, produce_reports

    return produce_reports(load_facts(seed_facts_path()), output, now=DEMO_REPORTS_AS_OF)
