"""MIC (Japan): reports on a leak of the secrecy of communications (Telecommunications Business Act
Art. 28, Rule 57): the first report and the detailed one."""

from __future__ import annotations

from datetime import datetime

from sekimori.report import deadlines as dl
from sekimori.report.document import Document, Lang
from sekimori.report.facts import IncidentFacts
from sekimori.report.kind import ReportKind, register
from sekimori.report.text import (
    Form,
    bullet,
    category_label,
    contact_text,
    count_text,
    dates_text,
    item_list,
    join_lines,
    pick,
    prevention_text,
    text_in,
    timeline_text,
    with_submission,
)


def secrecy_count(facts: IncidentFacts) -> int:
    return sum(facts.affected.secrecy_of_communications.values())


def mic_due(facts: IncidentFacts) -> bool:
    return bool(facts.telecom_carrier) and secrecy_count(facts) > 0


MIC_ITEMS: list[tuple[str, str, str]] = [
    ("company", "法人名", "Company name"),
    ("registration", "登録又は届出番号", "Registration or notification number"),
    (
        "summary",
        "事案の概要（発生日、発覚日、発覚に至る経緯など）",
        "Overview (date it happened, date found, how it was found)",
    ),
    ("items", "漏えい等をした情報の内容", "Information leaked"),
    ("people", "漏えい等した情報に係る本人の数", "Number of people concerned"),
    ("cause", "発生原因", "Cause"),
    ("secondary_damage", "二次被害（そのおそれを含む）の有無及びその内容", "Secondary damage or its risk"),
    ("publication", "公表の実施状況", "Public announcement"),
    (
        "response",
        "通信の秘密を漏えいされた当事者への対応状況",
        "Response to the parties whose communications leaked",
    ),
    ("prevention", "再発防止策", "Recurrence prevention"),
]


def _mic_people(facts: IncidentFacts, lang: str) -> str | None:
    secrecy = facts.affected.secrecy_of_communications
    if not secrecy:
        return None
    total = sum(secrecy.values())
    lines = [
        f"{bullet(lang)}{category_label(cat, lang)}: {count_text(n, lang)}" for cat, n in secrecy.items()
    ]
    return "\n".join([pick(lang, f"合計 {count_text(total, lang)}", f"Total {total:,} people"), *lines])


def _mic_mandatory(facts: IncidentFacts, lang: str) -> tuple[bool | None, list[str]]:
    n = secrecy_count(facts)
    if facts.telecom_carrier is False:
        return False, [pick(lang, "電気通信事業者ではない", "not a telecommunications carrier")]
    if facts.telecom_carrier is None:
        return None, [
            pick(lang, "電気通信事業者に当たるか未記入", "whether the company is a carrier is not recorded")
        ]
    if n > 0:
        return True, [
            pick(
                lang,
                f"通信の秘密の漏えい（{count_text(n, lang)}）: 電気通信事業法28条1項",
                f"leak of secrecy of communications ({n:,} people): Telecommunications Business Act "
                "Art. 28(1)",
            )
        ]
    return False, [
        pick(lang, "通信の秘密の漏えいは確認されていない", "no leak of secrecy of communications found")
    ]


def _mic_report(facts: IncidentFacts, lang: Lang, now: datetime, *, detailed: bool) -> Document:
    form = Form(lang, pending=not detailed)
    dates = dates_text(facts, lang)
    values: dict[str, str | None] = {
        "company": text_in(facts.company, lang),
        "registration": facts.telecom_registration_no,
        "summary": join_lines(text_in(facts.summary, lang), dates) if facts.summary else None,
        "items": item_list(facts.affected, facts.affected.items.get("secrecy_of_communications", []), lang)
        or None,
        "people": _mic_people(facts, lang),
        "cause": text_in(facts.cause, lang),
        "secondary_damage": text_in(facts.secondary_damage, lang),
        "publication": text_in(facts.publication, lang),
        "response": join_lines(text_in(facts.response_to_individuals, lang), contact_text(facts, lang))
        if facts.response_to_individuals
        else None,
        "prevention": prevention_text(facts, lang),
    }
    for key, ja, en in MIC_ITEMS:
        form.put(
            pick(lang, ja, en), values[key], pending=False if key in ("company", "registration") else None
        )
    if detailed:
        form.put(pick(lang, "経緯", "Timeline"), timeline_text(facts, lang))
        form.put(pick(lang, "その他参考となる事項", "Other relevant matters"), text_in(facts.other, lang))
    mandatory, reasons = _mic_mandatory(facts, lang)
    bureau = text_in(facts.mic_bureau, lang)
    addressee = pick(lang, f"総務省 {bureau}", f"MIC, {bureau}") if bureau else None
    addressee = addressee or pick(
        lang,
        "総務省 本社所在地を管轄する総合通信局等",
        "Ministry of Internal Affairs and Communications: the regional bureau for the head office",
    )
    if detailed:
        title = MicDetailed.title(lang)
        deadline = dl.mic_detailed(facts.learned_at, lang)
    else:
        title = MicFirst.title(lang)
        deadline = dl.mic_first(facts.learned_at, lang)
    notes = [
        pick(
            lang,
            "同一の事案で、特定利用者情報の漏えい等報告、個人情報保護法の漏えい等報告が別に必要となる場合がある。",
            "The same incident may also need a report on specified user information and an APPI report.",
        )
    ]
    if detailed:
        notes.append(pick(lang, "様式第50の2による。", "Made on form 50-2 (様式第50の2)."))
    return form.document(
        facts,
        now,
        kind="mic_detailed" if detailed else "mic_first",
        title=title,
        addressee=addressee,
        deadlines=[with_submission(facts, deadline)],
        mandatory=mandatory,
        reasons=reasons,
        notes=notes,
    )


def mic_first(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """第一報 (Rule 57): promptly, what is known."""
    return _mic_report(facts, lang, now, detailed=False)


def mic_detailed(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """詳報 (Rule 57, form 50-2): within 30 days of learning."""
    return _mic_report(facts, lang, now, detailed=True)


@register
class MicFirst(ReportKind):
    """第一報 to the MIC, promptly."""

    name = "mic_first"
    jurisdiction = "JP-MIC"
    title_ja = "通信の秘密の漏えいに関する報告（第一報）"
    title_en = "Report on a leak of secrecy of communications (first)"
    order = 20

    def applies(self, facts: IncidentFacts) -> bool:
        return mic_due(facts)

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return mic_first(facts, lang, now)


@register
class MicDetailed(ReportKind):
    """詳報 to the MIC, within 30 days."""

    name = "mic_detailed"
    jurisdiction = "JP-MIC"
    title_ja = "通信の秘密の漏えいに関する報告書（詳報）"
    title_en = "Report on a leak of secrecy of communications (detailed)"
    order = 21

    def applies(self, facts: IncidentFacts) -> bool:
        return mic_due(facts)

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return mic_detailed(facts, lang, now)
