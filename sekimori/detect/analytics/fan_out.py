"""Fan-out: one account logs on to many distinct hosts within a short time (T1021, T1078).

Hopping windows of ``fan_out_window_minutes`` (hop: half of it); ``fan_out_hosts="new"`` (default) counts
the hosts the account had not logged on to in the baseline, ``"all"`` every host (one more pass over
``events``). The contacts inside firing windows (``_bh_fan_cw``) are left out of ``first_seen_logon``.
"""

from __future__ import annotations

from typing import ClassVar

import duckdb

from sekimori.detect.behaviour.analytic import Analytic, register_analytic
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.sql import LOGON_KEY, int_list, machine_filter, mixed_key, scope_sql, windows


@register_analytic
class FanOut(Analytic):
    name: ClassVar[str] = "fan_out"
    title: ClassVar[str] = "Account logs on to many hosts in a short time"
    finds: ClassVar[str] = "accounts that log on to many (new) hosts within a short window"
    attack: ClassVar[tuple[str, ...]] = ("T1021", "T1078")

    def prepare(self, con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig, running: frozenset[str]) -> bool:
        if cfg.fan_out_hosts == "all":
            _stage_all_contacts(con, cfg)
        _stage_window_contacts(con, cfg)
        return True

    def sql(self, cfg: BehaviourConfig, running: frozenset[str]) -> str:
        return _alerts_sql(cfg)


def _contacts_sql(cfg: BehaviourConfig) -> str:
    """Rows (scope, acct, dst, t, src, ntlm, ev, domain) of the contacts counted by the fan-out. A contact's
    first logon is the first by (time, uid): of logons at one time, the same one every run (its uid is in
    the alert's evidence and id), and its source with it."""
    if cfg.fan_out_hosts == "new":
        return """
SELECT l.scope, l.acct, l.dst, min(l.t0) AS t, arg_min(l.src, {'t': l.t0, 'u': l.ev.uid}) AS src,
  bool_or(l.ntlm_net) AS ntlm, arg_min(l.ev, {'t': l.t0, 'u': l.ev.uid}) AS ev, _bh_mode(l.domain) AS domain,
  max(l.t1) AS t1
FROM _bh_l l JOIN _bh_pair p USING (scope, acct, dst)
WHERE l.remote AND l.t0 IS NOT NULL AND p.base_logons = 0
GROUP BY ALL"""
    return "SELECT scope, acct, dst, t, src, ntlm, ev, domain, t AS t1 FROM _bh_fan_all"


def _stage_all_contacts(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> None:
    """``fan_out_hosts="all"``: every remote logon per account, destination and hop (one more pass)."""
    hop, _ = windows(cfg.fan_out_window_minutes)
    scope = scope_sql(cfg)
    machine = machine_filter(cfg)
    raw = [
        *LOGON_KEY,
        f"epoch_us(time) // {hop}",
    ]
    if cfg.baseline_scope != "global":
        raw.append("source_file")
    remote_types = int_list(cfg.remote_logon_types)
    # Only accounts with enough distinct remote destinations overall can fan out in a window.
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_fan_cand AS
SELECT DISTINCT l.principal FROM _bh_l l JOIN (
  SELECT scope, acct FROM _bh_l WHERE remote GROUP BY ALL
  HAVING count(DISTINCT dst) >= {cfg.fan_out_min_hosts}
) c USING (scope, acct)"""
    )
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_fan_all AS
WITH g AS (
  SELECT {mixed_key(raw)} AS k, any_value({scope}) AS scope, any_value(principal) AS principal,
    any_value(domain) AS domain, any_value(src_host) AS src_host, any_value(src_ip) AS src_ip,
    any_value(coalesce(target_host, host)) AS dst_raw, any_value(logon_type) AS logon_type,
    any_value(auth_package) AS auth_package, min(time) AS t,
    arg_min({{'path': source_file, 'record_id': record_id, 'uid': uid}}, {{'t': time, 'u': uid}}) AS ev
  FROM events
  WHERE category = 'authentication' AND activity = 'logon' AND outcome = 'success' AND time IS NOT NULL
    AND principal IS NOT NULL {machine}
    AND principal IN (SELECT principal FROM _bh_fan_cand)
  GROUP BY k
), x AS (
  SELECT g.*, _bh_acct(principal, domain) AS acct, _bh_host(dst_raw) AS dst,
    coalesce(CASE WHEN _bh_ip(src_ip) = 'localhost' THEN 'localhost' END, _bh_host(src_host), m.name,
             _bh_ip(src_ip)) AS src
  FROM g LEFT JOIN _bh_ipname m ON m.si = _bh_ip(g.src_ip) WHERE _bh_keep(principal, domain)
)
SELECT scope, acct, dst, t, src, upper(coalesce(auth_package, '')) = 'NTLM' AND coalesce(logon_type, 3) = 3
  AS ntlm, ev, domain
FROM x WHERE src IS NOT NULL AND src <> 'localhost' AND src <> coalesce(dst, '')
  AND (logon_type IS NULL OR logon_type IN {remote_types})"""
    )


