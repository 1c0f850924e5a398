"""Behavioural lateral-movement and credential-access analytics, in DuckDB SQL over the ``events`` view.

Rules (``rule_id``; ATT&CK):

- ``behaviour.new_source``: after the baseline window, an account logs on remotely from a source host it
  never logged on from in the baseline (T1078, T1021).
- ``behaviour.first_seen_logon``: a remote logon (account, source, destination) never seen in the
  baseline, from a source the account did use (new sources are the rule above) (T1078, T1021).
- ``behaviour.rare_logon_type``: a logon type that the account, or the destination, (almost) never used
  in the baseline (T1078; T1021.001 for RDP, T1550.002 for NewCredentials/NTLM).
- ``behaviour.fan_out``: one account logs on to many distinct hosts within a short window (hopping
  windows of ``fan_out_window_minutes``, hop half of it). ``fan_out_hosts="new"`` (default) counts the
  hosts the account had not logged on to in the baseline, ``"all"`` every host (T1021, T1078).
- ``behaviour.password_spray``: one source fails to authenticate as many accounts, few times each, in a
  window (T1110.003); higher when a sprayed account then succeeds from that source.
- ``behaviour.brute_force``: many failures for one account in a window (T1110.001); higher (``high``)
  when a success for the account follows.

NTLM network logons in an alert's events add T1550.002 (Pass the Hash).

How: the successful logons are aggregated in **one pass** over ``events`` to one row per raw
(account, domain, source host, source ip, destination, logon type, package) with counts before/after
the baseline, first/last time and the first event after the baseline (group key: one 64-bit value
mixed from per-column hashes, which DuckDB aggregates faster than the string columns); the failures
are grouped in the same pass per time grain, with their count and first events. Identities are
normalised on those aggregates (distinct values, not events): lower case, FQDN → short name,
IP → host name where the logs pair them unambiguously, loopback and self-logons are local. Every
analytic then runs on the small tables. Scores are in [0, 1] and their inputs are in ``details``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from sekimori.detect.alerts import ALERT_SCHEMA, BEHAVIOUR, alert_id, conform, empty_alerts

RULES: dict[str, dict[str, Any]] = {
    "behaviour.new_source": {
        "title": "Account logs on from a source host it never used",
        "attack": ["T1078", "T1021"],
    },
    "behaviour.first_seen_logon": {
        "title": "First-seen logon: account, source and destination never seen together",
        "attack": ["T1078", "T1021"],
    },
    "behaviour.rare_logon_type": {
        "title": "Logon type rare for the account or the destination",
        "attack": ["T1078"],
    },
    "behaviour.fan_out": {
        "title": "Account logs on to many hosts in a short time",
        "attack": ["T1021", "T1078"],
    },
    "behaviour.password_spray": {
        "title": "Password spraying: one source fails as many accounts",
        "attack": ["T1110.003"],
    },
    "behaviour.brute_force": {
        "title": "Brute force: many failed logons for one account",
        "attack": ["T1110.001"],
    },
}

Rule = Literal[
    "new_source", "first_seen_logon", "rare_logon_type", "fan_out", "password_spray", "brute_force"
]
ALL_RULES: tuple[str, ...] = tuple(r.split(".", 1)[1] for r in RULES)


class BehaviourConfig(BaseModel):
    """Thresholds and identity choices; ``ctx.settings("behaviour")`` overrides any of them."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=lambda: list(ALL_RULES))  # type: ignore[arg-type]

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

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> BehaviourConfig:
        return cls.model_validate(settings or {})


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...] | None:
    """The first row of a query (fetching all: a half-read result would block the connection)."""
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else None


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_list(values: Sequence[str], upper: bool = False) -> str:
    vals = [v.upper() if upper else v.lower() for v in values]
    return "(" + ", ".join(_q(v) for v in vals) + ")" if vals else "(NULL)"


def _int_list(values: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in values) + ")" if values else "(NULL)"


def _mix(columns: Sequence[str]) -> str:
    """One 64-bit group key from per-column hashes, each salted by its position (nested hash)."""
    key = ""
    for i, col in enumerate(columns):
        h = f"hash({col})"
        for _ in range(i):
            h = f"hash({h})"
        key = h if not key else f"xor({key}, {h})"
    return key


def _us(minutes: float) -> int:
    return max(1, int(minutes * 60_000_000))


