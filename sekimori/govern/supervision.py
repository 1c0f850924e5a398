"""Supervision records per party (委託先の監督, PPC general guideline 3-4-4): the selection assessment (the
questionnaire of :mod:`sekimori.govern.questionnaire`, answered with evidence files), and periodic audits
with their findings and remediation due dates. Every change is a recorded write of the register's
database (the audit chain).

An evidence file is recorded by its path, size and SHA-256, never copied: :func:`check_evidence` reads
the files again and says which are missing or changed since they were recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.govern.questionnaire import ITEMS, QUESTIONNAIRE
from sekimori.govern.register import Register
from sekimori.govern.tables import AnswerRow, AssessmentRow, AuditFindingRow, AuditRow, PartyRow
from sekimori.respond import Principal

AUDIT_INTERVAL_DAYS = 365  # a party entrusted with personal data is audited at least once a year


class SupervisionError(Exception):
    """A supervision record that is refused (an unknown party or item, an unreadable evidence file)."""


class Answer(StrEnum):
    yes = "yes"
    partly = "partly"
    no = "no"
    not_applicable = "not_applicable"


class Conclusion(StrEnum):
    accepted = "accepted"
    accepted_with_conditions = "accepted_with_conditions"
    rejected = "rejected"


@dataclass(frozen=True)
class Evidence:
    path: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class AuditFinding:
    id: str
    text: str
    severity: str
    remediation_due: date
    remediated_on: date | None = None
    remediation: str | None = None

    def overdue(self, day: date) -> bool:
        return self.remediated_on is None and day > self.remediation_due


@dataclass(frozen=True)
class Audit:
    id: str
    party: str
    day: date
    method: str
    auditor: str
    summary: str | None
    findings: list[AuditFinding] = field(default_factory=list)


@dataclass(frozen=True)
class Assessment:
    id: str
    party: str
    title: str
    started: datetime
    started_by: str
    concluded: date | None
    conclusion: str | None
    answers: dict[str, dict[str, Any]]  # item → {answer, note, evidence, answered_by, answered_at}

    @property
    def unanswered(self) -> list[str]:
        return [item.id for item in QUESTIONNAIRE if item.id not in self.answers]


@dataclass(frozen=True)
class PartySupervision:
    party: str
    assessments: list[Assessment]
    audits: list[Audit]
    as_of: date

    @property
    def last_audit(self) -> date | None:
        return max((a.day for a in self.audits), default=None)

    @property
    def audit_due(self) -> bool:
        """No audit, or the last one more than :data:`AUDIT_INTERVAL_DAYS` before ``as_of``."""
        last = self.last_audit
        return last is None or (self.as_of - last).days > AUDIT_INTERVAL_DAYS

    @property
    def overdue_remediations(self) -> list[AuditFinding]:
        return [f for a in self.audits for f in a.findings if f.overdue(self.as_of)]

    @property
    def selected(self) -> bool:
        """A concluded assessment accepted the party (with or without conditions)."""
        return any(
            a.conclusion in (Conclusion.accepted, Conclusion.accepted_with_conditions)
            for a in self.assessments
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "as_of": self.as_of,
            "selected": self.selected,
            "last_audit": self.last_audit,
            "audit_due": self.audit_due,
            "overdue_remediations": [f.id for f in self.overdue_remediations],
            "assessments": [
                {**{k: v for k, v in a.__dict__.items()}, "unanswered": a.unanswered}
                for a in self.assessments
            ],
            "audits": [
                {
                    **{k: v for k, v in a.__dict__.items() if k != "findings"},
                    "findings": [f.__dict__ for f in a.findings],
                }
                for a in self.audits
            ],
        }


def file_evidence(path: Path) -> Evidence:
    """The path, size and SHA-256 of a file (read in blocks; its content is not kept)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
    except OSError as exc:
        raise SupervisionError(f"evidence {path}: cannot read: {exc.strerror or exc}") from None
    return Evidence(str(Path(path).resolve()), digest.hexdigest(), size)


