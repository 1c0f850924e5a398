"""Which Sigma rules can run on what sekimori reads: per log source, the rules of the corpus, how many
compiled, how many run on the store's events, and how many fired on the current store. A rule that
cannot run is listed with the reason, never dropped silently.

A rule runs when its log source is mapped to the store's events: the Windows log sources (Sysmon and
the Windows channels, with the built-in audit events of ``logsources.py``), and the sources of
``source.py`` (cloud and identity logs, Linux audit and syslog, Zeek). A rule of a product a reader
produces whose log source no source maps is said so; the others have no reader. A rule that runs but
uses fields its source has no value for is runnable, with those fields named (``partial``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from sekimori.detect.sigma.ruleset import WINDOWS, CompiledRule, Ruleset
from sekimori.detect.sigma.source import unreadable

if TYPE_CHECKING:
    from sekimori.store import Store

# Sigma products (and Windows/other services) whose logs a reader of sekimori produces.
READ_PRODUCTS: dict[str, str] = {
    "windows": "evtx, windows_json",
    "linux": "auditd, syslog",
    "zeek": "zeek",
    "azure": "entra",
    "okta": "okta",
    "aws": "cloudtrail",
    "m365": "m365",
    "gcp": "google_workspace (Workspace services only)",
}


@dataclass
class UnrunnableRule:
    id: str | None
    title: str | None
    path: str
    reason: str


@dataclass
class LogsourceCoverage:
    logsource: str  # product/category or product/service
    rules: int = 0
    compiled: int = 0
    runnable: int = 0
    fired: int = 0
    not_runnable: list[UnrunnableRule] = field(default_factory=list)
    # Runnable rules using fields the source has no value for (they cannot match on those).
    partial: list[UnrunnableRule] = field(default_factory=list)


@dataclass
class SigmaCoverage:
    rows: list[LogsourceCoverage]
    files: int
    correlations: int

    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(r, k) for r in self.rows) for k in ("rules", "compiled", "runnable", "fired")}

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "correlations": self.correlations,
            "totals": self.totals(),
            "rows": [asdict(r) for r in self.rows],
        }


def logsource_of(rule: CompiledRule) -> str:
    kind = rule.category or rule.service or "any"
    return f"{rule.product or 'any'}/{kind}"


def _logsource_of_path(path: str) -> str:
    """A rule that did not compile, by where SigmaHQ files it (rules/<product>/<category>/…)."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if "rules" in parts:
        rest = parts[parts.index("rules") + 1 : -1]
        if rest:
            return "/".join(rest[:2])
    return "unknown"


def _why_not(rule: CompiledRule) -> str | None:
    if rule.product == WINDOWS and rule.filter:
        return None
    if rule.product == WINDOWS:
        return "a Windows rule of no log source the Windows pipelines map (no channel to run it on)"
    if any(v.source for v in rule.readings()):
        return None
    readers = READ_PRODUCTS.get(rule.product or "")
    if readers:
        return f"no source maps {logsource_of(rule)} to the events of its readers ({readers})"
    return f"no reader produces {logsource_of(rule)} logs"


def _missing_fields(rule: CompiledRule) -> str | None:
    missing = sorted({f for v in rule.readings() if v.source for f in unreadable(v.source, v.fields)})
    if not missing:
        return None
    return f"runs, but its source has no value for {', '.join(missing)}"


def coverage_of(ruleset: Ruleset, fired_rule_ids: set[str] | None = None) -> SigmaCoverage:
    """The coverage of ``ruleset``; ``fired_rule_ids``: the rules with alerts in a store (None: none)."""
    rows: dict[str, LogsourceCoverage] = defaultdict(lambda: LogsourceCoverage(""))
    fired = fired_rule_ids or set()
    for rule in ruleset.rules:
        row = rows[logsource_of(rule)]
        row.rules += 1
        row.compiled += 1
        reason = _why_not(rule)
        if reason is None:
            row.runnable += 1
            row.fired += rule.id in fired
            note = _missing_fields(rule)
            if note:
                row.partial.append(UnrunnableRule(rule.id, rule.title, rule.path, note))
        else:
            row.not_runnable.append(UnrunnableRule(rule.id, rule.title, rule.path, reason))
    for failure in ruleset.failures:
        row = rows[_logsource_of_path(failure.path)]
        row.rules += 1
        row.not_runnable.append(
            UnrunnableRule(failure.id, failure.title, failure.path, f"did not compile: {failure.reason}")
        )
    for name, row in rows.items():
        row.logsource = name
    ordered = sorted(rows.values(), key=lambda r: (-r.runnable, -r.rules, r.logsource))
    return SigmaCoverage(ordered, ruleset.files, len(ruleset.correlations))


def sigma_coverage(store: Store | None = None, rules: str | None = None) -> SigmaCoverage:
    """The coverage of the bundled SigmaHQ rules (or ``rules``: a directory, zip or file), with the rules
    that fired on ``store`` if one is given."""
    from sekimori.detect.sigma.rules import load_ruleset

    ruleset = load_ruleset([rules])
    fired: set[str] = set()
    if store is not None and "alerts" in store.tables():
        table = store.sql("SELECT DISTINCT rule_id FROM alerts WHERE source = 'sigma'")
        fired = {str(v) for v in table.column("rule_id").to_pylist()}
    return coverage_of(ruleset, fired)