def _macros(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> None:
    loop = _in_list(cfg.loopback_sources)
    # Plain expressions (a macro with a subquery would run once per row).
    x = "ltrim(lower(trim(h)), '\\')"
    short = f"split_part({x}, '.', 1)" if cfg.strip_host_domain else x
    con.execute(
        f"""
CREATE OR REPLACE TEMP MACRO _bh_host(h) AS CASE
    WHEN h IS NULL OR {x} = '' THEN NULL
    WHEN {x} IN {loop} THEN 'localhost'
    WHEN regexp_full_match({x}, '[0-9.]+') OR contains(h, ':') THEN {x}
    ELSE {short} END"""
    )
    i = "lower(trim(CASE WHEN starts_with(i, '::ffff:') THEN i[8:] ELSE i END))"
    con.execute(
        f"""
CREATE OR REPLACE TEMP MACRO _bh_ip(i) AS CASE
    WHEN i IS NULL OR {i} = '' THEN NULL WHEN {i} IN {loop} THEN 'localhost' ELSE {i} END"""
    )
    dom = "lower(split_part(coalesce(d, ''), '.', 1))"
    acct = "lower(p) || '@' || " + dom if cfg.account_key == "user@domain" else "lower(p)"
    con.execute(f"CREATE OR REPLACE TEMP MACRO _bh_acct(p, d) AS {acct}")
    skips = [f"upper(p) NOT IN {_in_list(cfg.skip_accounts, upper=True)}"]
    skips.append(f"upper(coalesce(d, '')) NOT IN {_in_list(cfg.skip_domains, upper=True)}")
    if cfg.skip_machine_accounts:
        skips.append("NOT ends_with(p, '$')")
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO _bh_keep(p, d) AS p IS NOT NULL AND p <> '' AND {' AND '.join(skips)}"
    )


