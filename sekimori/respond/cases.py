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
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.respond import ledger
from sekimori.respond.actions import CONNECTORS, Action, Connector, Outcome, Plan, redact
from sekimori.respond.audit import AuditLog, AuditReport, create_schema, jsonable, make_engine, utcnow
from sekimori.respond.grouping import DEFAULT_WINDOW, alert_orgs, alert_time, group_alerts
from sekimori.respond.principals import SYSTEM, Principal
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

__all__ = [
    "DEFAULT_WINDOW",
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
    "alert_time",
    "group_alerts",
]

STALE_EXECUTING = timedelta(minutes=15)  # an 'executing' action older than this has lost its process


# -- the store -----------------------------------------------------------------------------------------


def _executor() -> str:
    # The PID namespace tells apart containers that share a hostname.
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}/{os.getpid()}"


def _executor_gone(executor: str | None) -> bool:
    """Whether ``executor`` was a process on this host (and PID namespace) that no longer runs."""
    if not executor:
        return False
    host, _, rest = executor.partition("/")
    namespace, _, pid_text = rest.partition("/")
    mine_host, _, mine_rest = _executor().partition("/")
    if host != mine_host or namespace != mine_rest.partition("/")[0] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # this process: another thread may be executing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _principal(who: Principal) -> Principal:
    # Who acts must have been authenticated by a face (the OS user, a web login): never a typed name.
    if not isinstance(who, Principal):
        raise TypeError(f"who acts must be a Principal, not {type(who).__name__}")
    return who


