"""Which Sigma rules can run on what sekimori reads: per log source, the rules of the corpus, how many
compiled, how many run on the store's events, and how many fired on the current store. A rule that
cannot run is listed with the reason, never dropped silently.

A rule runs when a pipeline maps its log source to the store's events: today the Windows log sources
(Sysmon and the Windows channels, with the built-in audit events of ``logsources.py``). Rules of other
products compile but have no mapping yet; those whose product a reader produces are said to be waiting
for a pipeline, the others to have no reader.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from sekimori.detect.sigma.ruleset import WINDOWS, CompiledRule, Ruleset

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
    readers = READ_PRODUCTS.get(rule.product or "")
    if readers:
        return f"no pipeline maps {logsource_of(rule)} to the store's events yet (read by: {readers})"
    return f"no reader produces {rule.product or 'rules without a product'} logs"


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
