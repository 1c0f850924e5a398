"""What-if: the blast radius of an entry before and after changes to the group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sekimori.graph.blast import BlastRadius, blast_radius
from sekimori.graph.changes import Change
from sekimori.graph.entry import Entry
from sekimori.graph.group_graph import GroupGraph


@dataclass
class WhatIf:
    before: BlastRadius
    after: BlastRadius
    changes: list[str]

    @property
    def people_protected(self) -> int:
        return self.before.exposure.total - self.after.exposure.total

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": self.changes,
            "people_protected": self.people_protected,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


def what_if(graph: GroupGraph, entry: str | Entry, changes: Sequence[str | Change]) -> WhatIf:
    """The blast radius of ``entry`` before and after ``changes``."""
    before = blast_radius(graph, entry)
    after = blast_radius(graph, entry, changes)
    return WhatIf(before=before, after=after, changes=after.changes)
