"""SEC (United States): Form 8-K Item 1.05, material cybersecurity incidents."""

from __future__ import annotations

from datetime import datetime

from sekimori.report import deadlines as dl
from sekimori.report.document import Document, Lang
from sekimori.report.facts import IncidentFacts
from sekimori.report.kind import ReportKind, register
from sekimori.report.text import (
    Form,
    dates_text,
    fmt_dt,
    items_text,
    join_lines,
    people_text,
    pick,
    text_in,
    with_submission,
)


def sec_8k_105(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """Form 8-K Item 1.05: material aspects of the nature, scope and timing, and the material impact."""
    form = Form(lang)
    form.put(pick(lang, "登録会社", "Registrant"), text_in(facts.company, lang))
    form.put(
        pick(lang, "重要性を判断した日時", "Date of the materiality determination"),
        fmt_dt(facts.materiality_at, lang, "US"),
    )
    form.put(pick(lang, "インシデントの性質", "Nature of the incident"), text_in(facts.summary, lang))
    form.put(
        pick(lang, "範囲", "Scope"),
        join_lines(people_text(facts.affected, lang), items_text(facts.affected, lang)),
    )
    form.put(pick(lang, "時期", "Timing"), dates_text(facts, lang))
    form.put(
        pick(
            lang,
            "重要な影響又は合理的に見込まれる重要な影響",
            "Material impact or reasonably likely material impact",
        ),
        text_in(facts.material_impact, lang),
    )
    if facts.sec_registrant is None:
        mandatory: bool | None = None
        reasons = [
            pick(
                lang,
                "SEC登録会社に当たるか未記入",
                "whether the company is an SEC registrant is not recorded",
            )
        ]
    elif not facts.sec_registrant:
        mandatory, reasons = False, [pick(lang, "SEC登録会社ではない", "not an SEC registrant")]
    elif facts.materiality_at is None:
        mandatory = None
        reasons = [
            pick(
                lang,
                "重要性の判断が未了（不当な遅滞なく判断する）",
                "materiality not determined yet (without unreasonable delay)",
            )
        ]
    else:
        mandatory, reasons = (
            True,
            [pick(lang, "重要なサイバーセキュリティインシデントと判断", "determined material")],
        )
    return form.document(
        facts,
        now,
        kind="sec_8k_105",
        title=Sec8k105.title(lang),
        addressee=pick(
            lang, "米国証券取引委員会（EDGAR）", "U.S. Securities and Exchange Commission (EDGAR)"
        ),
        deadlines=[with_submission(facts, dl.sec_8k(facts.materiality_at, lang))],
        mandatory=mandatory,
        reasons=reasons,
        notes=[
            pick(
                lang,
                "提出は英語による（Regulation S-T Rule 306）。日本語版は社内確認用。"
                "対応を妨げる技術的詳細は不要。"
                "司法長官の判断により開示を延期できる（当初30日）。後に判明した事項は8-K/Aで開示する。",
                "Filed in English; technical details that would impede the response need not be given. "
                "Disclosure may be delayed on the Attorney General's finding (initially 30 days). "
                "Later facts "
                "go in an amended 8-K.",
            )
        ],
    )


@register
class Sec8k105(ReportKind):
    """Form 8-K Item 1.05, four business days after the materiality determination."""

    name = "sec_8k_105"
    jurisdiction = "US-SEC"
    title_ja = "Form 8-K Item 1.05（重要なサイバーセキュリティインシデント）"
    title_en = "Form 8-K Item 1.05: Material Cybersecurity Incidents"
    order = 40

    def applies(self, facts: IncidentFacts) -> bool:
        return bool(facts.sec_registrant) and facts.materiality_at is not None

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return sec_8k_105(facts, lang, now)
