"""The audit log of incident response: hash-chained, append-only, in the case database.

Every write of the case workflow (a case opened, a note, an approval, a connector run…) appends one
entry to table ``audit`` in the same transaction as the change itself, so the change and its entry are
both there or neither. An entry holds ``seq`` (1, 2, 3… without gaps), ``time`` (UTC), ``actor``,
``case_id`` (or none), ``kind`` (``case.open``, ``note``, ``action.approve``…), ``payload`` (JSON, never a
secret), ``prev_hash`` (the hash of entry ``seq - 1``; 64 zeros for the first) and ``hash``: SHA-256 over
the sorted-key JSON of all the other fields (:func:`entry_hash`).

The head of the chain (last ``seq`` and ``hash``) is kept twice: in the one-row table ``audit_head``,
updated in the appending transaction, and in an *anchor file* outside the database, to which each
append adds a line ``{"hash": …, "seq": …}`` once committed. The anchor file defaults to
``<database file>.audit-anchor`` beside an SQLite database (:data:`ANCHOR_ENV` or the ``anchor``
argument give another path; a PostgreSQL log has an anchor only when given one).

Appends are serialised so that two processes never fork the chain: on SQLite a writing transaction
starts with ``BEGIN IMMEDIATE`` (the database write lock), on PostgreSQL it locks the ``audit_head``
row (``SELECT … FOR UPDATE``). ``seq`` is the primary key, so even a broken lock could not give two
entries the same place.

:meth:`AuditLog.verify` recomputes every hash and link and compares the end of the chain with
``audit_head`` and every anchored ``(seq, hash)`` with the chain. It detects, naming the seq:

* an edited entry (its hash no longer matches its content), also an edited entry whose hash and all
  later hashes were recomputed, if the anchor file holds the original hashes;
* a deleted entry (a gap in ``seq`` and a broken ``prev_hash`` link), an inserted or reordered one
  (broken links; ``seq`` is part of the hash);
* a truncated tail: ``audit_head`` names a later entry, or, when ``audit_head`` was rewound too, the
  anchor file does.

What it does not protect against: someone who can write both the database and the anchor file can
rewrite history consistently (recompute the chain, the head and the anchor), and someone who can write
the database alone can change entries appended after the last anchor line that survived (e.g. after a
crash between commit and anchor write; verify reports such an unanchored tail). The anchor file is only
as trustworthy as its storage: put it on write-once or append-only storage (``chattr +a``, a WORM
share, a log shipper) out of reach of the database's administrators. The log says nothing about what
happened outside the workflow (a change made directly on a target system), and its times come from the
writing host's clock.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Engine,
    Integer,
    String,
    Text,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

GENESIS = "0" * 64  # prev_hash of the first entry
ANCHOR_ENV = "SEKIMORI_AUDIT_ANCHOR"
ANCHOR_SUFFIX = ".audit-anchor"
SQLITE_BUSY_SECONDS = 60  # how long a writer waits for the SQLite write lock
# A writer appends its anchor line just after its commit; verify waits this long for one in flight.
ANCHOR_GRACE_SECONDS = 2.0
_WRITE = "sekimori_write"  # execution option: this connection's transactions take the write lock
_PG_SCHEMA_LOCK = 0x5EC1_A0D1  # advisory lock key: one process creates the tables at a time


class AuditError(Exception):
    """The audit log cannot be used (misconfigured, or appended to outside a write transaction)."""


class Base(DeclarativeBase):
    """Declarative base of the respond tables (audit and cases share one schema and transaction)."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give times in UTC, timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AuditEntry(Base):
    __tablename__ = "audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[Any] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def computed_hash(self) -> str:
        return entry_hash(
            self.seq, self.time, self.actor, self.case_id, self.kind, self.payload, self.prev_hash
        )