def _bounds(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig, scope: str) -> bool:
    """Table ``_bh_bounds(scope, t_min, t_max, be)``: the baseline ends at ``be``. False if no events."""
    if cfg.baseline_days is not None:
        end = f"t_min + to_microseconds(CAST({cfg.baseline_days * 86_400e6} AS BIGINT))"
    else:
        end = (
            f"t_min + to_microseconds(CAST({cfg.baseline_fraction} * "
            "(epoch_us(t_max) - epoch_us(t_min)) AS BIGINT))"
        )
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_bounds AS
SELECT scope, t_min, t_max, {end} AS be FROM (
  SELECT {scope} AS scope, min(time) AS t_min, max(time) AS t_max FROM events
  WHERE category = 'authentication' AND time IS NOT NULL GROUP BY 1)"""
    )
    row = _one(con, "SELECT count(*) FROM _bh_bounds")
    return bool(row and row[0])


def _be(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> tuple[str, str]:
    """(FROM clause over events, expression of the baseline end per event)."""
    if cfg.baseline_scope == "global":
        row = _one(con, "SELECT CAST(be AS VARCHAR) FROM _bh_bounds")
        assert row is not None
        return "events", f"TIMESTAMPTZ {_q(row[0])}"
    return "events JOIN _bh_bounds b ON b.scope = coalesce(events.source_file, '')", "b.be"


def _fail_grain(cfg: BehaviourConfig) -> int:
    """Time grain (µs) of the failure groups: divides the hop of both failure rules."""
    return math.gcd(_windows(cfg.spray_window_minutes)[0], _windows(cfg.brute_window_minutes)[0])


def _stage(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> None:
    """The aggregated, normalised logons (``_bh_l``), failures (``_bh_f``) and the IP→name map.

    One pass over ``events``: successful logons and failures are aggregated together per raw key (the
    failures of a group keep their events in a list, they are few), so the store is read once.
    """
    scope = _scope_sql(cfg)
    source, be = _be(con, cfg)
    machine = _machine_filter(cfg)
    raw = [
        *_LOGON_KEY,
        "outcome",
        "activity",
        "status",
        f"CASE WHEN outcome = 'failure' THEN epoch_us(time) // {_fail_grain(cfg)} END",
    ]
    if cfg.baseline_scope != "global":
        raw.append("source_file")
    ev = "{'path': source_file, 'record_id': record_id, 'uid': uid}"
    fail_acts = _in_list(cfg.failure_activities)
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_logon AS
SELECT k, r.*, n, n_base, t0, t1, tf, ev, fails FROM (
  SELECT {_mix(raw)} AS k,
    arg_min({{'scope': {scope}, 'principal': principal, 'domain': domain, 'src_host': src_host,
      'src_ip': src_ip, 'dst_raw': coalesce(target_host, host), 'logon_type': logon_type,
      'auth_package': auth_package, 'outcome': outcome, 'activity': activity, 'status': status}}, time) AS r,
    count(*) AS n, count(*) FILTER (time < {be}) AS n_base,
    min(time) FILTER (time >= {be}) AS t0, max(time) AS t1, min(time) AS tf,
    arg_min({ev}, time) FILTER (time >= {be} AND outcome = 'success') AS ev,
    min_by({ev}, time, {cfg.evidence_cap}) FILTER (outcome = 'failure') AS fails
  FROM {source}
  WHERE category = 'authentication' AND time IS NOT NULL AND principal IS NOT NULL {machine}
    AND ((activity = 'logon' AND outcome = 'success') OR (outcome = 'failure' AND activity IN {fail_acts}))
  GROUP BY k)"""
    )
    loop = "'localhost'"
    # Normalise distinct values once (maps), not every aggregate row.
    con.execute(
        """
CREATE OR REPLACE TEMP TABLE _bh_hostmap AS
SELECT h, _bh_host(h) AS n FROM (SELECT src_host AS h FROM _bh_logon UNION SELECT dst_raw FROM _bh_logon)
WHERE h IS NOT NULL;
CREATE OR REPLACE TEMP TABLE _bh_ipmap AS
SELECT i, _bh_ip(i) AS n FROM (SELECT DISTINCT src_ip AS i FROM _bh_logon) WHERE i IS NOT NULL;
CREATE OR REPLACE TEMP TABLE _bh_x AS
SELECT l.*, _bh_acct(principal, domain) AS acct, d.n AS dst, s.n AS sh, i.n AS si
FROM _bh_logon l
LEFT JOIN _bh_hostmap d ON d.h = l.dst_raw
LEFT JOIN _bh_hostmap s ON s.h = l.src_host
LEFT JOIN _bh_ipmap i ON i.i = l.src_ip
WHERE _bh_keep(principal, domain);
"""
    )
    ipmap = (
        f"""SELECT si, min(sh) AS name FROM (
              SELECT DISTINCT si, sh FROM _bh_x WHERE sh IS NOT NULL AND si IS NOT NULL)
            WHERE si <> {loop} AND sh <> {loop} AND NOT regexp_full_match(sh, '[0-9.]+')
            GROUP BY si HAVING count(*) = 1"""
        if cfg.learn_ip_names
        else "SELECT NULL::VARCHAR AS si, NULL::VARCHAR AS name WHERE false"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _bh_ipname AS {ipmap}")
    remote_types = _int_list(cfg.remote_logon_types)
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_y AS
SELECT x.*, coalesce(CASE WHEN x.si = {loop} THEN {loop} END, x.sh, m.name, x.si) AS src0 FROM _bh_x x
LEFT JOIN _bh_ipname m ON m.si = x.si;
CREATE OR REPLACE TEMP TABLE _bh_l AS
SELECT scope, acct, principal, domain, dst, logon_type, auth_package,
  CASE WHEN src0 IS NULL OR src0 = {loop} THEN NULL ELSE src0 END AS src, si AS src_ip,
  (src0 IS NOT NULL AND src0 <> {loop} AND src0 <> coalesce(dst, '')
    AND (logon_type IS NULL OR logon_type IN {remote_types})) AS remote,
  upper(coalesce(auth_package, '')) = 'NTLM' AND coalesce(logon_type, 3) = 3 AS ntlm_net,
  n, n_base, t0, t1, ev
FROM _bh_y WHERE outcome = 'success';
CREATE OR REPLACE TEMP TABLE _bh_f AS  -- failures: one row per raw key and time grain, n events
SELECT scope, tf AS time, t1 AS t_last, n, principal, domain, acct, sh, si, dst, activity, status, logon_type,
  auth_package, fails AS evs, CASE WHEN src0 = {loop} THEN NULL ELSE src0 END AS src
FROM _bh_y WHERE outcome = 'failure';"""
    )


def _history(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
CREATE OR REPLACE TEMP TABLE _bh_acct_hist AS
SELECT scope, acct, sum(n_base) AS base_logons, sum(n) AS logons FROM _bh_l GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE _bh_src_env AS
SELECT scope, src, sum(n_base) AS base_logons, count(DISTINCT acct) FILTER (n_base > 0) AS base_accounts
FROM _bh_l WHERE remote GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE _bh_dst_env AS
SELECT scope, dst, sum(n_base) AS base_logons, count(DISTINCT acct) FILTER (n_base > 0) AS base_accounts
FROM _bh_l GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE _bh_pair AS  -- account x destination (remote)
SELECT scope, acct, dst, sum(n_base) AS base_logons FROM _bh_l WHERE remote GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE _bh_acct_src AS
SELECT scope, acct, src, sum(n_base) AS base_logons FROM _bh_l WHERE remote GROUP BY ALL;
"""
    )


