"""What the reports are built from: the facts of an incident, as a small typed interface.

The case (``sekimori.respond``) and the count of affected people (:mod:`sekimori.report.affected`) fill
an :class:`IncidentFacts`; each report kind (:mod:`sekimori.report.kinds`) reads it and says which of
its fields are still missing rather than inventing them. The clocks start from what the company records:
when it learned of the incident, when it judged it a leak, and any materiality decision.

Every free text is a :class:`Text`, Japanese and English: a report in one language shows only that
language, and a text not translated yet is missing there. Dated facts (timeline entries, measures and
their status, the publication) say when they became true, so a report as of a date shows only what was
known by then (:meth:`IncidentFacts.as_of`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

# Hiragana, katakana (full and half width), CJK ideographs and the Japanese punctuation block.
_JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def has_japanese(text: str) -> bool:
    return _JAPANESE.search(text) is not None


@dataclass(frozen=True)
class Text:
    """A free text in Japanese and English; either may be missing (not translated yet)."""

    ja: str | None = None
    en: str | None = None

    def __post_init__(self) -> None:
        # a blank text is no text: the report lists it as missing
        for lang in ("ja", "en"):
            value = getattr(self, lang)
            if value is not None and not value.strip():
                object.__setattr__(self, lang, None)

    def get(self, lang: str) -> str | None:
        return self.ja if lang == "ja" else self.en

    def __bool__(self) -> bool:
        return bool(self.ja or self.en)

    @classmethod
    def of(cls, value: Text | str | dict[str, Any] | None) -> Text | None:
        """A text from a file or a caller: ``{ja, en}``, or one string. A string in Japanese script is
        Japanese only; any other string (a name, a number, an address) is the same in both languages."""
        if value is None or isinstance(value, Text):
            return value
        if isinstance(value, dict):
            unknown = set(value) - {"ja", "en"}
            if unknown:
                raise ValueError(f"a text has keys ja and en, not {', '.join(sorted(unknown))}")
            return cls(value.get("ja"), value.get("en"))
        if isinstance(value, str):
            return cls(ja=value) if has_japanese(value) else cls(value, value)
        raise TypeError(f"a text is a string or {{ja, en}}, not {type(value).__name__}")

    @classmethod
    def written(cls, value: str) -> Text:
        """Prose written in one language (a case's timeline entry): Japanese or else English."""
        return cls(ja=value) if has_japanese(value) else cls(en=value)


@dataclass
class AffectedCount:
    """People affected, per category (user, business_partner, employee, other), each person once;
    ``confirmed``: their data was read; ``possible``: reachable in the scope but not shown read."""

    confirmed: dict[str, int] = field(default_factory=dict)
    possible: dict[str, int] = field(default_factory=dict)
    items: dict[str, list[str]] = field(default_factory=dict)  # category → data items (name, email, …)
    secrecy_of_communications: dict[str, int] = field(default_factory=dict)  # of which 通信の秘密
    sensitive: dict[str, int] = field(default_factory=dict)  # of which 要配慮個人情報
    by_item: dict[str, int] = field(default_factory=dict)  # data item → people (confirmed)
    stores: list[str] = field(default_factory=list)  # data stores read
    countries: dict[str, int] = field(default_factory=dict)  # people per country of residence, if known
    # The data items in Japanese and English, by the name ``items`` records them under (the model's names);
    # an item not here is taken as its name says (see :meth:`Text.of`).
    item_names: dict[str, Text] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.item_names = {k: _text(v) or Text() for k, v in self.item_names.items()}

    @property
    def total_confirmed(self) -> int:
        return sum(self.confirmed.values())

    @property
    def total_possible(self) -> int:
        return sum(self.possible.values())

    def item_text(self, item: str) -> Text:
        return self.item_names.get(item) or Text.of(item) or Text()

    def to_dict(self) -> dict[str, Any]:
        totals = {"total_confirmed": self.total_confirmed, "total_possible": self.total_possible}
        return {**asdict(self), **totals}


@dataclass
class Measure:
    """A recurrence-prevention measure (再発防止策) tracked per case. ``what`` and ``owner`` are Japanese,
    ``what_en`` and ``owner_en`` English."""

    id: str
    what: str  # the measure, in words
    owner: str
    due: datetime
    status: str = "planned"  # planned | in_progress | done | cancelled
    evidence: str | None = None  # what shows it is done (a document, a config change, …)
    what_en: str | None = None  # the English text, for the public page
    updated: datetime | None = None  # when the status was last set; None: not recorded
    owner_en: str | None = None
    decided: datetime | None = None  # when the measure was decided (announced); None: not recorded

    @property
    def text(self) -> Text:
        return Text(self.what, self.what_en) if self.what_en else Text.of(self.what) or Text()

    @property
    def owner_text(self) -> Text:
        return Text(self.owner, self.owner_en) if self.owner_en else Text.of(self.owner) or Text()

    def as_of(self, moment: datetime) -> Measure | None:
        """The measure as known at ``moment``: none before it was decided; its status only when set by
        then (a later status is not known yet: ``unknown``)."""
        if self.decided is not None and _after(self.decided, moment):
            return None
        if self.updated is not None and _after(self.updated, moment):
            return replace(self, status="unknown", updated=None, evidence=None)
        return self


@dataclass(frozen=True)
class TimelineEntry:
    """A milestone of the incident: when, and what happened."""

    time: datetime | None
    text: Text

    @classmethod
    def of(cls, value: TimelineEntry | dict[str, Any]) -> TimelineEntry:
        """From ``{time, text}`` (``text`` a string or ``{ja, en}``) or the older ``{time, text_ja,
        text_en}``."""
        if isinstance(value, TimelineEntry):
            return value
        text = value.get("text")
        if isinstance(text, str) and ("text_ja" in value or "text_en" in value):
            text = None  # the language-tagged texts say which language is which
        return cls(
            time=value.get("time"),
            text=Text.of(text) or Text(value.get("text_ja"), value.get("text_en")),
        )


def _text(value: Any) -> Text | None:
    return Text.of(value)


def _after(moment: datetime, as_of: datetime) -> bool:
    """``moment`` is later than ``as_of``; a naive time is taken in ``as_of``'s zone."""
    if moment.tzinfo is None and as_of.tzinfo is not None:
        moment = moment.replace(tzinfo=as_of.tzinfo)
    elif as_of.tzinfo is None and moment.tzinfo is not None:
        as_of = as_of.replace(tzinfo=moment.tzinfo)
    return moment > as_of


# The keys older facts files carried in ``extra``, now fields of their own.
_FORMER_EXTRA = (
    "telecom_registration_no",
    "mic_bureau",
    "supervisory_authority",
    "dpo",
    "records",
    "delay_reasons",
    "high_risk",
    "material_impact",
    "strongly_encrypted",
    "individual_notice_difficult",
    "submitted",
)
_TEXTS = (
    "title",
    "company",
    "entrusting_company",
    "summary",
    "cause",
    "secondary_damage",
    "response_to_individuals",
    "publication",
    "prevention",
    "other",
    "contact",
    "mic_bureau",
    "supervisory_authority",
    "dpo",
    "delay_reasons",
    "material_impact",
)


@dataclass
class IncidentFacts:
    """Everything a report may need. ``None`` means not known yet: a report lists it as missing. Free
    texts are :class:`Text` (a plain string is read as :meth:`Text.of` says)."""

    case_id: str
    title: Text | None
    company: Text | None = None  # the reporting company (個人情報取扱事業者)
    entrusting_company: Text | None = None  # if the company is an entrusted party (委託先): for whom
    learned_at: datetime | None = None  # when the company learned of the incident (知った時点)
    judged_leak_at: datetime | None = None  # when it judged a leak occurred or may have occurred
    materiality_at: datetime | None = None  # SEC: when it determined the incident material
    first_activity: datetime | None = None
    detected: datetime | None = None
    contained: datetime | None = None
    summary: Text | None = None  # 概要
    cause: Text | None = None  # 原因
    secondary_damage: Text | None = None  # 二次被害又はそのおそれの有無及びその内容
    response_to_individuals: Text | None = None  # 本人への対応の実施状況
    publication: Text | None = None  # 公表の実施状況
    published_at: datetime | None = None  # when the publication was made; before it, there is none
    prevention: Text | None = None  # 再発防止のための措置 (summary; the measures are listed too)
    other: Text | None = None  # その他参考となる事項
    contact: Text | None = None  # where individuals can ask
    unauthorized_purpose: bool | None = None  # 不正の目的によるおそれ (e.g. unauthorized access)
    financial_damage_risk: bool | None = None  # 財産的被害のおそれ
    eu_residents: bool | None = None  # GDPR applies
    sec_registrant: bool | None = None  # SEC Form 8-K applies
    telecom_carrier: bool | None = None  # 電気通信事業者: MIC reports on secrecy of communications
    telecom_registration_no: str | None = None  # MIC: 登録又は届出番号
    mic_bureau: Text | None = None  # MIC: the regional bureau (総合通信局) reported to
    supervisory_authority: Text | None = None  # GDPR: the lead supervisory authority
    dpo: Text | None = None  # GDPR: the data protection officer or contact point (else ``contact``)
    records: int | str | None = None  # GDPR: approximate number of personal data records
    delay_reasons: Text | None = None  # GDPR: why the notification is late
    high_risk: bool | None = None  # GDPR Art. 34: a high risk to the people
    material_impact: Text | None = None  # SEC: the material impact, or the reasonably likely one
    strongly_encrypted: bool | None = None  # APPI: the data was protected (the exemption of Rule 7)
    individual_notice_difficult: bool | None = None  # APPI: a public notice replaces individual ones
    submitted: dict[str, datetime] = field(default_factory=dict)  # report kind → when it was filed
    affected: AffectedCount = field(default_factory=AffectedCount)
    measures: list[Measure] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)  # milestones, in order
    # Where some facts came from (``detected_source``, ``contained_source``): for people, no report reads it.
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in _FORMER_EXTRA:
            if key in self.extra and getattr(self, key) in (None, {}):
                setattr(self, key, self.extra.pop(key))
        for name in _TEXTS:
            setattr(self, name, _text(getattr(self, name)))
        self.timeline = [TimelineEntry.of(e) for e in self.timeline]
        self.submitted = {
            k: datetime.fromisoformat(v) if isinstance(v, str) else v for k, v in self.submitted.items()
        }

    def as_of(self, moment: datetime) -> IncidentFacts:
        """The facts as known at ``moment``: no timeline entry, measure, status or publication dated
        after it (undated facts stay: nothing says they came later)."""
        measures = [m for m in (m.as_of(moment) for m in self.measures) if m is not None]
        timeline = [e for e in self.timeline if e.time is None or not _after(e.time, moment)]
        published = self.published_at is None or not _after(self.published_at, moment)
        return replace(
            self,
            measures=measures,
            timeline=timeline,
            publication=self.publication if published else None,
            published_at=self.published_at if published else None,
            submitted={k: v for k, v in self.submitted.items() if not _after(v, moment)},
        )


