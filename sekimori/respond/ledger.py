"""The case tables as the audit chain says they are: every row written, in the chain; any edit, insert or
deletion made beside sekimori, found and named.

Each write of the case workflow records, in the last audit entry of its transaction, every row it
inserted, changed or deleted in the tracked tables (:data:`sekimori.respond.tables.TRACKED`): payload
``rows``, a list of ``{"op": "insert"|"update"|"delete", "table", "id", "set": {column: value}}`` with
the values as stored (read back from the database, as JSON). Replaying the chain gives every row as it
must be (:func:`replay`); :func:`table_problems` compares that with the tables and names each row and
field that differs, a row the chain does not know (inserted beside sekimori) and a row the chain has that
the table lacks (deleted). The chain itself is protected by its hashes and anchor
(:mod:`sekimori.respond.audit`), so an edit of a table shows unless the chain is rewritten too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from sekimori.respond.audit import AuditEntry, AuditError, AuditLog, AuditReport, jsonable
from sekimori.respond.principals import Principal
from sekimori.respond.tables import TRACKED

_MODELS = {model.__tablename__: model for model in TRACKED}
_TOUCHED = "ledger_touched"  # session.info: {(table, id): "insert" | "delete" | set of columns}
_PENDING = "ledger_entries"  # session.info: entries to append when the transaction ends


def _pk_name(model: Any) -> str:
    return str(inspect(model).primary_key[0].name)


def track(session: Session) -> None:
    """Record which tracked rows the session inserts, changes or deletes (at each flush)."""
    session.info[_TOUCHED] = {}
    session.info[_PENDING] = []
    event.listen(session, "after_flush", _after_flush)


def _after_flush(session: Session, _context: Any) -> None:
    # After the flush, before the session forgets: new ids are known, attribute history still there.
    touched: dict[tuple[str, str], Any] | None = session.info.get(_TOUCHED)
    if touched is None:  # the audit entries' own flush, after finish()
        return
    note_flushed(session, touched, _MODELS)


def note_flushed(session: Session, touched: dict[tuple[str, str], Any], models: Mapping[str, Any]) -> None:
    """Add to ``touched`` the rows of ``models`` (by table name) this flush inserted, changed or deleted:
    ``{(table, id): "insert" | "delete" | set of changed columns}``. Call from an ``after_flush`` hook;
    every table family recorded in the chain (the case tables, :mod:`sekimori.respond.families`) uses it."""
    # session.new/deleted build a new set at each access: taken once, not per object (a flush of n
    # objects was n² otherwise: minutes for a 50,000-row import).
    new, dirty, deleted = list(session.new), list(session.dirty), list(session.deleted)
    new_ids, deleted_ids = {id(o) for o in new}, {id(o) for o in deleted}
    for obj in [*new, *dirty, *deleted]:
        table = str(getattr(obj, "__tablename__", ""))
        if table not in models:
            continue
        state = inspect(obj)
        key = (table, str(getattr(obj, _pk_name(type(obj)))))
        if id(obj) in deleted_ids:
            touched[key] = "delete"
        elif id(obj) in new_ids or touched.get(key) == "insert":
            touched[key] = "insert"
        else:
            columns = {
                a.columns[0].name
                for a in state.mapper.column_attrs
                if state.attrs[a.key].history.has_changes()
            }
            previous = touched.get(key)
            touched[key] = (previous if isinstance(previous, set) else set()) | columns


def log(session: Session, who: Principal, kind: str, payload: dict[str, Any], case_id: str | None) -> None:
    """Queue an audit entry, appended when the transaction ends (:func:`finish`)."""
    if not isinstance(who, Principal):  # a typed name is not who acts
        raise TypeError(f"who acts must be a Principal, not {type(who).__name__}")
    session.info[_PENDING].append((who, kind, payload, case_id))


def finish(audit: AuditLog, session: Session) -> None:
    """Append the queued entries; the last one carries the rows the transaction wrote."""
    session.flush()
    rows = _row_changes(session, session.info.pop(_TOUCHED))
    pending = session.info.pop(_PENDING)
    if rows and not pending:
        raise AuditError("a change of the case tables without an audit entry")
    for i, (who, kind, payload, case_id) in enumerate(pending):
        body = {**payload, "by": who.to_dict()}
        if i == len(pending) - 1 and rows:
            body["rows"] = rows
        audit.append(session, who.label, kind, body, case_id)


def row_changes(
    session: Session, touched: dict[tuple[str, str], Any], models: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The payload ``rows`` of the ``touched`` rows of ``models``: each read back as stored."""
    ids: dict[str, list[str]] = {}
    for table, row_id in touched:
        ids.setdefault(table, []).append(row_id)
    stored = {table: stored_rows(session, models[table], wanted) for table, wanted in ids.items()}
    changes = []
    for (table, row_id), what in touched.items():
        row = stored[table].get(row_id)
        if what == "delete":
            changes.append({"op": "delete", "table": table, "id": row_id, "set": {}})
        elif row is None:  # inserted and deleted again in one transaction
            continue
        elif what == "insert":
            changes.append({"op": "insert", "table": table, "id": row_id, "set": row})
        elif what:
            values = {c: row[c] for c in sorted(what)}
            changes.append({"op": "update", "table": table, "id": row_id, "set": values})
    return changes


