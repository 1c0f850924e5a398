"""The demo's story, told by the stages: logs into a store, detection, the contractor's attack paths, a
case, the seed case's reports, and the group's governance (its register's findings, an access review and
the group posture). ``run_demo`` returns every part as a typed result (and hands each to ``show`` as soon
as it is ready, so a face can print as the story goes); it never raises for a part that cannot be
produced: that part is a :class:`PartFailed` with its reason in one line, and the rest goes on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sekimori.demo.governance import GovernanceStory, governance_story
from sekimori.demo.parts import (
    DEMO_REPORTS_AS_OF,
    CaseStory,
    GraphStory,
    StoreOverviewRow,
    build_demo_store,
    demo_case,
    demo_model,
    demo_model_path,
    detect,
    graph_story,
    overview,
    seed_reports,
)
from sekimori.detect import Alert, DetectReport, alerts_from_table
from sekimori.model import GroupModel
from sekimori.report import Produced
from sekimori.store import IngestReport

# Alerts a person reads first: boundary crossings, then behaviour, then Sigma; by time within each.
SOURCE_ORDER = {"boundary": 0, "behaviour": 1, "sigma": 2}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class StoredLogs:
    """The bundled logs read into the store, and what the store now holds."""

    store_dir: Path
    ingest: IngestReport
    overview: list[StoreOverviewRow]


@dataclass
class Detected:
    """Every detector over the store with the demo's group model."""

    model: GroupModel
    model_file: str
    report: DetectReport
    alerts: list[Alert]  # boundary crossings first, then by time

    def counts(self) -> dict[str, int]:
        """Alerts per detector that ran."""
        return {run.name: run.alerts for run in self.report.runs if not run.skipped}


@dataclass
class ReportsStory:
    """The seed case's reports with their deadlines as of ``as_of``, and its public progress page."""

    output: Path
    as_of: datetime
    produced: list[Produced]

    @property
    def progress_page(self) -> Path | None:
        pages = [f for p in self.produced if p.kind == "progress_page" for f in p.files]
        return Path(pages[0]) if pages else None


@dataclass
class PartFailed:
    """A part of the story that could not be produced, and why (one line)."""

    name: str
    reason: str


DemoPart = StoredLogs | Detected | GraphStory | CaseStory | ReportsStory | GovernanceStory | PartFailed
PartT = TypeVar("PartT", GraphStory, CaseStory, ReportsStory, GovernanceStory)


@dataclass
class DemoRun:
    """Everything the demo found."""

    store_dir: Path
    logs: StoredLogs
    detected: Detected
    graph: GraphStory | None = None
    case: CaseStory | None = None
    reports: ReportsStory | None = None
    governance: GovernanceStory | None = None
    failed: list[PartFailed] = field(default_factory=list)


def run_demo(store_dir: Path, show: Callable[[DemoPart], None] | None = None) -> DemoRun:
    """Build the demo store in ``store_dir`` (a second run adds nothing), detect, and tell the story;
    each part goes to ``show`` when it is ready."""
    tell = show or (lambda _part: None)
    store, ingested = build_demo_store(store_dir)
    logs = StoredLogs(store_dir, ingested, overview(store))
    tell(logs)
    model = demo_model()
    report = detect(store, model)
    alerts = alerts_from_table(report.alerts)
    alerts.sort(key=lambda a: (SOURCE_ORDER.get(a.source or "", 3), a.time is None, a.time or EPOCH))
    detected = Detected(model, demo_model_path().name, report, alerts)
    tell(detected)
    run = DemoRun(store_dir, logs, detected)
    picture = store_dir / "attack-paths.svg"
    run.graph = _part("attack paths", lambda: graph_story(store, model, picture), run, tell)
    run.case = _part("case", lambda: demo_case(store, model, store_dir / "cases.db"), run, tell)
    run.reports = _part("reports", lambda: _reports(store_dir / "reports"), run, tell)
    register = store_dir / "register.db"
    run.governance = _part("governance", lambda: governance_story(store, model, register), run, tell)
    return run


def _reports(output: Path) -> ReportsStory:
    return ReportsStory(output, DEMO_REPORTS_AS_OF, seed_reports(output))


def _part(
    name: str, make: Callable[[], PartT], run: DemoRun, tell: Callable[[DemoPart], None]
) -> PartT | None:
    """One part of the story; what it cannot produce is named in one line and the rest goes on."""
    try:
        part = make()
    except Exception as exc:  # the demo must end in a sentence, never a traceback
        reason = (str(exc).strip().splitlines() or [""])[0][:300]
        failed = PartFailed(name, f"{type(exc).__name__}: {reason}")
        run.failed.append(failed)
        tell(failed)
        return None
    tell(part)
    return part


__all__ = ["DemoPart", "DemoRun", "Detected", "PartFailed", "ReportsStory", "StoredLogs", "run_demo"]
