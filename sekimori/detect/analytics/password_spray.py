"""Password spraying: one source fails to authenticate as many accounts, few times each, in a window
(T1110.003); higher when a sprayed account then succeeds from that source."""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.behaviour.analytic import register_analytic
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.failures import FailureAnalytic, FailureWindow


@register_analytic
class PasswordSpray(FailureAnalytic):
    name: ClassVar[str] = "password_spray"
    title: ClassVar[str] = "Password spraying: one source fails as many accounts"
    finds: ClassVar[str] = "sources that fail to authenticate as many accounts, few times each"
    attack: ClassVar[tuple[str, ...]] = ("T1110.003",)

    def window(self, cfg: BehaviourConfig) -> FailureWindow:
        least = cfg.spray_min_accounts
        return FailureWindow(
            window_minutes=cfg.spray_window_minutes,
            key="src",
            other="acct",
            fires=(
                f"count(DISTINCT acct) >= {least} AND "
                f"sum(n) <= {cfg.spray_max_failures_per_account} * count(DISTINCT acct)"
            ),
            base_score=f"0.65 + 0.15 * least(1.0, (count(DISTINCT f.acct) - {least}) / (3.0 * {least}))",
            success_join="s.acct = f.acct AND s.src = f.src",
            account="NULL",  # many accounts: the source is what the alert is about
            src_host="f.src",
        )
