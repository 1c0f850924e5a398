"""The people exactly: the logged read statements re-run read-only against the database, the distinct
person keys they return written to a protected file (only its owner can read it)."""

from __future__ import annotations

import csv
import logging
import os
import stat
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sekimori.report.affected import ReadStatement
from sekimori.report.read_only import RefusedStatement, check_read_only, listing_sql

log = logging.getLogger(__name__)


Status = Literal["replayed", "refused", "failed", "unlisted"]


@dataclass
class ReplayOutcome:
    """What became of one distinct (database, statement, table); no statement text (it may hold people's
    data): ``statements`` are the indices of the :class:`ReadStatement` s it stands for."""

    statements: list[int]
    table: str
    database: str | None
    status: Status
    reason: str | None = None
    rows: int = 0  # rows the statement returns now
    keys: int = 0  # distinct person keys among them


@dataclass
class ReplayResult:
    path: Path  # the protected file: category,population,table,key
    replayed_at: datetime  # the listing shows the rows as they were then, not when the attacker read them
    per_table: dict[str, int]  # distinct person keys per table
    people: dict[str, int]  # distinct person keys per category, tables of one population together
    outcomes: list[ReplayOutcome]

    @property
    def refused(self) -> list[ReplayOutcome]:
        return [o for o in self.outcomes if o.status == "refused"]


