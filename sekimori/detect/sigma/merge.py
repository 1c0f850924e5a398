"""Passes that differ only in field names, run as one.

pySigma's Windows pipelines give a process-creation rule one reading on Sysmon's event 1 and one on the
Security log's event 4688: the same SQL but for the names of three fields (``Image`` is
``NewProcessName`` there, ``ParentImage`` ``ParentProcessName``, ``LogonId`` ``SubjectLogonId``). As two
groups, ~1,400 rules were parsed, planned and evaluated twice. Here such a pair becomes one pass: each
group's events extract their own fields, the second's named as the first's, the two are unioned, and
the first group's rules are evaluated once over the union. A pair is merged only when every rule of the
second group is a rule of the first (same index) whose SQL is the first's with field names swapped by
one renaming consistent over all the rules, checked on the SQL text token by token: each event then
meets exactly the SQL it met before, under other column names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sekimori.detect.sigma.engine import Group
from sekimori.detect.sigma.ruleset import CompiledRule

__all__ = ["MergedGroup", "merge_renamed", "renaming"]

# A field column in a rule's SQL: "o:Name" or "l:Name" (a quote inside a name is doubled).
_COLUMN = re.compile(r'"([ol]):((?:[^"]|"")*)"')


def renaming(first: Group, second: Group) -> dict[str, str] | None:
    """The field renaming (second's name → first's) that makes every rule of ``second`` the same SQL as
    the same rule in ``first``; None when there is none (or the groups are not both Windows groups)."""
    if first.source is not None or second.source is not None or first.filter == second.filter:
        return None
    by_index = {r.index: r.sql for r in first.rules}
    names: dict[str, str] = {}
    for rule in second.rules:
        theirs = by_index.get(rule.index)
        if theirs is None:
            return None
        mine, other = _COLUMN.split(rule.sql), _COLUMN.split(theirs)
        if len(mine) != len(other):
            return None
        # split gives text, prefix, name, text, prefix, name, …: text and prefixes must be equal
        for i, (a, b) in enumerate(zip(mine, other, strict=True)):
            if i % 3 != 2:
                if a != b:
                    return None
            elif names.setdefault(a, b) != b:
                return None
    if len(set(names.values())) != len(names):  # two names of one group onto one of the other
        return None
    return {k.replace('""', '"'): v.replace('""', '"') for k, v in names.items() if k != v}


@dataclass
class MergedGroup:
    """Two groups' events in one pass, the second's fields renamed to the first's names."""

    first: Group
    second: Group
    names: dict[str, str]

    @property
    def rules(self) -> list[CompiledRule]:
        return self.first.rules

    @property
    def label(self) -> str:
        return f"{self.first.label} + {self.second.label}"

    def part(self, rules: list[CompiledRule]) -> Group:
        # Evaluation reads the fields table only: the first group's rules over it.
        return self.first.part(rules)

    def fields_sql(self, table: str = "events") -> str:
        first = self.first.fields_sql(table)
        second = self.second.fields_sql(table, rename=self.names)
        return f"SELECT * FROM ({first}) UNION ALL BY NAME SELECT * FROM ({second})"


def merge_renamed(found: Sequence[Group]) -> list[Group | MergedGroup]:
    """``found`` with each pair of groups that differ only in field names (``renaming``) made one pass;
    the larger (or first) group of a pair gives its rules and names."""
    out: list[Group | MergedGroup] = []
    taken: set[int] = set()
    for i, first in enumerate(found):
        if i in taken:
            continue
        for j in range(i + 1, len(found)):
            if j in taken or len(found[j].rules) != len(first.rules):
                continue
            names = renaming(first, found[j])
            if names is not None and _same_columns(first, found[j], names):
                out.append(MergedGroup(first, found[j], names))
                taken.add(j)
                break
        else:
            out.append(first)
    return out


def _same_columns(first: Group, second: Group, names: dict[str, str]) -> bool:
    """The second group's fields, renamed, are exactly the first's: the union has the same columns on
    both sides and no renamed field lands on another of the second group's own."""
    theirs = {f for r in second.rules for f in r.fields}
    renamed = [names.get(f, f) for f in theirs]
    return len(set(renamed)) == len(renamed) and set(renamed) == {f for r in first.rules for f in r.fields}
