"""What the reports are built from: the facts of an incident, as a small typed interface.

The case (``sekimori.respond``) and the count of affected people (:mod:`sekimori.report.affected`) fill
an :class:`IncidentFacts`; each report builder (:mod:`sekimori.report.kinds`) reads it and says which of
its fields are still missing rather than inventing them. The clocks start from what the company records:
when it learned of the incident, when it judged it a leak, and any materiality decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


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

    @property
    def total_confirmed(self) -> int:
        return sum(self.confirmed.values())

    @property
    def total_possible(self) -> int:
        return sum(self.possible.values())

    def to_dict(self) -> dict[str, Any]:
        totals = {"total_confirmed": self.total_confirmed, "total_possible": self.total_possible}
        return {**asdict(self), **totals}


@dataclass
class Measure:
    """A recurrence-prevention measure (再発防止策) tracked per case."""

    id: str
    what: str  # the measure, in words
    owner: str
    due: datetime
    status: str = "planned"  # planned | in_progress | done | cancelled
    evidence: str | None = None  # what shows it is done (a document, a config change, …)
    what_en: str | None = None  # the English text, for the public page
    updated: datetime | None = None


@dataclass
class IncidentFacts:
    """Everything a report may need. ``None`` means not known yet: a report lists it as missing."""

    case_id: str
    title: str
    company: str | None = None  # the reporting company (個人情報取扱事業者)
    entrusting_company: str | None = None  # if the company is an entrusted party (委託先): for whom
    learned_at: datetime | None = None  # when the company learned of the incident (知った時点)
    judged_leak_at: datetime | None = None  # when it judged a leak occurred or may have occurred
    materiality_at: datetime | None = None  # SEC: when it determined the incident material
    first_activity: datetime | None = None
    detected: datetime | None = None
    contained: datetime | None = None
    summary: str | None = None  # 概要
    cause: str | None = None  # 原因
    secondary_damage: str | None = None  # 二次被害又はそのおそれの有無及びその内容
    response_to_individuals: str | None = None  # 本人への対応の実施状況
    publication: str | None = None  # 公表の実施状況
    prevention: str | None = None  # 再発防止のための措置 (summary; the measures are listed too)
    other: str | None = None  # その他参考となる事項
    contact: str | None = None  # where individuals can ask
    unauthorized_purpose: bool | None = None  # 不正の目的によるおそれ (e.g. unauthorized access)
    financial_damage_risk: bool | None = None  # 財産的被害のおそれ
    eu_residents: bool | None = None  # GDPR applies
    sec_registrant: bool | None = None  # SEC Form 8-K applies
    telecom_carrier: bool | None = None  # 電気通信事業者: MIC reports on secrecy of communications
    affected: AffectedCount = field(default_factory=AffectedCount)
    measures: list[Measure] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)  # {time, text} milestones, in order
    extra: dict[str, Any] = field(default_factory=dict)


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
    try:
        return TypeAdapter(IncidentFacts).validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ValueError(f"{file}: {problems}") from None


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
    from sekimori.respond.timeline import containment_of, detection_of

    facts = base or IncidentFacts(case_id=case.id, title=case.title)
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
        facts.timeline = [{"time": e.time, "text": e.text} for e in case.entries]
    if affected is not None and not (facts.affected.confirmed or facts.affected.possible):
        facts.affected = affected
    return facts
