"""Containment actions in a case: proposed (the connector's dry-run plan stored) → approved by a second
person → executing → executed → verified, or failed, or rolled back; every step in the audit chain (see
:mod:`sekimori.respond.cases` for the whole workflow). No lock is held while a connector works."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.respond import ledger
from sekimori.respond.actions import CONNECTORS, Action, Connector, Outcome, Plan, redact
from sekimori.respond.audit import jsonable, utcnow
from sekimori.respond.database import CaseDatabase, authenticated
from sekimori.respond.executor import executor_gone, executor_id
from sekimori.respond.principals import SYSTEM, Principal
from sekimori.respond.tables import ActionStatus, CaseError, ContainmentAction, SamePersonError

STALE_EXECUTING = timedelta(minutes=15)  # an 'executing' action older than this has lost its process


class ContainmentWorkflow(CaseDatabase):
    """Propose, approve, execute, verify and roll back containment actions of the cases."""

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

    def propose(
        self, case_id: str, action: Action, connector_name: str, actor: Principal
    ) -> ContainmentAction:
        """Plan ``action`` with the connector (a dry-run, outside any lock) and store the exact changes."""
        actor = authenticated(actor)
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
        approver = authenticated(approver)
        with self._write() as session:
            row, book = self._trusted(session, action_id)
            if row.status != ActionStatus.proposed:
                raise CaseError(f"action {action_id} is {row.status}: only a proposed action can be approved")
            requester = book.principal(action_id, "action.propose")
            if requester is None:
                raise CaseError(f"action {action_id}: the audit trail does not say who asked for it")
            if requester.same_person(approver):
                raise SamePersonError(
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
        actor = authenticated(actor)
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
            row.status, row.started_at, row.executor = ActionStatus.executing, utcnow(), executor_id()
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
        actor = authenticated(actor)
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
            if executor_gone(a.executor) or (a.started_at is not None and now - a.started_at >= stale_after)
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
