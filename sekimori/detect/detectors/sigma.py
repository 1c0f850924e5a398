"""Sigma: the SigmaHQ corpus (bundled) or your rules, compiled to DuckDB SQL, one pass per log source.

Settings (``ctx.settings("sigma")``):

- ``rules``: a directory, zip or file of Sigma rules, or a list of them (default: the bundled SigmaHQ
  copy, ``sekimori/detect/sigma/sigmahq-rules.zip``);
- ``levels``: the minimum level to run (``informational`` … ``critical``; default all);
- ``status``: rule statuses to run (e.g. ``[stable, test]``; default all);
- ``placeholders``: values for ``|expand`` placeholders, e.g. ``{Admins_Workstations: [ws1, ws2]}``;
- ``cache``: reuse the compiled ruleset across runs (default true).
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from sekimori.detect.alerts import SIGMA
from sekimori.detect.base import DetectContext, Detector, register
from sekimori.detect.sigma.rules import load_ruleset
from sekimori.detect.sigma.run import run_sigma, select_rules


@register
class SigmaDetector(Detector):
    name: ClassVar[str] = "sigma"
    source: ClassVar[str] = SIGMA
    description: ClassVar[str] = "Sigma rules (SigmaHQ corpus by default) compiled to DuckDB SQL"

    def run(self, ctx: DetectContext) -> pa.Table:
        settings = ctx.settings("sigma")
        rules = settings.get("rules")
        sources = [None] if rules is None else ([rules] if isinstance(rules, str) else list(rules))
        ruleset = load_ruleset(sources, settings.get("placeholders"), bool(settings.get("cache", True)))
        status = settings.get("status")
        chosen = select_rules(
            ruleset, settings.get("levels"), [status] if isinstance(status, str) else status
        )
        return run_sigma(ctx.con, ruleset, chosen).alerts
