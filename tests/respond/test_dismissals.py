"""Alert dismissals (sekimori.respond.AlertDismissals) on both backends: a reason is required, a
dismissal is kept when the alert is restored, each change is an audit entry by its principal, and an
edit of the table behind the audit trail's back is named by verify."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sekimori.respond import AlertDismissals, CaseError, CaseStore, Principal
from tests.respond.conftest import Database

ALICE = Principal("test", "alice", "alice")
BOB = Principal("test", "bob", "bob")


def test_dismiss_restore_and_history(db: Database) -> None:
    with CaseStore(db.url, anchor=db.anchor) as cases:
        dismissals = AlertDismissals(cases)
        with pytest.raises(CaseError, match="needs a reason"):
            dismissals.dismiss("a1", "   ", ALICE)
        first = dismissals.dismiss("a1", "known scanner", ALICE)
        assert (first.alert_id, first.reason, first.dismissed_by, first.active) == (
            "a1",
            "known scanner",
            ALICE.label,
            True,
        )
        with pytest.raises(CaseError, match="dismissed already"):
            dismissals.dismiss("a1", "again", BOB)
        with pytest.raises(CaseError, match="not dismissed"):
            dismissals.restore("a2", BOB)
        assert set(dismissals.active()) == {"a1"}
        restored = dismissals.restore("a1", BOB)
        assert (restored.restored_by, restored.active) == (BOB.label, False)
        assert dismissals.active() == {}
        dismissals.dismiss("a1", "false positive after all", BOB)
        history = dismissals.history("a1")
        assert [(d.reason, d.active) for d in history] == [
            ("known scanner", False),
            ("false positive after all", True),
        ]
        entries = [(e.kind, e.actor, e.payload.get("alert_id")) for e in cases.audit.entries()]
        assert [e for e in entries if e[0].startswith("alert.")] == [
            ("alert.dismiss", ALICE.label, "a1"),
            ("alert.restore", BOB.label, "a1"),
            ("alert.dismiss", BOB.label, "a1"),
        ]
        assert cases.verify().ok


def test_an_edit_behind_the_audit_trail_is_named(db: Database) -> None:
    with CaseStore(db.url, anchor=db.anchor) as cases:
        dismissals = AlertDismissals(cases)
        dismissals.dismiss("a1", "known scanner", ALICE)
        with cases.engine.begin() as con:
            con.execute(text("UPDATE alert_dismissals SET reason = 'edited' WHERE alert_id = 'a1'"))
        report = dismissals.tables.verify()
        assert not report.ok
        assert any("alert_dismissals" in p and "reason" in p for p in report.problems), report.problems