def load_facts(path: str | Path) -> IncidentFacts:
    """Facts from a YAML file (keys as the fields above; times ISO 8601 with their offset). Errors name
    the file and the field."""
    import yaml
    from pydantic import TypeAdapter, ValidationError

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{file}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a mapping of facts, got {type(data).__name__}")
    try:
        data = _texts_read(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{file}: {exc}") from None
    try:
        return TypeAdapter(IncidentFacts).validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ValueError(f"{file}: {problems}") from None


def _texts_read(data: dict[str, Any]) -> dict[str, Any]:
    """The file's texts as :class:`Text` (a string or ``{ja, en}``), before the types are checked."""
    data = dict(data)
    for name in _TEXTS:
        if name in data:
            try:
                data[name] = Text.of(data[name])
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{name}: {exc}") from None
    if isinstance(data.get("timeline"), list):
        data["timeline"] = [TimelineEntry.of(e) if isinstance(e, dict) else e for e in data["timeline"]]
    affected = data.get("affected")
    if isinstance(affected, dict) and isinstance(affected.get("item_names"), dict):
        names = {k: Text.of(v) for k, v in affected["item_names"].items()}
        data["affected"] = {**affected, "item_names": names}
    return data


def facts_from_case(
    case: Any,
    base: IncidentFacts | None = None,
    affected: AffectedCount | None = None,
    actions: Iterable[Any] = (),
) -> IncidentFacts:
    """``base`` (the facts file) completed from a case (:class:`sekimori.respond.cases.Case`): its id and
    title, its milestones (first activity, detection, containment) and its timeline entries, and the
    affected count when given. What the file states wins; what neither knows stays missing.

    Detection and containment are as the case's timeline defines them (:mod:`sekimori.respond.timeline`):
    detection is the recorded milestone, else the case's first alert (never the case's opening);
    containment the recorded milestone, else the first verified containment action of ``actions``
    (:meth:`CaseStore.actions`). The source of each is kept in ``extra`` (``detected_source``,
    ``contained_source``)."""
    # here, not at the top: the facts are read without the respond stage (and its graph imports)
    from sekimori.respond import containment_of, detection_of

    facts = base or IncidentFacts(case_id=case.id, title=Text.of(case.title))
    facts.first_activity = facts.first_activity or case.first_activity
    if facts.detected is None:
        facts.detected, source = detection_of(case)
        if source:
            facts.extra.setdefault("detected_source", source)
    if facts.contained is None:
        facts.contained, source = containment_of(case, actions)
        if source:
            facts.extra.setdefault("contained_source", source)
    if not facts.timeline:
        # the case's entries are prose in the language they were written in
        facts.timeline = [TimelineEntry(e.time, Text.written(e.text)) for e in case.entries]
    if affected is not None and not (facts.affected.confirmed or facts.affected.possible):
        facts.affected = affected
    return facts
