"""What the failure analytics (password spraying, brute force) share: failures grouped in hopping windows
per key (a source, an account), the windows that fire merged into islands, and the successes that follow
the failures (staged once for every failure analytic of a run, ``_bh_success``).

A failure analytic says what its windows are per and when one fires (``FailureWindow``); the rest is here.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from sekimori.detect.behaviour.analytic import Analytic, JointStage
from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.sql import first_row, in_list, microseconds, quote, scope_sql, windows
from sekimori.detect.behaviour.staging import failure_grain

SUCCESSES_SHOWN = 10  # success events added to an alert's evidence after its failures
# A success event by time and uid: the first ones are shown, the same on every run.
SUCCESS = "{'t': s.time, 'u': s.uid, 'ev': {'path': s.path, 'record_id': s.record_id, 'uid': s.uid}}"


@dataclass(frozen=True)
class FailureWindow:
    """How a failure analytic groups failures and scores a group (SQL over the failures ``f``)."""

    window_minutes: float
    key: str  # the column windows are per: ``src`` or ``acct``
    other: str  # the other of the two
    fires: str  # when a window's failures make an alert (aggregates over ``n``, ``acct``)
    base_score: str  # the score before the bonus for a success that follows
    success_join: str  # which successes (``s``) follow a group of failures (``f``)
    account: str  # the alert's account
    src_host: str  # the alert's source host


class FailureAnalytic(Analytic):
    """An analytic of failed authentications in hopping windows; its evidence is the failure events."""

    evidence_kind = "events"

    @abstractmethod
    def window(self, cfg: BehaviourConfig) -> FailureWindow: ...

    def joint_stage(self) -> JointStage | None:
        return stage_successes

    def prepare(self, con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig, running: frozenset[str]) -> bool:
        return failure_candidates(con, cfg, self.name, self.window(cfg)) > 0

    def sql(self, cfg: BehaviourConfig, running: frozenset[str]) -> str:
        return failure_alerts_sql(cfg, self.name, self.rule_id(), self.window(cfg))

    def techniques(self, info: dict[str, Any], ntlm: bool) -> list[str]:
        return list(self.attack)  # NTLM failures are no sign of Pass the Hash

    def evidence_truncated(self, info: dict[str, Any], listed: int, cap: int) -> bool:
        return int(info.get("failures") or 0) > cap


def failure_candidates(
    con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig, name: str, fw: FailureWindow
) -> int:
    """``_bh_fc_<name>``: the failures inside firing windows (merged per key), with the island id."""
    hop, _ = windows(fw.window_minutes)
    key, other = fw.key, fw.other
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_fc_{name} AS
WITH fw AS (SELECT *, epoch_us(time) // {failure_grain(cfg)} * {failure_grain(cfg)} // {hop} AS h
  FROM _bh_f WHERE {key} IS NOT NULL),
w AS (
  SELECT scope, {key}, w FROM (
    SELECT scope, {key}, {other}, acct, n, h AS w FROM fw
    UNION ALL SELECT scope, {key}, {other}, acct, n, h - 1 FROM fw)
  GROUP BY scope, {key}, w HAVING {fw.fires}
),
isl AS (
  SELECT scope, {key}, min(w) AS w0, max(w) AS w1 FROM (
    SELECT *, w - row_number() OVER (PARTITION BY scope, {key} ORDER BY w) AS grp FROM w)
  GROUP BY scope, {key}, grp
)
SELECT fw.*, isl.w0 FROM fw JOIN isl ON fw.scope = isl.scope AND fw.{key} = isl.{key}
  AND fw.h BETWEEN isl.w0 AND isl.w1 + 1"""
    )
    row = first_row(con, f"SELECT count(*) FROM _bh_fc_{name}")
    return int(row[0]) if row else 0


