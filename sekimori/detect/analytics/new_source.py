"""New source: after the baseline, an account logs on remotely from a source host it never logged on
from in the baseline (T1078, T1021). Higher when the source is new to the whole environment, for NTLM
network logons, RDP, and several destinations."""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.behaviour.analytic import Analytic, register_analytic
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.sql import evidence_list


@register_analytic
class NewSource(Analytic):
    name: ClassVar[str] = "new_source"
    title: ClassVar[str] = "Account logs on from a source host it never used"
    finds: ClassVar[str] = "remote logons of an account from a source host it never used in the baseline"
    attack: ClassVar[tuple[str, ...]] = ("T1078", "T1021")

    def sql(self, cfg: BehaviourConfig, running: frozenset[str]) -> str:
        cap = cfg.evidence_cap
        return f"""
SELECT '{self.rule_id()}' AS rule_id, min(l.t0) AS time, max(l.t1) AS last_time, l.acct AS account,
  _bh_mode(l.domain) AS domain, l.src AS src_host, min(l.src_ip) AS src_ip,
  CASE WHEN count(DISTINCT l.dst) = 1 THEN any_value(l.dst) END AS target_host,
  least(1.0, 0.4 + 0.2 * (coalesce(any_value(e.base_logons), 0) = 0)::INT + 0.15 * bool_or(l.ntlm_net)::INT
    + 0.15 * least(1.0, (count(DISTINCT l.dst) - 1) / 4.0) + 0.1 * bool_or(l.logon_type = 10)::INT) AS score,
  bool_or(l.ntlm_net) AS ntlm, {evidence_list(cap)} AS evidence, sum(l.n - l.n_base) AS events,
  {{'account_baseline_logons': any_value(h.base_logons),
    'source_new_to_environment': coalesce(any_value(e.base_logons), 0) = 0,
    'destinations': list(DISTINCT l.dst ORDER BY l.dst)[1:20], 'destinations_count': count(DISTINCT l.dst),
    'logon_types': list(DISTINCT l.logon_type ORDER BY l.logon_type),
    'ntlm_network_logon': bool_or(l.ntlm_net),
    'rdp': bool_or(l.logon_type = 10)}} AS info
FROM _bh_l l
JOIN _bh_acct_hist h USING (scope, acct)
JOIN _bh_acct_src s USING (scope, acct, src)
LEFT JOIN _bh_src_env e USING (scope, src)
WHERE l.remote AND l.t0 IS NOT NULL AND s.base_logons = 0 AND h.base_logons >= {cfg.min_account_history}
GROUP BY l.scope, l.acct, l.src"""
