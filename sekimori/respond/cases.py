"""Cases: alerts grouped into an incident, its timeline, and the containment actions taken, approved by a
second person and carried out by connectors, every step in the audit log.

A :class:`CaseStore` keeps them in SQLite (``sqlite:///path``, the default) or PostgreSQL
(``postgresql+psycopg://…``), in tables ``cases``, ``case_alerts``, ``case_entries`` and
``containment_actions`` beside the audit tables of :mod:`sekimori.respond.audit`. Every write appends
its audit entry in the same transaction: the change and its entry are both there or neither. Writes are
serialised by the audit log's lock; no lock is held while a connector works.

A containment action goes ``proposed`` (the connector's dry-run plan stored) → ``approved`` (by someone
other than the requester) → ``executing`` (committed before the connector is called) → ``executed`` →
``verified``, or ``failed`` (with the error and the phase: execute, verify, rollback, interrupted), or
``rolled_back``. The plan executed is the stored one, exactly what was approved. An action is never left
silently in ``executing``: a failure is recorded, and :meth:`CaseStore.recover` (run when a store opens)
marks actions whose executing process is gone as failed (``interrupted``), since only the target system
can say whether the change was made.

A connector that applied part of a plan and cannot undo it itself raises with a ``state`` attribute
(a dict, what rollback needs); the store then calls its ``rollback``.

Who acts is a :class:`~sekimori.respond.principals.Principal` (authenticated by a face: the OS user on the
command line), never a typed name; the requester and the approver are compared as people, look-alike
names included. Every row written is recorded in the audit chain (:mod:`sekimori.respond.ledger`):
:meth:`CaseStore.verify` names any table edited beside sekimori, and approve, execute and rollback refuse
an action whose row disagrees with the chain, or whose request and approval the chain does not hold.

The store is built in layers: :mod:`sekimori.respond.database` (the engine, the audit log, reads and the
recorded write), :mod:`sekimori.respond.containment` (the actions' workflow) and this module (cases,
their alerts, entries, scope, status and milestones).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.respond import ledger
from sekimori.respond.actions import Connector
from sekimori.respond.audit import jsonable, utcnow
from sekimori.respond.containment import STALE_EXECUTING, ContainmentWorkflow
from sekimori.respond.database import authenticated
from sekimori.respond.grouping import DEFAULT_WINDOW, group_alerts
from sekimori.respond.principals import Principal
from sekimori.respond.scope import Scope
from sekimori.respond.tables import (
    MILESTONE_OF_ENTRY,
    MILESTONES,
    ActionStatus,
    Case,
    CaseAlert,
    CaseError,
    CaseStatus,
    ContainmentAction,
    Entry,
    EntryKind,
)

if TYPE_CHECKING:
    from sekimori.detect import Alert

__all__ = [
    "DEFAULT_WINDOW",
    "STALE_EXECUTING",
    "ActionStatus",
    "Case",
    "CaseAlert",
    "CaseError",
    "CaseStatus",
    "CaseStore",
    "ContainmentAction",
    "Entry",
    "EntryKind",
    "Principal",
    "group_alerts",
]


class CaseStore(ContainmentWorkflow):
    """Cases in the database at ``url``. ``connectors``: connector instances by name, used instead of
    building ``CONNECTORS.get(name)()`` (tests, preconfigured connectors). ``anchor``: the audit anchor
    file (see :class:`sekimori.respond.audit.AuditLog`). ``recover``: run :meth:`recover` on opening."""

    def __init__(
        self,
        url: str,
        connectors: dict[str, Connector] | None = None,
        anchor: str | os.PathLike[str] | bool | None = None,
        recover: bool = True,
    ) -> None:
        super().__init__(url, connectors, anchor)
        if recover:
            self.recover()

    def _next_case_id(self, session: Session, now: datetime) -> str:
        # Called under the write lock, so two writers cannot pick the same number.
        prefix = f"CASE-{now.year}-"
        ids = session.scalars(select(Case.id).where(Case.id.like(prefix + "%")))
        numbers = [int(i[len(prefix) :]) for i in ids if i[len(prefix) :].isdigit()]
        return f"{prefix}{max(numbers, default=0) + 1:04d}"

    def open_case(self, title: str, alerts: Sequence[Alert], actor: Principal) -> Case:
        actor = authenticated(actor)
        now = utcnow()
        with self._write() as session:
            case_id = self._next_case_id(session, now)
            case = Case(
                id=case_id,
                title=title,
                status=CaseStatus.open,
                created=now,
                opened_by=actor.label,
                detected=now,
            )
            session.add(case)
            session.flush()
            added = self._attach(session, case, alerts, actor, now)
            ledger.log(session, actor, "case.open", {"title": title, "alerts": added}, case_id)
        return self.get(case_id)

    def add_alerts(self, case_id: str, alerts: Sequence[Alert], actor: Principal) -> list[str]:
        """Attach ``alerts`` to the case; those already attached (by alert_id) are skipped. Returns the
        ids added."""
        now = utcnow()
        with self._write() as session:
            case = self._case(session, case_id)
            added = self._attach(session, case, alerts, actor, now)
            if added:
                ledger.log(session, actor, "case.alerts", {"added": added}, case_id)
        return added

    def _attach(
        self, session: Session, case: Case, alerts: Iterable[Alert], actor: Principal, now: datetime
    ) -> list[str]:
        have = set(session.scalars(select(CaseAlert.alert_id).where(CaseAlert.case_id == case.id)))
        added = []
        for alert in alerts:
            if alert.alert_id in have:
                continue
            have.add(alert.alert_id)
            when = alert.time
            session.add(
                CaseAlert(
                    case_id=case.id,
                    alert_id=alert.alert_id,
                    rule_id=alert.rule_id,
                    title=alert.title,
                    source=alert.source,
                    level=alert.level,
                    time=when,
                    host=alert.host,
                    account=alert.account,
                    orgs=list(alert.organisations),
                    attack=list(alert.attack),
                    evidence=jsonable([e.to_dict() for e in alert.evidence]),
                    added=now,
                    added_by=actor.label,
                )
            )
            if when is not None and (case.first_activity is None or when < case.first_activity):
                case.first_activity = when
            added.append(alert.alert_id)
        return added

    def add_entry(
        self,
        case_id: str,
        kind: str,
        text: str,
        actor: Principal,
        time: datetime | None = None,
        data: dict[str, Any] | None = None,
    ) -> Entry:
        """Add a timeline entry. ``time``: when it happened (default now). An entry of kind detection,
        judgment, containment or notification dates that milestone of the case, if earlier."""
        try:
            entry_kind = EntryKind(kind)
        except ValueError:
            raise CaseError(f"unknown entry kind {kind!r}; known: {', '.join(EntryKind)}") from None
        now = utcnow()
        when = now if time is None else time
        if when.tzinfo is None:
            raise CaseError("entry time must be timezone-aware")
        when = when.astimezone(UTC)
        with self._write() as session:
            case = self._case(session, case_id)
            entry = Entry(
                case_id=case_id,
                kind=entry_kind,
                time=when,
                recorded=now,
                actor=authenticated(actor).label,
                text=text,
                data=jsonable(data) if data is not None else None,
            )
            session.add(entry)
            milestone = MILESTONE_OF_ENTRY.get(entry_kind)
            if milestone is not None:
                current = getattr(case, milestone)
                if current is None or when < current:
                    setattr(case, milestone, when)
            session.flush()
            ledger.log(
                session,
                actor,
                str(entry_kind),
                {"entry": entry.id, "time": when, "text": text, "data": entry.data},
                case_id,
            )
        return entry

    def set_scope(self, case_id: str, scope: Scope, actor: Principal) -> None:
        """Keep ``scope`` in the case (as :meth:`Scope.to_dict`; :func:`stored_scope` reads it back)."""
        with self._write() as session:
            case = self._case(session, case_id)
            case.scope = jsonable(scope.to_dict())
            ledger.log(session, actor, "case.scope", {"scope": case.scope}, case_id)

    def set_status(self, case_id: str, status: str, actor: Principal) -> None:
        """Set the status; the first move to contained or closed dates that milestone."""
        try:
            new = CaseStatus(status)
        except ValueError:
            raise CaseError(f"unknown case status {status!r}; known: {', '.join(CaseStatus)}") from None
        now = utcnow()
        with self._write() as session:
            case = self._case(session, case_id)
            old = case.status
            case.status = new
            if new is CaseStatus.contained and case.contained is None:
                case.contained = now
            if new is CaseStatus.closed and case.closed is None:
                case.closed = now
            ledger.log(session, actor, "case.status", {"from": old, "to": new}, case_id)

    def set_milestone(self, case_id: str, milestone: str, when: datetime, actor: Principal) -> None:
        """Set a milestone time (``first_activity``, ``detected``…) explicitly, e.g. from the forensics."""
        if milestone not in MILESTONES:
            raise CaseError(f"unknown milestone {milestone!r}; known: {', '.join(MILESTONES)}")
        if when.tzinfo is None:
            raise CaseError("milestone time must be timezone-aware")
        with self._write() as session:
            case = self._case(session, case_id)
            old = getattr(case, milestone)
            setattr(case, milestone, when.astimezone(UTC))
            ledger.log(
                session, actor, "case.milestone", {"milestone": milestone, "from": old, "to": when}, case_id
            )
