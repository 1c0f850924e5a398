"""The register of entrusted parties, their contracts and the access grants, stored with the cases (the
case database: SQLite by default, PostgreSQL for a team, the same code) and every change recorded in the
cases' hash-chained audit trail, attributed to an authenticated principal.

An import is one transaction: every row of every file is validated (fields, then references: a contract's
party, a grant's contract, a sub-contractor's parent, against what is stored and what is imported), and
either all of it is stored, with one audit entry holding every row written, or nothing is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.govern.files import Located, RegisterInput, RegisterRecords, plain
from sekimori.govern.records import (
    FIELDS,
    KINDS,
    REFERENCES,
    SINGULAR,
    ContractRecord,
    GrantRecord,
    PartyRecord,
    Problem,
    Record,
    RegisterError,
)
from sekimori.govern.tables import (
    POSTURE_TABLES,
    REGISTER_TABLES,
    REVIEW_TABLES,
    ROW_OF_KIND,
    SUPERVISION_TABLES,
)
from sekimori.respond import CaseStore, Principal, RecordedTables

# Parents before children when writing, children before parents when deleting.
WRITE_ORDER = ("parties", "contracts", "grants")


@dataclass
class ImportReport:
    """What an import changed, per kind: ids inserted, updated (a field differed), deleted, unchanged."""

    inserted: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    deleted: dict[str, list[str]] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    audit_seq: int | None = None  # the audit entry that records it

    def to_dict(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "audit_seq": self.audit_seq,
        }


def record_of_row(kind: str, row: Any) -> Record:
    return KINDS[kind].model_validate({name: getattr(row, name) for name in FIELDS[kind]})


def _values(record: Record) -> dict[str, Any]:
    return {name: plain(value) for name, value in record.row().items()}


class Register:
    """The register in the case database at ``url`` (``anchor``: the audit anchor file; ``connectors``:
    connector instances by name for the revocations' actions; see :class:`sekimori.respond.CaseStore`)."""

    def __init__(
        self,
        url: str,
        anchor: str | os.PathLike[str] | bool | None = None,
        connectors: dict[str, Any] | None = None,
    ) -> None:
        self.cases = CaseStore(url, connectors=connectors, anchor=anchor, recover=False)
        self.tables = RecordedTables(
            self.cases, [*REGISTER_TABLES, *REVIEW_TABLES, *SUPERVISION_TABLES, *POSTURE_TABLES]
        )

    def close(self) -> None:
        self.cases.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------------

    def records(self) -> RegisterRecords:
        """Every party, contract and grant, by id (in code point order, whatever the database's collation)."""
        out: RegisterRecords = {}
        # Column tuples, not ORM instances: a register of 50,000 grants is read in a fraction of the time.
        with Session(self.cases.engine) as session:
            for kind, row in ROW_OF_KIND.items():
                names = FIELDS[kind]
                query = select(*(getattr(row, name) for name in names))
                model = KINDS[kind]
                at = names.index("id")
                rows = sorted(session.execute(query), key=lambda v: str(v[at]))
                out[kind] = [model.model_validate(dict(zip(names, v, strict=True))) for v in rows]
        return out

    def parties(self) -> list[PartyRecord]:
        return [r for r in self.records()["parties"] if isinstance(r, PartyRecord)]

    def contracts(self) -> list[ContractRecord]:
        return [r for r in self.records()["contracts"] if isinstance(r, ContractRecord)]

    def grants(self) -> list[GrantRecord]:
        return [r for r in self.records()["grants"] if isinstance(r, GrantRecord)]

    def verify(self) -> Any:
        """The audit chain checked and the register and review tables compared with it
        (:meth:`sekimori.respond.RecordedTables.verify`)."""
        return self.tables.verify()

    # -- writing -------------------------------------------------------------------------------------

    def import_records(
        self, data: RegisterInput, who: Principal, source: str = "", replace: bool = False
    ) -> ImportReport:
        """Insert or update every record of ``data`` (by id) in one transaction; ``replace``: also delete
        the stored records of the kinds given that ``data`` lacks. Refused as a whole (RegisterError,
        every problem named) if a record repeats an id or names a party or contract that would not
        exist."""
        report = ImportReport()
        payload: dict[str, Any] = {"source": source, "replace": replace}
        with self.tables.write(who, "register.import", payload) as session:
            stored = {
                kind: {r.id: r for r in session.scalars(select(row))} for kind, row in ROW_OF_KIND.items()
            }
            incoming = self._check(data, stored, replace)
            for kind in WRITE_ORDER:
                self._upsert(session, kind, incoming[kind], stored[kind], report)
            if replace:
                for kind in reversed(WRITE_ORDER):
                    if not data.get(kind):
                        continue
                    gone = sorted(set(stored[kind]) - set(incoming[kind]))
                    if kind == "parties":  # a sub-contractor before the party that re-entrusted to it
                        parents = {pid: stored[kind][pid].parent for pid in gone}
                        gone_order = list(reversed(_parents_first(parents)))
                    else:
                        gone_order = gone
                    for row_id in gone_order:
                        session.delete(stored[kind][row_id])
                        session.flush()
                    if gone:
                        report.deleted[kind] = gone
            payload["counts"] = {
                "inserted": {k: len(v) for k, v in report.inserted.items()},
                "updated": {k: len(v) for k, v in report.updated.items()},
                "deleted": {k: len(v) for k, v in report.deleted.items()},
            }
        report.audit_seq = self.tables.last_seq
        return report

    def _check(
        self, data: RegisterInput, stored: dict[str, dict[str, Any]], replace: bool
    ) -> dict[str, dict[str, Located]]:
        problems: list[Problem] = []
        incoming: dict[str, dict[str, Located]] = {kind: {} for kind in KINDS}
        for kind in KINDS:
            for located in data.get(kind, []):
                record_id = str(located.record.row()["id"])
                first = incoming[kind].get(record_id)
                if first is not None:
                    problems.append(
                        Problem(
                            file=located.file,
                            row=located.row,
                            field="id",
                            message=f"{record_id!r} repeats {first.file} row {first.row}",
                        )
                    )
                incoming[kind][record_id] = located
        final = {
            kind: set(incoming[kind]) | (set() if replace and data.get(kind) else set(stored[kind]))
            for kind in KINDS
        }
        for (kind, name), target in REFERENCES.items():
            for located in incoming[kind].values():
                value = located.record.row()[name]
                if value is not None and value not in final[target]:
                    problems.append(
                        Problem(
                            file=located.file,
                            row=located.row,
                            field=name,
                            message=f"unknown {SINGULAR[target]} {value!r}",
                        )
                    )
        if replace:  # a stored record kept must not name one the import deletes
            for (kind, name), target in REFERENCES.items():
                if data.get(kind):
                    continue
                for row in stored[kind].values():
                    value = getattr(row, name)
                    if value is not None and value not in final[target]:
                        problems.append(
                            Problem(
                                file="register",
                                field=name,
                                message=f"stored {SINGULAR[kind]} {row.id!r} names "
                                f"{value!r}, which the import deletes",
                            )
                        )
        problems += _cycles(incoming["parties"], stored["parties"])
        if problems:
            raise RegisterError(problems)
        return incoming

    def _upsert(
        self,
        session: Session,
        kind: str,
        incoming: dict[str, Located],
        stored: dict[str, Any],
        report: ImportReport,
    ) -> None:
        model = ROW_OF_KIND[kind]
        unchanged = 0
        if kind == "parties":
            order = _parents_first({pid: x.record.row()["parent"] for pid, x in incoming.items()})
        else:
            order = sorted(incoming)
        for record_id in order:
            values = _values(incoming[record_id].record)
            row = stored.get(record_id)
            if row is None:
                session.add(model(**values))
                report.inserted.setdefault(kind, []).append(record_id)
                if kind == "parties":
                    session.flush()  # a parent party exists before the sub-contractor that names it
                continue
            changed = [name for name, value in values.items() if getattr(row, name) != value]
            for name in changed:
                setattr(row, name, values[name])
            if changed:
                report.updated.setdefault(kind, []).append(record_id)
            else:
                unchanged += 1
        session.flush()
        report.unchanged[kind] = unchanged

    def delete(self, kind: str, record_id: str, who: Principal, reason: str) -> None:
        """Delete one record (refused while another names it)."""
        if kind not in KINDS:
            raise RegisterError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
        with self.tables.write(
            who, "register.delete", {"kind": kind, "id": record_id, "reason": reason}
        ) as s:
            row = s.get(ROW_OF_KIND[kind], record_id)
            if row is None:
                raise RegisterError(f"unknown {SINGULAR[kind]} {record_id!r}")
            for (other, name), target in REFERENCES.items():
                if target == kind:
                    model = ROW_OF_KIND[other]
                    users = list(s.scalars(select(model.id).where(getattr(model, name) == record_id)))
                    if users:
                        raise RegisterError(f"{record_id!r} is named by {other} {', '.join(users)} ({name})")
            s.delete(row)


def _parents_first(parent_of: dict[str, str | None]) -> list[str]:
    """The party ids of ``parent_of`` (id → parent id), each after its parent (chains are acyclic here:
    :func:`_cycles` refused the others)."""
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(party_id: str) -> None:
        if party_id in seen or party_id not in parent_of:
            return
        seen.add(party_id)
        parent = parent_of[party_id]
        if parent is not None:
            visit(parent)
        ordered.append(party_id)

    for party_id in sorted(parent_of):
        visit(party_id)
    return ordered


def _cycles(parties: dict[str, Located], stored: dict[str, Any]) -> list[Problem]:
    """A re-entrustment chain that comes back to a party (A re-entrusts to B, B to A)."""
    parent_of = {pid: row.parent for pid, row in stored.items()}
    parent_of.update({pid: located.record.row()["parent"] for pid, located in parties.items()})
    problems = []
    for pid, located in sorted(parties.items()):
        seen, current = {pid}, parent_of.get(pid)
        while current is not None:
            if current in seen:
                problems.append(
                    Problem(
                        file=located.file,
                        row=located.row,
                        field="parent",
                        message=f"the re-entrustment chain of {pid!r} comes back to {current!r}",
                    )
                )
                break
            seen.add(current)
            current = parent_of.get(current)
    return problems


def located(records: Iterable[Record], file: str = "register") -> list[Located]:
    """Records with a place of their own (row = position), for importing records built in code."""
    return [Located(r, file, i) for i, r in enumerate(records, 1)]
