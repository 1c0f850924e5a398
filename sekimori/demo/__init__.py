"""``sekimori demo``: a store built from the logs bundled in the package, and what sekimori finds in it.

The logs are real (see ``data/logs/ATTRIBUTION.md``); the group model is an invented example modelled
on the 2023 incident chain (contractor PC → affiliate → shared authentication → parent systems).
``run_demo`` tells the whole story and returns what it found; the command line prints it.
"""

from __future__ import annotations

from sekimori.demo.governance import (
    DEMO_GOVERN_AS_OF,
    DEMO_REVIEW,
    GovernanceStory,
    ProposedRevocation,
    demo_register_path,
    governance_story,
)
from sekimori.demo.parts import (
    DEMO_ENTRY,
    DEMO_REPORTS_AS_OF,
    DEMO_SEPARATION,
    CaseStory,
    GraphStory,
    Separation,
    StoreOverviewRow,
    build_demo_store,
    demo_case,
    demo_logs,
    demo_model,
    demo_model_path,
    detect,
    graph_story,
    overview,
    seed_facts_path,
    seed_reports,
)
from sekimori.demo.story import (
    DemoPart,
    DemoRun,
    Detected,
    PartFailed,
    ReportsStory,
    StoredLogs,
    run_demo,
)

__all__ = [
    "DEMO_ENTRY",
    "DEMO_GOVERN_AS_OF",
    "DEMO_REPORTS_AS_OF",
    "DEMO_REVIEW",
    "DEMO_SEPARATION",
    "CaseStory",
    "DemoPart",
    "DemoRun",
    "Detected",
    "GovernanceStory",
    "GraphStory",
    "PartFailed",
    "ProposedRevocation",
    "ReportsStory",
    "Separation",
    "StoreOverviewRow",
    "StoredLogs",
    "build_demo_store",
    "demo_case",
    "demo_logs",
    "demo_model",
    "demo_model_path",
    "demo_register_path",
    "detect",
    "governance_story",
    "graph_story",
    "overview",
    "run_demo",
    "seed_facts_path",
    "seed_reports",
]