def _party(session: Session, party: str) -> None:
    if session.get(PartyRow, party) is None:
        raise SupervisionError(f"unknown party {party!r}")


def start_assessment(
    register: Register, assessment_id: str, party: str, who: Principal, title: str | None = None
) -> None:
    """Open a selection assessment of ``party`` (its questionnaire: :data:`QUESTIONNAIRE`)."""
    payload = {"assessment": assessment_id, "party": party}
    with register.tables.write(who, "supervision.assess", payload) as session:
        _party(session, party)
        if session.get(AssessmentRow, assessment_id) is not None:
            raise SupervisionError(f"assessment {assessment_id!r} exists already")
        session.add(
            AssessmentRow(
                id=assessment_id,
                party=party,
                title=title or f"Selection assessment of {party}",
                started=datetime.now(UTC),
                started_by=who.label,
                concluded=None,
                conclusion=None,
            )
        )


def answer(
    register: Register,
    assessment_id: str,
    item: str,
    value: str,
    who: Principal,
    note: str | None = None,
    evidence: Sequence[Path] = (),
) -> list[Evidence]:
    """Record (or replace) the answer to one item, with the evidence files' paths and hashes."""
    if item not in ITEMS:
        raise SupervisionError(f"unknown item {item!r}; known: {', '.join(ITEMS)}")
    try:
        chosen = Answer(value)
    except ValueError:
        raise SupervisionError(f"unknown answer {value!r}; known: {', '.join(Answer)}") from None
    files = [file_evidence(p) for p in evidence]
    payload = {
        "assessment": assessment_id,
        "item": item,
        "answer": chosen,
        "evidence": [f.__dict__ for f in files],
    }
    with register.tables.write(who, "supervision.answer", payload) as session:
        assessment = session.get(AssessmentRow, assessment_id)
        if assessment is None:
            raise SupervisionError(f"unknown assessment {assessment_id!r}")
        if assessment.concluded is not None:
            raise SupervisionError(f"assessment {assessment_id!r} was concluded on {assessment.concluded}")
        row_id = f"{assessment_id}/{item}"
        row = session.get(AnswerRow, row_id)
        if row is None:
            row = AnswerRow(id=row_id, assessment=assessment_id, item=item)
            session.add(row)
        row.answer, row.note = str(chosen), note
        row.evidence = [f.__dict__ for f in files]
        row.answered_by, row.answered_at = who.label, datetime.now(UTC)
    return files


def conclude(register: Register, assessment_id: str, conclusion: str, day: date, who: Principal) -> None:
    """Conclude an assessment (every item answered): accepted, accepted with conditions, or rejected."""
    try:
        chosen = Conclusion(conclusion)
    except ValueError:
        raise SupervisionError(f"unknown conclusion {conclusion!r}; known: {', '.join(Conclusion)}") from None
    with register.tables.write(
        who, "supervision.conclude", {"assessment": assessment_id, "conclusion": chosen}
    ) as s:
        assessment = s.get(AssessmentRow, assessment_id)
        if assessment is None:
            raise SupervisionError(f"unknown assessment {assessment_id!r}")
        answered = {r.item for r in s.scalars(select(AnswerRow).where(AnswerRow.assessment == assessment_id))}
        missing = [i.id for i in QUESTIONNAIRE if i.id not in answered]
        if missing:
            raise SupervisionError(f"assessment {assessment_id!r}: unanswered items {', '.join(missing)}")
        assessment.concluded, assessment.conclusion = day, str(chosen)