def failure_alerts_sql(cfg: BehaviourConfig, name: str, rule_id: str, fw: FailureWindow) -> str:
    """Alerts from ``_bh_fc_<name>``: one per key and island, raised when a success followed."""
    key = fw.key
    cap, within = cfg.evidence_cap, microseconds(cfg.success_within_minutes)
    return f"""
WITH f AS (SELECT * FROM _bh_fc_{name}),
ok AS (  -- successes that follow the failures
  SELECT f.scope, f.{key}, f.w0, count(DISTINCT s.uid) AS successes, min(s.time) AS first_success,
    list(DISTINCT s.acct ORDER BY s.acct) AS accounts_succeeded,
    list_transform(list(DISTINCT {SUCCESS} ORDER BY {SUCCESS})[1:{SUCCESSES_SHOWN}], lambda x: x.ev) AS ev
  FROM (SELECT scope, {key}, w0, acct, src, min(time) AS t0, max(t_last) AS t1 FROM f GROUP BY ALL) f
  JOIN _bh_success s ON s.scope = f.scope AND {fw.success_join}
    AND s.time >= f.t0 AND s.time <= f.t1 + to_microseconds({within})
  GROUP BY ALL
)
SELECT '{rule_id}' AS rule_id, min(f.time) AS time,
  greatest(max(f.t_last), any_value(ok.first_success)) AS last_time,
  {fw.account} AS account, _bh_mode(f.domain) AS domain,
  {fw.src_host} AS src_host,
  CASE WHEN count(DISTINCT f.si) = 1 THEN any_value(f.si) END AS src_ip,
  CASE WHEN count(DISTINCT f.dst) = 1 THEN any_value(f.dst) END AS target_host,
  least(1.0, {fw.base_score} + 0.3 * (coalesce(any_value(ok.successes), 0) > 0)::INT) AS score,
  bool_or(upper(coalesce(f.auth_package, '')) = 'NTLM') AS ntlm,
  list_concat(flatten(list(f.evs ORDER BY f.time, f.evs[1].uid))[1:{cap}], coalesce(any_value(ok.ev), []))
    AS evidence,
  sum(f.n) + coalesce(any_value(ok.successes), 0) AS events,
  {{'failures': sum(f.n), 'accounts': count(DISTINCT f.acct), 'sources': count(DISTINCT f.src),
    'failures_per_account': sum(f.n) / count(DISTINCT f.acct),
    'accounts_list': list(DISTINCT f.acct ORDER BY f.acct)[1:50],
    'statuses': list(DISTINCT f.status ORDER BY f.status)[1:10],
    'activities': list(DISTINCT f.activity ORDER BY f.activity),
    'successes_after': coalesce(any_value(ok.successes), 0),
    'followed_by_success': coalesce(any_value(ok.successes), 0) > 0,
    'accounts_succeeded': any_value(ok.accounts_succeeded),
    'window_minutes': {fw.window_minutes}, 'success_within_minutes': {cfg.success_within_minutes}}} AS info
FROM f LEFT JOIN ok ON ok.scope = f.scope AND ok.{key} = f.{key} AND ok.w0 = f.w0
GROUP BY f.scope, f.{key}, f.w0"""


def stage_successes(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig, names: Sequence[str]) -> None:
    """``_bh_success``: successful authentications of the accounts in the firing windows of the failure
    analytics ``names``, in their time span (for 'then succeeded'); one pass over ``events`` pruned by
    time, only when some window fired."""
    scope = scope_sql(cfg)
    acts = in_list(cfg.failure_activities)
    union = " UNION ".join(f"SELECT DISTINCT principal, time, t_last FROM _bh_fc_{r}" for r in names)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _bh_fail_accts AS "
        f"SELECT principal, min(time) AS t0, max(t_last) AS t1 FROM ({union}) GROUP BY principal"
    )
    span = first_row(con, "SELECT CAST(min(t0) AS VARCHAR), CAST(max(t1) AS VARCHAR) FROM _bh_fail_accts")
    if not span or span[0] is None:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _bh_success AS SELECT NULL::VARCHAR AS scope, "
            "NULL::TIMESTAMPTZ AS time, NULL::VARCHAR AS acct, NULL::VARCHAR AS path, "
            "NULL::BIGINT AS record_id, "
            "NULL::VARCHAR AS uid, NULL::VARCHAR AS src WHERE false"
        )
        return
    lo, hi = quote(span[0]), quote(span[1])
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_success AS
WITH e AS (
  SELECT {scope} AS scope, time, principal, domain, src_host, src_ip, source_file AS path, record_id, uid
  FROM events
  WHERE category = 'authentication' AND outcome = 'success'
    AND time BETWEEN TIMESTAMPTZ {lo}
      AND TIMESTAMPTZ {hi} + to_microseconds({microseconds(cfg.success_within_minutes)})
    AND principal IN (SELECT principal FROM _bh_fail_accts) AND lower(activity) IN {acts}
), x AS (
  SELECT e.*, _bh_acct(principal, domain) AS acct, _bh_host(src_host) AS sh, _bh_ip(src_ip) AS si FROM e
)
SELECT scope, time, acct, path, record_id, uid, CASE WHEN src0 = 'localhost' THEN NULL ELSE src0 END AS src
FROM (
  SELECT x.*, coalesce(CASE WHEN x.si = 'localhost' THEN 'localhost' END, x.sh, m.name, x.si) AS src0
  FROM x LEFT JOIN _bh_ipname m ON m.si = x.si
)"""
    )
