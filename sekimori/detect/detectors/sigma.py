"""Sigma: the SigmaHQ corpus (bundled) or your rules, compiled to DuckDB SQL, one pass per log source.

Settings (``ctx.settings("sigma")``):

- ``rules``: a directory, zip or file of Sigma rules, or a list of them (default: the bundled SigmaHQ
  copy, ``sekimori/detect/sigma/sigmahq-rules.zip``);
- ``levels``: the minimum level to run (``informational`` … ``critical``; default all);
- ``status``: rule statuses to run (e.g. ``[stable, test]``; default all);
- ``placeholders``: values for ``|expand`` placeholders, e.g. ``{Admins_Workstations: [ws1, ws2]}``, on
  top of those the group model gives (``sigma/placeholders.py``: ``known_cdcs``, ``home_tenant_ids``…);
- ``cache``: reuse the compiled ruleset across runs (default true);
- ``batch_rows``: events a batch holds at most (default: what the run's memory limit allows, see
  ``sigma/batches.py``; the batches change how much memory a run takes, never its alerts);
- ``incremental``: judge only the segments the last run did not, keeping its matches (default true;
  the alerts are those of a full run, see ``sigma/incremental.py``); false: every segment, nothing kept.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from sekimori.detect.alerts import SIGMA
from sekimori.detect.base import DetectContext, Detector, DetectProgress, memory_bytes, register
from sekimori.detect.sigma.batches import Budget
from sekimori.detect.sigma.incremental import Matcher, run_incremental
from sekimori.detect.sigma.passes import SigmaBatch, SigmaPass
from sekimori.detect.sigma.placeholders import placeholders_for
from sekimori.detect.sigma.rules import load_ruleset
from sekimori.detect.sigma.run import select_rules


@register
class SigmaDetector(Detector):
    name: ClassVar[str] = "sigma"
    source: ClassVar[str] = SIGMA
    description: ClassVar[str] = "Sigma rules (SigmaHQ corpus by default) compiled to DuckDB SQL"

    def __init__(self, matcher: Matcher | None = None) -> None:
        """``matcher``: the rules matched over the new segments there (another engine, e.g. Spark)
        instead of DuckDB; the kept matches, the alerts and the correlations as for DuckDB."""
        self.matcher = matcher

    def run(self, ctx: DetectContext) -> pa.Table:
        settings = ctx.settings("sigma")
        rules = settings.get("rules")
        sources = [None] if rules is None else ([rules] if isinstance(rules, str) else list(rules))
        values = placeholders_for(ctx.model, settings.get("placeholders"))
        ruleset = load_ruleset(sources, values, bool(settings.get("cache", True)))
        status = settings.get("status")
        chosen = select_rules(
            ruleset, settings.get("levels"), [status] if isinstance(status, str) else status
        )

        def on_pass(p: SigmaPass) -> None:
            ctx.notify(DetectProgress(self.name, "pass", p.logsource, p.rules, p.events, p.seconds))

        def on_batch(b: SigmaBatch) -> None:
            ctx.notify(
                DetectProgress(self.name, "batch", b.logsource, events=b.events, done=b.done, total=b.total)
            )

        rows = settings.get("batch_rows")
        budget = Budget.of(memory_bytes(ctx.memory_limit), None if rows is None else int(rows))
        # Not incremental: every segment judged, nothing kept (the same passes and batches).
        incremental = settings.get("incremental", True) is not False
        run = run_incremental(
            ctx.con,
            ctx.store,
            ruleset,
            chosen,
            on_pass,
            full=ctx.full or not incremental,
            save=ctx.save and incremental,
            budget=budget,
            on_batch=on_batch,
            matcher=self.matcher,
        )
        return run.alerts