def _stage_window_contacts(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> None:
    """``_bh_fan_cw``: the contacts inside firing fan-out windows, with their island (``w0``)."""
    hop, _ = windows(cfg.fan_out_window_minutes)
    # A contact at hop h falls in windows h-1 and h (each window = 2 hops): a burst shorter than one
    # hop lies wholly inside one window. Firing windows of an account that touch are merged.
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_fan_cw AS
WITH c AS ({_contacts_sql(cfg)}),
cw AS (SELECT *, epoch_us(t) // {hop} AS h FROM c),
w AS (
  SELECT scope, acct, w, count(DISTINCT dst) AS hosts FROM (
    SELECT scope, acct, dst, h AS w FROM cw UNION ALL SELECT scope, acct, dst, h - 1 AS w FROM cw)
  GROUP BY ALL HAVING count(DISTINCT dst) >= {cfg.fan_out_min_hosts}
),
isl AS (
  SELECT scope, acct, min(w) AS w0, max(w) AS w1, max(hosts) AS max_hosts FROM (
    SELECT *, w - row_number() OVER (PARTITION BY scope, acct ORDER BY w) AS grp FROM w)
  GROUP BY scope, acct, grp
)
SELECT cw.*, isl.w0, isl.max_hosts FROM cw
JOIN isl ON cw.scope = isl.scope AND cw.acct = isl.acct AND cw.h BETWEEN isl.w0 AND isl.w1 + 1"""
    )


def _alerts_sql(cfg: BehaviourConfig) -> str:
    thr, cap = cfg.fan_out_min_hosts, cfg.evidence_cap
    return f"""
SELECT '{FanOut.rule_id()}' AS rule_id, min(cw.t) AS time, max(cw.t1) AS last_time, cw.acct AS account,
  _bh_mode(cw.domain) AS domain, CASE WHEN count(DISTINCT cw.src) = 1 THEN any_value(cw.src) END AS src_host,
  NULL AS src_ip, NULL AS target_host,
  least(1.0, 0.5 + 0.3 * least(1.0, (count(DISTINCT cw.dst) - {thr}) / (2.0 * {thr}))
    + 0.2 * (avg(cw.ntlm::INT) > 0.5)::INT) AS score,
  bool_or(cw.ntlm) AS ntlm, list(cw.ev ORDER BY cw.t, cw.ev.uid)[1:{cap}] AS evidence, count(*) AS events,
  {{'hosts': count(DISTINCT cw.dst), 'max_hosts_in_window': any_value(cw.max_hosts),
    'window_minutes': {cfg.fan_out_window_minutes}, 'min_hosts': {thr},
    'counted_hosts': '{cfg.fan_out_hosts}',
    'destinations': list(DISTINCT cw.dst ORDER BY cw.dst)[1:50],
    'sources': list(DISTINCT cw.src ORDER BY cw.src)[1:20],
    'ntlm_share': avg(cw.ntlm::INT)}} AS info
FROM _bh_fan_cw cw
GROUP BY cw.scope, cw.acct, cw.w0"""