def record_audit(
    register: Register,
    audit_id: str,
    party: str,
    day: date,
    method: str,
    who: Principal,
    summary: str | None = None,
    findings: Sequence[tuple[str, str, date]] = (),
) -> None:
    """Record an audit of ``party`` by ``who`` and its findings: (text, severity, remediation due)."""
    payload = {"audit": audit_id, "party": party, "day": day, "findings": len(findings)}
    with register.tables.write(who, "supervision.audit", payload) as session:
        _party(session, party)
        if session.get(AuditRow, audit_id) is not None:
            raise SupervisionError(f"audit {audit_id!r} exists already")
        session.add(
            AuditRow(id=audit_id, party=party, day=day, method=method, auditor=who.label, summary=summary)
        )
        session.flush()
        for n, (text, severity, due) in enumerate(findings, 1):
            if due < day:
                raise SupervisionError(
                    f"audit {audit_id!r} finding {n}: remediation due {due} before the audit"
                )
            session.add(
                AuditFindingRow(
                    id=f"{audit_id}/{n}", audit=audit_id, text=text, severity=severity, remediation_due=due
                )
            )


def remediate(register: Register, finding_id: str, day: date, remediation: str, who: Principal) -> None:
    """Record that an audit finding was remediated on ``day``, and how."""
    with register.tables.write(who, "supervision.remediate", {"finding": finding_id, "day": day}) as session:
        row = session.get(AuditFindingRow, finding_id)
        if row is None:
            raise SupervisionError(f"unknown audit finding {finding_id!r}")
        row.remediated_on, row.remediation = day, remediation


def supervision_records(
    register: Register, as_of: date | None = None, party: str | None = None
) -> list[PartySupervision]:
    """Per party (every party of the register, or ``party``): its assessments and audits."""
    day = as_of or datetime.now(UTC).date()
    with Session(register.cases.engine) as session:
        parties = sorted(session.scalars(select(PartyRow.id)))
        assessments = list(session.scalars(select(AssessmentRow)))
        answers = list(session.scalars(select(AnswerRow)))
        audits = list(session.scalars(select(AuditRow)))
        findings = list(session.scalars(select(AuditFindingRow)))
    answers_of: dict[str, dict[str, dict[str, Any]]] = {}
    for a in answers:
        answers_of.setdefault(a.assessment, {})[a.item] = {
            "answer": a.answer,
            "note": a.note,
            "evidence": list(a.evidence or []),
            "answered_by": a.answered_by,
            "answered_at": a.answered_at,
        }
    findings_of: dict[str, list[AuditFinding]] = {}
    for f in sorted(findings, key=lambda f: (len(f.id), f.id)):
        findings_of.setdefault(f.audit, []).append(
            AuditFinding(f.id, f.text, f.severity, f.remediation_due, f.remediated_on, f.remediation)
        )
    out = []
    for pid in parties if party is None else [party]:
        out.append(
            PartySupervision(
                pid,
                [
                    Assessment(
                        a.id,
                        a.party,
                        a.title,
                        a.started,
                        a.started_by,
                        a.concluded,
                        a.conclusion,
                        answers_of.get(a.id, {}),
                    )
                    for a in sorted(assessments, key=lambda a: a.id)
                    if a.party == pid
                ],
                [
                    Audit(a.id, a.party, a.day, a.method, a.auditor, a.summary, findings_of.get(a.id, []))
                    for a in sorted(audits, key=lambda a: (a.day, a.id))
                    if a.party == pid
                ],
                day,
            )
        )
    return out


def check_evidence(register: Register) -> list[dict[str, Any]]:
    """Every evidence file recorded, read again: ``ok``, ``changed`` (another hash) or ``missing``."""
    with Session(register.cases.engine) as session:
        rows = list(session.scalars(select(AnswerRow)))
    out = []
    for row in sorted(rows, key=lambda r: r.id):
        for ev in row.evidence or []:
            try:
                now = file_evidence(Path(ev["path"])).sha256
                status = "ok" if now == ev["sha256"] else "changed"
            except SupervisionError:
                status = "missing"
            out.append({"answer": row.id, "path": ev["path"], "sha256": ev["sha256"], "status": status})
    return out
