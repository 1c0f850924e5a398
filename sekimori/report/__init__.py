"""Breach reporting: affected people counted exactly, every report due (APPI/PPC, MIC, GDPR, SEC, notices)
with its deadline, in Japanese and English, as HTML, PDF and JSON; recurrence-prevention measures and the
public progress page."""

from sekimori.report.facts import AffectedCount, IncidentFacts, Measure, load_facts
from sekimori.report.kinds import Document, applicable, build
from sekimori.report.produce import Produced, produce_reports

__all__ = [
    "AffectedCount",
    "Document",
    "IncidentFacts",
    "Measure",
    "Produced",
    "applicable",
    "build",
    "load_facts",
    "produce_reports",
]
