"""Detection: Sigma rules, trust-boundary rules and behavioural analytics, as alerts in one schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.lazy import lazy_exports

if TYPE_CHECKING:
    from sekimori.detect.alerts import SOURCES, Alert, Evidence, alerts_from_table
    from sekimori.detect.export import TimelineFormat, timeline
    from sekimori.detect.posture import SigninPosture, TenantPosture, signin_posture
    from sekimori.detect.run import DetectReport, run_detectors
    from sekimori.detect.sigma.coverage import SigmaCoverage, sigma_coverage
    from sekimori.detect.watch import watch as watch_store

__all__ = [
    "SOURCES",
    "Alert",
    "DetectReport",
    "Evidence",
    "SigmaCoverage",
    "SigninPosture",
    "TenantPosture",
    "TimelineFormat",
    "alerts_from_table",
    "run_detectors",
    "sigma_coverage",
    "signin_posture",
    "timeline",
    "watch_store",
]


# Names other stages use, imported when first asked for (a stage stays light to import).
_LAZY = {
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
    "run_detectors": "sekimori.detect.run",
    "SigmaCoverage": "sekimori.detect.sigma.coverage",
    "sigma_coverage": "sekimori.detect.sigma.coverage",
    "watch_store": "sekimori.detect.watch:watch",
}


__getattr__ = lazy_exports(__name__, _LAZY)
