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
"""

from __future__ import annotations

import os
import socket
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from sekimori.respond.actions import CONNECTORS, Action, ActionKind, Connector, Outcome, Plan, redact
from sekimori.respond.audit import AuditLog, Base, UTCDateTime, create_schema, jsonable, make_engine, utcnow

DEFAULT_WINDOW = timedelta(hours=24)
STALE_EXECUTING = timedelta(minutes=15)  # an 'executing' action older than this has lost its process


class CaseError(Exception):
    """A case operation that is not allowed or refers to something unknown."""


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

# Key values shared by unrelated alerts: grouping on them would merge everything.
_GENERIC_KEYS = frozenset(
    {
        "",
        "-",
        "n/a",
        "unknown",
        "localhost",
        "127.0.0.1",
        "::1",
        "system",
        "local service",
        "network service",
        "anonymous logon",
        "nt authority\\system",
        "nt authority\\local service",
        "nt authority\\network service",
        "nt authority\\anonymous logon",
    }
)


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


# -- grouping -------------------------------------------------------------------------------------------


def alert_time(alert: dict[str, Any]) -> datetime | None:
    """An alert's ``time`` as an aware UTC datetime (from a datetime or ISO text; naive means UTC)."""
    value = alert.get("time")
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        to_py = getattr(value, "to_pydatetime", None) or getattr(value, "as_py", None)
        if to_py is None:
            raise CaseError(f"alert {alert.get('alert_id')}: time {value!r} is not a datetime")
        value = to_py()
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _orgs(alert: dict[str, Any]) -> list[str]:
    return [str(o) for o in (alert.get("organisations") or alert.get("orgs") or [])]


def _keys(alert: dict[str, Any]) -> Iterator[tuple[str, str]]:
    # Hosts include the source and target of a movement, so the hop joins both ends' alerts.
    candidates = [("account", alert.get("account"))]
    candidates += [("host", alert.get(f)) for f in ("host", "src_host", "target_host")]
    candidates += [("org", o) for o in _orgs(alert)]
    for kind, value in candidates:
        if value is None:
            continue
        norm = str(value).strip().casefold()
        if norm not in _GENERIC_KEYS:
            yield kind, norm


