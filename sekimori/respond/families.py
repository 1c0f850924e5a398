"""Tables of a stage above respond (the govern register, its reviews) kept in the case database and
recorded in the same hash-chained audit trail as the cases.

A :class:`RecordedTables` is given the case database (a :class:`~sekimori.respond.CaseStore`) and the
SQLAlchemy models of its table family (single-column primary keys, any declarative base). It creates the
tables beside the case tables; :meth:`RecordedTables.write` is a write transaction under the audit
chain's lock that ends with one audit entry, attributed to an authenticated principal, carrying every row
of the family the transaction inserted, changed or deleted (payload ``rows``, the format of
:mod:`sekimori.respond.ledger`): the change and its entry commit together or not at all.
:meth:`RecordedTables.verify` checks the chain and compares the family's tables with it, naming any row
or field edited, inserted or deleted beside sekimori.

Rows must be changed through the session's objects (``session.add``, attribute changes,
``session.delete``): bulk ``UPDATE``/``DELETE`` statements bypass the recording and are refused by
:meth:`verify` afterwards as edits beside sekimori.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session

from sekimori.respond import ledger
from sekimori.respond.audit import _PG_SCHEMA_LOCK, AuditError, AuditReport, write_connection
from sekimori.respond.database import CaseDatabase, authenticated
from sekimori.respond.principals import Principal

_TOUCHED = "family_touched"  # session.info: {(table, id): "insert" | "delete" | set of columns}


def _pk(model: Any) -> Any:
    keys = inspect(model).primary_key
    if len(keys) != 1:
        raise AuditError(f"table {model.__tablename__}: a recorded table needs a one-column primary key")
    return keys[0]


class RecordedTables:
    """A family of tables in the case database whose every change is in the audit chain."""

    def __init__(self, cases: CaseDatabase, models: Sequence[type[Any]]) -> None:
        self.cases = cases
        self.models: dict[str, Any] = {str(m.__tablename__): m for m in models}
        self.last_seq: int | None = None  # the seq of the entry of this object's last write
        for model in models:
            _pk(model)
        with write_connection(cases.engine) as conn:
            if conn.dialect.name == "postgresql":  # as create_schema: one creator at a time
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SCHEMA_LOCK})
            for model in models:
                model.__table__.create(conn, checkfirst=True)

    @contextmanager
    def write(self, who: Principal, kind: str, payload: dict[str, Any] | None = None) -> Iterator[Session]:
        """A write transaction ending with one audit entry of ``kind`` by ``who``: ``payload`` (which the
        block may still fill in) plus ``by`` (the principal) and ``rows`` (what the block wrote). An
        exception in the block rolls everything back."""
        who = authenticated(who)
        body = payload if payload is not None else {}
        with self.cases.audit.transaction() as session:
            touched: dict[tuple[str, str], Any] = {}
            session.info[_TOUCHED] = touched
            event.listen(session, "after_flush", self._after_flush)
            yield session
            session.flush()
            session.info.pop(_TOUCHED)
            rows = ledger.row_changes(session, touched, self.models)
            entry = self.cases.audit.append(
                session, who.label, kind, {**body, "by": who.to_dict(), "rows": rows}
            )
        self.last_seq = entry.seq

    def _after_flush(self, session: Session, _context: Any) -> None:
        touched: dict[tuple[str, str], Any] | None = session.info.get(_TOUCHED)
        if touched is None:  # the audit entry's own flush
            return
        ledger.note_flushed(session, touched, self.models)

    def verify(self) -> AuditReport:
        """The audit chain checked (hashes, links, head, anchor) and the family's tables compared with
        what it records: every problem names the seq, or the table, row and field."""
        with self.cases.audit.transaction() as session:
            report = self.cases.audit.check(session)
            book = ledger.replay(report.chain)
            problems = [p for p in book.problems if any(f"of {t} row" in p for t in self.models)]
            for table in self.models:
                stored = ledger.stored_rows(session, self.models[table])
                known = {row_id for t, row_id in book.rows if t == table}
                for row_id in sorted(known | set(stored), key=lambda i: (len(i), i)):
                    problems += ledger.row_problems(book, table, row_id, stored.get(row_id))
        report.problems += problems
        report.ok = not report.problems
        return report
