"""How large a model may be, and the count that tells a large model from an alias bomb.

A large group has many organisations, accounts rules and hosts: 200,000 organisations are about
1,000,000 values and load in 14-22 s with 1.4 GB. Such a model loads; a larger one is refused with a
message naming the limit and the setting that raises it. An alias bomb ("billion laughs") is different:
a document of a few lines whose aliases expand to billions of values. It is caught by counting the values
as they are built, against what the document holds itself.
"""

from __future__ import annotations

import os

import yaml

from sekimori.model.errors import Issue, ModelError

# Values (scalars, lists and mappings; not mapping keys) a model may hold unless the setting says
# otherwise: twice the 200,000-organisation group above. The limit stops a mistaken multi-gigabyte
# file with a message rather than with the machine out of memory.
DEFAULT_MAX_VALUES = 2_000_000
MAX_VALUES_ENV = "SEKIMORI_MODEL_MAX_VALUES"

# Aliases may add this many values to those the document holds itself, or as many as it holds if that
# is more (a large model that merges defaults into each entry with '<<').
MAX_ALIAS_VALUES = 1_000_000


def max_values_setting(source: str | None = None) -> int:
    """The size limit: ``SEKIMORI_MODEL_MAX_VALUES`` if set, else :data:`DEFAULT_MAX_VALUES`."""
    text = os.environ.get(MAX_VALUES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_VALUES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        message = f"expected {MAX_VALUES_ENV} to be a whole number ≥ 1, got {text!r}"
        raise ModelError([Issue(source, None, None, "", message)])
    return value


def count_values(root: yaml.Node) -> int:
    """The values a document holds itself: each list and mapping once however often aliases repeat
    it, and each scalar where it stands (aliases of scalars cannot multiply anything)."""
    seen: set[int] = set()
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            count += 1
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        count += 1
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(value for _, value in node.value)
    return count


def too_large(limit: int, found: int) -> str:
    return (
        f"expected at most {limit:,} values, found {found:,}: the model is larger than the limit "
        f"(set {MAX_VALUES_ENV} to a larger number to load it)"
    )


def alias_budget(own: int) -> int:
    """How many values building a document of ``own`` values may produce, aliases expanded."""
    return own + max(MAX_ALIAS_VALUES, own)


def too_far(own: int, budget: int) -> str:
    return (
        f"aliases expand the document too far: its {own:,} values would become more than {budget:,} "
        "(an alias bomb?)"
    )
