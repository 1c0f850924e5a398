"""Behaviour analytic plugins: the interface every analytic implements, and their registry.

An analytic is one module in ``sekimori/detect/analytics/`` defining an ``Analytic`` subclass decorated
with ``@register_analytic``; modules there are imported automatically (and other distributions can add
analytics through the ``sekimori.analytics`` entry-point group). An analytic works in SQL on the tables
the shared staging made (``staging.py``): it may stage tables of its own in ``prepare``, then gives one
query whose rows become its alerts (``run.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb

from sekimori.plugins import Registry

if TYPE_CHECKING:
    from sekimori.detect.behaviour.config import BehaviourConfig

# A staging step several analytics share, run once after all of them prepared, with their names.
JointStage = Callable[[duckdb.DuckDBPyConnection, "BehaviourConfig", Sequence[str]], None]

NTLM_TECHNIQUE = "T1550.002"  # Pass the Hash: NTLM network logons among an alert's events
LOGON_GROUP_EVIDENCE = "first event after the baseline of each (account, source, destination, logon type)"


class Analytic(ABC):
    """One behavioural analytic; its alerts carry ``rule_id`` ``behaviour.<name>``.

    ``sql`` returns one query over the staged tables with the columns rule_id, time, last_time, account,
    domain, src_host, src_ip, target_host, score (in [0, 1]), ntlm (bool), evidence (list of
    {path, record_id, uid}), events (int) and info (a struct: the score's inputs, shown as details).
    """

    name: ClassVar[str]  # the name in settings (``rules``) and in the rule id
    title: ClassVar[str]  # the alert title
    finds: ClassVar[str]  # what it finds, in a sentence
    attack: ClassVar[tuple[str, ...]]  # ATT&CK techniques every alert of it stands for
    evidence_kind: ClassVar[str] = LOGON_GROUP_EVIDENCE  # what one evidence entry is

    @classmethod
    def rule_id(cls) -> str:
        return f"behaviour.{cls.name}"

    def applies(self, cfg: BehaviourConfig) -> bool:
        """Whether the analytic can run with these settings (all the staged data it needs is there)."""
        return True

    def prepare(self, con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig, running: frozenset[str]) -> bool:
        """Stage the analytic's own tables; False when nothing can be found (its query is skipped).
        ``running``: the names of every analytic of this run (all prepare before any query runs)."""
        return True

    def joint_stage(self) -> JointStage | None:
        """A staging step this analytic shares with others of its family: run once, after every analytic
        prepared, with the names of those that found candidates (and before any query)."""
        return None

    @abstractmethod
    def sql(self, cfg: BehaviourConfig, running: frozenset[str]) -> str: ...

    def techniques(self, info: dict[str, Any], ntlm: bool) -> list[str]:
        """The ATT&CK techniques of one alert, from its details and whether NTLM network logons are in it."""
        return [*self.attack, NTLM_TECHNIQUE] if ntlm else list(self.attack)

    def evidence_truncated(self, info: dict[str, Any], listed: int, cap: int) -> bool:
        return listed >= cap


ANALYTICS: Registry[type[Analytic]] = Registry("analytic", "sekimori.detect.analytics", "sekimori.analytics")
register_analytic = ANALYTICS.register  # the decorator analytic modules use
