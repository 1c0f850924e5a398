"""Breach reporting: affected people counted exactly, every report due (APPI/PPC, MIC, GDPR, SEC, notices)
with its deadline, in Japanese and English, as HTML, PDF and JSON; recurrence-prevention measures and the
public progress page. Report kinds are plugins (:class:`ReportKind`, one module per jurisdiction in
``sekimori/report/kinds/``), each deciding from the facts whether it is due."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.lazy import lazy_exports
from sekimori.report.document import Document
from sekimori.report.facts import AffectedCount, IncidentFacts, Measure, Text, TimelineEntry, load_facts
from sekimori.report.kind import ReportKind, applicable, build, report_kinds
from sekimori.report.produce import Produced, produce_reports

if TYPE_CHECKING:
    from sekimori.report.affected import affected_from_store
    from sekimori.report.facts import facts_from_case
    from sekimori.report.measures import MeasureBook
    from sekimori.report.progress import build_progress_page
    from sekimori.report.render import RenderError, find_japanese_font, render_html, render_pdf

__all__ = [
    "AffectedCount",
    "Document",
    "IncidentFacts",
    "Measure",
    "MeasureBook",
    "Produced",
    "RenderError",
    "ReportKind",
    "Text",
    "TimelineEntry",
    "affected_from_store",
    "applicable",
    "build",
    "build_progress_page",
    "facts_from_case",
    "find_japanese_font",
    "load_facts",
    "produce_reports",
    "render_html",
    "render_pdf",
    "report_kinds",
]


# Names other stages use, imported when first asked for (a stage stays light to import).
_LAZY = {
    "affected_from_store": "sekimori.report.affected",
    "facts_from_case": "sekimori.report.facts",
    "MeasureBook": "sekimori.report.measures",
    "build_progress_page": "sekimori.report.progress",
    "RenderError": "sekimori.report.render",
    "render_html": "sekimori.report.render",
    "find_japanese_font": "sekimori.report.render",
    "render_pdf": "sekimori.report.render",
}


__getattr__ = lazy_exports(__name__, _LAZY)
