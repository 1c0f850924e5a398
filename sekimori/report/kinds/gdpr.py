"""GDPR (EU/EEA): the notification to the supervisory authority (Art. 33) and the communication to the
data subjects (Art. 34)."""

from __future__ import annotations

from datetime import datetime

from sekimori.report import deadlines as dl
from sekimori.report.document import Document, Lang
from sekimori.report.facts import IncidentFacts
from sekimori.report.kind import ReportKind, register
from sekimori.report.text import (
    Form,
    bullet,
    count_text,
    fmt_dt,
    items_text,
    join_lines,
    overview_text,
    people_text,
    pick,
    prevention_text,
    text_in,
    with_submission,
)

EU = frozenset(
    {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "IE", "IT"}
    | {"LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
)  # GDPR also reaches the EEA (IS, LI, NO)
EEA = EU | {"IS", "LI", "NO"}


def _eu_people(facts: IncidentFacts, lang: str) -> tuple[str | None, str | None]:
    """People in the EEA by category (approximate) and a note on how they were counted."""
    a = facts.affected
    in_eea = {c: n for c, n in a.countries.items() if c.upper() in EEA}
    people = people_text(a, lang)
    if not a.countries:
        note = pick(
            lang,
            "本人の居住国が記録されていないため、全員を計上",
            "countries of residence not recorded: everyone counted",
        )
        return people, note if people else None
    total = sum(in_eea.values())
    lines = [f"{bullet(lang)}{c}: {count_text(n, lang)}" for c, n in sorted(in_eea.items())]
    text = join_lines(
        pick(lang, f"EEA居住者 約{count_text(total, lang)}", f"About {total:,} people resident in the EEA"),
        *lines,
        pick(lang, "全体の内訳:", "All people concerned:"),
        people,
    )
    return text, None


def _dpo(facts: IncidentFacts, lang: str) -> str | None:
    return text_in(facts.dpo or facts.contact, lang)


def _measures(facts: IncidentFacts, lang: str) -> str | None:
    contained = fmt_dt(facts.contained, lang)
    return join_lines(
        pick(lang, f"封じ込め: {contained}", f"Contained: {contained}") if contained else None,
        text_in(facts.response_to_individuals, lang),
        prevention_text(facts, lang),
    )


def gdpr_art33(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """Notification to the supervisory authority: the content of Art. 33(3) (a)–(d)."""
    form = Form(lang)
    deadline = with_submission(facts, dl.gdpr_art33(facts.learned_at, lang))
    people, people_note = _eu_people(facts, lang)
    form.put(pick(lang, "管理者", "Controller"), text_in(facts.company, lang))
    form.put(pick(lang, "認識した日時", "Time of awareness"), fmt_dt(facts.learned_at, lang))
    form.put(pick(lang, "侵害の性質", "Nature of the breach"), overview_text(facts, lang))
    form.put(
        pick(
            lang,
            "関係するデータ主体の種類及びおおよその人数",
            "Categories and approximate number of data subjects",
        ),
        join_lines(people, people_note),
    )
    form.put(
        pick(lang, "関係する個人データの種類", "Categories of personal data records concerned"),
        items_text(facts.affected, lang),
    )
    records = facts.records
    form.put(
        pick(lang, "関係する個人データ記録のおおよその件数", "Approximate number of personal data records"),
        (f"{records:,}" if isinstance(records, int) else str(records)) if records is not None else None,
    )
    form.put(
        pick(lang, "データ保護責任者その他の連絡先", "Name and contact details of the DPO or contact point"),
        _dpo(facts, lang),
    )
    form.put(pick(lang, "予想される結果", "Likely consequences"), text_in(facts.secondary_damage, lang))
    form.put(pick(lang, "講じた又は講じる予定の措置", "Measures taken or proposed"), _measures(facts, lang))
    if deadline.status(now) == "overdue" or (
        deadline.submitted and deadline.due and deadline.submitted > deadline.due
    ):
        form.put(pick(lang, "遅延の理由", "Reasons for the delay"), text_in(facts.delay_reasons, lang))
    authority = text_in(facts.supervisory_authority, lang)
    return form.document(
        facts,
        now,
        kind="gdpr_art33",
        title=GdprArt33.title(lang),
        addressee=authority or pick(lang, "主任監督機関", "Lead supervisory authority"),
        deadlines=[deadline],
        mandatory=bool(facts.eu_residents) if facts.eu_residents is not None else None,
        reasons=[
            pick(
                lang,
                "EEA居住者の個人データ: 自然人の権利及び自由に対するリスクを生じさせるおそれがない場合を"
                "除き通知",
                "personal data of EEA residents: notify unless the breach is unlikely to result in a risk to "
                "the rights and freedoms of natural persons (Art. 33(1))",
            )
        ]
        if facts.eu_residents
        else [pick(lang, "EEA居住者の有無が未記入又は該当なし", "no EEA residents recorded")],
        notes=[
            pick(
                lang,
                "情報は段階的に提供できる（33条4項）。全ての侵害を内部で記録する（33条5項）。",
                "Information may be provided in phases (Art. 33(4)); every breach is documented "
                "(Art. 33(5)).",
            )
        ],
    )


def gdpr_art34(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """Communication to the data subjects (Art. 34): plain language, content of Art. 33(3)(b)–(d)."""
    form = Form(lang)
    form.put(pick(lang, "何が起きたか", "What happened"), overview_text(facts, lang))
    form.put(
        pick(lang, "関係する個人データ", "The personal data concerned"), items_text(facts.affected, lang)
    )
    form.put(pick(lang, "予想される結果", "Likely consequences"), text_in(facts.secondary_damage, lang))
    form.put(pick(lang, "当社が講じた措置", "What we have done"), _measures(facts, lang))
    form.put(pick(lang, "連絡先", "Contact"), _dpo(facts, lang))
    high_risk = facts.high_risk
    if not facts.eu_residents:
        mandatory: bool | None = False
        reasons = [pick(lang, "EEA居住者の有無が未記入又は該当なし", "no EEA residents recorded")]
    elif high_risk is None:
        mandatory = None
        reasons = [
            pick(
                lang,
                "高いリスクを生じさせるおそれがあるかの判断が未記入（34条1項）",
                "whether the breach is likely to result in a high risk is not recorded (Art. 34(1))",
            )
        ]
    else:
        mandatory = bool(high_risk)
        reasons = [
            pick(lang, "高いリスク: 34条1項", "high risk to the people: Art. 34(1)")
            if high_risk
            else pick(lang, "高いリスクなしと判断", "judged not to be a high risk")
        ]
    return form.document(
        facts,
        now,
        kind="gdpr_art34",
        title=GdprArt34.title(lang),
        addressee=pick(lang, "影響を受けた本人各位", "To the people affected"),
        deadlines=[],
        mandatory=mandatory,
        reasons=reasons,
        notes=[
            pick(
                lang,
                "不当な遅滞なく、明確かつ平易な言葉で伝える。暗号化等で理解できないデータ、高いリスクの解消、"
                "又は不均衡な労力を要する場合の公表による代替のときは不要（34条3項）。",
                "Without undue delay, in clear and plain language; not needed if the data was "
                "unintelligible, "
                "the high risk is no longer likely, or a public communication replaces it (Art. 34(3)).",
            )
        ],
    )


@register
class GdprArt33(ReportKind):
    """Notification to the lead supervisory authority within 72 hours."""

    name = "gdpr_art33"
    jurisdiction = "EU-GDPR"
    title_ja = "個人データ侵害の通知（GDPR 33条）"
    title_en = "Notification of a personal data breach (GDPR Art. 33)"
    order = 30

    def applies(self, facts: IncidentFacts) -> bool:
        return bool(facts.eu_residents)

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return gdpr_art33(facts, lang, now)


@register
class GdprArt34(ReportKind):
    """Communication to the data subjects when the risk is high."""

    name = "gdpr_art34"
    jurisdiction = "EU-GDPR"
    title_ja = "個人データ侵害に関するお知らせ"
    title_en = "Notice of a personal data breach"
    order = 31

    def applies(self, facts: IncidentFacts) -> bool:
        return bool(facts.eu_residents) and bool(facts.high_risk)

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return gdpr_art34(facts, lang, now)
