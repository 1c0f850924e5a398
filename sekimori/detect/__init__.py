"""Detection: Sigma rules, trust-boundary rules and behavioural analytics, as alerts in one schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.lazy import lazy_exports

if TYPE_CHECKING:
    from sekimori.detect.alerts import SOURCES, Alert, Evidence, alerts_from_table
    from sekimori.detect.base import DEFAULT_MEMORY_LIMIT, DetectContext, DetectProgress
    from sekimori.detect.detectors.behaviour import BehaviourDetector
    from sekimori.detect.detectors.boundary import BoundaryDetector
    from sekimori.detect.detectors.sigma import SigmaDetector
    from sekimori.detect.detectors.tenant import TenantBoundaryDetector

    # For other engines computing the boundary rules' edges from the same SQL (``sekimori.spark``).
    from sekimori.detect.edges import SEGMENT_EDGES_SQL as BOUNDARY_EDGES_SQL
    from sekimori.detect.edges import SEGMENT_PAIRS_SQL as BOUNDARY_PAIRS_SQL
    from sekimori.detect.export import TimelineFormat, timeline
    from sekimori.detect.posture import SigninPosture, TenantPosture, signin_posture
    from sekimori.detect.run import DetectEngine, DetectReport, run_detectors
    from sekimori.detect.segment_tables import SegmentRows

    # For other engines running the same compiled Sigma rules (``sekimori.spark``).
    from sekimori.detect.sigma.backend import RAW_FIELD as SIGMA_RAW_FIELD
    from sekimori.detect.sigma.backend import col as sigma_column
    from sekimori.detect.sigma.correlation import run_correlations as sigma_correlations
    from sekimori.detect.sigma.coverage import SigmaCoverage, sigma_coverage
    from sekimori.detect.sigma.engine import COLUMN_FIELDS as SIGMA_COLUMN_FIELDS
    from sekimori.detect.sigma.engine import MATCH_COLUMNS as SIGMA_MATCH_COLUMNS
    from sekimori.detect.sigma.engine import MATCH_SCHEMA as SIGMA_MATCH_SCHEMA
    from sekimori.detect.sigma.engine import SYSTEM_FIELDS as SIGMA_SYSTEM_FIELDS
    from sekimori.detect.sigma.engine import Group as SigmaGroup
    from sekimori.detect.sigma.engine import filter_sql as sigma_filter_sql
    from sekimori.detect.sigma.engine import groups as sigma_groups
    from sekimori.detect.sigma.placeholders import placeholders_for as sigma_placeholders
    from sekimori.detect.sigma.rules import load_ruleset
    from sekimori.detect.sigma.ruleset import CompiledRule, RuleFailure
    from sekimori.detect.sigma.run import ALERTS_SQL as SIGMA_ALERTS_SQL
    from sekimori.detect.sigma.run import rules_table as sigma_rules_table
    from sekimori.detect.sigma.run import select_rules
    from sekimori.detect.sigma.source import resolve as sigma_source
    from sekimori.detect.signin_segments import SEGMENT_TABLES as TENANT_SEGMENT_TABLES
    from sekimori.detect.watch import watch as watch_store

__all__ = [
    "BOUNDARY_EDGES_SQL",
    "BOUNDARY_PAIRS_SQL",
    "DEFAULT_MEMORY_LIMIT",
    "SIGMA_ALERTS_SQL",
    "SIGMA_COLUMN_FIELDS",
    "SIGMA_MATCH_COLUMNS",
    "SIGMA_MATCH_SCHEMA",
    "SIGMA_RAW_FIELD",
    "SIGMA_SYSTEM_FIELDS",
    "SOURCES",
    "TENANT_SEGMENT_TABLES",
    "Alert",
    "BehaviourDetector",
    "BoundaryDetector",
    "CompiledRule",
    "DetectContext",
    "DetectEngine",
    "DetectProgress",
    "DetectReport",
    "Evidence",
    "RuleFailure",
    "SegmentRows",
    "SigmaCoverage",
    "SigmaDetector",
    "SigmaGroup",
    "SigninPosture",
    "TenantBoundaryDetector",
    "TenantPosture",
    "TimelineFormat",
    "alerts_from_table",
    "load_ruleset",
    "run_detectors",
    "select_rules",
    "sigma_column",
    "sigma_correlations",
    "sigma_coverage",
    "sigma_filter_sql",
    "sigma_groups",
    "sigma_placeholders",
    "sigma_rules_table",
    "sigma_source",
    "signin_posture",
    "timeline",
    "watch_store",
]


# Names other stages use, imported when first asked for (a stage stays light to import).
_LAZY = {
    "DEFAULT_MEMORY_LIMIT": "sekimori.detect.base",
    "DetectProgress": "sekimori.detect.base",
    "DetectContext": "sekimori.detect.base",
    "SOURCES": "sekimori.detect.alerts",
    "Alert": "sekimori.detect.alerts",
    "Evidence": "sekimori.detect.alerts",
    "alerts_from_table": "sekimori.detect.alerts",
    "TimelineFormat": "sekimori.detect.export",
    "timeline": "sekimori.detect.export",
    "SigninPosture": "sekimori.detect.posture",
    "TenantPosture": "sekimori.detect.posture",
    "signin_posture": "sekimori.detect.posture",
    "DetectReport": "sekimori.detect.run",
    "DetectEngine": "sekimori.detect.run",
    "run_detectors": "sekimori.detect.run",
    "SigmaCoverage": "sekimori.detect.sigma.coverage",
    "sigma_coverage": "sekimori.detect.sigma.coverage",
    "watch_store": "sekimori.detect.watch:watch",
    # The compiled Sigma rules and their SQL pieces, for other engines (``sekimori.spark``).
    "load_ruleset": "sekimori.detect.sigma.rules",
    "select_rules": "sekimori.detect.sigma.run",
    "RuleFailure": "sekimori.detect.sigma.ruleset",
    "CompiledRule": "sekimori.detect.sigma.ruleset",
    "SigmaGroup": "sekimori.detect.sigma.engine:Group",
    "SIGMA_ALERTS_SQL": "sekimori.detect.sigma.run:ALERTS_SQL",
    "sigma_rules_table": "sekimori.detect.sigma.run:rules_table",
    "SIGMA_COLUMN_FIELDS": "sekimori.detect.sigma.engine:COLUMN_FIELDS",
    "SIGMA_MATCH_COLUMNS": "sekimori.detect.sigma.engine:MATCH_COLUMNS",
    "SIGMA_MATCH_SCHEMA": "sekimori.detect.sigma.engine:MATCH_SCHEMA",
    "SIGMA_SYSTEM_FIELDS": "sekimori.detect.sigma.engine:SYSTEM_FIELDS",
    "sigma_filter_sql": "sekimori.detect.sigma.engine:filter_sql",
    "sigma_groups": "sekimori.detect.sigma.engine:groups",
    "SIGMA_RAW_FIELD": "sekimori.detect.sigma.backend:RAW_FIELD",
    "sigma_column": "sekimori.detect.sigma.backend:col",
    "sigma_placeholders": "sekimori.detect.sigma.placeholders:placeholders_for",
    "sigma_source": "sekimori.detect.sigma.source:resolve",
    "sigma_correlations": "sekimori.detect.sigma.correlation:run_correlations",
    # The boundary rules' edges, for other engines (``sekimori.spark``).
    "BoundaryDetector": "sekimori.detect.detectors.boundary",
    "BehaviourDetector": "sekimori.detect.detectors.behaviour",
    "SigmaDetector": "sekimori.detect.detectors.sigma",
    "TenantBoundaryDetector": "sekimori.detect.detectors.tenant",
    "TENANT_SEGMENT_TABLES": "sekimori.detect.signin_segments:SEGMENT_TABLES",
    "BOUNDARY_EDGES_SQL": "sekimori.detect.edges:SEGMENT_EDGES_SQL",
    "BOUNDARY_PAIRS_SQL": "sekimori.detect.edges:SEGMENT_PAIRS_SQL",
    "SegmentRows": "sekimori.detect.segment_tables",
}


__getattr__ = lazy_exports(__name__, _LAZY)
