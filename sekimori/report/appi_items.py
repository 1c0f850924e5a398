"""The APPI's duty to report (Act Art. 26, Rule 7) and the nine items of a report (Rule 8(1)), shared by
the PPC reports, the entrusted party's notice and the notices to individuals and the public."""

from __future__ import annotations

from sekimori.report.facts import IncidentFacts
from sekimori.report.text import (
    contact_text,
    count_text,
    items_text,
    join_lines,
    overview_text,
    people_text,
    pick,
    prevention_text,
    text_in,
    timeline_text,
    total_people,
)


def appi_assessment(facts: IncidentFacts, lang: str = "ja") -> tuple[bool | None, list[str]]:
    """Whether the PPC report and the notice to individuals are mandatory (Act Art. 26, Rule 7), and why.

    Any one of: sensitive data, a risk of financial damage, an unauthorized purpose (each even for one
    person), or more than 1,000 people (leaked or possibly leaked). ``None`` when nothing triggers yet but a
    flag or the count is still unknown.
    """
    a = facts.affected
    if facts.strongly_encrypted:
        return False, [
            pick(
                lang,
                "高度な暗号化その他の個人の権利利益を保護するために必要な措置が講じられている（規則7条各号かっこ書）",
                "the data was protected by strong encryption or equivalent measures (Rule 7, exemption)",
            )
        ]
    reasons: list[str] = []
    sensitive = sum(a.sensitive.values())
    total = total_people(a)
    if sensitive:
        reasons.append(
            pick(
                lang,
                f"要配慮個人情報を含む（{count_text(sensitive, lang)}）: 規則7条1号",
                f"sensitive personal information ({sensitive:,} people): Rule 7 no. 1",
            )
        )
    if facts.financial_damage_risk:
        reasons.append(
            pick(
                lang,
                "不正に利用されることにより財産的被害が生じるおそれ: 規則7条2号",
                "risk of financial damage through misuse: Rule 7 no. 2",
            )
        )
    if facts.unauthorized_purpose:
        reasons.append(
            pick(
                lang,
                "不正の目的をもって行われたおそれ（不正アクセス等）: 規則7条3号",
                "possibly done for an unauthorized purpose (e.g. unauthorized access): Rule 7 no. 3",
            )
        )
    if total > 1000:
        reasons.append(
            pick(
                lang,
                f"本人の数が1,000人を超える（{count_text(total, lang)}）: 規則7条4号",
                f"more than 1,000 people ({total:,}): Rule 7 no. 4",
            )
        )
    if reasons:
        return True, reasons
    unknown = []
    if facts.financial_damage_risk is None:
        unknown.append(
            pick(lang, "財産的被害のおそれ（規則7条2号）が未判断", "risk of financial damage not judged")
        )
    if facts.unauthorized_purpose is None:
        unknown.append(
            pick(lang, "不正の目的のおそれ（規則7条3号）が未判断", "unauthorized purpose not judged")
        )
    if not a.confirmed and not a.possible:
        unknown.append(pick(lang, "本人の数が不明", "number of people unknown"))
    if unknown:
        return None, unknown
    return False, [
        pick(
            lang,
            f"規則7条各号のいずれにも該当しない（本人の数 {count_text(total, lang)}、要配慮個人情報なし、"
            "財産的被害・不正の目的のおそれなし）",
            f"none of Rule 7 nos. 1–4 applies ({total:,} people; no sensitive data, no financial-damage "
            "risk, no unauthorized purpose)",
        )
    ]


def secrecy_count(facts: IncidentFacts) -> int:
    return sum(facts.affected.secrecy_of_communications.values())


APPI_ITEMS: list[tuple[str, str, str]] = [
    ("summary", "概要", "Overview"),
    ("items", "漏えい等が発生し、又は発生したおそれがある個人データの項目", "Personal data items affected"),
    (
        "people",
        "漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数",
        "Number of people whose personal data is affected",
    ),
    ("cause", "原因", "Cause"),
    (
        "secondary_damage",
        "二次被害又はそのおそれの有無及びその内容",
        "Secondary damage or its risk, and details",
    ),
    ("response", "本人への対応の実施状況", "Response to the people affected"),
    ("publication", "公表の実施状況", "Public announcement"),
    ("prevention", "再発防止のための措置", "Measures to prevent recurrence"),
    ("other", "その他参考となる事項", "Other relevant matters"),
]


def appi_values(facts: IncidentFacts, lang: str) -> dict[str, str | None]:
    return {
        "summary": overview_text(facts, lang),
        "items": items_text(facts.affected, lang),
        "people": people_text(facts.affected, lang),
        "cause": text_in(facts.cause, lang),
        "secondary_damage": text_in(facts.secondary_damage, lang),
        "response": join_lines(text_in(facts.response_to_individuals, lang), contact_text(facts, lang))
        if facts.response_to_individuals
        else None,
        "publication": text_in(facts.publication, lang),
        "prevention": prevention_text(facts, lang),
        "other": join_lines(text_in(facts.other, lang), timeline_text(facts, lang)),
    }
