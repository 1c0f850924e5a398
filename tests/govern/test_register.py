"""The register in the case database's audit chain: after every kind of change (import, update, delete,
a review started, a decision) the chain verifies; an audit entry or a register row edited beside sekimori
(raw SQL, as an attacker with database access would) is named by its seq, or its table, row and field."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from sekimori.govern import Register, RegisterError, decide, read_register, start_review
from sekimori.respond import CaseStore
from tests.govern.conftest import ALICE, HANAKO, REGISTER_YAML
from tests.respond.conftest import Database
from tests.respond.test_tamper import attacker


def kinds_and_actors(register: Register) -> list[tuple[int, str, str]]:
    return [(e.seq, e.kind, e.actor) for e in register.cases.audit.entries()]


def test_every_kind_of_change_is_in_the_chain(register: Register, register_file: Path, tmp_path: Path):
    register.import_records(read_register(register_file), ALICE)
    assert register.verify().ok
    changed = tmp_path / "changed.yaml"
    changed.write_text(REGISTER_YAML.replace("risk_tier: medium", "risk_tier: high"), encoding="utf-8")
    register.import_records(read_register(changed), ALICE)
    assert register.verify().ok
    grants_only = tmp_path / "grants.csv"
    grants_only.write_text(
        "id,party,subject_kind,subject,object_kind,object,access,justification,owner,contract,created,expires\n"
        "G-AR,ctr,account,aragorn@lotr.com,system,crm,application,support tickets,hanako,C-1,2025-01-01,"
        "2026-12-31\n",
        encoding="utf-8",
    )
    report = register.import_records(read_register(grants_only), ALICE, replace=True)
    assert report.deleted == {"grants": ["G-AFF", "G-OLD"]}
    assert register.verify().ok
    register.delete("parties", "aff", ALICE, reason="no longer works for us")
    assert register.verify().ok
    start_review(register, "R1", "first", date(2026, 12, 31), ALICE, today=date(2026, 1, 5))
    assert register.verify().ok
    decide(register, "R1", "G-AR", "certify", "still needed", HANAKO)
    report_after = register.verify()
    assert report_after.ok, report_after.problems
    assert kinds_and_actors(register) == [
        (1, "register.import", "alice"),
        (2, "register.import", "alice"),
        (3, "register.import", "alice"),
        (4, "register.delete", "alice"),
        (5, "review.start", "alice"),
        (6, "review.decide", "hanako"),
    ]
    # What each entry records, as the chain holds it.
    entries = register.cases.audit.entries()
    assert [r["op"] + " " + r["table"] + " " + r["id"] for r in entries[1].payload["rows"]] == [
        "update govern_parties ctr"
    ]
    assert entries[1].payload["rows"][0]["set"] == {"risk_tier": "high"}
    assert sorted(r["op"] + " " + r["id"] for r in entries[2].payload["rows"]) == [
        "delete G-AFF",
        "delete G-OLD",
    ]
    assert entries[3].payload["rows"] == [{"op": "delete", "table": "govern_parties", "id": "aff", "set": {}}]
    assert entries[5].payload["by"] == {
        "source": "os",
        "login": "hanako",
        "person": "hanako",
        "directory": "",
    }
    # The respond stage's own verify still passes over a chain holding register entries.
    with CaseStore(register.cases.engine.url.render_as_string(hide_password=False), anchor=False) as cases:
        assert cases.verify().ok


def test_delete_refused_while_named(register: Register, register_file: Path):
    register.import_records(read_register(register_file), ALICE)
    with pytest.raises(RegisterError, match="'ctr' is named by parties sub \\(parent\\)"):
        register.delete("parties", "ctr", ALICE, reason="x")
    assert len(register.parties()) == 4


def test_an_edited_audit_entry_is_named_by_its_seq(db: Database, register: Register, register_file: Path):
    register.import_records(read_register(register_file), ALICE)
    register.delete("grants", "G-OLD", ALICE, reason="expired")
    assert register.verify().ok
    # Entry 1 says the import was by bob instead of alice; its stored hash is left as it was.
    entry = register.cases.audit.entries()[0]
    payload = dict(entry.payload, by={"source": "os", "login": "bob", "person": "bob", "directory": ""})
    text = json.dumps(payload).replace("'", "''")
    attacker(db, f"UPDATE audit SET actor = 'bob', payload = '{text}' WHERE seq = 1")
    report = register.verify()
    assert not report.ok
    assert report.problems == ["seq 1: content does not match its hash (edited)"]


def test_an_edited_register_row_is_named(db: Database, register: Register, register_file: Path):
    register.import_records(read_register(register_file), ALICE)
    attacker(
        db,
        "UPDATE govern_grants SET expires = NULL WHERE id = 'G-AR'",
        "INSERT INTO govern_parties (id, name, kind, country, contacts, risk_tier) "
        "VALUES ('ghost', 'Ghost', 'contractor', 'JP', '[]', 'low')",
        "DELETE FROM govern_grants WHERE id = 'G-OLD'",
    )
    report = register.verify()
    assert report.problems == [
        "govern_parties row ghost: not in the audit chain (written beside sekimori)",
        "govern_grants row G-AR field expires: the audit chain says '2026-12-31', the table has None",
        "govern_grants row G-OLD: in the audit chain (seq 1) but not in the table (deleted)",
    ]


def test_replace_deletes_a_chain_of_parties_children_first(register: Register, tmp_path: Path):
    chain = tmp_path / "chain.yaml"
    chain.write_text(
        "parties:\n"
        "  - {id: parent, name: P, kind: parent, country: JP, risk_tier: low}\n"
        "  - {id: a, name: A, kind: contractor, country: JP, risk_tier: low}\n"
        "  - {id: b, name: B, kind: subcontractor, country: JP, risk_tier: low, parent: a}\n"
        "  - {id: c, name: C, kind: subcontractor, country: JP, risk_tier: low, parent: b}\n",
        encoding="utf-8",
    )
    register.import_records(read_register(chain), ALICE)
    only_parent = tmp_path / "parties.csv"
    only_parent.write_text(
        "id,name,kind,country,risk_tier\nparent,P,parent,JP,low\n",
        encoding="utf-8",
    )
    report = register.import_records(read_register(only_parent), ALICE, replace=True)
    assert report.deleted == {"parties": ["a", "b", "c"]}
    assert [p.id for p in register.parties()] == ["parent"]
    # children first: c (re-entrusted by b), then b, then a
    rows = register.cases.audit.entries()[-1].payload["rows"]
    assert [r["id"] for r in rows if r["op"] == "delete"] == ["c", "b", "a"]
    assert register.verify().ok
