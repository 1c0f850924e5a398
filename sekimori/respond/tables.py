"""The case tables: cases, the alerts in them, their timeline entries and containment actions (SQLAlchemy
models on the audit log's declarative base, so that a change and its audit entry share one transaction).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sekimori.respond.actions import Action, ActionKind, Outcome, Plan
from sekimori.respond.audit import Base, UTCDateTime


class CaseError(Exception):
    """A case operation that is not allowed or refers to something unknown."""


class SamePersonError(CaseError):
    """An approval by the person who asked for the action: the two-person rule refuses it."""


class CaseStatus(StrEnum):
    open = "open"
    contained = "contained"
    closed = "closed"


class EntryKind(StrEnum):
    note = "note"
    evidence = "evidence"
    decision = "decision"
    judgment = "judgment"
    containment = "containment"
    notification = "notification"
    detection = "detection"
    other = "other"


class ActionStatus(StrEnum):
    proposed = "proposed"
    approved = "approved"
    executing = "executing"
    executed = "executed"
    verified = "verified"
    failed = "failed"
    rolled_back = "rolled_back"


# The case milestone an entry of this kind dates (the earliest such entry wins).
MILESTONE_OF_ENTRY = {
    EntryKind.detection: "detected",
    EntryKind.judgment: "judged",
    EntryKind.containment: "contained",
    EntryKind.notification: "notified",
}
MILESTONES = ("first_activity", "detected", "judged", "contained", "notified", "closed")


class CaseAlert(Base):
    __tablename__ = "case_alerts"
    __table_args__ = (UniqueConstraint("case_id", "alert_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    alert_id: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(32))
    time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    host: Mapped[str | None] = mapped_column(Text)
    account: Mapped[str | None] = mapped_column(Text)
    orgs: Mapped[list[str]] = mapped_column(JSON)
    attack: Mapped[list[str]] = mapped_column(JSON)
    evidence: Mapped[Any] = mapped_column(JSON)
    added: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(Text)


class Entry(Base):
    """One line of a case's timeline. ``time``: when it happened; ``recorded``: when it was written."""

    __tablename__ = "case_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[Any] = mapped_column(JSON, nullable=True)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # CASE-2026-0001
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(Text)
    scope: Mapped[Any] = mapped_column(JSON, nullable=True)  # set by the scoping module (set_scope)
    first_activity: Mapped[datetime | None] = mapped_column(UTCDateTime())  # earliest alert
    detected: Mapped[datetime | None] = mapped_column(UTCDateTime())  # case opened, or a detection entry
    judged: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contained: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notified: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alerts: Mapped[list[CaseAlert]] = relationship(
        lazy="selectin", order_by=[CaseAlert.time.asc().nulls_last(), CaseAlert.id]
    )
    entries: Mapped[list[Entry]] = relationship(lazy="selectin", order_by=[Entry.time, Entry.id])


class ContainmentAction(Base):
    __tablename__ = "containment_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    params: Mapped[Any] = mapped_column(JSON)
    connector: Mapped[str] = mapped_column(String(64))
    changes: Mapped[list[str]] = mapped_column(JSON)  # the dry-run plan, exactly as approved
    reversible: Mapped[bool] = mapped_column(Boolean)
    plan_state: Mapped[Any] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    approved_by: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)  # the connector's report of execute (or rollback)
    verify_detail: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)  # why it failed, redacted
    failed_phase: Mapped[str | None] = mapped_column(String(16))  # execute | verify | rollback | interrupted
    state: Mapped[Any] = mapped_column(JSON, nullable=True)  # the outcome's state: what rollback needs
    executor: Mapped[str | None] = mapped_column(Text)  # host/pid namespace/pid that ran execute
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rolled_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rolled_back_by: Mapped[str | None] = mapped_column(Text)

    def action(self) -> Action:
        return Action(ActionKind(self.kind), self.target, self.reason, dict(self.params or {}))

    def plan(self) -> Plan:
        return Plan(
            self.action(), self.connector, list(self.changes), self.reversible, dict(self.plan_state or {})
        )

    def outcome(self) -> Outcome:
        return Outcome(
            self.status in (ActionStatus.executed, ActionStatus.verified),
            self.detail or "",
            dict(self.state or {}),
        )


# The tables whose every row is recorded in the audit chain (sekimori.respond.ledger), parents first.
TRACKED: tuple[type[Base], ...] = (Case, CaseAlert, Entry, ContainmentAction)
