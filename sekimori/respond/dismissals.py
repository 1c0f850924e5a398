"""Alerts dismissed at triage (false positives, known activity), each with its reason, kept in the case
database and recorded in its audit chain (:class:`sekimori.respond.RecordedTables`): a dismissal is never
deleted. Restoring an alert closes its dismissal (who and when) and keeps the row; dismissing it again
adds a new one, so the history of an alert's dismissals stays readable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sekimori.respond.audit import UTCDateTime, utcnow
from sekimori.respond.database import CaseDatabase
from sekimori.respond.families import RecordedTables
from sekimori.respond.principals import Principal
from sekimori.respond.tables import CaseError

MAX_REASON = 2000


class DismissalBase(DeclarativeBase):
    """Declarative base of the dismissals table (created by :class:`RecordedTables`)."""


class DismissalRow(DismissalBase):
    __tablename__ = "alert_dismissals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    dismissed_by: Mapped[str] = mapped_column(Text)
    dismissed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    restored_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


@dataclass(frozen=True)
class Dismissal:
    alert_id: str
    reason: str
    dismissed_by: str
    dismissed_at: datetime
    restored_by: str | None = None
    restored_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.restored_at is None


def _dismissal(row: DismissalRow) -> Dismissal:
    return Dismissal(
        row.alert_id, row.reason, row.dismissed_by, row.dismissed_at, row.restored_by, row.restored_at
    )


class AlertDismissals:
    """The dismissals in the case database of ``cases`` (a :class:`~sekimori.respond.CaseStore`)."""

    def __init__(self, cases: CaseDatabase) -> None:
        self.tables = RecordedTables(cases, [DismissalRow])
        self.engine = cases.engine

    def dismiss(self, alert_id: str, reason: str, who: Principal) -> Dismissal:
        """Dismiss ``alert_id`` for ``reason`` (required); CaseError when it is dismissed already."""
        reason = reason.strip()
        if not reason:
            raise CaseError("a dismissal needs a reason")
        if len(reason) > MAX_REASON:
            raise CaseError(f"the reason is longer than {MAX_REASON} characters")
        payload = {"alert_id": alert_id, "reason": reason}
        with self.tables.write(who, "alert.dismiss", payload) as session:
            if self._open(session, alert_id) is not None:
                raise CaseError(f"alert {alert_id} is dismissed already")
            row = DismissalRow(
                alert_id=alert_id, reason=reason, dismissed_by=who.label, dismissed_at=utcnow()
            )
            session.add(row)
        return _dismissal(row)

    def restore(self, alert_id: str, who: Principal) -> Dismissal:
        """Close the open dismissal of ``alert_id`` (kept, with who restored it and when)."""
        with self.tables.write(who, "alert.restore", {"alert_id": alert_id}) as session:
            row = self._open(session, alert_id)
            if row is None:
                raise CaseError(f"alert {alert_id} is not dismissed")
            row.restored_by, row.restored_at = who.label, utcnow()
        return _dismissal(row)

    @staticmethod
    def _open(session: Session, alert_id: str) -> DismissalRow | None:
        query = select(DismissalRow).where(
            DismissalRow.alert_id == alert_id, DismissalRow.restored_at.is_(None)
        )
        return session.scalars(query).first()

    def active(self) -> dict[str, Dismissal]:
        """Alert id → its open dismissal."""
        with Session(self.engine) as session:
            rows = session.scalars(select(DismissalRow).where(DismissalRow.restored_at.is_(None)))
            return {r.alert_id: _dismissal(r) for r in rows}

    def history(self, alert_id: str) -> list[Dismissal]:
        """Every dismissal of ``alert_id``, oldest first (restored ones included)."""
        with Session(self.engine) as session:
            query = select(DismissalRow).where(DismissalRow.alert_id == alert_id).order_by(DismissalRow.id)
            return [_dismissal(r) for r in session.scalars(query)]
