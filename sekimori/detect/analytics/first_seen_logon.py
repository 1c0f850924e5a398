"""First-seen logon: a remote logon (account, source, destination) never seen in the baseline, from a
source the account did use (new sources are ``new_source``) (T1078, T1021). Higher when the destination
is new to the account, had at most one account in the baseline, for NTLM network logons and RDP.

When ``fan_out`` runs too, the contacts a fan-out alert reports are left out (reported once)."""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.analytics.fan_out import FanOut
from sekimori.detect.behaviour.analytic import Analytic, register_analytic
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.sql import evidence_list


@register_analytic
class FirstSeenLogon(Analytic):
    name: ClassVar[str] = "first_seen_logon"
    title: ClassVar[str] = "First-seen logon: account, source and destination never seen together"
    finds: ClassVar[str] = (
        "remote logons of an account from a known source to a destination never seen together"
    )
    attack: ClassVar[tuple[str, ...]] = ("T1078", "T1021")

    def sql(self, cfg: BehaviourConfig, running: frozenset[str]) -> str:
        cap = cfg.evidence_cap
        fan_out = FanOut.name in running  # its contacts table, ``_bh_fan_cw``, is staged by then
        covered = (
            "AND NOT EXISTS (SELECT 1 FROM _bh_fan_cw c WHERE c.scope = l.scope AND c.acct = l.acct "
            "AND c.dst = l.dst)"
            if fan_out
            else ""
        )
        # The groups never seen in the baseline are found first: the costly aggregates (mode, evidence)
        # run for those few groups, not for every remote logon's.
        return f"""
WITH cand AS (
  SELECT l.*, h.base_logons AS h_base, p.base_logons AS p_base, d.base_accounts AS d_accounts
  FROM _bh_l l
  JOIN _bh_acct_hist h USING (scope, acct)
  JOIN _bh_acct_src s USING (scope, acct, src)
  JOIN _bh_pair p USING (scope, acct, dst)
  LEFT JOIN _bh_dst_env d USING (scope, dst)
  WHERE l.remote AND l.t0 IS NOT NULL AND s.base_logons > 0 AND h.base_logons >= {cfg.min_account_history}
    {covered}
)
SELECT '{self.rule_id()}' AS rule_id, min(l.t0) AS time, max(l.t1) AS last_time, l.acct AS account,
  _bh_mode(l.domain) AS domain, l.src AS src_host, min(l.src_ip) AS src_ip, l.dst AS target_host,
  least(1.0, 0.25 + 0.25 * (any_value(l.p_base) = 0)::INT
    + 0.15 * (coalesce(any_value(l.d_accounts), 0) <= 1)::INT
    + 0.15 * bool_or(l.ntlm_net)::INT + 0.1 * bool_or(l.logon_type = 10)::INT) AS score,
  bool_or(l.ntlm_net) AS ntlm, {evidence_list(cap)} AS evidence, sum(l.n - l.n_base) AS events,
  {{'account_baseline_logons': any_value(l.h_base),
    'destination_new_to_account': any_value(l.p_base) = 0,
    'destination_baseline_accounts': coalesce(any_value(l.d_accounts), 0),
    'logon_types': list(DISTINCT l.logon_type ORDER BY l.logon_type),
    'ntlm_network_logon': bool_or(l.ntlm_net),
    'rdp': bool_or(l.logon_type = 10)}} AS info
FROM cand l SEMI JOIN (
  SELECT scope, acct, src, dst FROM cand GROUP BY ALL HAVING sum(n_base) = 0) g USING (scope, acct, src, dst)
GROUP BY l.scope, l.acct, l.src, l.dst"""
