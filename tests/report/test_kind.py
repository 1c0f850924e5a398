"""Report kinds as plugins: the registry, the order they are listed in, a new kind as one class."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from sekimori.report.document import Document, Lang
from sekimori.report.facts import AffectedCount, IncidentFacts
from sekimori.report.kind import REPORT_KINDS, ReportKind, applicable, build, register, report_kinds

BUILT_IN = [
    "ppc_preliminary",
    "ppc_final",
    "entrusted_notice",
    "individual_notice",
    "public_notice",
    "mic_first",
    "mic_detailed",
    "gdpr_art33",
    "gdpr_art34",
    "sec_8k_105",
]


def test_the_built_in_kinds_one_module_per_jurisdiction() -> None:
    kinds = report_kinds()
    assert list(kinds) == BUILT_IN
    modules = {cls.__module__.rpartition(".")[2] for cls in kinds.values()}
    assert modules == {"appi", "notices", "mic", "gdpr", "sec"}
    for name, cls in kinds.items():
        assert cls.name == name and cls.jurisdiction and cls.title("ja") and cls.title("en")


def test_applicable_asks_each_kind() -> None:
    facts = IncidentFacts(
        case_id="C",
        title=None,
        unauthorized_purpose=True,
        telecom_carrier=True,
        affected=AffectedCount(confirmed={"user": 10}, secrecy_of_communications={"user": 2}),
    )
    due = [name for name, cls in report_kinds().items() if cls().applies(facts)]
    assert (
        applicable(facts)
        == due
        == [
            "ppc_preliminary",
            "ppc_final",
            "individual_notice",
            "mic_first",
            "mic_detailed",
        ]
    )
    (reason,) = report_kinds()["mic_first"]().why(facts, "en")
    assert "2 people" in reason


class _Drill(ReportKind):
    """A kind from a plugin of another distribution: due when the facts name a company."""

    name = "drill_notice"
    jurisdiction = "TEST"
    title_ja = "訓練通知"
    title_en = "Drill notice"
    order = 99

    def applies(self, facts: IncidentFacts) -> bool:
        return facts.company is not None

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return Document("drill_notice", lang, self.title(lang), "-", facts.case_id, now)


@pytest.fixture
def drill() -> Iterator[type[ReportKind]]:
    report_kinds()  # the built-in ones first
    register(_Drill)
    yield _Drill
    REPORT_KINDS._classes.pop(_Drill.name)


def test_a_new_kind_is_one_registered_class(drill: type[ReportKind]) -> None:
    facts = IncidentFacts(case_id="C", title=None, company="Parent Corp")  # type: ignore[arg-type]
    assert list(report_kinds())[-1] == "drill_notice"
    assert applicable(facts) == ["drill_notice"]
    assert build("drill_notice", facts, "en").title == "Drill notice"
    with pytest.raises(ValueError, match="taken"):
        register(type("Other", (_Drill,), {}))