_CHUNK = 1000  # ids per IN (…): within SQLite's limit of bound parameters


def stored_rows(session: Session, model: Any, ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """Rows of ``model``'s table (all, or those of ``ids``) as stored, read through the column types
    (times as UTC), as JSON values, by id."""
    pk = model.__table__.columns[_pk_name(model)]
    query = select(model.__table__)
    if ids is None:
        return {str(row[pk.name]): jsonable(dict(row)) for row in session.execute(query).mappings()}
    wanted = [int(i) if pk.type.python_type is int else i for i in ids]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = query.where(pk.in_(wanted[start : start + _CHUNK]))
        found.update({str(row[pk.name]): jsonable(dict(row)) for row in session.execute(chunk).mappings()})
    return found


def _row_changes(session: Session, touched: dict[tuple[str, str], Any]) -> list[dict[str, Any]]:
    return row_changes(session, touched, _MODELS)


def _stored_rows(session: Session, table: str, ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    return stored_rows(session, _MODELS[table], ids)


# -- reading the chain back -------------------------------------------------------------------------


@dataclass
class Ledger:
    """The tracked rows as the chain says they are, and who did what to the actions."""

    rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    last_seq: dict[tuple[str, str], int] = field(default_factory=dict)
    # action id → kind of the entry (action.propose, action.approve…) → principals, in order
    actors: dict[int, dict[str, list[Principal]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def principal(self, action_id: int, kind: str) -> Principal | None:
        found = self.actors.get(action_id, {}).get(kind)
        return found[-1] if found else None


def replay(entries: Iterable[AuditEntry]) -> Ledger:
    ledger = Ledger()
    for entry in entries:
        payload = entry.payload if isinstance(entry.payload, dict) else {}
        who = payload.get("by")
        if isinstance(payload.get("action_id"), int) and isinstance(who, dict):
            try:
                principal = Principal.from_dict(who)
            except (KeyError, ValueError):
                ledger.problems.append(f"seq {entry.seq}: unreadable principal")
            else:
                kinds = ledger.actors.setdefault(payload["action_id"], {})
                kinds.setdefault(entry.kind, []).append(principal)
        for change in payload.get("rows") or []:
            key = (str(change.get("table")), str(change.get("id")))
            op = change.get("op")
            if op == "insert":
                ledger.rows[key] = dict(change.get("set") or {})
            elif op == "update" and key in ledger.rows:
                ledger.rows[key].update(change.get("set") or {})
            elif op == "delete":
                ledger.rows.pop(key, None)
            else:
                ledger.problems.append(f"seq {entry.seq}: {op} of {key[0]} row {key[1]} before it exists")
            ledger.last_seq[key] = entry.seq
    return ledger


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def row_problems(ledger: Ledger, table: str, row_id: str, stored: dict[str, Any] | None) -> list[str]:
    """How the stored row (``None``: missing) differs from the chain's."""
    key = (table, row_id)
    expected = ledger.rows.get(key)
    if expected is None and stored is None:
        return []
    if expected is None:
        return [f"{table} row {row_id}: not in the audit chain (written beside sekimori)"]
    if stored is None:
        seq = ledger.last_seq.get(key)
        return [f"{table} row {row_id}: in the audit chain (seq {seq}) but not in the table (deleted)"]
    return [
        f"{table} row {row_id} field {name}: the audit chain says {_show(expected.get(name))}, "
        f"the table has {_show(stored.get(name))}"
        for name in sorted(set(expected) | set(stored))
        if expected.get(name) != stored.get(name)
    ]


def table_problems(session: Session, ledger: Ledger) -> list[str]:
    """Every difference between the tracked tables and the chain."""
    problems = list(ledger.problems)
    for table in _MODELS:
        stored = _stored_rows(session, table)
        known = {row_id for t, row_id in ledger.rows if t == table}
        for row_id in sorted(known | set(stored), key=lambda i: (len(i), i)):
            problems += row_problems(ledger, table, row_id, stored.get(row_id))
    return problems


def check(audit: AuditLog, session: Session) -> tuple[AuditReport, Ledger]:
    """The chain checked (:meth:`AuditLog.check`) and replayed, and the tables compared with it; every
    problem in the report."""
    report = audit.check(session)
    ledger = replay(report.chain)
    report.problems += table_problems(session, ledger)
    report.ok = not report.problems
    return report, ledger


def action_row(session: Session, action_id: int) -> dict[str, Any] | None:
    return _stored_rows(session, "containment_actions", [str(action_id)]).get(str(action_id))