def _level(score: str) -> str:
    return (
        f"CASE WHEN {score} >= 0.8 THEN 'high' WHEN {score} >= 0.5 THEN 'medium' "
        f"WHEN {score} >= 0.3 THEN 'low' ELSE 'informational' END"
    )


def _evidence(cap: int, order: str = "t0") -> str:
    return f"list(ev ORDER BY {order}, ev.uid)[1:{cap}]"


# Each analytic: SQL giving rule, time, last_time, account, domain, src_host, src_ip, target_host,
# score, ntlm (bool), evidence (list of structs), events (int), details (struct -> JSON).


def _sql_new_source(cfg: BehaviourConfig) -> str:
    cap = cfg.evidence_cap
    return f"""
SELECT 'behaviour.new_source' AS rule_id, min(l.t0) AS time, max(l.t1) AS last_time, l.acct AS account,
  mode(l.domain) AS domain, l.src AS src_host, any_value(l.src_ip) AS src_ip,
  CASE WHEN count(DISTINCT l.dst) = 1 THEN any_value(l.dst) END AS target_host,
  least(1.0, 0.4 + 0.2 * (coalesce(any_value(e.base_logons), 0) = 0)::INT + 0.15 * bool_or(l.ntlm_net)::INT
    + 0.15 * least(1.0, (count(DISTINCT l.dst) - 1) / 4.0) + 0.1 * bool_or(l.logon_type = 10)::INT) AS score,
  bool_or(l.ntlm_net) AS ntlm, {_evidence(cap)} AS evidence, sum(l.n - l.n_base) AS events,
  {{'account_baseline_logons': any_value(h.base_logons),
    'source_new_to_environment': coalesce(any_value(e.base_logons), 0) = 0,
    'destinations': list(DISTINCT l.dst)[1:20], 'destinations_count': count(DISTINCT l.dst),
    'logon_types': list(DISTINCT l.logon_type), 'ntlm_network_logon': bool_or(l.ntlm_net),
    'rdp': bool_or(l.logon_type = 10)}} AS info
FROM _bh_l l
JOIN _bh_acct_hist h USING (scope, acct)
JOIN _bh_acct_src s USING (scope, acct, src)
LEFT JOIN _bh_src_env e USING (scope, src)
WHERE l.remote AND l.t0 IS NOT NULL AND s.base_logons = 0 AND h.base_logons >= {cfg.min_account_history}
GROUP BY l.scope, l.acct, l.src"""


def _sql_first_seen(cfg: BehaviourConfig, fan_out: bool = False) -> str:
    """``fan_out``: leave out the (account, destination) contacts a fan-out alert already reports."""
    cap = cfg.evidence_cap
    covered = (
        "AND NOT EXISTS (SELECT 1 FROM _bh_fan_cw c WHERE c.scope = l.scope AND c.acct = l.acct "
        "AND c.dst = l.dst)"
        if fan_out
        else ""
    )
    return f"""
SELECT 'behaviour.first_seen_logon' AS rule_id, min(l.t0) AS time, max(l.t1) AS last_time, l.acct AS account,
  mode(l.domain) AS domain, l.src AS src_host, any_value(l.src_ip) AS src_ip, l.dst AS target_host,
  least(1.0, 0.25 + 0.25 * (any_value(p.base_logons) = 0)::INT
    + 0.15 * (coalesce(any_value(d.base_accounts), 0) <= 1)::INT
    + 0.15 * bool_or(l.ntlm_net)::INT + 0.1 * bool_or(l.logon_type = 10)::INT) AS score,
  bool_or(l.ntlm_net) AS ntlm, {_evidence(cap)} AS evidence, sum(l.n - l.n_base) AS events,
  {{'account_baseline_logons': any_value(h.base_logons),
    'destination_new_to_account': any_value(p.base_logons) = 0,
    'destination_baseline_accounts': coalesce(any_value(d.base_accounts), 0),
    'logon_types': list(DISTINCT l.logon_type), 'ntlm_network_logon': bool_or(l.ntlm_net),
    'rdp': bool_or(l.logon_type = 10)}} AS info
FROM _bh_l l
JOIN _bh_acct_hist h USING (scope, acct)
JOIN _bh_acct_src s USING (scope, acct, src)
JOIN _bh_pair p USING (scope, acct, dst)
LEFT JOIN _bh_dst_env d USING (scope, dst)
WHERE l.remote AND l.t0 IS NOT NULL AND s.base_logons > 0 AND h.base_logons >= {cfg.min_account_history}
  {covered}
GROUP BY l.scope, l.acct, l.src, l.dst
HAVING sum(l.n_base) = 0"""


