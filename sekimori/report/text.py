"""Text shared by the report kinds: the form that collects fields and names what is missing, dates and
counts in Japanese or English, the people and data items affected, the measures and the timeline.

A value not known renders as 【未記入: …】 / "[missing: …]" (or, in a preliminary report, 調査中 / "under
investigation", which the rule allows: Rule 8(1) asks only for what is known) and is listed in ``missing``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sekimori.report import deadlines as dl
from sekimori.report.deadlines import Deadline
from sekimori.report.document import Document
from sekimori.report.facts import AffectedCount, IncidentFacts, Text


def pick(lang: str, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def bullet(lang: str) -> str:
    """The mark of a list item: the Japanese 中黒, or a bullet in English (no Japanese character there)."""
    return pick(lang, "・", "• ")


def missing_text(label: str, lang: str) -> str:
    return f"【未記入: {label}】" if lang == "ja" else f"[missing: {label}]"


# What a missing value is marked with, in either language: a field whose value holds one is listed as
# missing (a value assembled from parts, one of which has no translation yet, is incomplete).
_MISSING_MARKS = ("【未記入: ", "[missing: ")


def untranslated(lang: str) -> str:
    """The mark of a text given in the other language only: never shown in that other language."""
    return pick(lang, "【未記入: 日本語訳】", "[missing: English translation]")


def text_in(value: Text | None, lang: str) -> str | None:
    """``value`` in ``lang``; the untranslated mark when only the other language has it; ``None`` when
    neither has it."""
    if not value:
        return None
    return value.get(lang) or untranslated(lang)


def pending_text(lang: str) -> str:
    return pick(lang, "調査中（判明次第、確報で報告）", "Under investigation (to follow in the final report)")


class Form:
    """Collects (label, value) pairs; a value not known is shown as missing (or pending) and listed."""

    def __init__(self, lang: str, *, pending: bool = False) -> None:
        self.lang = lang
        self.pending = pending  # a preliminary report: unknown items are "under investigation"
        self.fields: dict[str, str] = {}
        self.missing: list[str] = []

    def put(self, label: str, value: str | None, *, pending: bool | None = None) -> None:
        if value is None or not value.strip():
            self.missing.append(label)
            value = pending_text(self.lang) if (self.pending if pending is None else pending) else None
            value = value or missing_text(label, self.lang)
        elif any(mark in value for mark in _MISSING_MARKS):
            self.missing.append(label)
        self.fields[label] = value

    def require(self, label: str) -> None:
        """A value outside the fields (a clock, an addressee) that is not known."""
        if label not in self.missing:
            self.missing.append(label)

    def document(self, facts: IncidentFacts, now: datetime, **parts: Any) -> Document:
        """The document of this form: its fields and what is missing, for the facts' case and company,
        with the deadlines judged as of ``now``; ``parts`` give the rest (kind, title, addressee, …)."""
        return Document(
            lang=self.lang,
            case_id=facts.case_id,
            as_of=now,
            sender=text_in(facts.company, self.lang),
            fields=self.fields,
            missing=self.missing,
            **parts,
        )


def fmt_dt(moment: datetime | None, lang: str, zone: str = "JP") -> str | None:
    if moment is None:
        return None
    local = dl.aware(moment).astimezone(dl.ZONES[zone])
    if lang == "ja":
        suffix = "（日本時間）" if zone == "JP" else "（米国東部時間）"
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}{suffix}"
    return f"{local:%Y-%m-%d %H:%M} {'JST' if zone == 'JP' else local.tzname()}"


def count_text(count: int, lang: str) -> str:
    return f"{count:,}人" if lang == "ja" else f"{count:,}"


CATEGORIES: dict[str, tuple[str, str]] = {
    "user": ("利用者", "users"),
    "business_partner": ("取引先", "business partners"),
    "employee": ("従業員", "employees"),
    "other": ("その他", "others"),
}
MEASURE_STATUS = {
    "planned": ("予定", "planned"),
    "in_progress": ("実施中", "in progress"),
    "done": ("完了", "done"),
    "cancelled": ("中止", "cancelled"),
    "unknown": ("未確認", "not recorded"),  # a status set after the report's date is not known at it
}


def category_label(category: str, lang: str) -> str:
    ja, en = CATEGORIES.get(category, (category, category))
    return pick(lang, ja, en)


def categories_of(affected: AffectedCount) -> list[str]:
    seen = list(affected.confirmed) + [c for c in affected.possible if c not in affected.confirmed]
    seen += [c for c in affected.items if c not in seen and c != "secrecy_of_communications"]
    order = list(CATEGORIES)
    return sorted(seen, key=lambda c: (order.index(c) if c in order else len(order), c))


def total_people(affected: AffectedCount) -> int:
    """Everyone whose data leaked or may have leaked: confirmed and possible are each person once."""
    return affected.total_confirmed + affected.total_possible


def people_text(affected: AffectedCount, lang: str, categories: Iterable[str] | None = None) -> str | None:
    cats = [
        c
        for c in (categories or categories_of(affected))
        if c in affected.confirmed or c in affected.possible
    ]
    if not cats:
        return None
    lines = []
    total = 0
    for cat in cats:
        confirmed, possible = affected.confirmed.get(cat, 0), affected.possible.get(cat, 0)
        total += confirmed + possible
        parts = []
        if possible:
            parts.append(
                pick(
                    lang,
                    f"漏えい確認 {count_text(confirmed, lang)}、おそれ {count_text(possible, lang)}",
                    f"confirmed {confirmed:,}, possible {possible:,}",
                )
            )
        if affected.secrecy_of_communications.get(cat):
            n = affected.secrecy_of_communications[cat]
            parts.append(
                pick(
                    lang, f"うち通信の秘密 {count_text(n, lang)}", f"of which secrecy of communications {n:,}"
                )
            )
        if affected.sensitive.get(cat):
            n = affected.sensitive[cat]
            parts.append(
                pick(lang, f"うち要配慮個人情報 {count_text(n, lang)}", f"of which sensitive data {n:,}")
            )
        detail = pick(lang, f"（{'、'.join(parts)}）", f" ({'; '.join(parts)})") if parts else ""
        lines.append(
            f"{bullet(lang)}{category_label(cat, lang)}: {count_text(confirmed + possible, lang)}{detail}"
        )
    head = pick(lang, f"合計 {count_text(total, lang)}", f"Total {total:,} people")
    return "\n".join([head, *lines])


def items_text(affected: AffectedCount, lang: str, categories: Iterable[str] | None = None) -> str | None:
    lines = [
        f"{bullet(lang)}{category_label(cat, lang)}: {item_list(affected, affected.items[cat], lang)}"
        for cat in (categories or categories_of(affected))
        if affected.items.get(cat)
    ]
    if affected.items.get("secrecy_of_communications") and categories is None:
        lines.append(
            pick(lang, "・通信の秘密: ", "• secrecy of communications: ")
            + item_list(affected, affected.items["secrecy_of_communications"], lang)
        )
    return "\n".join(lines) or None


def item_list(affected: AffectedCount, items: Iterable[str], lang: str) -> str:
    """The data items in ``lang`` (by their names in ``affected.item_names``), joined."""
    sep = "、" if lang == "ja" else ", "
    return sep.join(text_in(affected.item_text(item), lang) or item for item in items)


def join_lines(*parts: str | None) -> str | None:
    text = "\n".join(p for p in parts if p)
    return text or None


def prevention_text(facts: IncidentFacts, lang: str) -> str | None:
    lines = []
    for m in facts.measures:
        what, owner = text_in(m.text, lang), text_in(m.owner_text, lang)
        status = pick(lang, *MEASURE_STATUS.get(m.status, (m.status, m.status)))
        due = m.due.date().isoformat()
        lines.append(
            pick(
                lang,
                f"・{what}（担当: {owner}、期限: {due}、状況: {status}）",
                f"• {what} (owner: {owner}, due {due}, {status})",
            )
        )
    return join_lines(text_in(facts.prevention, lang), "\n".join(lines))


def timeline_text(facts: IncidentFacts, lang: str) -> str | None:
    lines = []
    for step in facts.timeline:
        when = fmt_dt(step.time, lang)
        text = text_in(step.text, lang)
        if text:
            lines.append(f"{bullet(lang)}{when}: {text}" if when else f"{bullet(lang)}{text}")
    return "\n".join(lines) or None


def dates_text(facts: IncidentFacts, lang: str) -> str | None:
    rows = [
        (facts.first_activity, "発生日時（最初の不正な活動）", "first malicious activity"),
        (facts.detected, "発覚日時", "detected"),
        (facts.learned_at, "漏えい等の事態を知った日時", "learned of the incident"),
        (facts.judged_leak_at, "漏えい等と判断した日時", "judged a leak"),
        (facts.contained, "封じ込め日時", "contained"),
    ]
    lines = [
        f"{bullet(lang)}{pick(lang, ja, en)}: {fmt_dt(when, lang)}"
        for when, ja, en in rows
        if when is not None
    ]
    return "\n".join(lines) or None


def overview_text(facts: IncidentFacts, lang: str) -> str | None:
    """The summary with the dates known; without a summary the item is missing (dates alone are no 概要)."""
    if not facts.summary:
        return None
    return join_lines(text_in(facts.summary, lang), dates_text(facts, lang))


def contact_text(facts: IncidentFacts, lang: str) -> str | None:
    contact = text_in(facts.contact, lang)
    return pick(lang, f"問合せ窓口: {contact}", f"Contact: {contact}") if contact else None


def submitted_at(facts: IncidentFacts, key: str) -> datetime | None:
    value = facts.submitted.get(key)
    return dl.aware(value) if value is not None else None


def with_submission(facts: IncidentFacts, deadline: Deadline) -> Deadline:
    deadline.submitted = submitted_at(facts, deadline.key)
    return deadline
