"""The case database: its engine, the audit log beside it, reads of cases and actions, and the write
transaction whose every change to the case tables is recorded in the audit chain
(:mod:`sekimori.respond.ledger`). The workflows (:mod:`sekimori.respond.cases`,
:mod:`sekimori.respond.containment`) build on it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Self

from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.respond import ledger
from sekimori.respond.actions import Connector
from sekimori.respond.audit import AuditLog, AuditReport, create_schema, make_engine
from sekimori.respond.principals import Principal
from sekimori.respond.tables import Case, CaseAlert, CaseError, ContainmentAction


def authenticated(who: Principal) -> Principal:
    # Who acts must have been authenticated by a face (the OS user, a web login): never a typed name.
    if not isinstance(who, Principal):
        raise TypeError(f"who acts must be a Principal, not {type(who).__name__}")
    return who


class CaseDatabase:
    """Cases and actions in the database at ``url``. ``connectors``: connector instances by name, used
    instead of building ``CONNECTORS.get(name)()`` (tests, preconfigured connectors). ``anchor``: the
    audit anchor file (see :class:`sekimori.respond.audit.AuditLog`)."""

    def __init__(
        self,
        url: str,
        connectors: dict[str, Connector] | None = None,
        anchor: str | os.PathLike[str] | bool | None = None,
    ) -> None:
        self.engine = make_engine(url)
        create_schema(self.engine)
        self.audit = AuditLog(self.engine, anchor=anchor, create=False)
        self._connectors: dict[str, Connector] = dict(connectors or {})

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
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
