"""Group posture: the findings per organisation and for the group, counted by kind and severity, and a
score whose parts are shown; snapshots kept in the register's database (the audit chain) so that the
posture has a history; a report in Japanese or English (HTML, PDF) through the report stage; and the
finding kinds as measures of the report stage's public progress page.

The score (0–100, higher is better), the same formula for an organisation and for the group::

    score = max(0, 100 − Σ over finding kinds of min(CAP, Σ over its findings of WEIGHT[severity]))

with ``WEIGHT = {critical: 10, high: 5, medium: 2, low: 1}`` and ``CAP = 25``: each kind takes at most 25
points, so a flood of one kind (fifty unused grants) does not hide the others. Each kind's points are the
score's parts (:class:`ScorePart`); nothing else enters it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.govern.finding_checks import Finding, FindingKind, Severity
from sekimori.govern.finding_text import KIND_LABEL
from sekimori.govern.register import Register
from sekimori.govern.tables import PostureSnapshotRow
from sekimori.respond import Principal

WEIGHT = {Severity.critical: 10, Severity.high: 5, Severity.medium: 2, Severity.low: 1}
CAP = 25
GROUP = "group"


@dataclass(frozen=True)
class ScorePart:
    kind: str
    findings: int
    by_severity: dict[str, int]
    points: int  # min(CAP, Σ WEIGHT[severity])
    capped: bool  # the kind's weights added up to more than CAP

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class OrgPosture:
    organisation: str  # an organisation id, or "group"
    findings: int
    by_kind: dict[str, int]
    by_severity: dict[str, int]
    people: int  # the most people any of its findings exposes
    parts: list[ScorePart]
    score: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "parts": [p.to_dict() for p in self.parts]}


@dataclass
class Posture:
    as_of: date
    group: OrgPosture
    organisations: list[OrgPosture]
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier snapshots: id, as_of, scores

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "formula": f"max(0, 100 - sum over kinds of min({CAP}, sum of weights)); weights "
            + ", ".join(f"{k}={v}" for k, v in WEIGHT.items()),
            "group": self.group.to_dict(),
            "organisations": [o.to_dict() for o in self.organisations],
            "history": self.history,
        }


def org_posture(organisation: str, found: Sequence[Finding]) -> OrgPosture:
    """The counts and the score of ``found`` (see the module docstring)."""
    parts = []
    for kind in FindingKind:
        mine = [f for f in found if f.kind is kind]
        if not mine:
            continue
        by_severity = {str(s): sum(1 for f in mine if f.severity is s) for s in Severity}
        raw = sum(WEIGHT[f.severity] for f in mine)
        parts.append(
            ScorePart(
                str(kind), len(mine), {k: v for k, v in by_severity.items() if v}, min(CAP, raw), raw > CAP
            )
        )
    return OrgPosture(
        organisation,
        len(found),
        {p.kind: p.findings for p in parts},
        {str(s): n for s in Severity if (n := sum(1 for f in found if f.severity is s))},
        max((f.people for f in found), default=0),
        parts,
        max(0, 100 - sum(p.points for p in parts)),
    )


def group_posture(
    found: Sequence[Finding],
    as_of: date,
    organisations: Iterable[str] = (),
    history: Sequence[dict[str, Any]] = (),
) -> Posture:
    """The posture of the group and of each organisation (those with findings, and ``organisations``)."""
    by_org: dict[str, list[Finding]] = {}
    for f in found:  # grouped once: not a pass over every finding per organisation
        by_org.setdefault(f.organisation, []).append(f)
    orgs = sorted(set(by_org) | set(organisations))
    return Posture(
        as_of,
        org_posture(GROUP, found),
        [org_posture(o, by_org.get(o, [])) for o in orgs],
        list(history),
    )


# --- history: snapshots in the register's database ---


def save_snapshot(register: Register, current: Posture, who: Principal) -> str:
    """Keep ``current`` as a snapshot (a recorded write: the audit chain); its id, ``<as_of>#<n>``."""
    payload: dict[str, Any] = {"as_of": current.as_of, "score": current.group.score}
    with register.tables.write(who, "posture.snapshot", payload) as session:
        prefix = f"{current.as_of.isoformat()}#"
        taken = [r for r in session.scalars(select(PostureSnapshotRow.id)) if r.startswith(prefix)]
        snapshot_id = f"{prefix}{len(taken) + 1}"
        body = current.to_dict()
        body.pop("history", None)
        session.add(
            PostureSnapshotRow(
                id=snapshot_id,
                as_of=current.as_of,
                taken=datetime.now(UTC),
                taken_by=who.label,
                score=current.group.score,
                posture=_jsonable(body),
            )
        )
        payload["id"] = snapshot_id
    return snapshot_id


