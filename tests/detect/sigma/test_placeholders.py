"""Sigma ``|expand`` placeholders filled from the group model: the demo group's domain controller and
tenants, read here from its YAML by hand, and SigmaHQ's two CertiGhost rules (``%known_cdcs%``), which
do not compile without values and compile with the model's."""

from __future__ import annotations

from pathlib import Path

from sekimori.detect.sigma.placeholders import model_placeholders, placeholders_for
from sekimori.detect.sigma.rules import compile_rules
from sekimori.model import load_model

DEMO_GROUP = Path(__file__).parents[3] / "sekimori" / "demo" / "data" / "group.yaml"
CDC_CHASE = (
    "rules-emerging-threats/2026/Exploits/CVE-2026-54121/win_security_adcs_certighost_cdc_chase_request.yml"
)


def test_the_demo_group_gives_its_domain_controller_and_tenants():
    values = model_placeholders(load_model(DEMO_GROUP))
    # realm example-ad (ad_domain) is run by system corp-ad, whose hosts are these two names;
    # the two idp_tenant realms carry one tenant id each; the demo group has no cloud account
    assert values == {
        "known_cdcs": ["WIN-77LTAPHIQ1R", "WIN-77LTAPHIQ1R.example.corp"],
        "home_tenant_ids": ["fc66a38e-bcba-4fe9-b2de-c67918514cc5", "4328f0a8-06da-4457-b0d0-2c8e115e52cc"],
        "group_tenant_ids": ["fc66a38e-bcba-4fe9-b2de-c67918514cc5", "4328f0a8-06da-4457-b0d0-2c8e115e52cc"],
    }
    assert placeholders_for(None, None) is None
    assert placeholders_for(None, {"known_cdcs": ["dc1"]}) == {"known_cdcs": ["dc1"]}
    merged = placeholders_for(load_model(DEMO_GROUP), {"known_cdcs": ["dc1"]})
    assert merged is not None and merged["known_cdcs"] == ["dc1"]  # settings win


def test_the_certighost_rules_compile_with_the_models_domain_controllers(tmp_path):
    import zipfile

    bundled = Path(__file__).parents[3] / "sekimori" / "detect" / "sigma" / "sigmahq-rules.zip"
    with zipfile.ZipFile(bundled) as zf:
        text = zf.read(CDC_CHASE).decode()
    rule = tmp_path / "rule.yml"
    rule.write_text(text)
    without = compile_rules([rule])
    assert without.rules == [] and "placeholder" in without.failures[0].reason
    with_model = compile_rules([rule], model_placeholders(load_model(DEMO_GROUP)))
    (compiled,) = with_model.rules
    assert with_model.failures == []
    # the expanded values are in the rule's SQL, lower-cased for Sigma's case-insensitive match
    assert "win-77ltaphiq1r.example.corp" in compiled.sql


def test_values_change_no_other_rule(tmp_path):
    """Giving placeholder values once also ran the Windows log source pipelines into every rule's SQL
    (a Sysmon condition inside the 4688 reading), which doubled process-creation alerts in the demo."""
    import zipfile

    bundled = Path(__file__).parents[3] / "sekimori" / "detect" / "sigma" / "sigmahq-rules.zip"
    folder = tmp_path / "rules"
    folder.mkdir()
    with zipfile.ZipFile(bundled) as zf:
        names = [n for n in zf.namelist() if n.startswith("rules/windows/process_creation/")][:60]
        for n in names:
            (folder / Path(n).name).write_bytes(zf.read(n))
    plain = compile_rules([folder])
    valued = compile_rules([folder], model_placeholders(load_model(DEMO_GROUP)))
    assert len(plain.rules) == len(valued.rules) == len(names)

    def readings(ruleset):
        return {r.id: (r.sql, r.filter, [(v.sql, v.filter) for v in r.variants]) for r in ruleset.rules}

    assert readings(plain) == readings(valued)