def group_alerts(
    alerts: list[dict[str, Any]], window: timedelta = DEFAULT_WINDOW
) -> list[list[dict[str, Any]]]:
    """Alerts that share an account, a host (``host``, ``src_host``, ``target_host``) or an organisation
    and lie within ``window`` of each other, in one group, transitively (connected components). Each
    group is sorted by time, the groups by their first alert. An alert without a time is a group of its
    own. Generic values (SYSTEM, localhost, '-') join nothing."""
    times = [alert_time(a) for a in alerts]
    parent = list(range(len(alerts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, alert in enumerate(alerts):
        if times[i] is not None:
            for key in set(_keys(alert)):
                members[key].append(i)
    for indices in members.values():
        # Sorted by time, linking neighbours within the window gives the same components as all pairs.
        indices.sort(key=lambda i: times[i])  # type: ignore[arg-type, return-value]
        for a, b in pairwise(indices):
            if times[b] - times[a] <= window:  # type: ignore[operator]
                parent[find(b)] = find(a)

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(alerts)):
        groups[find(i)].append(i)

    def order(i: int) -> tuple[bool, datetime, int]:
        t = times[i]
        return (t is None, t or datetime.min.replace(tzinfo=UTC), i)

    sorted_groups = sorted((sorted(g, key=order) for g in groups.values()), key=lambda g: order(g[0]))
    return [[alerts[i] for i in g] for g in sorted_groups]


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


def _same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


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

    def open_case(self, title: str, alerts: list[dict[str, Any]], actor: str) -> Case:
        now = utcnow()
        with self.audit.transaction() as session:
            case_id = self._next_case_id(session, now)
            case = Case(
                id=case_id, title=title, status=CaseStatus.open, created=now, opened_by=actor, detected=now
            )
            session.add(case)
            session.flush()
            added = self._attach(session, case, alerts, actor, now)
            self.audit.append(session, actor, "case.open", {"title": title, "alerts": added}, case_id)
        return self.get(case_id)

    def add_alerts(self, case_id: str, alerts: list[dict[str, Any]], actor: str) -> list[str]:
        """Attach ``alerts`` to the case; those already attached (by alert_id) are skipped. Returns the
        ids added."""
        now = utcnow()
        with self.audit.transaction() as session:
            case = self._case(session, case_id)
            added = self._attach(session, case, alerts, actor, now)
            if added:
                self.audit.append(session, actor, "case.alerts", {"added": added}, case_id)
        return added

    def _attach(
        self, session: Session, case: Case, alerts: Iterable[dict[str, Any]], actor: str, now: datetime
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
                    orgs=_orgs(alert),
                    attack=jsonable(list(alert.get("attack") or [])),
                    evidence=jsonable(alert.get("evidence") or []),
                    added=now,
                    added_by=actor,
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
        actor: str,
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
        with self.audit.transaction() as session:
            case = self._case(session, case_id)
            entry = Entry(
                case_id=case_id,
                kind=entry_kind,
                time=when,
                recorded=now,
                actor=actor,
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
            self.audit.append(
                session,
                actor,
                str(entry_kind),
                {"entry": entry.id, "time": when, "text": text, "data": entry.data},
                case_id,
            )
        return entry

    def set_scope(self, case_id: str, scope: dict[str, Any], actor: str) -> None:
        with self.audit.transaction() as session:
            case = self._case(session, case_id)
            case.scope = jsonable(scope)
            self.audit.append(session, actor, "case.scope", {"scope": case.scope}, case_id)

    def set_status(self, case_id: str, status: str, actor: str) -> None:
        """Set the status; the first move to contained or closed dates that milestone."""
        try:
            new = CaseStatus(status)
        except ValueError:
            raise CaseError(f"unknown case status {status!r}; known: {', '.join(CaseStatus)}") from None
        now = utcnow()
        with self.audit.transaction() as session:
            case = self._case(session, case_id)
            old = case.status
            case.status = new
            if new is CaseStatus.contained and case.contained is None:
                case.contained = now
            if new is CaseStatus.closed and case.closed is None:
                case.closed = now
            self.audit.append(session, actor, "case.status", {"from": old, "to": new}, case_id)

    def set_milestone(self, case_id: str, milestone: str, when: datetime, actor: str) -> None:
        """Set a milestone time (``first_activity``, ``detected``…) explicitly, e.g. from the forensics."""
        if milestone not in MILESTONES:
            raise CaseError(f"unknown milestone {milestone!r}; known: {', '.join(MILESTONES)}")
        if when.tzinfo is None:
            raise CaseError("milestone time must be timezone-aware")
        with self.audit.transaction() as session:
            case = self._case(session, case_id)
            old = getattr(case, milestone)
            setattr(case, milestone, when.astimezone(UTC))
            self.audit.append(
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

    def action(self, action_id: int) -> ContainmentAction:
        with self._read() as session:
            return self._action(session, action_id)

    def actions(self, case_id: str) -> list[ContainmentAction]:
        with self._read() as session:
            self._case(session, case_id)
            query = select(ContainmentAction).where(ContainmentAction.case_id == case_id)
            return list(session.scalars(query.order_by(ContainmentAction.id)))

    def propose(self, case_id: str, action: Action, connector_name: str, actor: str) -> ContainmentAction:
        """Plan ``action`` with the connector (a dry-run, outside any lock) and store the exact changes."""
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
        with self.audit.transaction() as session:
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
                requested_by=actor,
                status=ActionStatus.proposed,
                proposed_at=now,
            )
            session.add(row)
            session.flush()
            self.audit.append(
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

    def approve(self, action_id: int, approver: str) -> ContainmentAction:
        with self.audit.transaction() as session:
            row = self._action(session, action_id)
            if row.status != ActionStatus.proposed:
                raise CaseError(f"action {action_id} is {row.status}: only a proposed action can be approved")
            if _same_person(approver, row.requested_by):
                raise CaseError(f"action {action_id}: approval by the same person who asked ({approver})")
            row.status, row.approved_by, row.approved_at = ActionStatus.approved, approver, utcnow()
            self.audit.append(
                session,
                approver,
                "action.approve",
                {"action_id": action_id, "changes": row.changes},
                row.case_id,
            )
        return row

    def execute(self, action_id: int, actor: str) -> ContainmentAction:
        """Carry out an approved action: marked executing (committed) first, then executed and verified,
        or failed. Returns the action in its final state; raises CaseError only if it may not run."""
        row = self.action(action_id)
        connector = self._connector(row.connector)
        with self.audit.transaction() as session:
            row = self._action(session, action_id)
            if row.status != ActionStatus.approved:
                raise CaseError(
                    f"action {action_id} is {row.status}: only an approved action can be executed"
                )
            row.status, row.started_at, row.executor = ActionStatus.executing, utcnow(), _executor()
            self.audit.append(
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

        with self.audit.transaction() as session:
            row = self._action(session, action_id)
            was = row.status
            row.status, row.executed_at = ActionStatus.executed, utcnow()
            row.detail, row.state = redact(outcome.detail, settings), jsonable(outcome.state)
            payload: dict[str, Any] = {"action_id": action_id, "phase": "done", "detail": row.detail}
            if was != ActionStatus.executing:
                # recover() took it for lost meanwhile; what happened wins over the guess.
                payload["was"] = was
                row.failed_phase = row.error = row.failed_at = None
            self.audit.append(session, actor, "action.execute", payload, row.case_id)

        try:
            check = connector.verify(plan, outcome)
        except Exception as exc:
            check = Outcome(False, f"could not verify: {self._error(exc, connector)}")
        with self.audit.transaction() as session:
            row = self._action(session, action_id)
            row.verify_detail = redact(check.detail, settings)
            self.audit.append(
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
        self, session: Session, row: ContainmentAction, actor: str, phase: str, error: str, **extra: Any
    ) -> None:
        row.status, row.failed_phase, row.error, row.failed_at = ActionStatus.failed, phase, error, utcnow()
        self.audit.append(
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
        actor: str,
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
        with self.audit.transaction() as session:
            current = self._action(session, row.id)
            if partial:
                current.state = jsonable(partial)
            current.detail = rollback_note
            extra = {"partial": True, "rollback": rollback_note} if partial else {}
            self._mark_failed(session, current, actor, phase, error, **extra)
        return current

    def rollback(self, action_id: int, actor: str) -> ContainmentAction:
        """Undo an executed (or verified) reversible action, then check it is no longer in effect."""
        row = self.action(action_id)
        connector = self._connector(row.connector)
        with self.audit.transaction() as session:
            row = self._action(session, action_id)
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
            self.audit.append(
                session, actor, "action.rollback", {"action_id": action_id, "phase": "start"}, row.case_id
            )
        plan, executed = row.plan(), Outcome(True, row.detail or "", dict(row.state or {}))
        settings = getattr(connector, "settings", None) or {}
        try:
            undone = connector.rollback(plan, executed)
        except Exception as exc:
            undone = Outcome(False, self._error(exc, connector))
        if not undone.ok:
            with self.audit.transaction() as session:
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
        with self.audit.transaction() as session:
            row = self._action(session, action_id)
            row.detail, row.verify_detail = redact(undone.detail, settings), check
            payload = {
                "action_id": action_id,
                "phase": "done",
                "detail": row.detail,
                "verified": confirmed,
                "verify_detail": check,
            }
            self.audit.append(session, actor, "action.rollback", payload, row.case_id)
            if confirmed is False:
                self._mark_failed(session, row, actor, "rollback", f"still in effect after rollback: {check}")
            else:
                row.status, row.rolled_back_at, row.rolled_back_by = ActionStatus.rolled_back, utcnow(), actor
                row.failed_phase = row.error = None
        return row

    def recover(self, stale_after: timedelta = STALE_EXECUTING, actor: str = "sekimori") -> list[int]:
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
            with self.audit.transaction() as session:
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
