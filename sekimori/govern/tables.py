"""The register's and the reviews' tables in the case database (SQLAlchemy), beside the cases and recorded
in the same audit chain (:class:`sekimori.respond.RecordedTables`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sekimori.respond import UTCDateTime


class GovernBase(DeclarativeBase):
    """Declarative base of the govern tables (created by :class:`sekimori.respond.RecordedTables`)."""


class PartyRow(GovernBase):
    __tablename__ = "govern_parties"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2))
    parent: Mapped[str | None] = mapped_column(ForeignKey("govern_parties.id"), index=True)
    reentrustment_approved_by: Mapped[str | None] = mapped_column(Text)
    reentrustment_approved_on: Mapped[date | None] = mapped_column(Date)
    contacts: Mapped[list[str]] = mapped_column(JSON)
    risk_tier: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)


class ContractRow(GovernBase):
    __tablename__ = "govern_contracts"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    party: Mapped[str] = mapped_column(ForeignKey("govern_parties.id"), index=True)
    entrusting: Mapped[str] = mapped_column(ForeignKey("govern_parties.id"))
    purpose: Mapped[str] = mapped_column(Text)
    data_categories: Mapped[list[str]] = mapped_column(JSON)
    data_items: Mapped[list[str]] = mapped_column(JSON)
    people: Mapped[int] = mapped_column(Integer)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    reentrustment_allowed: Mapped[bool] = mapped_column(Boolean)
    safety_clauses: Mapped[list[str]] = mapped_column(JSON)
    audit_rights: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    systems: Mapped[list[str]] = mapped_column(JSON)


class GrantRow(GovernBase):
    __tablename__ = "govern_grants"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    party: Mapped[str] = mapped_column(ForeignKey("govern_parties.id"), index=True)
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(Text)
    object_kind: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(Text)
    access: Mapped[str] = mapped_column(String(32))
    justification: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(Text)
    contract: Mapped[str | None] = mapped_column(ForeignKey("govern_contracts.id"), index=True)
    created: Mapped[date] = mapped_column(Date)
    expires: Mapped[date | None] = mapped_column(Date)


class ReviewRow(GovernBase):
    """A review campaign: its population is frozen in its items when it starts."""

    __tablename__ = "govern_reviews"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    started: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date] = mapped_column(Date)
    delegates: Mapped[Any] = mapped_column(JSON)  # owner → the people who may decide for them
    case_id: Mapped[str | None] = mapped_column(String(32))  # the case holding its revocations' actions


class ReviewItemRow(GovernBase):
    """One grant of a campaign, as it was when the campaign started, and its decision."""

    __tablename__ = "govern_review_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[str] = mapped_column(ForeignKey("govern_reviews.id"), index=True)
    grant_id: Mapped[str] = mapped_column(String(100))
    frozen: Mapped[Any] = mapped_column(JSON)  # the grant's record at the start
    owner: Mapped[str] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    change: Mapped[Any] = mapped_column(JSON, nullable=True)  # for a change: what is to change
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_status: Mapped[str | None] = mapped_column(String(16))  # pending (no action yet), proposed
    action_id: Mapped[int | None] = mapped_column(Integer)  # the containment action of a revoke


class AssessmentRow(GovernBase):
    """A selection assessment of a party (委託先の選定): a questionnaire answered with evidence."""

    __tablename__ = "govern_assessments"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    party: Mapped[str] = mapped_column(ForeignKey("govern_parties.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    started: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(Text)
    concluded: Mapped[date | None] = mapped_column(Date)
    conclusion: Mapped[str | None] = mapped_column(Text)  # accepted | accepted_with_conditions | rejected


class AnswerRow(GovernBase):
    """One answer of an assessment; its evidence files by path and SHA-256 (their content is not copied)."""

    __tablename__ = "govern_answers"

    id: Mapped[str] = mapped_column(String(220), primary_key=True)  # "<assessment>/<item>"
    assessment: Mapped[str] = mapped_column(ForeignKey("govern_assessments.id"), index=True)
    item: Mapped[str] = mapped_column(String(100))
    answer: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[Any] = mapped_column(JSON)  # [{path, sha256, bytes}]
    answered_by: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRow(GovernBase):
    """A periodic audit of a party (取扱状況の把握): when, by whom, how."""

    __tablename__ = "govern_audits"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    party: Mapped[str] = mapped_column(ForeignKey("govern_parties.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(32))
    auditor: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)


class AuditFindingRow(GovernBase):
    """A finding of an audit and its remediation: due, and when it was remediated."""

    __tablename__ = "govern_audit_findings"

    id: Mapped[str] = mapped_column(String(220), primary_key=True)  # "<audit>/<n>"
    audit: Mapped[str] = mapped_column(ForeignKey("govern_audits.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    remediation_due: Mapped[date] = mapped_column(Date)
    remediated_on: Mapped[date | None] = mapped_column(Date)
    remediation: Mapped[str | None] = mapped_column(Text)


class PostureSnapshotRow(GovernBase):
    """The group posture as computed on a day, kept so that its history exists."""

    __tablename__ = "govern_posture_snapshots"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # "<as_of>#<n>"
    as_of: Mapped[date] = mapped_column(Date, index=True)
    taken: Mapped[datetime] = mapped_column(UTCDateTime())
    taken_by: Mapped[str] = mapped_column(Text)
    score: Mapped[int] = mapped_column(Integer)
    posture: Mapped[Any] = mapped_column(JSON)  # the posture's to_dict()


REGISTER_TABLES: tuple[type[GovernBase], ...] = (PartyRow, ContractRow, GrantRow)
REVIEW_TABLES: tuple[type[GovernBase], ...] = (ReviewRow, ReviewItemRow)
SUPERVISION_TABLES: tuple[type[GovernBase], ...] = (AssessmentRow, AnswerRow, AuditRow, AuditFindingRow)
POSTURE_TABLES: tuple[type[GovernBase], ...] = (PostureSnapshotRow,)
ROW_OF_KIND: dict[str, type[Any]] = {"parties": PartyRow, "contracts": ContractRow, "grants": GrantRow}