class AuditHead(Base):
    """One row (id 1): the last entry. Locked by every append on PostgreSQL."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


@dataclass
class AuditReport:
    ok: bool
    entries: int
    problems: list[str] = field(default_factory=list)  # each names the seq and what is wrong
    head: tuple[int, str] | None = None  # (seq, hash) of the last entry
    anchor: Path | None = None  # the anchor file compared, if any
    chain: list[AuditEntry] = field(default_factory=list, repr=False)  # the entries checked, by seq


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime) -> str:
    # One fixed form (microseconds, Z) so the hash does not depend on how a backend prints times.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if hasattr(value, "tolist"):  # numpy/arrow scalars and arrays
        return value.tolist()
    # Anything else as text: a connector's odd state value must not stop an outcome being recorded.
    return str(value)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (datetimes as ISO text…): what a JSON column stores and reads back,
    so what is hashed is what is stored."""
    return json.loads(json.dumps(value, default=_json_default, allow_nan=False))


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def entry_hash(
    seq: int, time: datetime, actor: str, case_id: str | None, kind: str, payload: Any, prev_hash: str
) -> str:
    document = {
        "seq": seq,
        "time": _iso(time),
        "actor": actor,
        "case_id": case_id,
        "kind": kind,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical(document)).hexdigest()


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql+psycopg://…`` whose write transactions
    (:func:`write_connection`) hold the database's write lock on SQLite."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control from pysqlite so that "begin" below decides how they start.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if parsed.database and parsed.database != ":memory:":
                # Readers do not block the writer; FULL: a committed audit entry survives a power cut.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get(_WRITE)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise AuditError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///path or postgresql+psycopg://…"
    )


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction (SQLite: BEGIN IMMEDIATE, the database write lock), committed
    on leaving the block, rolled back on an exception."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def create_schema(engine: Engine, tables: list[Any] | None = None) -> None:
    """Create the respond tables (all of :data:`Base`, or ``tables``) and the head row, if missing. Safe
    when several processes start at once."""
    with write_connection(engine) as conn:
        if conn.dialect.name == "postgresql":
            # CREATE TABLE IF NOT EXISTS races with itself on PostgreSQL (duplicate pg_type rows).
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SCHEMA_LOCK})
        Base.metadata.create_all(conn, tables=tables)
        if conn.execute(select(AuditHead.id).where(AuditHead.id == 1)).first() is None:
            conn.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))


def default_anchor(url: str) -> Path | None:
    """Where the anchor file goes when none is given: :data:`ANCHOR_ENV`, else beside an SQLite database
    file; ``None`` for PostgreSQL or an in-memory database."""
    env = os.environ.get(ANCHOR_ENV)
    if env:
        return Path(env)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        database = Path(parsed.database)
        return database.with_name(database.name + ANCHOR_SUFFIX)
    return None


