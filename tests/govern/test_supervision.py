"""Supervision records: an assessment answered with evidence files (hashed, not copied), concluded; an audit
with a finding remediated; every step in the audit chain (verify passes), a row edited beside sekimori is
caught, and a changed or missing evidence file is named."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from sekimori.govern import (
    QUESTIONNAIRE,
    MeasureKind,
    Register,
    SupervisionError,
    answer,
    check_evidence,
    conclude,
    read_register,
    record_audit,
    remediate,
    start_assessment,
    supervision_records,
)
from tests.govern.conftest import ALICE, HANAKO


def test_the_questionnaire_cites_the_guideline_in_both_languages():
    kinds = {i.kind for i in QUESTIONNAIRE}
    assert {
        MeasureKind.organisational,
        MeasureKind.human,
        MeasureKind.physical,
        MeasureKind.technical,
    } <= kinds
    assert all(i.section.startswith(("10-", "3-4-4")) and i.ja and i.en for i in QUESTIONNAIRE)
    assert len({i.id for i in QUESTIONNAIRE}) == len(QUESTIONNAIRE)


def test_assessment_and_audit_in_the_audit_chain(register: Register, register_file: Path, tmp_path: Path):
    register.import_records(read_register(register_file), ALICE)
    evidence = tmp_path / "policy.pdf"
    evidence.write_bytes(b"%PDF-1.4 the party's policy")
    start_assessment(register, "S1", "ctr", ALICE)
    files = answer(register, "S1", "policy", "yes", HANAKO, "signed 2025-01", [evidence])
    assert [(f.path, f.sha256, f.bytes) for f in files] == [
        (str(evidence.resolve()), hashlib.sha256(b"%PDF-1.4 the party's policy").hexdigest(), 27)
    ]
    with pytest.raises(SupervisionError, match="unanswered items"):
        conclude(register, "S1", "accepted", date(2025, 2, 1), ALICE)
    for item in QUESTIONNAIRE[1:]:
        answer(register, "S1", item.id, "partly", HANAKO)
    conclude(register, "S1", "accepted_with_conditions", date(2025, 2, 1), ALICE)
    with pytest.raises(SupervisionError, match="concluded"):
        answer(register, "S1", "policy", "no", HANAKO)
    record_audit(
        register, "A1", "ctr", date(2025, 3, 1), "onsite", ALICE, "annual",
        [("shared admin", "high", date(2025, 4, 30)), ("no training records", "low", date(2025, 6, 30))],
    )  # fmt: skip
    remediate(register, "A1/1", date(2025, 4, 15), "accounts split", HANAKO)
    [ctr] = supervision_records(register, date(2025, 7, 1), "ctr")
    assert ctr.selected and ctr.last_audit == date(2025, 3, 1) and not ctr.audit_due
    assert [f.id for f in ctr.overdue_remediations] == ["A1/2"]  # due 2025-06-30, still open
    assert ctr.assessments[0].unanswered == []
    assert ctr.assessments[0].answers["policy"]["evidence"][0]["sha256"] == files[0].sha256
    # due once more than 365 days have passed since the audit
    assert supervision_records(register, date(2026, 3, 2), "ctr")[0].audit_due
    report = register.verify()
    assert report.ok, report.problems
    # the file is recorded, not copied: a change and a removal are seen
    assert [e["status"] for e in check_evidence(register)] == ["ok"]
    evidence.write_bytes(b"another policy")
    assert [e["status"] for e in check_evidence(register)] == ["changed"]
    evidence.unlink()
    assert [e["status"] for e in check_evidence(register)] == ["missing"]


def test_an_edit_beside_sekimori_is_caught(register: Register, register_file: Path):
    register.import_records(read_register(register_file), ALICE)
    record_audit(
        register, "A1", "ctr", date(2025, 3, 1), "remote", ALICE, None, [("x", "low", date(2025, 4, 1))]
    )
    assert register.verify().ok
    with register.cases.engine.begin() as conn:
        conn.execute(text("UPDATE govern_audit_findings SET remediated_on = '2025-03-02' WHERE id = 'A1/1'"))
    report = register.verify()
    assert not report.ok
    assert any("govern_audit_findings" in p and "A1/1" in p for p in report.problems), report.problems


def test_unknown_parties_items_and_files_are_refused(register: Register, register_file: Path, tmp_path: Path):
    register.import_records(read_register(register_file), ALICE)
    with pytest.raises(SupervisionError, match="unknown party 'nobody'"):
        start_assessment(register, "S1", "nobody", ALICE)
    start_assessment(register, "S1", "ctr", ALICE)
    with pytest.raises(SupervisionError, match="unknown item"):
        answer(register, "S1", "no-such-item", "yes", ALICE)
    with pytest.raises(SupervisionError, match="cannot read"):
        answer(register, "S1", "policy", "yes", ALICE, evidence=[tmp_path / "missing.pdf"])
    with pytest.raises(SupervisionError, match="before the audit"):
        record_audit(
            register, "A1", "ctr", date(2025, 3, 1), "remote", ALICE, None, [("x", "low", date(2025, 1, 1))]
        )
    assert supervision_records(register, date(2025, 3, 1), "ctr")[0].audits == []  # nothing half-written
    assert register.verify().ok
