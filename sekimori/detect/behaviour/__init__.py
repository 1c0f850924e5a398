"""Behavioural lateral-movement and credential-access analytics, in DuckDB SQL over the ``events`` view.

Each analytic is a plugin (``sekimori/detect/analytics/``, one module each; rule id
``behaviour.<name>``): ``new_source``, ``first_seen_logon``, ``rare_logon_type``, ``fan_out``,
``password_spray``, ``brute_force``. What they share lives here:

- ``config``: ``BehaviourConfig``, the settings (``ctx.settings("behaviour")``);
- ``analytic``: the ``Analytic`` interface and the ``ANALYTICS`` registry;
- ``staging``: one pass over ``events`` to aggregated, normalised logons and failures, and the baseline
  history every analytic joins; ``sql``: small SQL builders;
- ``failures``: the failure windows and the successes that follow them (spraying, brute force);
- ``run``: ``run_behaviour`` (staging, analytics, findings → alerts) and ``rank``.

NTLM network logons in an alert's events add T1550.002 (Pass the Hash). Scores are in [0, 1] and their
inputs are in ``details``.
"""

from sekimori.detect.behaviour.analytic import ANALYTICS, Analytic, register_analytic
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.run import rank, run_behaviour

__all__ = ["ANALYTICS", "Analytic", "BehaviourConfig", "rank", "register_analytic", "run_behaviour"]