class AuditLog:
    """The audit log of one database. ``anchor``: the anchor file (default :func:`default_anchor`);
    ``False`` for none."""

    def __init__(
        self,
        url_or_engine: str | Engine,
        anchor: str | os.PathLike[str] | bool | None = None,
        create: bool = True,
    ) -> None:
        if isinstance(url_or_engine, Engine):
            self.engine = url_or_engine
            url = self.engine.url.render_as_string(hide_password=False)
        else:
            url = url_or_engine
            self.engine = make_engine(url)
        if anchor is False:
            self.anchor: Path | None = None
        elif anchor is None or anchor is True:
            self.anchor = default_anchor(url)
        else:
            self.anchor = Path(anchor)
        if create:
            create_schema(self.engine, [AuditEntry.__table__, AuditHead.__table__])

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ---------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a write transaction that holds the head of the chain: everything done in it and
        every entry :meth:`append`ed commits together, or nothing does. Writes are serialised."""
        with write_connection(self.engine) as conn:
            session = Session(bind=conn, expire_on_commit=False)
            try:
                # The lock first, so that every read after it sees the latest committed state.
                head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
                session.info["audit_head"] = head
                session.info["audit_anchor"] = []
                yield session
                session.flush()
            finally:
                pending: list[tuple[int, str]] = session.info.pop("audit_anchor", [])
                session.close()
        # Committed (write_connection left without an exception): anchor what was appended.
        self._write_anchor(pending)

    def append(
        self, session: Session, actor: str, kind: str, payload: Any = None, case_id: str | None = None
    ) -> AuditEntry:
        """Append an entry in ``session`` (from :meth:`transaction`)."""
        head: AuditHead | None = session.info.get("audit_head")
        if head is None:
            raise AuditError("append outside AuditLog.transaction(): the head of the chain is not locked")
        if not actor:
            raise AuditError("an audit entry needs an actor")
        entry = AuditEntry(
            seq=head.seq + 1,
            time=utcnow(),
            actor=actor,
            case_id=case_id,
            kind=kind,
            payload=jsonable(payload if payload is not None else {}),
            prev_hash=head.hash,
        )
        entry.hash = entry.computed_hash()
        session.add(entry)
        head.seq, head.hash = entry.seq, entry.hash
        session.info["audit_anchor"].append((entry.seq, entry.hash))
        return entry

    def record(self, actor: str, kind: str, payload: Any = None, case_id: str | None = None) -> AuditEntry:
        """Append one entry in a transaction of its own."""
        with self.transaction() as session:
            return self.append(session, actor, kind, payload, case_id)

    def _write_anchor(self, pending: list[tuple[int, str]]) -> None:
        if self.anchor is None or not pending:
            return
        data = b"".join(canonical({"seq": seq, "hash": digest}) + b"\n" for seq, digest in pending)
        # One O_APPEND write: concurrent writers' lines never interleave, and the file can be
        # append-only (chattr +a) or on write-once storage.
        fd = os.open(self.anchor, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- reading ---------------------------------------------------------------------------------------

    def entries(self, case_id: str | None = None) -> list[AuditEntry]:
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(AuditEntry).order_by(AuditEntry.seq)
            if case_id is not None:
                query = query.where(AuditEntry.case_id == case_id)
            return list(session.scalars(query))

    def _read_anchor(self, problems: list[str]) -> list[tuple[int, str]] | None:
        if self.anchor is None:
            return None
        try:
            lines = self.anchor.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        anchored = []
        for number, line in enumerate(lines, 1):
            try:
                item = json.loads(line)
                anchored.append((int(item["seq"]), str(item["hash"])))
            except (ValueError, KeyError, TypeError):
                problems.append(f"anchor {self.anchor} line {number}: unreadable")
        return anchored

    def verify(self) -> AuditReport:
        """Check the whole chain, the head row and the anchor file (see the module docstring)."""
        # Under the write lock: no append can commit between reading the log and the anchor.
        with self.transaction() as session:
            return self.check(session)

    def check(self, session: Session) -> AuditReport:
        """:meth:`verify` in ``session``, a :meth:`transaction` (so that the chain read is the one the
        caller goes on to use)."""
        problems: list[str] = []
        rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        head_row = session.get(AuditHead, 1)
        head = (head_row.seq, head_row.hash) if head_row is not None else None
        hashes = self._check_chain(rows, problems)
        last = (rows[-1].seq, rows[-1].hash) if rows else (0, GENESIS)
        if head is None:
            problems.append("audit_head: the head row is missing")
        elif head != last:
            if head[0] > last[0]:
                problems.append(
                    f"seq {last[0] + 1}..{head[0]}: missing at the end (audit_head names "
                    f"seq {head[0]}; the log ends at seq {last[0]}): truncated"
                )
            elif head[0] < last[0]:
                problems.append(
                    f"seq {head[0] + 1}..{last[0]}: after the head audit_head names "
                    f"(seq {head[0]}): appended outside the log, or the head was rewound"
                )
            else:
                problems.append(f"seq {head[0]}: hash differs from audit_head's")
        self._check_anchor(last, hashes, problems)
        report = AuditReport(not problems, len(rows), problems, last if rows else None, self.anchor)
        report.chain = rows
        return report

    @staticmethod
    def _check_chain(rows: list[AuditEntry], problems: list[str]) -> dict[int, str]:
        hashes: dict[int, str] = {}
        prev_seq, prev_hash = 0, GENESIS
        for row in rows:
            if row.seq != prev_seq + 1:
                # seq is the primary key and rows come sorted: a jump is a gap.
                missing = f"seq {prev_seq + 1}" + (f"..{row.seq - 1}" if row.seq - 1 > prev_seq + 1 else "")
                problems.append(f"{missing}: missing (deleted)")
            if row.computed_hash() != row.hash:
                problems.append(f"seq {row.seq}: content does not match its hash (edited)")
            if row.prev_hash != prev_hash:
                problems.append(
                    f"seq {row.seq}: prev_hash does not match the hash of seq {prev_seq} "
                    "(an entry before it was deleted, inserted, edited or moved)"
                )
            hashes[row.seq] = row.hash
            prev_seq, prev_hash = row.seq, row.hash
        return hashes

    def _check_anchor(self, last: tuple[int, str], hashes: dict[int, str], problems: list[str]) -> None:
        anchored = self._read_anchor(problems)
        if anchored is None:
            return
        deadline = time.monotonic() + ANCHOR_GRACE_SECONDS
        # A writer that committed just before the lock was taken may not have written its line yet.
        while max((seq for seq, _ in anchored), default=0) < last[0] and time.monotonic() < deadline:
            time.sleep(0.05)
            anchored = self._read_anchor([])
            assert anchored is not None
        top = 0
        for seq, digest in anchored:
            top = max(top, seq)
            if seq > last[0]:
                problems.append(f"seq {seq}: in the anchor but not in the log (truncated tail)")
            elif seq not in hashes:
                problems.append(f"seq {seq}: in the anchor but missing from the log (deleted)")
            elif hashes[seq] != digest:
                problems.append(f"seq {seq}: hash differs from the anchor's (rewritten)")
        if top < last[0]:
            where = f"{self.anchor} ends at seq {top}" if anchored else f"{self.anchor} is missing or empty"
            problems.append(
                f"seq {top + 1}..{last[0]}: not anchored ({where}): appended behind the "
                "anchor's back, or a writer stopped between commit and anchor"
            )
