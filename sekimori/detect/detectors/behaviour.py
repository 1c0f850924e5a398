"""The ``behaviour`` detector: lateral-movement and credential-access analytics (``detect/behaviour/``,
one plugin each in ``detect/analytics/``).

Settings (``ctx.settings("behaviour")``) override ``BehaviourConfig`` fields, e.g.
``{"baseline_days": 7, "fan_out_min_hosts": 15, "rules": ["fan_out", "password_spray"]}``.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from sekimori.detect.alerts import BEHAVIOUR
from sekimori.detect.base import DetectContext, Detector, register
from sekimori.detect.behaviour import BehaviourConfig, run_behaviour
from sekimori.detect.segment_tables import SegmentRows


@register
class BehaviourDetector(Detector):
    name: ClassVar[str] = "behaviour"
    source: ClassVar[str] = BEHAVIOUR
    description: ClassVar[str] = (
        "first-seen logons, new sources, rare logon types, fan-out, password spraying, brute force"
    )

    def __init__(self, aggregate: SegmentRows | None = None) -> None:
        """``aggregate``: the new segments' logon rows computed there (another engine, e.g. Spark)
        instead of DuckDB; the analytics stay here."""
        self.aggregate = aggregate

    def run(self, ctx: DetectContext) -> pa.Table:
        cfg = BehaviourConfig.from_settings(ctx.settings("behaviour"))
        return run_behaviour(ctx.con, cfg, ctx, self.aggregate)