def _protected_file(out: Path) -> int:
    """A new file only its owner can read, in a directory others cannot enter."""
    parent = out.parent
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700)
        parent.chmod(0o700)
    mode = parent.stat().st_mode
    if mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IXOTH):
        raise PermissionError(
            f"{parent} is open to other users (mode {stat.filemode(mode)}): use a private directory"
        )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(out, flags, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask
    return fd


def _key_for(key_column: str | dict[str, str], table: str) -> str | None:
    if isinstance(key_column, str):
        return key_column
    bare = table.split(".")[-1]
    for name in (table, table.lower(), bare, bare.lower()):
        if name in key_column:
            return key_column[name]
    return None


def _groups(statements: list[ReadStatement]) -> Iterator[tuple[tuple[str | None, str, str], list[int]]]:
    groups: dict[tuple[str | None, str, str], list[int]] = {}
    for i, s in enumerate(statements):
        groups.setdefault((s.database, s.statement, s.table), []).append(i)
    yield from groups.items()


def replay_reads(
    dsn: str,
    statements: list[ReadStatement],
    key_column: str | dict[str, str],
    out: Path,
    *,
    allow_functions: Iterable[str] = (),
    timeout_seconds: int = 300,
) -> ReplayResult:
    """Re-run the logged read statements read-only and list the people they return.

    Each distinct (database, statement, table) runs once, in its own ``READ ONLY`` transaction on a
    connection with ``default_transaction_read_only``, through a server-side cursor (``DECLARE … CURSOR``
    takes only a query, one statement, by the extended protocol), after :func:`check_read_only` accepted
    it; what runs is sqlglot's rendering of the checked statement, with the table's key column appended to
    a plain ``SELECT`` so that each row returned gives its person. Refused, failed and unlisted
    statements (aggregates, reads inside subqueries whose result lacks the key) are reported in
    ``outcomes``; errors by SQLSTATE only, since messages can quote the data.

    ``key_column``: the person key column, one for all tables or per table (the model's name or the
    bare name). The distinct keys go to ``out`` only (CSV ``category,population,table,key``, created
    with ``O_EXCL``, mode 0600, in a directory closed to others); nothing of them is logged.

    Caveat: a replay shows what the statement returns NOW (``replayed_at``), under the DSN's role (its
    privileges and row-level security, not the attacker's); rows inserted, changed or deleted since the
    read, and statements depending on time (``now()``) or randomness, may give other rows. With
    ``DISTINCT`` the appended key lists every row behind the distinct values (with a ``LIMIT`` too, the
    rows kept may differ from the attacker's).
    """
    import psycopg

    fd = _protected_file(out)
    replayed_at = datetime.now(UTC)
    keys: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # (category, population, table) → keys
    outcomes: list[ReplayOutcome] = []
    try:
        by_db: dict[str | None, list[tuple[tuple[str | None, str, str], list[int]]]] = defaultdict(list)
        for group in _groups(statements):
            by_db[group[0][0]].append(group)
        for database, groups in by_db.items():
            extra: dict[str, Any] = {"dbname": database} if database else {}
            options = (
                f"-c default_transaction_read_only=on -c statement_timeout={int(timeout_seconds * 1000)}"
            )
            with psycopg.connect(dsn, autocommit=False, options=options, **extra) as conn:
                conn.read_only = True
                for (db, sql, table), indices in groups:
                    first = statements[indices[0]]
                    outcome = ReplayOutcome(indices, table, db, "replayed")
                    outcomes.append(outcome)
                    found = _replay_one(
                        conn, sql, table, _key_for(key_column, table), allow_functions, outcome
                    )
                    if outcome.status == "replayed":
                        keys[(first.category or "", first.population or "", table)] |= found
                    log.info(
                        "replay of %d logged statement(s) on %s: %s, %d rows, %d keys",
                        len(indices), table, outcome.status, outcome.rows, outcome.keys,
                    )  # fmt: skip
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fd = -1
            writer = csv.writer(fh)
            writer.writerow(["category", "population", "table", "key"])
            for (category, population, table), values in sorted(keys.items()):
                writer.writerows([category, population, table, v] for v in sorted(values))
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        if fd >= 0:
            os.close(fd)
        out.unlink(missing_ok=True)  # no partial list of people
        raise
    per_table: dict[str, set[str]] = defaultdict(set)
    per_population: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (category, population, table), values in keys.items():
        per_table[table] |= values
        per_population[(category, population or table)] |= values
    people: dict[str, int] = defaultdict(int)
    for (category, _), values in per_population.items():
        people[category or "unknown"] += len(values)
    return ReplayResult(
        path=out,
        replayed_at=replayed_at,
        per_table={t: len(v) for t, v in sorted(per_table.items())},
        people=dict(people),
        outcomes=outcomes,
    )


def _replay_one(
    conn: Any,
    sql: str,
    table: str,
    key: str | None,
    allow_functions: Iterable[str],
    outcome: ReplayOutcome,
) -> set[str]:
    """The distinct person keys the statement returns; ``outcome`` says what became of it."""
    import psycopg

    if key is None:
        outcome.status, outcome.reason = "unlisted", "no key column given for the table"
        return set()
    try:
        query = check_read_only(sql, allow_functions)
    except RefusedStatement as err:
        outcome.status, outcome.reason = "refused", str(err)
        return set()
    listing = listing_sql(query, table, key)
    if isinstance(listing, str):
        text, columns, why = query.sql(dialect="postgres"), None, listing
    else:
        (text, columns), why = listing, None
    found: set[str] = set()
    try:
        with conn.transaction():
            with conn.cursor() as check:
                check.execute("SET TRANSACTION READ ONLY")
                row = check.execute("SHOW transaction_read_only").fetchone()
                if not row or row[0] != "on":
                    raise RuntimeError("the replay transaction is not read-only")
            with conn.cursor(name="sekimori_replay") as cur:
                cur.itersize = 10_000
                cur.execute(text)
                names = [d.name for d in cur.description or []]
                wanted = (
                    [names.index(c) for c in columns]
                    if columns
                    else [i for i, n in enumerate(names) if n == key]
                )
                if not wanted:
                    outcome.status, outcome.reason = "unlisted", why
                for record in cur:
                    outcome.rows += 1
                    found.update(str(record[i]) for i in wanted if record[i] is not None)
    except psycopg.Error as err:
        outcome.status = "failed"
        outcome.reason = f"{type(err).__name__} (SQLSTATE {getattr(err, 'sqlstate', None)})"
        return set()
    outcome.keys = len(found) if outcome.status == "replayed" else 0
    return found
