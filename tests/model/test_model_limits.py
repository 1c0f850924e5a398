"""A model that is large because it has many values is a size limit, named with the setting that raises
it; one that aliases expand far beyond its own values is an alias bomb, with its own message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sekimori.model import ModelError, load_model, load_model_text

WriteModel = Callable[[str], Path]


def organisations(count: int) -> str:
    """A model of ``count`` organisations: 4 + 5 x count values (the root mapping, version, group, the
    list, and per organisation its mapping and four scalars; keys are not values)."""
    lines = ["version: 1", "group: Large Group", "organisations:"]
    lines.append("  - {id: parent, name: Parent, kind: parent, country: JP}")
    lines += [f"  - {{id: org-{i}, name: Org {i}, kind: subsidiary, country: JP}}" for i in range(count - 1)]
    return "\n".join(lines) + "\n"


def test_a_model_over_the_size_limit_names_the_limit_the_count_and_the_setting(
    write_model: WriteModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_model(organisations(30))  # 154 values
    monkeypatch.setenv("SEKIMORI_MODEL_MAX_VALUES", "153")
    with pytest.raises(ModelError) as caught:
        load_model(path)
    assert str(caught.value) == (
        f"{path}:1:1: expected at most 153 values, found 154: the model is larger than the limit "
        "(set SEKIMORI_MODEL_MAX_VALUES to a larger number to load it)"
    )
    monkeypatch.setenv("SEKIMORI_MODEL_MAX_VALUES", "154")
    assert len(load_model(path).organisations) == 30


def test_the_limit_can_be_given_to_the_loader(write_model: WriteModel) -> None:
    path = write_model(organisations(3))  # 19 values
    with pytest.raises(ModelError, match="expected at most 18 values, found 19"):
        load_model(path, max_values=18)
    assert len(load_model(path, max_values=19).organisations) == 3


@pytest.mark.parametrize("setting", ["many", "0", "-5", "1e6"])
def test_a_wrong_setting_is_named(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEKIMORI_MODEL_MAX_VALUES", setting)
    with pytest.raises(ModelError) as caught:
        load_model_text(organisations(2), "m.yaml")
    assert str(caught.value) == (
        f"m.yaml: expected SEKIMORI_MODEL_MAX_VALUES to be a whole number ≥ 1, got {setting!r}"
    )


def test_a_model_of_more_than_a_million_values_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without aliases, size alone is not an alias bomb (it was refused as one at 1,000,000 values). A
    # long flow list is the cheapest way to a million values; 200,000 organisations (about 1,000,000
    # values) load the same way, in 14-22 s.
    monkeypatch.delenv("SEKIMORI_MODEL_MAX_VALUES", raising=False)
    items = ", ".join(f"item-{i % 10}" for i in range(1_000_001))
    text = f"""\
version: 1
group: G
organisations:
  - {{id: parent, name: Parent, kind: parent, country: JP}}
zones:
  - {{id: z, name: Z, org: parent}}
systems:
  - {{id: s, name: S, owner: parent, zone: z}}
data_stores:
  - id: d
    name: D
    system: s
    owner: parent
    kind: database
    personal_data:
      - category: user
        records: 1
        items: [{items}]
"""
    items_loaded = load_model_text(text, "large.yaml").data_stores[0].personal_data[0].items
    assert len(items_loaded) == 1_000_001
    assert items_loaded[-1] == "item-0"


BILLION_LAUGHS = """\
version: 1
a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_a_billion_laughs_document_is_an_alias_bomb() -> None:
    # 21 values of its own (the root, version, 9 lists, 10 'lol's) that aliases make 10**9.
    with pytest.raises(ModelError) as caught:
        load_model_text(BILLION_LAUGHS, "bomb.yaml")
    assert str(caught.value) == (
        "bomb.yaml:1:1: aliases expand the document too far: its 21 values would become more than "
        "1,000,021 (an alias bomb?)"
    )


def test_an_alias_bomb_under_a_raised_size_limit_is_still_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEKIMORI_MODEL_MAX_VALUES", str(10**12))
    with pytest.raises(ModelError, match="aliases expand the document too far: its 21 values"):
        load_model_text(BILLION_LAUGHS, "bomb.yaml")


def test_aliases_may_repeat_defaults_in_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ordinary use of anchors and merge keys builds more values than the document holds; that is fine.
    monkeypatch.delenv("SEKIMORI_MODEL_MAX_VALUES", raising=False)
    lines = ["version: 1", "group: G", "organisations:"]
    lines.append("  - &jp {id: parent, name: Parent, kind: parent, country: JP}")
    lines += [f"  - {{<<: *jp, id: org-{i}, kind: subsidiary}}" for i in range(200)]
    model = load_model_text("\n".join(lines) + "\n", "merge.yaml")
    assert [o.country for o in model.organisations] == ["JP"] * 201
    assert model.organisations[-1].name == "Parent"
