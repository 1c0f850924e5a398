"""The shared staging of the behaviour analytics: identity macros, the baseline bounds, one pass over
``events`` to the aggregated logons and failures, and the history tables the analytics join.

How: the successful logons are aggregated in **one pass** over ``events`` to one row per raw
(account, domain, source host, source ip, destination, logon type, package) with counts before/after
the baseline, first/last time and the first event after the baseline (group key: one 64-bit hash
of the columns, which DuckDB aggregates faster than the string columns); the failures
are grouped in the same pass per time grain, with their count and first events. Identities are
normalised on those aggregates (distinct values, not events): lower case, FQDN → short name,
IP → host name where the logs pair them unambiguously, loopback and self-logons are local.

Tables made here (temporary, on the connection): ``_bh_bounds``, ``_bh_logon`` (raw aggregates),
``_bh_x``, ``_bh_y`` (views: the aggregates with normalised identities), ``_bh_l`` (successful logons,
normalised), ``_bh_f`` (failures), ``_bh_ipname`` (IP → host name),
``_bh_acct_hist``, ``_bh_src_env``, ``_bh_dst_env``, ``_bh_pair``, ``_bh_acct_src`` (baseline history).
"""

from __future__ import annotations

import math

import duckdb

from sekimori.detect.behaviour.config import BehaviourConfig
from sekimori.detect.behaviour.sql import (
    LOGON_KEY,
    first_row,
    in_list,
    int_list,
    machine_filter,
    mixed_key,
    quote,
    scope_sql,
    windows,
)


def create_macros(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> None:
    loop = in_list(cfg.loopback_sources)
    # Plain expressions (a macro with a subquery would run once per row).
    x = "ltrim(lower(trim(h)), '\\')"
    short = f"split_part({x}, '.', 1)" if cfg.strip_host_domain else x
    # The most frequent value, the smallest of those on a tie: DuckDB's mode() picks either of two equally
    # frequent values from run to run, and an alert's fields must not change between runs.
    con.execute(
        "CREATE OR REPLACE TEMP MACRO _bh_mode(x) AS list_sort(list_transform(map_entries(histogram(x)), "
        "lambda e: {'n': -CAST(e.value AS BIGINT), 'k': e.key}))[1].k"
    )
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
    skips = [f"upper(p) NOT IN {in_list(cfg.skip_accounts, upper=True)}"]
    skips.append(f"upper(coalesce(d, '')) NOT IN {in_list(cfg.skip_domains, upper=True)}")
    if cfg.skip_machine_accounts:
        skips.append("NOT ends_with(p, '$')")
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO _bh_keep(p, d) AS p IS NOT NULL AND p <> '' AND {' AND '.join(skips)}"
    )


def stage_bounds(
    con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig, scope: str, spans: str | None = None
) -> bool:
    """Table ``_bh_bounds(scope, t_min, t_max, be)``: the baseline ends at ``be``. False if no events.
    ``spans``: a table of (source_file, t_min, t_max) to read instead of the events."""
    if cfg.baseline_days is not None:
        end = f"t_min + to_microseconds(CAST({cfg.baseline_days * 86_400e6} AS BIGINT))"
    else:
        end = (
            f"t_min + to_microseconds(CAST({cfg.baseline_fraction} * "
            "(epoch_us(t_max) - epoch_us(t_min)) AS BIGINT))"
        )
    source = spans or (
        "(SELECT source_file, time AS t_min, time AS t_max FROM events "
        "WHERE category = 'authentication' AND time IS NOT NULL)"
    )
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _bh_bounds AS
SELECT scope, t_min, t_max, {end} AS be FROM (
  SELECT {scope} AS scope, min(t_min) AS t_min, max(t_max) AS t_max FROM {source} GROUP BY 1)"""
    )
    row = first_row(con, "SELECT count(*) FROM _bh_bounds")
    return bool(row and row[0])


def baseline_end(
    con: duckdb.DuckDBPyConnection,
    cfg: BehaviourConfig,
    table: str = "events",
    file: str = "events.source_file",
) -> tuple[str, str]:
    """(FROM clause over ``table``, expression of the baseline end per row; ``file``: its source file)."""
    if cfg.baseline_scope == "global":
        row = first_row(con, "SELECT CAST(be AS VARCHAR) FROM _bh_bounds")
        assert row is not None
        return table, f"TIMESTAMPTZ {quote(row[0])}"
    return f"{table} JOIN _bh_bounds b ON b.scope = coalesce({file}, '')", "b.be"


def failure_grain(cfg: BehaviourConfig) -> int:
    """Time grain (µs) of the failure groups: divides the hop of both failure rules."""
    return math.gcd(windows(cfg.spray_window_minutes)[0], windows(cfg.brute_window_minutes)[0])


def stage_raw_logons(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> None:
    """``_bh_logon``: the logons aggregated per raw key, in one pass over ``events``. Successful logons
    and failures are aggregated together (the failures of a group keep their events in a list, they are
    few), so the store is read once. (``segments.py`` makes the same table from per-segment rows.)"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _bh_logon AS {raw_logons_sql(con, cfg)}")


