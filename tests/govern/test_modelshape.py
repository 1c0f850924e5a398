"""The register in the group model's shape (the seam a later step merges into the model): each party,
contract and grant of the hand-written register mapped as the model's sections say, and what the model
cannot express listed, not guessed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sekimori.govern import Register, model_sections, read_register
from sekimori.model import Contract, Grant, Organisation
from tests.govern.conftest import ALICE


def test_register_as_model_sections(register: Register, register_file: Path):
    register.import_records(read_register(register_file), ALICE)
    sections = model_sections(register)
    assert sections.organisations == [
        Organisation(id="aff", name="Affiliate KK", kind="affiliate", country="JP"),
        Organisation(id="ctr", name="Contractor A", kind="contractor", country="JP"),
        Organisation(id="parent", name="Parent Corp", kind="parent", country="JP"),
        # a sub-contractor is a contractor to the model; its chain stays in the register
        Organisation(
            id="sub",
            name="Sub-contractor B",
            kind="contractor",
            country="VN",
            description="call centre overflow",
        ),
    ]
    assert sections.contracts == [
        Contract(
            id="C-1",
            entrusting="parent",
            entrusted="ctr",
            scope="customer support",
            start=date(2025, 1, 1),
            end=date(2026, 12, 31),
            systems=["crm"],
        )
    ]
    assert sections.grants == [
        Grant(
            id="G-AFF",
            org="aff",
            hosts=["fs01.corp.example.jp"],
            logon_types=["network"],
            owner="kenji",
            description="shared file server (register: organisation aff.example.jp)",
        ),
        Grant(
            id="G-AR",
            org="ctr",
            systems=["crm"],
            access=["application"],
            expires=date(2026, 12, 31),
            owner="hanako",
            description="support tickets (register: account aragorn@lotr.com)",
        ),
    ]
    assert sections.skipped == [
        "grant G-OLD: the model's grants name systems and hosts, not an application (Billing); "
        "name its system"
    ]
    assert sections.widened == ["G-AR"]  # an account's grant becomes its organisation's in the model
