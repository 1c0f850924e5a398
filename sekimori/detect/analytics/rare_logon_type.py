"""Rare logon type: a logon type that the account, or the destination, (almost) never used in the
baseline (T1078; T1021.001 for RDP, T1550.002 for NewCredentials)."""

from __future__ import annotations

from typing import Any, ClassVar

from sekimori.detect.behaviour.analytic import NTLM_TECHNIQUE, Analytic, register_analytic
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.sql import evidence_list

RDP_LOGON_TYPE = 10
NEW_CREDENTIALS_LOGON_TYPE = 9  # runas /netonly, and Pass the Hash tools


@register_analytic
class RareLogonType(Analytic):
    name: ClassVar[str] = "rare_logon_type"
    title: ClassVar[str] = "Logon type rare for the account or the destination"
    finds: ClassVar[str] = (
        "logons of a type the account or the destination (almost) never used in the baseline"
    )
    attack: ClassVar[tuple[str, ...]] = ("T1078",)

    def techniques(self, info: dict[str, Any], ntlm: bool) -> list[str]:
        found = super().techniques(info, ntlm)
        if info.get("logon_type") == RDP_LOGON_TYPE:
            found.append("T1021.001")
        if info.get("logon_type") == NEW_CREDENTIALS_LOGON_TYPE:
            found.append(NTLM_TECHNIQUE)
        return found

    def sql(self, cfg: BehaviourConfig, running: frozenset[str]) -> str:
        cap, frac, hist = cfg.evidence_cap, cfg.rare_type_max_fraction, cfg.rare_type_min_history
        return f"""
WITH a_t AS (SELECT scope, acct, logon_type, sum(n_base) AS b FROM _bh_l GROUP BY ALL),
d_t AS (SELECT scope, dst, logon_type, sum(n_base) AS b FROM _bh_l GROUP BY ALL),
c AS (
  SELECT l.*, a_t.b AS acct_type_base, h.base_logons AS acct_base, d_t.b AS dst_type_base,
    d.base_logons AS dst_base,
    (h.base_logons >= {hist} AND a_t.b <= {frac} * h.base_logons) AS rare_acct,
    (coalesce(d.base_logons, 0) >= {hist} AND d_t.b <= {frac} * d.base_logons) AS rare_dst
  FROM _bh_l l
  JOIN _bh_acct_hist h USING (scope, acct)
  JOIN a_t USING (scope, acct, logon_type)
  LEFT JOIN d_t USING (scope, dst, logon_type)
  LEFT JOIN _bh_dst_env d USING (scope, dst)
  WHERE l.logon_type IS NOT NULL AND l.t0 IS NOT NULL
)
SELECT '{self.rule_id()}' AS rule_id, min(t0) AS time, max(t1) AS last_time, acct AS account,
  _bh_mode(domain) AS domain, CASE WHEN count(DISTINCT src) = 1 THEN any_value(src) END AS src_host,
  CASE WHEN count(DISTINCT src_ip) = 1 THEN any_value(src_ip) END AS src_ip,
  CASE WHEN count(DISTINCT dst) = 1 THEN any_value(dst) END AS target_host,
  least(1.0, 0.3 + 0.2 * (bool_or(rare_acct) AND bool_or(rare_dst))::INT
    + 0.15 * (any_value(acct_type_base) = 0)::INT
    + 0.25 * (logon_type IN (8, 9, 10))::INT + 0.1 * bool_or(ntlm_net AND remote)::INT) AS score,
  bool_or(ntlm_net AND remote) AS ntlm, {evidence_list(cap)} AS evidence, sum(n - n_base) AS events,
  {{'logon_type': logon_type, 'rare_for_account': bool_or(rare_acct),
    'account_type_baseline': any_value(acct_type_base), 'account_baseline_logons': any_value(acct_base),
    'rare_for_destinations': list(DISTINCT dst ORDER BY dst) FILTER (rare_dst),
    'max_fraction': {frac}, 'min_history': {hist}}} AS info
FROM c WHERE rare_acct OR rare_dst
GROUP BY scope, acct, logon_type"""