def _sql_rare_type(cfg: BehaviourConfig) -> str:
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
SELECT 'behaviour.rare_logon_type' AS rule_id, min(t0) AS time, max(t1) AS last_time, acct AS account,
  mode(domain) AS domain, CASE WHEN count(DISTINCT src) = 1 THEN any_value(src) END AS src_host,
  CASE WHEN count(DISTINCT src_ip) = 1 THEN any_value(src_ip) END AS src_ip,
  CASE WHEN count(DISTINCT dst) = 1 THEN any_value(dst) END AS target_host,
  least(1.0, 0.3 + 0.2 * (bool_or(rare_acct) AND bool_or(rare_dst))::INT
    + 0.15 * (any_value(acct_type_base) = 0)::INT
    + 0.25 * (logon_type IN (8, 9, 10))::INT + 0.1 * bool_or(ntlm_net AND remote)::INT) AS score,
  bool_or(ntlm_net AND remote) AS ntlm, {_evidence(cap)} AS evidence, sum(n - n_base) AS events,
  {{'logon_type': logon_type, 'rare_for_account': bool_or(rare_acct),
    'account_type_baseline': any_value(acct_type_base), 'account_baseline_logons': any_value(acct_base),
    'rare_for_destinations': list(DISTINCT dst) FILTER (rare_dst),
    'max_fraction': {frac}, 'min_history': {hist}}} AS info
FROM c WHERE rare_acct OR rare_dst
GROUP BY scope, acct, logon_type"""


def _windows(cfg_minutes: float) -> tuple[int, int]:
    hop = _us(cfg_minutes / 2)
    return hop, 2 * hop


def _sql_fan_out_pairs(cfg: BehaviourConfig) -> str:
    """Rows (scope, acct, dst, t, src, ntlm, ev, domain) of the contacts counted by the fan-out."""
    if cfg.fan_out_hosts == "new":
        return """
SELECT l.scope, l.acct, l.dst, min(l.t0) AS t, arg_min(l.src, l.t0) AS src, bool_or(l.ntlm_net) AS ntlm,
  arg_min(l.ev, l.t0) AS ev, mode(l.domain) AS domain, max(l.t1) AS t1
FROM _bh_l l JOIN _bh_pair p USING (scope, acct, dst)
WHERE l.remote AND l.t0 IS NOT NULL AND p.base_logons = 0
GROUP BY ALL"""
    return "SELECT scope, acct, dst, t, src, ntlm, ev, domain, t AS t1 FROM _bh_fan_all"


# The columns that identify a logon for the grouping passes (one account, source, destination, kind).
_LOGON_KEY = (
    "principal",
    "domain",
    "src_host",
    "src_ip",
    "coalesce(target_host, host)",
    "logon_type",
    "auth_package",
)


def _scope_sql(cfg: BehaviourConfig) -> str:
    """The baseline's scope: the whole store, or each source file on its own."""
    return "''" if cfg.baseline_scope == "global" else "coalesce(source_file, '')"


def _machine_filter(cfg: BehaviourConfig) -> str:
    return "AND NOT ends_with(principal, '$')" if cfg.skip_machine_accounts else ""


