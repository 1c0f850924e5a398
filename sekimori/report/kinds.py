"""The reports an incident may need, each built from :class:`IncidentFacts` in Japanese or English.

A builder is registered by name in :data:`KINDS` and called as ``build(facts, lang, now)``; it returns a
:class:`Document`: the addressee, the deadlines with their status at ``now``, the fields in the order the
rule lists them, and the labels of those the facts do not give yet. Nothing is invented: a missing value
renders as 【未記入: …】 / "[missing: …]" (or, in a preliminary report, 調査中 / "under investigation",
which the rule allows: Rule 8(1) asks only for what is known), and is listed in ``missing``.

The Japanese text is the legal one (PPC, MIC); the English serves the group's overseas companies, the public,
and the filings made in English (GDPR, SEC).

Some inputs have no field in :class:`IncidentFacts` yet and are read from ``facts.extra`` when present:
``telecom_registration_no`` (MIC 登録又は届出番号), ``mic_bureau``, ``supervisory_authority``, ``dpo``,
``records`` (GDPR approximate number of records), ``delay_reasons``, ``high_risk`` (GDPR Art. 34),
``material_impact`` (SEC), ``strongly_encrypted`` (APPI exemption), ``individual_notice_difficult``
(public notice instead of individual notices) and ``submitted`` ({kind: datetime}: when a report was filed).
The data items of the secrecy of communications are ``facts.affected.items["secrecy_of_communications"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sekimori.report import deadlines as dl
from sekimori.report.deadlines import Deadline
from sekimori.report.facts import AffectedCount, IncidentFacts

Lang = Literal["ja", "en"]
LANGS: tuple[str, ...] = ("ja", "en")


@dataclass
class Document:
    """One report, notice or announcement, ready to render. ``fields`` keeps the rule's order."""

    kind: str
    lang: str
    title: str
    addressee: str
    case_id: str
    as_of: datetime  # the ``now`` the deadlines' status was taken at
    sender: str | None = None
    recipient: str | None = None  # the person or group a notice is for
    deadlines: list[Deadline] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    mandatory: bool | None = None  # None: cannot be decided from the facts yet
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # mail merge: the person's address, email, id

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lang": self.lang,
            "title": self.title,
            "addressee": self.addressee,
            "case_id": self.case_id,
            "as_of": self.as_of.isoformat(),
            "sender": self.sender,
            "recipient": self.recipient,
            "deadlines": [d.to_dict(self.as_of) for d in self.deadlines],
            "fields": [{"label": label, "value": value} for label, value in self.fields.items()],
            "missing": list(self.missing),
            "mandatory": self.mandatory,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "meta": dict(self.meta),
        }


Builder = Callable[[IncidentFacts, Lang, datetime], Document]
KINDS: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    def add(builder: Builder) -> Builder:
        if name in KINDS and KINDS[name] is not builder:
            raise ValueError(f"report kind {name!r} is already registered")
        KINDS[name] = builder
        return builder

    return add


def build(kind: str, facts: IncidentFacts, lang: str = "ja", now: datetime | None = None) -> Document:
    """The document ``kind`` for ``facts``; ``now`` defaults to the current time (deadline status)."""
    try:
        builder = KINDS[kind]
    except KeyError:
        raise KeyError(f"unknown report kind {kind!r}; known: {', '.join(KINDS)}") from None
    return builder(facts, _lang(lang), _now(now))


def _lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: expected 'ja' or 'en'")
    return cast(Lang, lang)


def _now(now: datetime | None) -> datetime:
    return dl.aware(now) if now is not None else datetime.now(dl.JST)


# --- text helpers ---


