"""The hash-chained audit log: appends, verification, and tampering with raw SQL caught, naming the seq."""

from __future__ import annotations

import itertools
import multiprocessing
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sekimori.respond.audit import GENESIS, AuditError, AuditLog, entry_hash
from tests.respond.conftest import Database


@pytest.fixture
def log(db: Database) -> Iterator[AuditLog]:
    audit = AuditLog(db.url, anchor=db.anchor)
    for i in range(1, 6):
        audit.record(f"user{i % 2}", "note", {"i": i, "text": f"entry {i}"}, case_id="CASE-2026-0001")
    yield audit
    audit.close()


def sql(log: AuditLog, statement: str, **params: Any) -> None:
    with log.engine.begin() as conn:
        conn.execute(text(statement), params)


def problems_about(log: AuditLog, seq: int) -> list[str]:
    report = log.verify()
    assert not report.ok
    return [p for p in report.problems if f"seq {seq}" in p]


def test_append_and_verify(log: AuditLog) -> None:
    entries = log.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert all(e.time.utcoffset() == timedelta(0) for e in entries)
    assert entries[2].payload == {"i": 3, "text": "entry 3"}
    report = log.verify()
    assert report.ok, report.problems
    assert report.entries == 5
    assert report.head == (5, entries[-1].hash)
    assert log.anchor is not None and log.anchor.exists()
    assert len(log.anchor.read_text().splitlines()) == 5
    assert [e.seq for e in log.entries("CASE-2026-0001")] == [1, 2, 3, 4, 5]
    assert log.entries("CASE-2026-0002") == []


def test_default_anchor_is_beside_the_sqlite_database(tmp_path: Path) -> None:
    audit = AuditLog(f"sqlite:///{tmp_path / 'x.db'}")
    audit.record("alice", "note", {})
    assert audit.anchor == tmp_path / "x.db.audit-anchor"
    assert audit.anchor.exists()
    audit.close()


def test_rolled_back_append_leaves_nothing(log: AuditLog) -> None:
    with pytest.raises(RuntimeError), log.transaction() as session:
        log.append(session, "alice", "note", {"x": 1})
        raise RuntimeError("abort")
    assert len(log.entries()) == 5
    assert log.verify().ok


def test_append_outside_a_transaction_refused(log: AuditLog) -> None:
    from sqlalchemy.orm import Session

    with Session(log.engine) as session, pytest.raises(AuditError, match="outside"):
        log.append(session, "alice", "note", {})


def test_empty_log_verifies(db: Database) -> None:
    audit = AuditLog(db.url, anchor=db.anchor)
    report = audit.verify()
    assert report.ok and report.entries == 0
    audit.close()


def test_edited_payload_detected(log: AuditLog) -> None:
    sql(
        log, "UPDATE audit SET payload = CAST(:p AS JSON) WHERE seq = 3", p='{"i": 3, "text": "nothing here"}'
    )
    found = problems_about(log, 3)
    assert any("edited" in p for p in found), log.verify().problems


def test_edited_actor_detected(log: AuditLog) -> None:
    sql(log, "UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    assert any("edited" in p for p in problems_about(log, 2))


def test_rewritten_chain_caught_by_the_anchor(log: AuditLog) -> None:
    # An attacker with the database only: edit seq 3, recompute every later hash and the head.
    sql(log, "UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    prev = log.entries()[1].hash
    for entry in log.entries()[2:]:
        digest = entry_hash(
            entry.seq, entry.time, entry.actor, entry.case_id, entry.kind, entry.payload, prev
        )
        sql(log, "UPDATE audit SET prev_hash = :p, hash = :h WHERE seq = :s", p=prev, h=digest, s=entry.seq)
        prev = digest
    sql(log, "UPDATE audit_head SET hash = :h WHERE id = 1", h=prev)
    found = problems_about(log, 3)
    assert any("anchor" in p for p in found), log.verify().problems


def test_deleted_middle_entry_detected(log: AuditLog) -> None:
    sql(log, "DELETE FROM audit WHERE seq = 3")
    report = log.verify()
    assert any(p.startswith("seq 3") and "missing" in p for p in report.problems), report.problems
    assert any(p.startswith("seq 4") and "prev_hash" in p for p in report.problems), report.problems


def test_deleted_last_entry_detected(log: AuditLog) -> None:
    sql(log, "DELETE FROM audit WHERE seq = 5")
    assert any("truncated" in p for p in problems_about(log, 5)), log.verify().problems


def test_truncated_tail_with_rewound_head_caught_by_the_anchor(log: AuditLog) -> None:
    fourth = log.entries()[3]
    sql(log, "DELETE FROM audit WHERE seq = 5")
    sql(log, "UPDATE audit_head SET seq = 4, hash = :h WHERE id = 1", h=fourth.hash)
    found = problems_about(log, 5)
    assert any("anchor" in p and "truncated" in p for p in found), log.verify().problems


def test_swapped_entries_detected(log: AuditLog) -> None:
    sql(log, "UPDATE audit SET seq = -1 WHERE seq = 2")
    sql(log, "UPDATE audit SET seq = 2 WHERE seq = 3")
    sql(log, "UPDATE audit SET seq = 3 WHERE seq = -1")
    assert problems_about(log, 2)
    assert problems_about(log, 3)


def test_missing_anchor_reported(log: AuditLog) -> None:
    assert log.anchor is not None
    log.anchor.unlink()
    assert any("not anchored" in p for p in problems_about(log, 1))
    log.record("alice", "note", {})  # the next append anchors the head again
    assert log.verify().ok


def _append_many(url: str, anchor: str | None, actor: str, n: int) -> None:
    audit = AuditLog(url, anchor=anchor)
    for i in range(n):
        audit.record(actor, "note", {"i": i})
    audit.close()


def test_concurrent_appends_from_two_processes(db: Database) -> None:
    audit = AuditLog(db.url, anchor=db.anchor)  # creates the tables before the writers start
    anchor = str(db.anchor) if db.anchor else None
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_append_many, args=(db.url, anchor, f"w{k}", 50)) for k in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    report = audit.verify()
    assert report.ok, report.problems
    assert report.entries == 100
    entries = audit.entries()
    assert [e.seq for e in entries] == list(range(1, 101))
    assert Counter(e.actor for e in entries) == {"w0": 50, "w1": 50}
    assert audit.anchor is not None
    assert len(audit.anchor.read_text().splitlines()) == 100
    audit.close()
