"""Report kinds as plugins: the interface, the registry, and the two questions asked of them.

A report kind is one module in ``sekimori/report/kinds/`` (one per jurisdiction) defining a
:class:`ReportKind` subclass decorated with ``@register``; modules there are imported automatically, and
other distributions can add kinds through the ``sekimori.report_kinds`` entry-point group. Each kind
decides from the facts whether it is due (:meth:`ReportKind.applies`) and builds its
:class:`~sekimori.report.document.Document` in Japanese or English (:meth:`ReportKind.build`): the
addressee, the deadlines with their status at ``now``, the fields in the order the rule lists them, and
the labels of those the facts do not give yet. Nothing is invented.

The Japanese text is the legal one (PPC, MIC); the English serves the group's overseas companies, the
public, and the filings made in English (GDPR, SEC).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import ClassVar

from sekimori.plugins import Registry
from sekimori.report.document import Document, Lang, as_lang, as_now
from sekimori.report.facts import IncidentFacts


class ReportKind(ABC):
    name: ClassVar[str]
    jurisdiction: ClassVar[str]  # JP-APPI | JP-MIC | EU-GDPR | US-SEC
    title_ja: ClassVar[str]
    title_en: ClassVar[str]
    # Where the kind stands among the reports due: the order the rules' deadlines are usually met in.
    order: ClassVar[int]

    @classmethod
    def title(cls, lang: str) -> str:
        return cls.title_ja if lang == "ja" else cls.title_en

    @abstractmethod
    def applies(self, facts: IncidentFacts) -> bool:
        """Whether the report is due for these facts. A kind whose duty is still undecided (a flag not
        judged yet) is not due; its document's ``mandatory`` and ``reasons`` say what is open."""

    def why(self, facts: IncidentFacts, lang: str = "ja", now: datetime | None = None) -> list[str]:
        """The reasons the report is (or is not, or not yet) due, in ``lang``."""
        return self.build(facts, as_lang(lang), as_now(now)).reasons

    @abstractmethod
    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document: ...


REPORT_KINDS: Registry[type[ReportKind]] = Registry(
    "report kind", "sekimori.report.kinds", "sekimori.report_kinds"
)
register = REPORT_KINDS.register  # the decorator report-kind modules use


def report_kinds() -> dict[str, type[ReportKind]]:
    """Every report kind by name, in the order reports are listed and produced."""
    return dict(sorted(REPORT_KINDS.all().items(), key=lambda item: (item[1].order, item[0])))


def build(kind: str, facts: IncidentFacts, lang: str = "ja", now: datetime | None = None) -> Document:
    """The document ``kind`` for ``facts``; ``now`` defaults to the current time (deadline status)."""
    try:
        cls = report_kinds()[kind]
    except KeyError:
        raise KeyError(f"unknown report kind {kind!r}; known: {', '.join(report_kinds())}") from None
    moment = as_now(now)
    # a report as of a date states only what was known by then
    return cls().build(facts.as_of(moment), as_lang(lang), moment)


def applicable(facts: IncidentFacts) -> list[str]:
    """The kinds due for these facts, each kind asked in turn."""
    return [name for name, cls in report_kinds().items() if cls().applies(facts)]