def raw_logons_sql(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> str:
    """The query of ``stage_raw_logons`` (after ``stage_bounds`` on ``con``)."""
    scope = scope_sql(cfg)
    source, be = baseline_end(con, cfg)
    machine = machine_filter(cfg)
    raw = [
        *LOGON_KEY,
        "outcome",
        "activity",
        "status",
        f"CASE WHEN outcome = 'failure' THEN epoch_us(time) // {failure_grain(cfg)} END",
    ]
    if cfg.baseline_scope != "global":
        raw.append("source_file")
    ev = "{'path': source_file, 'record_id': record_id, 'uid': uid}"
    fail_acts = in_list(cfg.failure_activities)
    # The first event after the baseline is the min of one struct led by (time, uid), cheaper than
    # ``arg_min`` of the event by a (time, uid) struct; on a tie of both it takes the smallest event.
    failures = f"(outcome = 'failure' AND activity IN {fail_acts})"
    return f"""
SELECT k, r.*, n, n_base, t0, t1, tf,
  CASE WHEN e0 IS NOT NULL THEN {{'path': e0.path, 'record_id': e0.record_id, 'uid': e0.u}} END AS ev, fails
FROM (
  SELECT {mixed_key(raw)} AS k,
    arg_min({{'scope': {scope}, 'principal': principal, 'domain': domain, 'src_host': src_host,
      'src_ip': src_ip, 'dst_raw': coalesce(target_host, host), 'logon_type': logon_type,
      'auth_package': auth_package, 'outcome': outcome, 'activity': activity, 'status': status}}, time) AS r,
    count(*) AS n, count(*) FILTER (time < {be}) AS n_base,
    min(time) FILTER (time >= {be}) AS t0, max(time) AS t1, min(time) AS tf,
    min({{'t': time, 'u': uid, 'path': source_file, 'record_id': record_id}})
      FILTER (time >= {be} AND outcome = 'success') AS e0,
    min_by({ev}, {{'t': time, 'u': uid}}, {cfg.evidence_cap}) FILTER (outcome = 'failure') AS fails
  FROM {source}
  WHERE category = 'authentication' AND time IS NOT NULL AND principal IS NOT NULL {machine}
    AND ((activity = 'logon' AND outcome = 'success') OR {failures})
  GROUP BY k)"""


def stage_logons(con: duckdb.DuckDBPyConnection, cfg: BehaviourConfig) -> None:
    """The normalised logons (``_bh_l``), failures (``_bh_f``) and the IP→name map, from ``_bh_logon``."""
    loop = "'localhost'"
    # Normalise distinct values once (maps), not every aggregate row. ``_bh_x`` and ``_bh_y`` are views:
    # materialised, they copied every aggregate row with its evidence twice; as views each query reads
    # the columns and rows it needs.
    con.execute(
        """
CREATE OR REPLACE TEMP TABLE _bh_hostmap AS
SELECT h, _bh_host(h) AS n FROM (SELECT src_host AS h FROM _bh_logon UNION SELECT dst_raw FROM _bh_logon)
WHERE h IS NOT NULL;
CREATE OR REPLACE TEMP TABLE _bh_ipmap AS
SELECT i, _bh_ip(i) AS n FROM (SELECT DISTINCT src_ip AS i FROM _bh_logon) WHERE i IS NOT NULL;
CREATE OR REPLACE TEMP VIEW _bh_x AS
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
    remote_types = int_list(cfg.remote_logon_types)
    con.execute(
        f"""
CREATE OR REPLACE TEMP VIEW _bh_y AS
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


def stage_history(con: duckdb.DuckDBPyConnection) -> None:
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