def _t(lang: str, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def missing_text(label: str, lang: str) -> str:
    return f"【未記入: {label}】" if lang == "ja" else f"[missing: {label}]"


def pending_text(lang: str) -> str:
    return _t(lang, "調査中（判明次第、確報で報告）", "Under investigation (to follow in the final report)")


class _Form:
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
            sender=facts.company,
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


def _n(count: int, lang: str) -> str:
    return f"{count:,}人" if lang == "ja" else f"{count:,}"


CATEGORIES: dict[str, tuple[str, str]] = {
    "user": ("利用者", "users"),
    "business_partner": ("取引先", "business partners"),
    "employee": ("従業員", "employees"),
    "other": ("その他", "others"),
}
_STATUS = {
    "planned": ("予定", "planned"),
    "in_progress": ("実施中", "in progress"),
    "done": ("完了", "done"),
    "cancelled": ("中止", "cancelled"),
}
EU = frozenset(
    {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "IE", "IT"}
    | {"LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
)  # GDPR also reaches the EEA (IS, LI, NO)
EEA = EU | {"IS", "LI", "NO"}


def category_label(category: str, lang: str) -> str:
    ja, en = CATEGORIES.get(category, (category, category))
    return _t(lang, ja, en)


def _categories(affected: AffectedCount) -> list[str]:
    seen = list(affected.confirmed) + [c for c in affected.possible if c not in affected.confirmed]
    seen += [c for c in affected.items if c not in seen and c != "secrecy_of_communications"]
    order = list(CATEGORIES)
    return sorted(seen, key=lambda c: (order.index(c) if c in order else len(order), c))


def total_people(affected: AffectedCount) -> int:
    """Everyone whose data leaked or may have leaked: confirmed and possible are each person once."""
    return affected.total_confirmed + affected.total_possible


def people_text(affected: AffectedCount, lang: str, categories: Iterable[str] | None = None) -> str | None:
    cats = [
        c for c in (categories or _categories(affected)) if c in affected.confirmed or c in affected.possible
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
                _t(
                    lang,
                    f"漏えい確認 {_n(confirmed, lang)}、おそれ {_n(possible, lang)}",
                    f"confirmed {confirmed:,}, possible {possible:,}",
                )
            )
        if affected.secrecy_of_communications.get(cat):
            n = affected.secrecy_of_communications[cat]
            parts.append(
                _t(lang, f"うち通信の秘密 {_n(n, lang)}", f"of which secrecy of communications {n:,}")
            )
        if affected.sensitive.get(cat):
            n = affected.sensitive[cat]
            parts.append(_t(lang, f"うち要配慮個人情報 {_n(n, lang)}", f"of which sensitive data {n:,}"))
        detail = _t(lang, f"（{'、'.join(parts)}）", f" ({'; '.join(parts)})") if parts else ""
        lines.append(f"・{category_label(cat, lang)}: {_n(confirmed + possible, lang)}{detail}")
    head = _t(lang, f"合計 {_n(total, lang)}", f"Total {total:,} people")
    return "\n".join([head, *lines])


def items_text(affected: AffectedCount, lang: str, categories: Iterable[str] | None = None) -> str | None:
    sep = "、" if lang == "ja" else ", "
    lines = [
        f"・{category_label(cat, lang)}: {sep.join(affected.items[cat])}"
        for cat in (categories or _categories(affected))
        if affected.items.get(cat)
    ]
    if affected.items.get("secrecy_of_communications") and categories is None:
        lines.append(
            _t(lang, "・通信の秘密: ", "・secrecy of communications: ")
            + sep.join(affected.items["secrecy_of_communications"])
        )
    return "\n".join(lines) or None


def _join(*parts: str | None) -> str | None:
    text = "\n".join(p for p in parts if p)
    return text or None


def prevention_text(facts: IncidentFacts, lang: str) -> str | None:
    lines = []
    for m in facts.measures:
        what = (m.what_en or m.what) if lang == "en" else m.what
        status = _t(lang, *_STATUS.get(m.status, (m.status, m.status)))
        due = m.due.date().isoformat()
        lines.append(
            _t(
                lang,
                f"・{what}（担当: {m.owner}、期限: {due}、状況: {status}）",
                f"・{what} (owner: {m.owner}, due {due}, {status})",
            )
        )
    return _join(facts.prevention, "\n".join(lines))


def timeline_text(facts: IncidentFacts, lang: str) -> str | None:
    lines = []
    for step in facts.timeline:
        when = step.get("time")
        text = step.get(f"text_{lang}") or step.get("text")
        if isinstance(when, datetime):
            when = fmt_dt(when, lang)
        if text:
            lines.append(f"・{when}: {text}" if when else f"・{text}")
    return "\n".join(lines) or None


def _dates(facts: IncidentFacts, lang: str) -> str | None:
    rows = [
        (facts.first_activity, "発生日時（最初の不正な活動）", "first malicious activity"),
        (facts.detected, "発覚日時", "detected"),
        (facts.learned_at, "漏えい等の事態を知った日時", "learned of the incident"),
        (facts.judged_leak_at, "漏えい等と判断した日時", "judged a leak"),
        (facts.contained, "封じ込め日時", "contained"),
    ]
    lines = [f"・{_t(lang, ja, en)}: {fmt_dt(when, lang)}" for when, ja, en in rows if when is not None]
    return "\n".join(lines) or None


def overview_text(facts: IncidentFacts, lang: str) -> str | None:
    """The summary with the dates known; without a summary the item is missing (dates alone are no 概要)."""
    if not facts.summary:
        return None
    return _join(facts.summary, _dates(facts, lang))


def _contact(facts: IncidentFacts, lang: str) -> str | None:
    return _t(lang, f"問合せ窓口: {facts.contact}", f"Contact: {facts.contact}") if facts.contact else None


def _submitted(facts: IncidentFacts, key: str) -> datetime | None:
    value = (facts.extra.get("submitted") or {}).get(key)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return dl.aware(value) if isinstance(value, datetime) else None


def _deadline(facts: IncidentFacts, deadline: Deadline) -> Deadline:
    deadline.submitted = _submitted(facts, deadline.key)
    return deadline


# --- when the reports are mandatory ---


def appi_assessment(facts: IncidentFacts, lang: str = "ja") -> tuple[bool | None, list[str]]:
    """Whether the PPC report and the notice to individuals are mandatory (Act Art. 26, Rule 7), and why.

    Any one of: sensitive data, a risk of financial damage, an unauthorized purpose (each even for one
    person), or more than 1,000 people (leaked or possibly leaked). ``None`` when nothing triggers yet but a
    flag or the count is still unknown.
    """
    a = facts.affected
    if facts.extra.get("strongly_encrypted"):
        return False, [
            _t(
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
            _t(
                lang,
                f"要配慮個人情報を含む（{_n(sensitive, lang)}）: 規則7条1号",
                f"sensitive personal information ({sensitive:,} people): Rule 7 no. 1",
            )
        )
    if facts.financial_damage_risk:
        reasons.append(
            _t(
                lang,
                "不正に利用されることにより財産的被害が生じるおそれ: 規則7条2号",
                "risk of financial damage through misuse: Rule 7 no. 2",
            )
        )
    if facts.unauthorized_purpose:
        reasons.append(
            _t(
                lang,
                "不正の目的をもって行われたおそれ（不正アクセス等）: 規則7条3号",
                "possibly done for an unauthorized purpose (e.g. unauthorized access): Rule 7 no. 3",
            )
        )
    if total > 1000:
        reasons.append(
            _t(
                lang,
                f"本人の数が1,000人を超える（{_n(total, lang)}）: 規則7条4号",
                f"more than 1,000 people ({total:,}): Rule 7 no. 4",
            )
        )
    if reasons:
        return True, reasons
    unknown = []
    if facts.financial_damage_risk is None:
        unknown.append(
            _t(lang, "財産的被害のおそれ（規則7条2号）が未判断", "risk of financial damage not judged")
        )
    if facts.unauthorized_purpose is None:
        unknown.append(
            _t(lang, "不正の目的のおそれ（規則7条3号）が未判断", "unauthorized purpose not judged")
        )
    if not a.confirmed and not a.possible:
        unknown.append(_t(lang, "本人の数が不明", "number of people unknown"))
    if unknown:
        return None, unknown
    return False, [
        _t(
            lang,
            f"規則7条各号のいずれにも該当しない（本人の数 {_n(total, lang)}、要配慮個人情報なし、"
            "財産的被害・不正の目的のおそれなし）",
            f"none of Rule 7 nos. 1–4 applies ({total:,} people; no sensitive data, no financial-damage "
            "risk, no unauthorized purpose)",
        )
    ]


def secrecy_count(facts: IncidentFacts) -> int:
    return sum(facts.affected.secrecy_of_communications.values())


def applicable(facts: IncidentFacts) -> list[str]:
    """The kinds due for these facts (mandatory ones; a kind whose duty is still undecided is not listed:
    see each document's ``mandatory`` and ``reasons``, e.g. for GDPR Art. 34 and the SEC before the
    materiality determination)."""
    kinds: list[str] = []
    appi, _ = appi_assessment(facts)
    if appi:
        if facts.entrusting_company:
            # The entrusted party is released by notifying its principal, which reports and notifies people.
            kinds.append("entrusted_notice")
        else:
            kinds += ["ppc_preliminary", "ppc_final", "individual_notice"]
            if facts.extra.get("individual_notice_difficult"):
                kinds.append("public_notice")
    if facts.telecom_carrier and secrecy_count(facts) > 0:
        kinds += ["mic_first", "mic_detailed"]
    if facts.eu_residents:
        kinds.append("gdpr_art33")
        if facts.extra.get("high_risk"):
            kinds.append("gdpr_art34")
    if facts.sec_registrant and facts.materiality_at is not None:
        kinds.append("sec_8k_105")
    return kinds


# --- APPI: the PPC reports (Rule 8(1) nos. 1–9) ---

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
        "cause": facts.cause,
        "secondary_damage": facts.secondary_damage,
        "response": _join(facts.response_to_individuals, _contact(facts, lang))
        if facts.response_to_individuals
        else None,
        "publication": facts.publication,
        "prevention": prevention_text(facts, lang),
        "other": _join(facts.other, timeline_text(facts, lang)),
    }


def _ppc_addressee(facts: IncidentFacts, lang: str) -> str:
    if facts.telecom_carrier:
        return _t(
            lang,
            "個人情報保護委員会（電気通信事業に係る個人データは、権限の委任により総務省（総合通信局等））",
            "Personal Information Protection Commission (for personal data of the telecommunications "
            "business, the MIC regional bureau by delegation)",
        )
    return _t(lang, "個人情報保護委員会", "Personal Information Protection Commission (PPC)")


def _head(form: _Form, facts: IncidentFacts, lang: str) -> None:
    form.put(_t(lang, "報告者（個人情報取扱事業者）", "Reporting business"), facts.company, pending=False)
    form.put(
        _t(lang, "漏えい等の事態を知った日時", "When the business learned of it"),
        fmt_dt(facts.learned_at, lang),
        pending=False,
    )


def _appi_report(facts: IncidentFacts, lang: Lang, now: datetime, *, final: bool) -> Document:
    form = _Form(lang, pending=not final)
    _head(form, facts, lang)
    values = appi_values(facts, lang)
    for key, ja, en in APPI_ITEMS:
        form.put(_t(lang, ja, en), values[key])
    mandatory, reasons = appi_assessment(facts, lang)
    if final:
        deadline = dl.appi_final(facts.learned_at, facts.unauthorized_purpose, lang)
        title = _t(lang, "個人データの漏えい等報告書（確報）", "Report of a personal data breach (final)")
        notes = [
            _t(
                lang,
                "確報は規則8条1項各号の全ての事項を報告する。確報の時点で合理的努力を尽くしても判明しない事項は、"
                "判明次第、追完する。",
                "The final report covers every item of Rule 8(1); items still unknown after reasonable "
                "effort are supplemented as soon as they are known.",
            )
        ]
    else:
        deadline = dl.appi_preliminary(facts.learned_at, lang)
        title = _t(
            lang, "個人データの漏えい等報告書（速報）", "Report of a personal data breach (preliminary)"
        )
        notes = [
            _t(
                lang,
                "速報は報告時点で把握している事項に限る（規則8条1項かっこ書）。「調査中」の事項は確報で報告する。",
                "The preliminary report gives only what is known when it is made (Rule 8(1)); items "
                "'under investigation' follow in the final report.",
            )
        ]
    if mandatory is None:
        notes.append(
            _t(
                lang,
                "報告対象事態に当たるか未確定: 疑いがある段階でも報告対象となり得る",
                "Whether this must be reported is not settled yet; a suspected leak can already be "
                "reportable.",
            )
        )
    return form.document(
        facts,
        now,
        kind="ppc_final" if final else "ppc_preliminary",
        title=title,
        addressee=_ppc_addressee(facts, lang),
        deadlines=[_deadline(facts, deadline)],
        mandatory=mandatory,
        reasons=reasons,
        notes=notes,
    )


@register("ppc_preliminary")
def ppc_preliminary(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """速報 (Act Art. 26(1), Rule 8(1)): the nine items as far as known; the rest 調査中."""
    return _appi_report(facts, lang, now, final=False)


@register("ppc_final")
def ppc_final(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """確報 (Rule 8(2)): all nine items, within 30 days (60 for an unauthorized purpose)."""
    return _appi_report(facts, lang, now, final=True)


@register("entrusted_notice")
def entrusted_notice(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """委託先から委託元への通知 (Act Art. 26(1) proviso, Rule 9): items 1–9 as far as known, promptly."""
    form = _Form(lang, pending=True)
    form.put(_t(lang, "通知者（委託先）", "Notifying party (entrusted)"), facts.company, pending=False)
    form.put(_t(lang, "委託元", "Entrusting business"), facts.entrusting_company, pending=False)
    form.put(
        _t(lang, "漏えい等の事態を知った日時", "When the entrusted party learned of it"),
        fmt_dt(facts.learned_at, lang),
        pending=False,
    )
    values = appi_values(facts, lang)
    for key, ja, en in APPI_ITEMS:
        form.put(_t(lang, ja, en), values[key])
    mandatory, reasons = appi_assessment(facts, lang)
    return form.document(
        facts,
        now,
        kind="entrusted_notice",
        title=_t(
            lang,
            "個人データの漏えい等に関する委託元への通知",
            "Notice of a personal data breach to the principal",
        ),
        addressee=facts.entrusting_company or missing_text(_t(lang, "委託元", "entrusting business"), lang),
        deadlines=[_deadline(facts, dl.entrusted_notice(facts.learned_at, lang))],
        mandatory=mandatory,
        reasons=reasons,
        notes=[
            _t(
                lang,
                "委託先は、報告義務を負う委託元にこの通知をしたときは、個人情報保護委員会への報告義務を免除される"
                "（法26条1項ただし書）。委託元と連名で報告することもできる。",
                "By this notice the entrusted party is released from its own duty to report to the PPC (Act "
                "Art. 26(1) proviso); a joint report with the principal is also possible.",
            )
        ],
    )


# --- MIC: secrecy of communications (Telecommunications Business Act Art. 28, Rule 57) ---

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
    lines = [f"・{category_label(cat, lang)}: {_n(n, lang)}" for cat, n in secrecy.items()]
    return "\n".join([_t(lang, f"合計 {_n(total, lang)}", f"Total {total:,} people"), *lines])


def _mic_mandatory(facts: IncidentFacts, lang: str) -> tuple[bool | None, list[str]]:
    n = secrecy_count(facts)
    if facts.telecom_carrier is False:
        return False, [_t(lang, "電気通信事業者ではない", "not a telecommunications carrier")]
    if facts.telecom_carrier is None:
        return None, [
            _t(lang, "電気通信事業者に当たるか未記入", "whether the company is a carrier is not recorded")
        ]
    if n > 0:
        return True, [
            _t(
                lang,
                f"通信の秘密の漏えい（{_n(n, lang)}）: 電気通信事業法28条1項",
                f"leak of secrecy of communications ({n:,} people): Telecommunications Business Act "
                "Art. 28(1)",
            )
        ]
    return False, [
        _t(lang, "通信の秘密の漏えいは確認されていない", "no leak of secrecy of communications found")
    ]


def _mic_report(facts: IncidentFacts, lang: Lang, now: datetime, *, detailed: bool) -> Document:
    form = _Form(lang, pending=not detailed)
    dates = _dates(facts, lang)
    values: dict[str, str | None] = {
        "company": facts.company,
        "registration": facts.extra.get("telecom_registration_no"),
        "summary": _join(facts.summary, dates) if facts.summary else None,
        "items": ("、" if lang == "ja" else ", ").join(
            facts.affected.items.get("secrecy_of_communications", [])
        )
        or None,
        "people": _mic_people(facts, lang),
        "cause": facts.cause,
        "secondary_damage": facts.secondary_damage,
        "publication": facts.publication,
        "response": _join(facts.response_to_individuals, _contact(facts, lang))
        if facts.response_to_individuals
        else None,
        "prevention": prevention_text(facts, lang),
    }
    for key, ja, en in MIC_ITEMS:
        form.put(_t(lang, ja, en), values[key], pending=False if key in ("company", "registration") else None)
    if detailed:
        form.put(_t(lang, "経緯", "Timeline"), timeline_text(facts, lang))
        form.put(_t(lang, "その他参考となる事項", "Other relevant matters"), facts.other)
    mandatory, reasons = _mic_mandatory(facts, lang)
    bureau = facts.extra.get("mic_bureau")
    addressee = _t(lang, f"総務省 {bureau}", f"MIC, {bureau}") if bureau else None
    addressee = addressee or _t(
        lang,
        "総務省 本社所在地を管轄する総合通信局等",
        "Ministry of Internal Affairs and Communications: the regional bureau for the head office",
    )
    if detailed:
        title = _t(
            lang,
            "通信の秘密の漏えいに関する報告書（詳報）",
            "Report on a leak of secrecy of communications (detailed)",
        )
        deadline = dl.mic_detailed(facts.learned_at, lang)
    else:
        title = _t(
            lang,
            "通信の秘密の漏えいに関する報告（第一報）",
            "Report on a leak of secrecy of communications (first)",
        )
        deadline = dl.mic_first(facts.learned_at, lang)
    notes = [
        _t(
            lang,
            "同一の事案で、特定利用者情報の漏えい等報告、個人情報保護法の漏えい等報告が別に必要となる場合がある。",
            "The same incident may also need a report on specified user information and an APPI report.",
        )
    ]
    if detailed:
        notes.append(_t(lang, "様式第50の2による。", "Made on form 50-2 (様式第50の2)."))
    return form.document(
        facts,
        now,
        kind="mic_detailed" if detailed else "mic_first",
        title=title,
        addressee=addressee,
        deadlines=[_deadline(facts, deadline)],
        mandatory=mandatory,
        reasons=reasons,
        notes=notes,
    )


@register("mic_first")
def mic_first(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """第一報 (Rule 57): promptly, what is known."""
    return _mic_report(facts, lang, now, detailed=False)


@register("mic_detailed")
def mic_detailed(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """詳報 (Rule 57, form 50-2): within 30 days of learning."""
    return _mic_report(facts, lang, now, detailed=True)


# --- GDPR ---


def _eu_people(facts: IncidentFacts, lang: str) -> tuple[str | None, str | None]:
    """People in the EEA by category (approximate) and a note on how they were counted."""
    a = facts.affected
    in_eea = {c: n for c, n in a.countries.items() if c.upper() in EEA}
    people = people_text(a, lang)
    if not a.countries:
        note = _t(
            lang,
            "本人の居住国が記録されていないため、全員を計上",
            "countries of residence not recorded: everyone counted",
        )
        return people, note if people else None
    total = sum(in_eea.values())
    lines = [f"・{c}: {_n(n, lang)}" for c, n in sorted(in_eea.items())]
    text = _join(
        _t(lang, f"EEA居住者 約{_n(total, lang)}", f"About {total:,} people resident in the EEA"),
        *lines,
        _t(lang, "全体の内訳:", "All people concerned:"),
        people,
    )
    return text, None


def _dpo(facts: IncidentFacts) -> str | None:
    return facts.extra.get("dpo") or facts.contact


def _measures(facts: IncidentFacts, lang: str) -> str | None:
    contained = fmt_dt(facts.contained, lang)
    return _join(
        _t(lang, f"封じ込め: {contained}", f"Contained: {contained}") if contained else None,
        facts.response_to_individuals,
        prevention_text(facts, lang),
    )


@register("gdpr_art33")
def gdpr_art33(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """Notification to the supervisory authority: the content of Art. 33(3) (a)–(d)."""
    form = _Form(lang)
    deadline = _deadline(facts, dl.gdpr_art33(facts.learned_at, lang))
    people, people_note = _eu_people(facts, lang)
    form.put(_t(lang, "管理者", "Controller"), facts.company)
    form.put(_t(lang, "認識した日時", "Time of awareness"), fmt_dt(facts.learned_at, lang))
    form.put(_t(lang, "侵害の性質", "Nature of the breach"), overview_text(facts, lang))
    form.put(
        _t(
            lang,
            "関係するデータ主体の種類及びおおよその人数",
            "Categories and approximate number of data subjects",
        ),
        _join(people, people_note),
    )
    form.put(
        _t(lang, "関係する個人データの種類", "Categories of personal data records concerned"),
        items_text(facts.affected, lang),
    )
    records = facts.extra.get("records")
    form.put(
        _t(lang, "関係する個人データ記録のおおよその件数", "Approximate number of personal data records"),
        (f"{records:,}" if isinstance(records, int) else str(records)) if records is not None else None,
    )
    form.put(
        _t(lang, "データ保護責任者その他の連絡先", "Name and contact details of the DPO or contact point"),
        _dpo(facts),
    )
    form.put(_t(lang, "予想される結果", "Likely consequences"), facts.secondary_damage)
    form.put(_t(lang, "講じた又は講じる予定の措置", "Measures taken or proposed"), _measures(facts, lang))
    if deadline.status(now) == "overdue" or (
        deadline.submitted and deadline.due and deadline.submitted > deadline.due
    ):
        form.put(_t(lang, "遅延の理由", "Reasons for the delay"), facts.extra.get("delay_reasons"))
    authority = facts.extra.get("supervisory_authority")
    return form.document(
        facts,
        now,
        kind="gdpr_art33",
        title=_t(
            lang, "個人データ侵害の通知（GDPR 33条）", "Notification of a personal data breach (GDPR Art. 33)"
        ),
        addressee=authority or _t(lang, "主任監督機関", "Lead supervisory authority"),
        deadlines=[deadline],
        mandatory=bool(facts.eu_residents) if facts.eu_residents is not None else None,
        reasons=[
            _t(
                lang,
                "EEA居住者の個人データ: 自然人の権利及び自由に対するリスクを生じさせるおそれがない場合を"
                "除き通知",
                "personal data of EEA residents: notify unless the breach is unlikely to result in a risk to "
                "the rights and freedoms of natural persons (Art. 33(1))",
            )
        ]
        if facts.eu_residents
        else [_t(lang, "EEA居住者の有無が未記入又は該当なし", "no EEA residents recorded")],
        notes=[
            _t(
                lang,
                "情報は段階的に提供できる（33条4項）。全ての侵害を内部で記録する（33条5項）。",
                "Information may be provided in phases (Art. 33(4)); every breach is documented "
                "(Art. 33(5)).",
            )
        ],
    )


@register("gdpr_art34")
def gdpr_art34(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """Communication to the data subjects (Art. 34): plain language, content of Art. 33(3)(b)–(d)."""
    form = _Form(lang)
    form.put(_t(lang, "何が起きたか", "What happened"), overview_text(facts, lang))
    form.put(_t(lang, "関係する個人データ", "The personal data concerned"), items_text(facts.affected, lang))
    form.put(_t(lang, "予想される結果", "Likely consequences"), facts.secondary_damage)
    form.put(_t(lang, "当社が講じた措置", "What we have done"), _measures(facts, lang))
    form.put(_t(lang, "連絡先", "Contact"), _dpo(facts))
    high_risk = facts.extra.get("high_risk")
    if not facts.eu_residents:
        mandatory: bool | None = False
        reasons = [_t(lang, "EEA居住者の有無が未記入又は該当なし", "no EEA residents recorded")]
    elif high_risk is None:
        mandatory = None
        reasons = [
            _t(
                lang,
                "高いリスクを生じさせるおそれがあるかの判断が未記入（34条1項）",
                "whether the breach is likely to result in a high risk is not recorded (Art. 34(1))",
            )
        ]
    else:
        mandatory = bool(high_risk)
        reasons = [
            _t(lang, "高いリスク: 34条1項", "high risk to the people: Art. 34(1)")
            if high_risk
            else _t(lang, "高いリスクなしと判断", "judged not to be a high risk")
        ]
    return form.document(
        facts,
        now,
        kind="gdpr_art34",
        title=_t(lang, "個人データ侵害に関するお知らせ", "Notice of a personal data breach"),
        addressee=_t(lang, "影響を受けた本人各位", "To the people affected"),
        deadlines=[],
        mandatory=mandatory,
        reasons=reasons,
        notes=[
            _t(
                lang,
                "不当な遅滞なく、明確かつ平易な言葉で伝える。暗号化等で理解できないデータ、高いリスクの解消、"
                "又は不均衡な労力を要する場合の公表による代替のときは不要（34条3項）。",
                "Without undue delay, in clear and plain language; not needed if the data was "
                "unintelligible, "
                "the high risk is no longer likely, or a public communication replaces it (Art. 34(3)).",
            )
        ],
    )


# --- SEC ---


@register("sec_8k_105")
def sec_8k_105(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """Form 8-K Item 1.05: material aspects of the nature, scope and timing, and the material impact."""
    form = _Form(lang)
    form.put(_t(lang, "登録会社", "Registrant"), facts.company)
    form.put(
        _t(lang, "重要性を判断した日時", "Date of the materiality determination"),
        fmt_dt(facts.materiality_at, lang, "US"),
    )
    form.put(_t(lang, "インシデントの性質", "Nature of the incident"), facts.summary)
    form.put(
        _t(lang, "範囲", "Scope"),
        _join(people_text(facts.affected, lang), items_text(facts.affected, lang)),
    )
    form.put(_t(lang, "時期", "Timing"), _dates(facts, lang))
    form.put(
        _t(
            lang,
            "重要な影響又は合理的に見込まれる重要な影響",
            "Material impact or reasonably likely material impact",
        ),
        facts.extra.get("material_impact"),
    )
    if facts.sec_registrant is None:
        mandatory: bool | None = None
        reasons = [
            _t(
                lang,
                "SEC登録会社に当たるか未記入",
                "whether the company is an SEC registrant is not recorded",
            )
        ]
    elif not facts.sec_registrant:
        mandatory, reasons = False, [_t(lang, "SEC登録会社ではない", "not an SEC registrant")]
    elif facts.materiality_at is None:
        mandatory = None
        reasons = [
            _t(
                lang,
                "重要性の判断が未了（不当な遅滞なく判断する）",
                "materiality not determined yet (without unreasonable delay)",
            )
        ]
    else:
        mandatory, reasons = (
            True,
            [_t(lang, "重要なサイバーセキュリティインシデントと判断", "determined material")],
        )
    return form.document(
        facts,
        now,
        kind="sec_8k_105",
        title=_t(
            lang,
            "Form 8-K Item 1.05（重要なサイバーセキュリティインシデント）",
            "Form 8-K Item 1.05: Material Cybersecurity Incidents",
        ),
        addressee=_t(lang, "米国証券取引委員会（EDGAR）", "U.S. Securities and Exchange Commission (EDGAR)"),
        deadlines=[_deadline(facts, dl.sec_8k(facts.materiality_at, lang))],
        mandatory=mandatory,
        reasons=reasons,
        notes=[
            _t(
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


# --- notices to individuals and the public (Act Art. 26(2), Rule 10) ---

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
    form = _Form(lang)
    values = {
        "summary": overview_text(facts, lang),
        "items": items,
        "cause": facts.cause,
        "secondary_damage": facts.secondary_damage,
        "other": _join(facts.other, prevention_text(facts, lang)),
    }
    for key, ja, en in NOTICE_ITEMS:
        form.put(_t(lang, ja, en), values[key])
    form.put(_t(lang, "お問合せ窓口", "Contact"), facts.contact)
    mandatory, reasons = appi_assessment(facts, lang)
    return form.document(
        facts,
        now,
        kind=kind,
        title=_t(lang, "個人情報の漏えい等に関するお知らせ", "Notice of a personal data breach"),
        addressee=recipient or _t(lang, "本人各位", "To the people affected"),
        recipient=recipient,
        mandatory=mandatory,
        reasons=reasons,
        notes=[
            _t(
                lang,
                "本人への通知は、当該事態の状況に応じて速やかに行う（規則10条）。郵便、電子メール等、本人に"
                "分かりやすい方法による。",
                "People are notified promptly according to the circumstances (Rule 10), by any means they "
                "can easily understand (post, email).",
            )
        ],
    )


@register("individual_notice")
def individual_notice(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """本人通知 to everyone affected (items 1, 2, 4, 5, 9 of Rule 8(1)); see :func:`individual_notices`
    for one per person and :func:`category_notices` for one per category."""
    return _notice(facts, lang, now, recipient=None, items=items_text(facts.affected, lang))


def category_notices(facts: IncidentFacts, lang: str = "ja", now: datetime | None = None) -> list[Document]:
    """One notice per category of people (users, partners, employees), each with that category's items."""
    language, moment = _lang(lang), _now(now)
    out = []
    for cat in _categories(facts.affected):
        label = category_label(cat, language)
        recipient = _t(language, f"{label}の皆様", f"To our {label}")
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
    language, moment = _lang(lang), _now(now)
    sep = "、" if language == "ja" else ", "
    for person in people:
        name = person.get("name")
        items = person.get("items")
        if isinstance(items, list | tuple):
            items_value: str | None = sep.join(str(i) for i in items) or None
        elif isinstance(items, str):
            items_value = items or None
        elif person.get("category") in facts.affected.items:
            items_value = sep.join(facts.affected.items[person["category"]]) or None
        else:
            items_value = None
        recipient = (_t(language, f"{name} 様", f"Dear {name}") if name else None) or missing_text(
            _t(language, "氏名", "name"), language
        )
        doc = _notice(facts, language, moment, recipient=recipient, items=items_value)
        if not name:
            doc.missing.insert(0, _t(language, "氏名", "name"))
        doc.meta = {k: v for k, v in person.items() if k not in ("items",)}
        yield doc


@register("public_notice")
def public_notice(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """公表: when notifying each person is difficult, the announcement (with an inquiry desk) replaces it
    (Act Art. 26(2) proviso)."""
    form = _Form(lang)
    values = appi_values(facts, lang)
    for key, ja, en in APPI_ITEMS:
        if key in ("publication", "other"):
            continue
        form.put(_t(lang, ja, en), values[key])
    form.put(_t(lang, "お問合せ窓口", "Contact"), facts.contact)
    appi, reasons = appi_assessment(facts, lang)
    difficult = facts.extra.get("individual_notice_difficult")
    if appi and difficult:
        mandatory: bool | None = True
        reasons = [
            *reasons,
            _t(
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
            _t(
                lang,
                "本人への通知が困難かどうかが未記入",
                "whether individual notice is difficult is not recorded",
            ),
        ]
    return form.document(
        facts,
        now,
        kind="public_notice",
        title=_t(lang, "個人情報の漏えい等に関するお知らせ", "Notice of a personal data breach"),
        addressee=_t(lang, "公表（当社ウェブサイト等）", "Public announcement"),
        mandatory=mandatory,
        reasons=reasons,
        notes=[
            _t(
                lang,
                "本人への通知が困難な場合は、事案の公表、問合せ窓口の設置等の代替措置による（規則10条、法26条2項ただし書）。",
                "When notifying each person is difficult, a public announcement and an inquiry desk take its "
                "place (Act Art. 26(2) proviso).",
            )
        ],
    )