def _fan_all(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> None:
    """``fan_out_hosts="all"``: every remote logon per account, destination and hop (one more pass)."""
    hop, _ = _windows(cfg.fan_out_window_minutes)
    scope = _scope_sql(cfg)
    machine = _machine_filter(cfg)
    raw = [
        *_LOGON_KEY,
        f"epoch_us(time) // {hop}",
    ]
    if cfg.baseline_scope != "global":
        raw.append("source_file")
    remote_types = _int_list(cfg.remote_logon_types)
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
  SELECT {_mix(raw)} AS k, any_value({scope}) AS scope, any_value(principal) AS principal,
    any_value(domain) AS domain, any_value(src_host) AS src_host, any_value(src_ip) AS src_ip,
    any_value(coalesce(target_host, host)) AS dst_raw, any_value(logon_type) AS logon_type,
    any_value(auth_package) AS auth_package, min(time) AS t,
    arg_min({{'path': source_file, 'record_id': record_id, 'uid': uid}}, time) AS ev
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


def _fan_out_contacts(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> None:
    """``_bh_fan_cw``: the contacts inside firing fan-out windows, with their island (``w0``)."""
    hop, _ = _windows(cfg.fan_out_window_minutes)
    # A contact at hop h falls in windows h-1 and h (each window = 2 hops): a burst shorter than one
    # hop lies wholly inside one window. Firing windows of an account that touch are merged.
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_fan_cw AS
WITH c AS ({_sql_fan_out_pairs(cfg)}),
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


def _sql_fan_out(cfg: BehaviourConfig) -> str:
    thr, cap = cfg.fan_out_min_hosts, cfg.evidence_cap
    return f"""
SELECT 'behaviour.fan_out' AS rule_id, min(cw.t) AS time, max(cw.t1) AS last_time, cw.acct AS account,
  mode(cw.domain) AS domain, CASE WHEN count(DISTINCT cw.src) = 1 THEN any_value(cw.src) END AS src_host,
  NULL AS src_ip, NULL AS target_host,
  least(1.0, 0.5 + 0.3 * least(1.0, (count(DISTINCT cw.dst) - {thr}) / (2.0 * {thr}))
    + 0.2 * (avg(cw.ntlm::INT) > 0.5)::INT) AS score,
  bool_or(cw.ntlm) AS ntlm, list(cw.ev ORDER BY cw.t, cw.ev.uid)[1:{cap}] AS evidence, count(*) AS events,
  {{'hosts': count(DISTINCT cw.dst), 'max_hosts_in_window': any_value(cw.max_hosts),
    'window_minutes': {cfg.fan_out_window_minutes}, 'min_hosts': {thr},
    'counted_hosts': '{cfg.fan_out_hosts}',
    'destinations': list(DISTINCT cw.dst)[1:50], 'sources': list(DISTINCT cw.src)[1:20],
    'ntlm_share': avg(cw.ntlm::INT)}} AS info
FROM _bh_fan_cw cw
GROUP BY cw.scope, cw.acct, cw.w0"""


def _failure_params(cfg: BehaviourConfig, rule: str) -> tuple[int, str, str, str, str, str]:
    """(hop, key column, other column, window condition, base score, success join) of a failure rule."""
    if rule == "password_spray":
        hop, _ = _windows(cfg.spray_window_minutes)
        cond = (
            f"count(DISTINCT acct) >= {cfg.spray_min_accounts} AND "
            f"sum(n) <= {cfg.spray_max_failures_per_account} * count(DISTINCT acct)"
        )
        score = (
            f"0.65 + 0.15 * least(1.0, (count(DISTINCT f.acct) - {cfg.spray_min_accounts}) "
            f"/ (3.0 * {cfg.spray_min_accounts}))"
        )
        return hop, "src", "acct", cond, score, "s.acct = f.acct AND s.src = f.src"
    hop, _ = _windows(cfg.brute_window_minutes)
    cond = f"sum(n) >= {cfg.brute_min_failures}"
    score = (
        f"0.5 + 0.1 * least(1.0, (sum(f.n) - {cfg.brute_min_failures}) / (2.0 * {cfg.brute_min_failures}))"
    )
    return hop, "acct", "src", cond, score, "s.acct = f.acct"


def _failure_candidates(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig, rule: str) -> int:
    """``_bh_fc_<rule>``: the failures inside firing windows (merged per key), with the island id."""
    hop, key, other, cond, _, _ = _failure_params(cfg, rule)
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_fc_{rule} AS
WITH fw AS (SELECT *, epoch_us(time) // {_fail_grain(cfg)} * {_fail_grain(cfg)} // {hop} AS h
  FROM _bh_f WHERE {key} IS NOT NULL),
w AS (
  SELECT scope, {key}, w FROM (
    SELECT scope, {key}, {other}, acct, n, h AS w FROM fw
    UNION ALL SELECT scope, {key}, {other}, acct, n, h - 1 FROM fw)
  GROUP BY scope, {key}, w HAVING {cond}
),
isl AS (
  SELECT scope, {key}, min(w) AS w0, max(w) AS w1 FROM (
    SELECT *, w - row_number() OVER (PARTITION BY scope, {key} ORDER BY w) AS grp FROM w)
  GROUP BY scope, {key}, grp
)
SELECT fw.*, isl.w0 FROM fw JOIN isl ON fw.scope = isl.scope AND fw.{key} = isl.{key}
  AND fw.h BETWEEN isl.w0 AND isl.w1 + 1"""
    )
    row = _one(con, f"SELECT count(*) FROM _bh_fc_{rule}")
    return int(row[0]) if row else 0


def _sql_failures(cfg: BehaviourConfig, rule: str) -> str:
    """Spraying (key = source) or brute force (key = account): alerts from ``_bh_fc_<rule>``."""
    _, key, _, _, base_score, success_join = _failure_params(cfg, rule)
    cap, within = cfg.evidence_cap, _us(cfg.success_within_minutes)
    window = cfg.spray_window_minutes if rule == "password_spray" else cfg.brute_window_minutes
    return f"""
WITH f AS (SELECT * FROM _bh_fc_{rule}),
ok AS (  -- successes that follow the failures
  SELECT f.scope, f.{key}, f.w0, count(DISTINCT s.uid) AS successes, min(s.time) AS first_success,
    list(DISTINCT s.acct) AS accounts_succeeded,
    list(DISTINCT {{'path': s.path, 'record_id': s.record_id, 'uid': s.uid}})[1:10] AS ev
  FROM (SELECT scope, {key}, w0, acct, src, min(time) AS t0, max(t_last) AS t1 FROM f GROUP BY ALL) f
  JOIN _bh_success s ON s.scope = f.scope AND {success_join}
    AND s.time >= f.t0 AND s.time <= f.t1 + to_microseconds({within})
  GROUP BY ALL
)
SELECT 'behaviour.{rule}' AS rule_id, min(f.time) AS time,
  greatest(max(f.t_last), any_value(ok.first_success)) AS last_time,
  {"NULL" if rule == "password_spray" else "f.acct"} AS account, mode(f.domain) AS domain,
  {"f.src" if rule == "password_spray" else "CASE WHEN count(DISTINCT f.src) = 1 THEN any_value(f.src) END"}
    AS src_host,
  CASE WHEN count(DISTINCT f.si) = 1 THEN any_value(f.si) END AS src_ip,
  CASE WHEN count(DISTINCT f.dst) = 1 THEN any_value(f.dst) END AS target_host,
  least(1.0, {base_score} + 0.3 * (coalesce(any_value(ok.successes), 0) > 0)::INT) AS score,
  bool_or(upper(coalesce(f.auth_package, '')) = 'NTLM') AS ntlm,
  list_concat(flatten(list(f.evs ORDER BY f.time, f.evs[1].uid))[1:{cap}], coalesce(any_value(ok.ev), []))
    AS evidence,
  sum(f.n) + coalesce(any_value(ok.successes), 0) AS events,
  {{'failures': sum(f.n), 'accounts': count(DISTINCT f.acct), 'sources': count(DISTINCT f.src),
    'failures_per_account': sum(f.n) / count(DISTINCT f.acct),
    'accounts_list': list(DISTINCT f.acct)[1:50], 'statuses': list(DISTINCT f.status)[1:10],
    'activities': list(DISTINCT f.activity),
    'successes_after': coalesce(any_value(ok.successes), 0),
    'followed_by_success': coalesce(any_value(ok.successes), 0) > 0,
    'accounts_succeeded': any_value(ok.accounts_succeeded),
    'window_minutes': {window}, 'success_within_minutes': {cfg.success_within_minutes}}} AS info
FROM f LEFT JOIN ok ON ok.scope = f.scope AND ok.{key} = f.{key} AND ok.w0 = f.w0
GROUP BY f.scope, f.{key}, f.w0"""


def _successes(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig, rules: Sequence[str]) -> None:
    """``_bh_success``: successful authentications of the accounts in firing failure windows, in their
    time span (for 'then succeeded'); one pass over ``events`` pruned by time, only when needed."""
    scope = _scope_sql(cfg)
    acts = _in_list(cfg.failure_activities)
    union = " UNION ".join(f"SELECT DISTINCT principal, time, t_last FROM _bh_fc_{r}" for r in rules)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _bh_fail_accts AS "
        f"SELECT principal, min(time) AS t0, max(t_last) AS t1 FROM ({union}) GROUP BY principal"
    )
    span = _one(con, "SELECT CAST(min(t0) AS VARCHAR), CAST(max(t1) AS VARCHAR) FROM _bh_fail_accts")
    if not span or span[0] is None:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _bh_success AS SELECT NULL::VARCHAR AS scope, "
            "NULL::TIMESTAMPTZ AS time, NULL::VARCHAR AS acct, NULL::VARCHAR AS path, "
            "NULL::BIGINT AS record_id, "
            "NULL::VARCHAR AS uid, NULL::VARCHAR AS src WHERE false"
        )
        return
    lo, hi = _q(span[0]), _q(span[1])
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_success AS
WITH e AS (
  SELECT {scope} AS scope, time, principal, domain, src_host, src_ip, source_file AS path, record_id, uid
  FROM events
  WHERE category = 'authentication' AND outcome = 'success'
    AND time BETWEEN TIMESTAMPTZ {lo}
      AND TIMESTAMPTZ {hi} + to_microseconds({_us(cfg.success_within_minutes)})
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


def run_behaviour(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig | None = None) -> pa.Table:
    """All enabled analytics over the ``events`` view of ``con``, as alerts (``ALERT_SCHEMA``), ranked."""
    cfg = cfg or BehaviourConfig.model_validate({})
    con.execute("SET TimeZone = 'UTC'")
    scope = _scope_sql(cfg)
    _macros(con, cfg)
    if not _bounds(con, cfg, scope):
        return empty_alerts()
    _stage(con, cfg)
    _history(con)
    rules = set(cfg.rules)
    parts: list[str] = []
    if "new_source" in rules:
        parts.append(_sql_new_source(cfg))
    if "fan_out" in rules:
        if cfg.fan_out_hosts == "all":
            _fan_all(con, cfg)
        _fan_out_contacts(con, cfg)
    if "first_seen_logon" in rules:
        parts.append(_sql_first_seen(cfg, fan_out="fan_out" in rules))
    if "rare_logon_type" in rules:
        parts.append(_sql_rare_type(cfg))
    if "fan_out" in rules:
        parts.append(_sql_fan_out(cfg))
    failing = [
        r for r in ("password_spray", "brute_force") if r in rules and _failure_candidates(con, cfg, r)
    ]
    if failing:
        _successes(con, cfg, failing)
        parts.extend(_sql_failures(cfg, rule) for rule in failing)
    if not parts:
        return empty_alerts()
    columns = (
        "rule_id, time, last_time, account, domain, src_host, src_ip, target_host, "
        "CAST(score AS DOUBLE) AS score, "
        "ntlm, evidence, CAST(events AS BIGINT) AS events, CAST(to_json(info) AS VARCHAR) AS info_json"
    )
    union = " UNION ALL ".join(f"SELECT {columns} FROM ({p})" for p in parts)
    found = con.sql(f"SELECT * FROM ({union}) ORDER BY score DESC, time, rule_id, account").to_arrow_table()
    return _to_alerts(found, cfg)


def _to_alerts(found: pa.Table, cfg: BehaviourConfig) -> pa.Table:
    """Findings → alert rows (per alert, not per event: Python here is bounded by the alert count)."""
    rows = found.to_pylist()
    out = []
    for r in rows:
        rule = RULES[r["rule_id"]]
        attack = list(rule["attack"])
        info = orjson.loads(r["info_json"]) if r["info_json"] else {}
        if r["rule_id"] == "behaviour.rare_logon_type":
            lt = info.get("logon_type")
            if lt == 10:
                attack.append("T1021.001")
            if lt == 9:
                attack.append("T1550.002")
        if r["ntlm"] and r["rule_id"] not in ("behaviour.password_spray", "behaviour.brute_force"):
            attack.append("T1550.002")
        if r["rule_id"] == "behaviour.brute_force" and info.get("followed_by_success"):
            attack.append("T1078")
        evidence = [e for e in (r["evidence"] or []) if e is not None]
        score = round(float(r["score"]), 4)
        per_event = r["rule_id"] in ("behaviour.password_spray", "behaviour.brute_force")
        info.update(
            {
                "events_total": r["events"],
                "evidence_listed": len(evidence),
                "evidence_kind": "events"
                if per_event
                else "first event after the baseline of each (account, source, destination, logon type)",
                "evidence_truncated": (info.get("failures") or 0) > cfg.evidence_cap
                if per_event
                else len(evidence) >= cfg.evidence_cap,
                "evidence_cap": cfg.evidence_cap,
            }
        )
        level = (
            "high"
            if score >= 0.8
            else "medium"
            if score >= 0.5
            else "low"
            if score >= 0.3
            else "informational"
        )
        who = r["account"] or r["src_host"] or r["src_ip"] or "?"
        title = rule["title"]
        out.append(
            {
                "alert_id": alert_id(r["rule_id"], [e.get("uid") or "" for e in evidence]),
                "rule_id": r["rule_id"],
                "title": title,
                "source": BEHAVIOUR,
                "level": level,
                "score": score,
                "attack": sorted(set(attack)),
                "time": r["time"],
                "last_time": r["last_time"] or r["time"],
                "host": r["target_host"],
                "account": r["account"],
                "domain": r["domain"],
                "src_host": r["src_host"],
                "src_ip": r["src_ip"],
                "target_host": r["target_host"],
                "organisations": [],
                "description": f"{title}: {who}",
                "evidence": evidence,
                "details": orjson.dumps(info, option=orjson.OPT_SORT_KEYS).decode(),
            }
        )
    table = pa.Table.from_pylist(out, schema=ALERT_SCHEMA) if out else empty_alerts()
    return conform(table)


def rank(alerts: pa.Table) -> pa.Table:
    """Alerts by descending score, then time."""
    if alerts.num_rows == 0:
        return alerts
    idx = pc.sort_indices(alerts, sort_keys=[("score", "descending"), ("time", "ascending")])
    return alerts.take(idx)
