"""Brute force: many failures for one account in a window (T1110.001); ``high`` when a success for the
account follows (then also T1078, a valid account in use)."""

from __future__ import annotations

from typing import Any, ClassVar

from sekimori.detect.behaviour.analytic import register_analytic
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.failures import FailureAnalytic, FailureWindow


@register_analytic
class BruteForce(FailureAnalytic):
    name: ClassVar[str] = "brute_force"
    title: ClassVar[str] = "Brute force: many failed logons for one account"
    finds: ClassVar[str] = "accounts with many failed logons in a short window"
    attack: ClassVar[tuple[str, ...]] = ("T1110.001",)

    def window(self, cfg: BehaviourConfig) -> FailureWindow:
        least = cfg.brute_min_failures
        return FailureWindow(
            window_minutes=cfg.brute_window_minutes,
            key="acct",
            other="src",
            fires=f"sum(n) >= {least}",
            base_score=f"0.5 + 0.1 * least(1.0, (sum(f.n) - {least}) / (2.0 * {least}))",
            success_join="s.acct = f.acct",
            account="f.acct",
            src_host="CASE WHEN count(DISTINCT f.src) = 1 THEN any_value(f.src) END",
        )

    def techniques(self, info: dict[str, Any], ntlm: bool) -> list[str]:
        found = super().techniques(info, ntlm)
        return [*found, "T1078"] if info.get("followed_by_success") else found
