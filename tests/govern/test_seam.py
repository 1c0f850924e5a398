"""The register merged into a loaded model (the hand-written small group): what replaces what, how
application and data-store grants are resolved, what is widened, and references checked with the
record and field named; the CLI's SEKIMORI_REGISTER setting merges it for every command."""

from __future__ import annotations

from pathlib import Path

import pytest

from sekimori.govern import (
    GrantRecord,
    Register,
    RegisterError,
    located,
    merge_register,
    model_with_register,
)
from sekimori.model import load_model_text
from tests.govern.conftest import ALICE
from tests.govern.small_group import MODEL_YAML
from tests.govern.test_findings import small_register


def test_merge(register: Register, tmp_path: Path):
    small_register(register, tmp_path)
    merged = merge_register(load_model_text(MODEL_YAML), register)
    model = merged.model
    # register parties override or add organisations; sub (model only) stays
    assert [(o.id, o.kind) for o in model.organisations] == [
        ("parent", "parent"), ("aff", "affiliate"), ("ctr", "contractor"), ("sub", "contractor"),
        ("sub2", "contractor"),
    ]  # fmt: skip
    # C-SUB is entrusted to sub, not a register party: kept; the register's two contracts added
    assert [(c.id, c.entrusting, c.entrusted) for c in model.contracts] == [
        ("C-SUB", "ctr", "sub"), ("C-AFF", "parent", "aff"), ("C-CTR", "parent", "ctr"),
    ]  # fmt: skip
    grants = {g.id: g for g in model.grants}
    assert grants["G-AFF-APP"].systems == ["crm"] and grants["G-AFF-APP"].access == ["application"]
    assert grants["G-CTR-HR"].systems == ["hr"] and grants["G-CTR-HR"].access == ["database"]
    assert grants["G-CTR-OLD"].hosts == ["old-host"] and grants["G-CTR-OLD"].logon_types == ["network"]
    assert merged.resolved == [
        "grant G-AFF-APP: application Legacy Application → system crm",
        "grant G-CTR-HR: data_store ds-hr → system hr",
    ]
    assert merged.widened == [
        "grant G-AFF-APP: account gandalf@lotr.com → every principal of aff",
        "grant G-CTR-HR: group ctr-admins → every principal of ctr",
        "grant G-CTR-OLD: account frodo@ctr.example → every principal of ctr",
    ]
    assert model_with_register(load_model_text(MODEL_YAML), register) == model


def bad_grant(grant_id: str, kind: str, obj: str) -> GrantRecord:
    return GrantRecord.model_validate(
        {
            "id": grant_id, "party": "aff", "subject_kind": "organisation", "subject": "aff.example.jp",
            "object_kind": kind, "object": obj, "access": "network", "justification": "x", "owner": "kenji",
            "created": "2025-01-01",
        }
    )  # fmt: skip


def test_references_are_checked(register: Register, tmp_path: Path):
    small_register(register, tmp_path)
    register.import_records(
        {"grants": located([bad_grant("G-X", "system", "erp"), bad_grant("G-Y", "application", "Payroll")])},
        ALICE,
    )
    with pytest.raises(RegisterError) as caught:
        merge_register(load_model_text(MODEL_YAML), register)
    assert [str(p) for p in caught.value.problems] == [
        "register field object: grant G-X: unknown system 'erp' (not in the group model)",
        "register field object: grant G-Y: no system of the group model serves the application 'Payroll'",
    ]


def test_the_cli_setting_merges_the_register(
    register: Register, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from sekimori.cli.common import REGISTER_ENV, load_model_or_fail

    small_register(register, tmp_path)
    path = tmp_path / "group.yaml"
    path.write_text(MODEL_YAML, encoding="utf-8")
    assert "G-AFF-APP" not in {g.id for g in load_model_or_fail(path).grants}
    monkeypatch.setenv(REGISTER_ENV, register.cases.engine.url.render_as_string(hide_password=False))
    assert "G-AFF-APP" in {g.id for g in load_model_or_fail(path).grants}
