"""The compiled rules' cache: reused while the rule sources are the same, compiled again when a rule
changes, in a zip (hashed whole) or a folder (hashed file by file)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from sekimori.detect.sigma import rules as rules_module
from sekimori.detect.sigma.rules import BUNDLED, load_ruleset

# Two real SigmaHQ rules from the bundled corpus.
NAMES = (
    "rules/windows/builtin/security/win_security_susp_lsass_dump_generic.yml",
    "rules/windows/builtin/security/win_security_user_added_to_local_administrators.yml",
)


def _rules() -> dict[str, str]:
    with zipfile.ZipFile(BUNDLED) as zf:
        present = set(zf.namelist())
        return {name: zf.read(name).decode() for name in NAMES if name in present}


def _zip(path: Path, texts: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in texts.items():
            zf.writestr(name, text)
    return path


@pytest.fixture
def compiles(tmp_path, monkeypatch):
    monkeypatch.setenv("SEKIMORI_CACHE", str(tmp_path / "cache"))
    calls: list[int] = []
    real = rules_module.compile_rules

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(rules_module, "compile_rules", counted)
    return calls


def _titles(ruleset) -> list[str]:
    return sorted(r.title for r in ruleset.rules)


def test_a_zip_is_compiled_once_and_again_when_a_rule_changes(tmp_path, compiles):
    texts = _rules()
    assert len(texts) == 2
    source = _zip(tmp_path / "rules.zip", texts)
    first = load_ruleset([source])
    again = load_ruleset([source])
    assert len(compiles) == 1 and _titles(again) == _titles(first) and len(first.rules) == 2
    name = NAMES[0]
    changed = {**texts, name: texts[name].replace("title: ", "title: Changed ", 1)}
    _zip(source, changed)
    third = load_ruleset([source])
    assert len(compiles) == 2
    assert sum(t.startswith("Changed ") for t in _titles(third)) == 1


def test_a_folder_is_compiled_once_and_again_when_a_rule_changes(tmp_path, compiles):
    folder = tmp_path / "rules"
    for name, text in _rules().items():
        (folder / Path(name).name).parent.mkdir(parents=True, exist_ok=True)
        (folder / Path(name).name).write_text(text)
    first = load_ruleset([folder])
    load_ruleset([folder])
    assert len(compiles) == 1 and len(first.rules) == 2
    path = folder / Path(NAMES[1]).name
    path.write_text(path.read_text().replace("title: ", "title: Changed ", 1))
    third = load_ruleset([folder])
    assert len(compiles) == 2 and sum(t.startswith("Changed ") for t in _titles(third)) == 1