def posture_history(register: Register) -> list[dict[str, Any]]:
    """Every snapshot, oldest first: id, as_of, the group's score, each organisation's score, counts."""
    with Session(register.cases.engine) as session:
        rows = list(session.scalars(select(PostureSnapshotRow)))
    out = []
    for row in sorted(rows, key=lambda r: (r.as_of, int(r.id.rpartition("#")[2]))):
        body = dict(row.posture)
        out.append(
            {
                "id": row.id,
                "as_of": row.as_of,
                "score": row.score,
                "by_kind": body["group"]["by_kind"],
                "organisations": {o["organisation"]: o["score"] for o in body["organisations"]},
            }
        )
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# --- the report: through the report stage's rendering ---

HEAD = {
    "ja": ("グループのセキュリティ態勢", "グループ全体", "点", "件", "算出方法", "推移", "保護される人数"),
    "en": (
        "Group security posture",
        "Whole group",
        "points",
        "finding(s)",
        "How the score is computed",
        "History",
        "people",
    ),
}


def _lines(org: OrgPosture, lang: str) -> str:
    i = 0 if lang == "ja" else 1
    _, _, points, count, *_ = HEAD[lang]
    head = (
        f"{org.score} / 100 = 100 - " + " - ".join(str(p.points) for p in org.parts)
        if org.parts
        else "100 / 100"
    )
    rows = [head]
    for p in org.parts:
        sev = ", ".join(f"{k} {v}" for k, v in p.by_severity.items())
        cap = f" (<={CAP})" if p.capped else ""
        rows.append(f"{KIND_LABEL[p.kind][i]}: {p.findings} {count} [{sev}] → {p.points} {points}{cap}")
    return "\n".join(rows)


def posture_document(current: Posture, lang: str = "ja", group_name: str = "") -> Any:
    """The posture as a report stage :class:`sekimori.report.Document` (kind ``governance_posture``)."""
    from sekimori.report import Document

    title, whole, _, _, how, hist, _ = HEAD[lang]
    fields = {f"{whole} ({group_name})" if group_name else whole: _lines(current.group, lang)}
    for org in current.organisations:
        fields[org.organisation] = _lines(org, lang)
    if current.history:
        fields[hist] = "\n".join(f"{h['as_of']}: {h['score']}" for h in current.history)
    formula = (
        f"得点 = max(0, 100 - 種類ごとの min({CAP}, 重み合計))、重み: 重大10・高5・中2・低1"
        if lang == "ja"
        else f"score = max(0, 100 - per kind min({CAP}, sum of weights)); weights critical 10, high 5, "
        "medium 2, low 1"
    )
    moment = datetime.combine(current.as_of, time(0), tzinfo=UTC)
    return Document(
        kind="governance_posture",
        lang=lang,
        title=title,
        addressee=group_name or "-",
        case_id=f"posture {current.as_of.isoformat()}",
        as_of=moment,
        fields=fields,
        notes=[f"{how}: {formula}"],
    )


def posture_html(current: Posture, lang: str = "ja", group_name: str = "") -> str:
    """The posture report as HTML (the report stage's templates; every value escaped)."""
    from sekimori.report import render_html

    return str(render_html(posture_document(current, lang, group_name)))


def posture_pdf(current: Posture, path: Path, lang: str = "ja", group_name: str = "") -> Path:
    """The posture report as an A4 PDF with the bundled Japanese font (the report stage's renderer)."""
    from sekimori.report import render_pdf

    return Path(render_pdf(posture_document(current, lang, group_name), path))


# --- the public progress page: the finding kinds as measures ---


def posture_measures(
    first: dict[str, int], latest: dict[str, int], as_of: date, due_days: int = 90
) -> list[Any]:
    """Per finding kind seen in the first or latest counts (kind → findings), a measure of the report
    stage's progress page: done when none is left, in progress when fewer than at first, else planned.
    Only kinds and counts: no party names (the page is public)."""
    from sekimori.report import Measure

    due = datetime.combine(as_of + timedelta(days=due_days), time(0), tzinfo=UTC)
    updated = datetime.combine(as_of, time(0), tzinfo=UTC)
    out = []
    for n, kind in enumerate(k for k in FindingKind if first.get(k) or latest.get(k)):
        before, now = first.get(kind, 0), latest.get(kind, 0)
        status = "done" if now == 0 else "in_progress" if now < before else "planned"
        ja, en = KIND_LABEL[kind]
        out.append(
            Measure(
                id=f"G{n + 1}",
                what=f"{ja}の解消（{before}件 → {now}件）",
                what_en=f"Resolve: {en} ({before} → {now})",
                owner="グループ情報セキュリティ",
                owner_en="Group information security",
                due=due,
                status=status,
                updated=updated,
            )
        )
    return out
