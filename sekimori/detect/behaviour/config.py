"""The settings of the behaviour analytics: thresholds, the baseline and how identities are read."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sekimori.detect.behaviour.analytic import ANALYTICS


def _all_analytics() -> list[str]:
    return list(ANALYTICS.all())


class BehaviourConfig(BaseModel):
    """Thresholds and identity choices; ``ctx.settings("behaviour")`` overrides any of them."""

    model_config = ConfigDict(extra="forbid")

    # The analytics to run, by name (``fan_out``…); every registered one by default.
    rules: list[str] = Field(default_factory=_all_analytics)

    # -- baseline ---------------------------------------------------------------------------------
    baseline_days: float | None = Field(None, gt=0, description="baseline = first N days; else fraction")
    baseline_fraction: float = Field(0.25, ge=0, le=1, description="baseline = this part of the span")
    baseline_scope: Literal["global", "source_file"] = "global"  # source_file: each file its own span

    # -- identities -------------------------------------------------------------------------------
    account_key: Literal["user", "user@domain"] = "user"  # domain names vary (NetBIOS vs DNS) in logs
    strip_host_domain: bool = True  # PC01.example.corp -> pc01 (names are lower-cased always)
    learn_ip_names: bool = True  # an IP seen with exactly one host name stands for that host
    skip_machine_accounts: bool = True  # accounts ending in '$'
    skip_accounts: list[str] = Field(
        default_factory=lambda: [
            "ANONYMOUS LOGON",
            "SYSTEM",
            "LOCAL SERVICE",
            "NETWORK SERVICE",
            "DWM-1",
            "DWM-2",
            "DWM-3",
            "UMFD-0",
            "UMFD-1",
            "UMFD-2",
            "UMFD-3",
        ]
    )
    skip_domains: list[str] = Field(
        default_factory=lambda: ["NT AUTHORITY", "WINDOW MANAGER", "FONT DRIVER HOST"]
    )
    loopback_sources: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1", "localhost", "0.0.0.0", "-", "null"]
    )
    # Logon types that count as remote (null = unknown also counts when source != destination).
    remote_logon_types: list[int] = Field(default_factory=lambda: [3, 8, 10, 12])
    failure_activities: list[str] = Field(
        default_factory=lambda: ["logon", "preauth", "ticket_request", "credential_validation"]
    )

    # -- first seen / new source ------------------------------------------------------------------
    min_account_history: int = Field(1, ge=0, description="baseline logons an account needs")

    # -- rare logon type --------------------------------------------------------------------------
    rare_type_max_fraction: float = Field(0.01, ge=0, le=1)
    rare_type_min_history: int = Field(20, ge=1)

    # -- fan-out ----------------------------------------------------------------------------------
    fan_out_window_minutes: float = Field(30, gt=0)
    fan_out_min_hosts: int = Field(10, ge=2)
    fan_out_hosts: Literal["new", "all"] = "new"

    # -- spraying / brute force -------------------------------------------------------------------
    spray_window_minutes: float = Field(60, gt=0)
    spray_min_accounts: int = Field(5, ge=2)
    spray_max_failures_per_account: float = Field(3, gt=0)
    brute_window_minutes: float = Field(60, gt=0)
    brute_min_failures: int = Field(10, ge=2)
    success_within_minutes: float = Field(60, ge=0, description="a success this soon after counts")

    evidence_cap: int = Field(100, ge=1)

    @field_validator("rules")
    @classmethod
    def _known_analytics(cls, rules: list[str]) -> list[str]:
        known = ANALYTICS.all()
        unknown = [rule for rule in rules if rule not in known]
        if unknown:
            raise ValueError(f"unknown analytics {unknown}; known: {', '.join(known)}")
        return rules

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> BehaviourConfig:
        return cls.model_validate(settings or {})