class CaseStore:
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
        self.engine = make_engine(url)
        create_schema(self.engine)
        self.audit = AuditLog(self.engine, anchor=anchor, create=False)
        self._connectors: dict[str, Connector] = dict(connectors or {})
        if recover:
            self.recover()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """:meth:`AuditLog.transaction` whose changes to the case tables are recorded in the chain."""
        with self.audit.transaction() as session:
            ledger.track(session)
            yield session
            ledger.finish(self.audit, session)

    def verify(self) -> AuditReport:
        """The audit chain checked, and the case tables compared with it: any row edited, inserted or
        deleted beside sekimori is named (table, row, field, what the chain says and what is stored)."""
        with self.audit.transaction() as session:
            report, _ = ledger.check(self.audit, session)
        return report

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    # -- cases ---------------------------------------------------------------------------------------

    def _case(self, session: Session, case_id: str) -> Case:
        case = session.get(Case, case_id)
        if case is None:
            raise CaseError(f"unknown case {case_id!r}")
        return case

    def get(self, case_id: str) -> Case:
        with self._read() as session:
            return self._case(session, case_id)

    def list_cases(self) -> list[Case]:
        with self._read() as session:
            return list(session.scalars(select(Case).order_by(Case.created, Case.id)))

    def _next_case_id(self, session: Session, now: datetime) -> str:
        # Called under the write lock, so two writers cannot pick the same number.
        prefix = f"CASE-{now.year}-"
        ids = session.scalars(select(Case.id).where(Case.id.like(prefix + "%")))
        numbers = [int(i[len(prefix) :]) for i in ids if i[len(prefix) :].isdigit()]
        return f"{prefix}{max(numbers, default=0) + 1:04d}"

    def open_case(self, title: str, alerts: list[dict[str, Any]], actor: Principal) -> Case:
        actor = _principal(actor)
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

    def add_alerts(self, case_id: str, alerts: list[dict[str, Any]], actor: Principal) -> list[str]:
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
        self, session: Session, case: Case, alerts: Iterable[dict[str, Any]], actor: Principal, now: datetime
    ) -> list[str]:
        have = set(session.scalars(select(CaseAlert.alert_id).where(CaseAlert.case_id == case.id)))
        added = []
        for alert in alerts:
            aid = alert.get("alert_id")
            if not aid:
                raise CaseError(f"an alert without alert_id: {alert.get('title')!r}")
            if aid in have:
                continue
            have.add(aid)
            when = alert_time(alert)
            session.add(
                CaseAlert(
                    case_id=case.id,
                    alert_id=aid,
                    rule_id=alert.get("rule_id"),
                    title=alert.get("title"),
                    source=alert.get("source"),
                    level=alert.get("level"),
                    time=when,
                    host=alert.get("host"),
                    account=alert.get("account"),
                    orgs=alert_orgs(alert),
                    attack=jsonable(list(alert.get("attack") or [])),
                    evidence=jsonable(alert.get("evidence") or []),
                    added=now,
                    added_by=actor.label,
                )
            )
            if when is not None and (case.first_activity is None or when < case.first_activity):
                case.first_activity = when
            added.append(aid)
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
                actor=_principal(actor).label,
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

    def set_scope(self, case_id: str, scope: dict[str, Any], actor: Principal) -> None:
        with self._write() as session:
            case = self._case(session, case_id)
            case.scope = jsonable(scope)
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

    # -- containment actions -------------------------------------------------------------------------

    def _connector(self, name: str) -> Connector:
        connector = self._connectors.get(name)
        if connector is None:
            try:
                cls = CONNECTORS.get(name)
            except KeyError as exc:
                raise CaseError(str(exc.args[0])) from None
            try:
                connector = cls()
            except Exception as exc:  # misconfigured: a message, never the settings
                raise CaseError(f"connector {name!r} cannot be set up: {type(exc).__name__}: {exc}") from None
            self._connectors[name] = connector
        return connector

    @staticmethod
    def _error(exc: BaseException, connector: Connector) -> str:
        return redact(f"{type(exc).__name__}: {exc}", getattr(connector, "settings", None) or {})

    def _action(self, session: Session, action_id: int) -> ContainmentAction:
        row = session.get(ContainmentAction, action_id)
        if row is None:
            raise CaseError(f"unknown action {action_id}")
        return row

    def cases_of_alerts(self, alert_ids: Iterable[str]) -> dict[str, str]:
        """Alert id → the (first) case it is in, for those of ``alert_ids`` that are in one."""
        wanted = set(alert_ids)
        with self._read() as session:
            query = select(CaseAlert.alert_id, CaseAlert.case_id).order_by(CaseAlert.case_id)
            found: dict[str, str] = {}
            for alert_id, case_id in session.execute(query):
                if alert_id in wanted:
                    found.setdefault(alert_id, case_id)
            return found

    def action(self, action_id: int) -> ContainmentAction:
        with self._read() as session:
            return self._action(session, action_id)

    def actions(self, case_id: str) -> list[ContainmentAction]:
        with self._read() as session:
            self._case(session, case_id)
            query = select(ContainmentAction).where(ContainmentAction.case_id == case_id)
            return list(session.scalars(query.order_by(ContainmentAction.id)))

    def propose(
        self, case_id: str, action: Action, connector_name: str, actor: Principal
    ) -> ContainmentAction:
        """Plan ``action`` with the connector (a dry-run, outside any lock) and store the exact changes."""
        actor = _principal(actor)
        self.get(case_id)
        connector = self._connector(connector_name)
        if action.kind not in connector.kinds:
            raise CaseError(
                f"connector {connector_name!r} cannot {action.kind}; it can: "
                f"{', '.join(sorted(connector.kinds))}"
            )
        try:
            plan = connector.plan(action)
        except Exception as exc:
            raise CaseError(
                f"connector {connector_name!r} could not plan {action.kind} {action.target}: "
                f"{self._error(exc, connector)}"
            ) from None
        settings = getattr(connector, "settings", None) or {}
        changes = [redact(c, settings) for c in plan.changes]
        now = utcnow()
        with self._write() as session:
            self._case(session, case_id)
            row = ContainmentAction(
                case_id=case_id,
                kind=str(action.kind),
                target=action.target,
                reason=action.reason,
                params=jsonable(action.params),
                connector=connector_name,
                changes=changes,
                reversible=plan.reversible,
                plan_state=jsonable(plan.state),
                requested_by=actor.label,
                status=ActionStatus.proposed,
                proposed_at=now,
            )
            session.add(row)
            session.flush()
            ledger.log(
                session,
                actor,
                "action.propose",
                {
                    "action_id": row.id,
                    "action": action.to_dict(),
                    "connector": connector_name,
                    "changes": changes,
                    "reversible": plan.reversible,
                },
                case_id,
            )
        return row

    def _trusted(self, session: Session, action_id: int) -> tuple[ContainmentAction, ledger.Ledger]:
        """The action, under the write lock, once the audit chain is intact and the action's row is as
        the chain says: what the workflow decides is never taken from a table edited beside it."""
        report, book = ledger.check(self.audit, session)
        row = self._action(session, action_id)
        stored = ledger.action_row(session, action_id)
        problems = [p for p in report.problems if p.startswith(("seq ", "audit_head", "anchor "))]
        problems += ledger.row_problems(book, "containment_actions", str(action_id), stored)
        if problems:
            shown = "; ".join(problems[:5]) + (f"; … {len(problems) - 5} more" if len(problems) > 5 else "")
            raise CaseError(
                f"action {action_id}: refused, the database disagrees with the audit trail ({shown}); "
                "run `sekimori audit verify`"
            )
        return row, book

    def approve(self, action_id: int, approver: Principal) -> ContainmentAction:
        """Approve a proposed action: by another person than the one who asked (as the chain records
        the request), under the same mapping of logins to people."""
        approver = _principal(approver)
        with self._write() as session:
            row, book = self._trusted(session, action_id)
            if row.status != ActionStatus.proposed:
                raise CaseError(f"action {action_id} is {row.status}: only a proposed action can be approved")
            requester = book.principal(action_id, "action.propose")
            if requester is None:
                raise CaseError(f"action {action_id}: the audit trail does not say who asked for it")
            if requester.same_person(approver):
                raise CaseError(
                    f"action {action_id}: approval by the same person who asked "
                    f"({approver.label} is {requester.label})"
                )
            if requester.directory != approver.directory:
                # Another mapping of logins to people could make one person two: propose again.
                raise CaseError(
                    f"action {action_id}: the mapping of logins to people differs from the request's "
                    f"({approver.directory or 'none'} vs {requester.directory or 'none'}); propose it again"
                )
            row.status, row.approved_by, row.approved_at = ActionStatus.approved, approver.label, utcnow()
            ledger.log(
                session,
                approver,
                "action.approve",
                {"action_id": action_id, "changes": row.changes},
                row.case_id,
            )
        return row

    def execute(self, action_id: int, actor: Principal) -> ContainmentAction:
        """Carry out an approved action: marked executing (committed) first, then executed and verified,
        or failed. Returns the action in its final state; raises CaseError only if it may not run."""
        actor = _principal(actor)
        row = self.action(action_id)
        connector = self._connector(row.connector)
        with self._write() as session:
            row, book = self._trusted(session, action_id)
            if row.status != ActionStatus.approved:
                raise CaseError(
                    f"action {action_id} is {row.status}: only an approved action can be executed"
                )
            requester = book.principal(action_id, "action.propose")
            approver = book.principal(action_id, "action.approve")
            if requester is None or approver is None or requester.same_person(approver):
                raise CaseError(f"action {action_id}: the audit trail holds no approval by a second person")
            row.status, row.started_at, row.executor = ActionStatus.executing, utcnow(), _executor()
            ledger.log(
                session,
                actor,
                "action.execute",
                {"action_id": action_id, "phase": "start", "executor": row.executor},
                row.case_id,
            )
        plan = row.plan()
        try:
            outcome = connector.execute(plan)
        except Exception as exc:
            return self._execute_failed(
                row, connector, plan, actor, self._error(exc, connector), getattr(exc, "state", None)
            )
        except BaseException as exc:  # interrupted (Ctrl-C, SystemExit): record it, then go on stopping
            self._execute_failed(
                row,
                connector,
                plan,
                actor,
                f"interrupted: {type(exc).__name__}",
                None,
                phase="interrupted",
                rollback=False,
            )
            raise
        settings = getattr(connector, "settings", None) or {}
        if not outcome.ok:
            return self._execute_failed(
                row, connector, plan, actor, redact(outcome.detail, settings), outcome.state
            )

        with self._write() as session:
            row = self._action(session, action_id)
            was = row.status
            row.status, row.executed_at = ActionStatus.executed, utcnow()
            row.detail, row.state = redact(outcome.detail, settings), jsonable(outcome.state)
            payload: dict[str, Any] = {"action_id": action_id, "phase": "done", "detail": row.detail}
            if was != ActionStatus.executing:
                # recover() took it for lost meanwhile; what happened wins over the guess.
                payload["was"] = was
                row.failed_phase = row.error = row.failed_at = None
            ledger.log(session, actor, "action.execute", payload, row.case_id)

        try:
            check = connector.verify(plan, outcome)
        except Exception as exc:
            check = Outcome(False, f"could not verify: {self._error(exc, connector)}")
        with self._write() as session:
            row = self._action(session, action_id)
            row.verify_detail = redact(check.detail, settings)
            ledger.log(
                session,
                actor,
                "action.verify",
                {"action_id": action_id, "ok": check.ok, "detail": row.verify_detail},
                row.case_id,
            )
            if check.ok:
                row.status, row.verified_at = ActionStatus.verified, utcnow()
            else:
                self._mark_failed(session, row, actor, "verify", f"verification failed: {row.verify_detail}")
        return row

    def _mark_failed(
        self, session: Session, row: ContainmentAction, actor: Principal, phase: str, error: str, **extra: Any
    ) -> None:
        row.status, row.failed_phase, row.error, row.failed_at = ActionStatus.failed, phase, error, utcnow()
        ledger.log(
            session,
            actor,
            "action.fail",
            {"action_id": row.id, "phase": phase, "error": error, **extra},
            row.case_id,
        )

    def _execute_failed(
        self,
        row: ContainmentAction,
        connector: Connector,
        plan: Plan,
        actor: Principal,
        error: str,
        partial: Any,
        phase: str = "execute",
        rollback: bool = True,
    ) -> ContainmentAction:
        rollback_note = None
        if rollback and isinstance(partial, dict) and partial:
            # Part of the plan was applied and the connector could not undo it: try its rollback.
            try:
                undone = connector.rollback(plan, Outcome(False, error, partial))
                rollback_note = ("rolled back: " if undone.ok else "rollback failed: ") + undone.detail
            except Exception as exc:
                rollback_note = f"rollback failed: {self._error(exc, connector)}"
            rollback_note = redact(rollback_note, getattr(connector, "settings", None) or {})
        with self._write() as session:
            current = self._action(session, row.id)
            if partial:
                current.state = jsonable(partial)
            current.detail = rollback_note
            extra = {"partial": True, "rollback": rollback_note} if partial else {}
            self._mark_failed(session, current, actor, phase, error, **extra)
        return current

    def rollback(self, action_id: int, actor: Principal) -> ContainmentAction:
        """Undo an executed (or verified) reversible action, then check it is no longer in effect."""
        actor = _principal(actor)
        row = self.action(action_id)
        connector = self._connector(row.connector)
        with self._write() as session:
            row, _ = self._trusted(session, action_id)
            # Also after a failed verification or rollback: the change may be in effect.
            undoable = row.status in (ActionStatus.executed, ActionStatus.verified) or (
                row.status == ActionStatus.failed and row.failed_phase in ("verify", "rollback")
            )
            if not undoable:
                raise CaseError(
                    f"action {action_id} is {row.status}: only an executed action can be rolled back"
                )
            if not row.reversible:
                raise CaseError(f"action {action_id} ({row.kind} {row.target}) is not reversible")
            ledger.log(
                session, actor, "action.rollback", {"action_id": action_id, "phase": "start"}, row.case_id
            )
        plan, executed = row.plan(), Outcome(True, row.detail or "", dict(row.state or {}))
        settings = getattr(connector, "settings", None) or {}
        try:
            undone = connector.rollback(plan, executed)
        except Exception as exc:
            undone = Outcome(False, self._error(exc, connector))
        if not undone.ok:
            with self._write() as session:
                row = self._action(session, action_id)
                self._mark_failed(
                    session, row, actor, "rollback", f"rollback failed: {redact(undone.detail, settings)}"
                )
            return row
        try:
            # verify checks that the change is in effect: after a rollback it must say no.
            still = connector.verify(plan, executed)
            confirmed: bool | None = not still.ok
            check = redact(still.detail, settings)
        except Exception as exc:
            confirmed, check = None, f"could not verify: {self._error(exc, connector)}"
        with self._write() as session:
            row = self._action(session, action_id)
            row.detail, row.verify_detail = redact(undone.detail, settings), check
            payload = {
                "action_id": action_id,
                "phase": "done",
                "detail": row.detail,
                "verified": confirmed,
                "verify_detail": check,
            }
            ledger.log(session, actor, "action.rollback", payload, row.case_id)
            if confirmed is False:
                self._mark_failed(session, row, actor, "rollback", f"still in effect after rollback: {check}")
            else:
                row.status, row.rolled_back_at, row.rolled_back_by = (
                    ActionStatus.rolled_back,
                    utcnow(),
                    actor.label,
                )
                row.failed_phase = row.error = None
        return row

    def recover(self, stale_after: timedelta = STALE_EXECUTING, actor: Principal = SYSTEM) -> list[int]:
        """Mark as failed (``interrupted``) the actions left 'executing' by a process that stopped: one of
        this host that no longer runs, or any that started more than ``stale_after`` ago. Returns their
        ids. Whether the change was made, only the target system can tell: verify there."""
        now = utcnow()
        with self._read() as session:
            executing = list(
                session.scalars(
                    select(ContainmentAction).where(ContainmentAction.status == ActionStatus.executing)
                )
            )
        stale = [
            a.id
            for a in executing
            if _executor_gone(a.executor) or (a.started_at is not None and now - a.started_at >= stale_after)
        ]
        recovered = []
        for action_id in stale:
            with self._write() as session:
                row = self._action(session, action_id)
                if row.status != ActionStatus.executing:
                    continue
                self._mark_failed(
                    session,
                    row,
                    actor,
                    "interrupted",
                    "interrupted: the process executing it stopped before recording the outcome; "
                    "check the target system",
                    executor=row.executor,
                    started=row.started_at,
                )
                recovered.append(action_id)
        return recovered
