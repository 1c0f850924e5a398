"""APPI (Japan): the notices to the people affected and, when notifying each is difficult, the public
announcement (Act Art. 26(2), Rule 10)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sekimori.report.appi_items import APPI_ITEMS, appi_assessment, appi_values
from sekimori.report.document import Document, Lang, as_lang, as_now
from sekimori.report.facts import IncidentFacts
from sekimori.report.kind import ReportKind, register
from sekimori.report.text import (
    Form,
    categories_of,
    category_label,
    item_list,
    items_text,
    join_lines,
    missing_text,
    overview_text,
    pick,
    prevention_text,
    text_in,
)

NOTICE_ITEMS: list[tuple[str, str, str]] = [
    ("summary", "概要", "What happened"),
    ("items", "漏えい等が発生し、又は発生したおそれがある個人データの項目", "Your personal data concerned"),
    ("cause", "原因", "Cause"),
    ("secondary_damage", "二次被害又はそのおそれの有無及びその内容", "Secondary damage or its risk"),
    ("other", "その他参考となる事項", "Other information"),
]


def _notice(
    facts: IncidentFacts,
    lang: Lang,
    now: datetime,
    *,
    recipient: str | None,
    items: str | None,
    kind: str = "individual_notice",
) -> Document:
    facts = facts.as_of(now)  # a notice states what was known on its date
    form = Form(lang)
    values = {
        "summary": overview_text(facts, lang),
        "items": items,
        "cause": text_in(facts.cause, lang),
        "secondary_damage": text_in(facts.secondary_damage, lang),
        "other": join_lines(text_in(facts.other, lang), prevention_text(facts, lang)),
    }
    for key, ja, en in NOTICE_ITEMS:
        form.put(pick(lang, ja, en), values[key])
    form.put(pick(lang, "お問合せ窓口", "Contact"), text_in(facts.contact, lang))
    mandatory, reasons = appi_assessment(facts, lang)
    return form.document(
        facts,
        now,
        kind=kind,
        title=IndividualNotice.title(lang),
        addressee=recipient or pick(lang, "本人各位", "To the people affected"),
        recipient=recipient,
        mandatory=mandatory,
        reasons=reasons,
        notes=[
            pick(
                lang,
                "本人への通知は、当該事態の状況に応じて速やかに行う（規則10条）。郵便、電子メール等、本人に"
                "分かりやすい方法による。",
                "People are notified promptly according to the circumstances (Rule 10), by any means they "
                "can easily understand (post, email).",
            )
        ],
    )


def individual_notice(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """本人通知 to everyone affected (items 1, 2, 4, 5, 9 of Rule 8(1)); see :func:`individual_notices`
    for one per person and :func:`category_notices` for one per category."""
    return _notice(facts, lang, now, recipient=None, items=items_text(facts.affected, lang))


def category_notices(facts: IncidentFacts, lang: str = "ja", now: datetime | None = None) -> list[Document]:
    """One notice per category of people (users, partners, employees), each with that category's items."""
    language, moment = as_lang(lang), as_now(now)
    out = []
    for cat in categories_of(facts.affected):
        label = category_label(cat, language)
        recipient = pick(language, f"{label}の皆様", f"To our {label}")
        doc = _notice(
            facts, language, moment, recipient=recipient, items=items_text(facts.affected, language, [cat])
        )
        doc.meta["category"] = cat
        out.append(doc)
    return out


def individual_notices(
    facts: IncidentFacts, people: Iterable[dict[str, Any]], lang: str = "ja", now: datetime | None = None
) -> Iterator[Document]:
    """Mail merge: one notice per person. Each dict gives ``name`` and the items of *their* data
    (``items``: a list or a string; else their ``category``'s items), plus whatever the mailing needs
    (``email``, ``address``, ``id``: kept in ``meta``). A person without a name gets the missing mark."""
    language, moment = as_lang(lang), as_now(now)
    sep = "、" if language == "ja" else ", "
    for person in people:
        name = person.get("name")
        items = person.get("items")
        if isinstance(items, list | tuple):
            items_value: str | None = sep.join(str(i) for i in items) or None
        elif isinstance(items, str):
            items_value = items or None
        elif person.get("category") in facts.affected.items:
            items_value = (
                item_list(facts.affected, facts.affected.items[person["category"]], language) or None
            )
        else:
            items_value = None
        recipient = (pick(language, f"{name} 様", f"Dear {name}") if name else None) or missing_text(
            pick(language, "氏名", "name"), language
        )
        doc = _notice(facts, language, moment, recipient=recipient, items=items_value)
        if not name:
            doc.missing.insert(0, pick(language, "氏名", "name"))
        doc.meta = {k: v for k, v in person.items() if k not in ("items",)}
        yield doc


def public_notice(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """公表: when notifying each person is difficult, the announcement (with an inquiry desk) replaces it
    (Act Art. 26(2) proviso)."""
    form = Form(lang)
    values = appi_values(facts, lang)
    for key, ja, en in APPI_ITEMS:
        if key in ("publication", "other"):
            continue
        form.put(pick(lang, ja, en), values[key])
    form.put(pick(lang, "お問合せ窓口", "Contact"), text_in(facts.contact, lang))
    appi, reasons = appi_assessment(facts, lang)
    difficult = facts.individual_notice_difficult
    if appi and difficult:
        mandatory: bool | None = True
        reasons = [
            *reasons,
            pick(
                lang,
                "本人への通知が困難: 代替措置として公表（法26条2項ただし書）",
                "individual notice difficult",
            ),
        ]
    elif appi is False or difficult is False:
        mandatory = False
    else:
        mandatory = None
        reasons = [
            *reasons,
            pick(
                lang,
                "本人への通知が困難かどうかが未記入",
                "whether individual notice is difficult is not recorded",
            ),
        ]
    return form.document(
        facts,
        now,
        kind="public_notice",
        title=PublicNotice.title(lang),
        addressee=pick(lang, "公表（当社ウェブサイト等）", "Public announcement"),
        mandatory=mandatory,
        reasons=reasons,
        notes=[
            pick(
                lang,
                "本人への通知が困難な場合は、事案の公表、問合せ窓口の設置等の代替措置による（規則10条、法26条2項ただし書）。",
                "When notifying each person is difficult, a public announcement and an inquiry desk take its "
                "place (Act Art. 26(2) proviso).",
            )
        ],
    )


@register
class IndividualNotice(ReportKind):
    """本人通知 to everyone affected."""

    name = "individual_notice"
    jurisdiction = "JP-APPI"
    title_ja = "個人情報の漏えい等に関するお知らせ"
    title_en = "Notice of a personal data breach"
    order = 13

    def applies(self, facts: IncidentFacts) -> bool:
        return appi_assessment(facts)[0] is True and not facts.entrusting_company

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return individual_notice(facts, lang, now)


@register
class PublicNotice(ReportKind):
    """公表 in place of individual notices."""

    name = "public_notice"
    jurisdiction = "JP-APPI"
    title_ja = "個人情報の漏えい等に関するお知らせ"
    title_en = "Notice of a personal data breach"
    order = 14

    def applies(self, facts: IncidentFacts) -> bool:
        return (
            appi_assessment(facts)[0] is True
            and not facts.entrusting_company
            and bool(facts.individual_notice_difficult)
        )

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return public_notice(facts, lang, now)
