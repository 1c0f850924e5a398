"""The compiled forms of Sigma rules, as plain data shared by compilation (``rules``), the engine and
correlations: rules, correlation rules, failures, the ruleset, ATT&CK ids from tags.

Kept apart from ``rules`` (which needs pySigma) so that the engine and correlations depend on these types
only, and compilation on nothing that runs rules: the modules import in one direction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("informational", "low", "medium", "high", "critical")
WINDOWS = "windows"

# A log source filter: sorted ((field, (values…)), …) from the pipelines' added conditions.
LogsourceFilter = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass
class CompiledRule:
    index: int  # position in the ruleset
    id: str
    title: str
    level: str
    status: str
    path: str  # file the rule came from
    product: str | None
    category: str | None
    service: str | None
    tags: list[str]
    attack: list[str]  # ATT&CK technique ids from the tags
    filter: LogsourceFilter
    sql: str  # the detection as a DuckDB boolean over the o:/l: field columns
    fields: set[str]
    regexes: list[str] = field(default_factory=list)
    name: str | None = None  # Sigma ``name`` (correlation rules may refer to it)
    # The same rule on other events of its log source (the built-in audit event of its category, see
    # ``logsources.py``): same index and id, their own filter, SQL and fields.
    variants: list[CompiledRule] = field(default_factory=list)
    # A rule of another product: ``<source>:<kind>`` of the source that reads its events (``source.py``).
    source: str | None = None

    @property
    def windows(self) -> bool:
        return self.product == WINDOWS

    def readings(self) -> list[CompiledRule]:
        """The rule and its variants that run on the store's events (a Windows reading or a source)."""
        return [v for v in (self, *self.variants) if (v.windows and v.source is None) or v.source]


@dataclass
class Correlation:
    """A Sigma v2 correlation rule, as plain data (see ``correlation.py``)."""

    id: str
    title: str
    level: str
    tags: list[str]
    path: str
    type: str  # event_count | value_count | temporal | temporal_ordered
    rules: list[str]  # referenced rule ids or names
    group_by: list[str]
    timespan: str
    condition: dict[str, Any]
    aliases: dict[str, Any] = field(default_factory=dict)
    name: str | None = None


@dataclass
class RuleFailure:
    path: str
    id: str | None
    title: str | None
    reason: str


@dataclass
class Ruleset:
    rules: list[CompiledRule] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)
    correlations: list[Correlation] = field(default_factory=list)
    files: int = 0
    # Rules that run, but not on every event of their log source (no audit reading), with the reason.
    variant_failures: list[RuleFailure] = field(default_factory=list)

    def by_id(self) -> dict[str, CompiledRule]:
        return {r.id: r for r in self.rules}


def attack_ids(tags: Iterable[str]) -> list[str]:
    """``attack.t1003.001`` → ``T1003.001``; other tags (tactics, groups, software) are left out."""
    out = []
    for tag in tags:
        m = re.fullmatch(r"attack\.(t\d{4}(?:\.\d{3})?)", tag.lower())
        if m and m.group(1).upper() not in out:
            out.append(m.group(1).upper())
    return out


def parse_correlation(doc: dict[str, Any], path: str) -> Correlation:
    body = doc.get("correlation") or {}
    rules = body.get("rules") or []
    return Correlation(
        id=str(doc.get("id") or doc.get("name") or path),
        title=str(doc.get("title") or ""),
        level=str(doc.get("level") or "medium").lower(),
        tags=[str(t) for t in doc.get("tags") or []],
        path=path,
        type=str(body.get("type") or ""),
        rules=[str(r) for r in ([rules] if isinstance(rules, str) else rules)],
        group_by=[str(g) for g in body.get("group-by") or []],
        timespan=str(body.get("timespan") or "0s"),
        condition=dict(body.get("condition") or {}),
        aliases=dict(body.get("aliases") or {}),
        name=doc.get("name"),
    )
