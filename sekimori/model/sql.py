"""Put the model into DuckDB: one table per section and SQL macros that classify like Python does.

After ``register_model(con, model)`` (schema ``model``)::

    SELECT e.*, model.account_org(e.principal, e.domain, e.principal_sid) AS principal_org,
           model.host_org(e.src_host, e.src_ip) AS src_org, model.host_zone(e.src_host, e.src_ip) AS src_zone
    FROM events AS e

The macros are plain SQL (no Python UDFs), so they keep working in a database file opened by any DuckDB
client. Each step mirrors :mod:`sekimori.model.matching`. ``account_org`` and ``host_match`` are
generated from the model's rules (one ``CASE`` branch per rule, in order, so the first match wins);
the rule tables (``account_rules``, ``host_rules``) hold the same rules for ad-hoc SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.model.matching import AccountMatcher, HostMatcher
from sekimori.model.regex import SQL_REGEX_PREFIX

if TYPE_CHECKING:
    import duckdb

    from sekimori.model.group import GroupModel

# trim() characters: the same as matching.TRIMMED.
_TRIMMED = "' ' || chr(9) || chr(10) || chr(13)"
# An IPv4 octet without leading zeros, as Python's ipaddress requires.
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_HEXTETS = "(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?"
_MAPPED_PREFIX = "00000000000000000000ffff"  # ::ffff:0:0/96, IPv4-mapped IPv6 addresses

# DuckDB macros are expanded by substitution, so an argument used n times is evaluated n times, and
# nesting multiplies that. The macros below therefore name intermediate values in FROM-less subqueries
# ("SELECT … AS x"), each computed once, instead of nesting macro calls.
_MACROS = [
    # A log value trimmed, NULL when empty or '-' (matching.clean_text).
    f"""
    CREATE OR REPLACE MACRO {{s}}.clean_text(t) AS
        CASE WHEN trim(t, {_TRIMMED}) IN ('', '-') THEN NULL ELSE trim(t, {_TRIMMED}) END
    """,
    # Dotted-quad IPv4 address → integer; NULL if not exactly an IPv4 address.
    f"""
    CREATE OR REPLACE MACRO {{s}}.ipv4_to_int(ip) AS (
        SELECT CASE WHEN regexp_full_match(o.ip_text, '{_IPV4}') THEN
            TRY_CAST(split_part(o.ip_text, '.', 1) AS BIGINT) * 16777216
            + TRY_CAST(split_part(o.ip_text, '.', 2) AS BIGINT) * 65536
            + TRY_CAST(split_part(o.ip_text, '.', 3) AS BIGINT) * 256
            + TRY_CAST(split_part(o.ip_text, '.', 4) AS BIGINT)
        END
        FROM (SELECT ip AS ip_text) AS o
    )
    """,
    # IPv6 address → 32 lower-case hex digits, comparable with host_rules.ip6_lo/ip6_hi; NULL if not an
    # IPv6 address. Accepts what Python's ipaddress accepts: one '::', an IPv4 tail, one %zone.
    f"""
    CREATE OR REPLACE MACRO {{s}}.ipv6_to_hex(ip) AS (
        SELECT CASE WHEN x.expanded IS NOT NULL THEN
            {" || ".join(f"lpad(split_part(x.expanded, ':', {i}), 4, '0')" for i in range(1, 9))}
        END
        FROM (
            SELECT CASE
                WHEN regexp_full_match(g.a, '(?:[0-9a-f]{{1,4}}:){{7}}[0-9a-f]{{1,4}}') THEN g.a
                WHEN regexp_full_match(g.a, '{_HEXTETS}::{_HEXTETS}') AND g.hextets <= 7 THEN concat_ws(':',
                    nullif(split_part(g.a, '::', 1), ''),
                    rtrim(repeat('0:', 8 - g.hextets), ':'),
                    nullif(split_part(g.a, '::', 2), ''))
            END AS expanded
            FROM (
                SELECT v.a, len(regexp_extract_all(v.a, '[0-9a-f]+')) AS hextets
                FROM (
                    -- an IPv4 tail (::ffff:10.0.0.1) becomes two hextets
                    SELECT CASE WHEN strpos(t.tail, '.') = 0 THEN t.a
                                WHEN t.tail_v4 IS NOT NULL THEN regexp_replace(t.a, '[^:]*$',
                                    format('{{:x}}:{{:x}}', t.tail_v4 // 65536, t.tail_v4 % 65536))
                           END AS a
                    FROM (
                        SELECT z.a, z.tail, {{s}}.ipv4_to_int(z.tail) AS tail_v4
                        FROM (
                            SELECT w.a, regexp_extract(w.a, '[^:]*$') AS tail
                            FROM (
                                SELECT CASE
                                    WHEN strpos(o.ip_text, ':') = 0 THEN NULL
                                    WHEN strpos(o.ip_text, '%') = 0 THEN lower(o.ip_text)
                                    -- one non-empty %zone, dropped
                                    WHEN length(o.ip_text) - length(replace(o.ip_text, '%', '')) = 1
                                         AND NOT ends_with(o.ip_text, '%')
                                        THEN lower(split_part(o.ip_text, '%', 1))
                                END AS a
                                FROM (SELECT ip AS ip_text) AS o
                            ) AS w
                        ) AS z
                    ) AS t
                ) AS v
            ) AS g
        ) AS x
    )
    """,
    # A log's IP address as {{v4: integer, v6: hex}} (matching.parse_ip): IPv4-mapped IPv6 counts as IPv4.
    f"""
    CREATE OR REPLACE MACRO {{s}}.ip_parts(ip) AS (
        SELECT {{
            'v4': coalesce(d.v4, CASE WHEN starts_with(d.hex, '{_MAPPED_PREFIX}')
                                      THEN TRY_CAST('0x' || right(d.hex, 8) AS BIGINT) END),
            'v6': CASE WHEN NOT starts_with(d.hex, '{_MAPPED_PREFIX}') THEN d.hex END
        }}
        FROM (
            SELECT {{s}}.ipv4_to_int(c.ip_text) AS v4, {{s}}.ipv6_to_hex(c.ip_text) AS hex
            FROM (SELECT {{s}}.clean_text(ip) AS ip_text) AS c
        ) AS d
    )
    """,
]


# First-match-wins over the rules, as one CASE with a WHEN per rule in order: the regexes are then
# constants, compiled once (a pattern taken from a table column is compiled again for every row).
_HOST_MATCH = r"""
CREATE OR REPLACE MACRO {s}.host_match(host, ip) AS (
    SELECT {case}
    FROM (
        SELECT h.host_name, split_part(h.host_name, '.', 1) AS short_name, h.parts.v4 AS v4, h.parts.v6 AS v6
        FROM (
            -- without '\\' in front and the root '.' (matching.clean_host)
            SELECT nullif(rtrim(ltrim({s}.clean_text(host), '\'), '.'), '') AS host_name,
                   {s}.ip_parts(ip) AS parts
        ) AS h
    ) AS q
)
"""

_ACCOUNT_ORG = r"""
CREATE OR REPLACE MACRO {s}.account_org(principal, domain, sid) AS (
    SELECT {case}
    FROM (
        -- case folded for ASCII letters only, like fields.ascii_lower/ascii_upper: DuckDB's lower()
        -- and upper() map a few other letters differently from Python's
        SELECT nullif(CASE WHEN strpos(n.qualified, '@') > 0 THEN regexp_extract(n.qualified, '(?s)^(.*)@', 1)
                           ELSE n.qualified END, '') AS user_name,
               translate(coalesce(n.given_domain, n.name_domain), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
                         'abcdefghijklmnopqrstuvwxyz') AS domain_name,
               translate(n.qualified, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
                   AS qualified,
               n.sid_upper
        FROM (
            -- 'CORP\alice@x' → domain 'CORP', qualified 'alice@x' (matching.split_principal)
            SELECT CASE WHEN strpos(c.name, '\') > 0 THEN regexp_extract(c.name, '(?s)^[^\\]*\\(.*)$', 1)
                        ELSE c.name END AS qualified,
                   CASE WHEN strpos(c.name, '\') > 0 THEN {s}.clean_text(split_part(c.name, '\', 1)) END
                       AS name_domain,
                   c.given_domain,
                   c.sid_upper
            FROM (
                SELECT {s}.clean_text(principal) AS name, {s}.clean_text(domain) AS given_domain,
                       translate({s}.clean_text(sid), 'abcdefghijklmnopqrstuvwxyz',
                                 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') AS sid_upper
            ) AS c
        ) AS n
    ) AS p
)
"""

_DERIVED = [
    "CREATE OR REPLACE MACRO {s}.host_org(host, ip) AS struct_extract({s}.host_match(host, ip), 'org')",
    "CREATE OR REPLACE MACRO {s}.host_zone(host, ip) AS struct_extract({s}.host_match(host, ip), 'zone')",
]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _first_match(conditions: list[tuple[str, str]], no_match: str) -> str:
    """CASE WHEN <condition> THEN <result> … for (condition, result) in rule order."""
    if not conditions:
        return no_match
    whens = "\n".join(f"        WHEN {condition} THEN {result}" for condition, result in conditions)
    return f"CASE\n{whens}\n    END"


def _any(conditions: list[str]) -> str:
    return conditions[0] if len(conditions) == 1 else "(" + " OR ".join(conditions) + ")"


def _regex(value: str, pattern: str) -> str:
    return f"regexp_matches({value}, {sql_literal(SQL_REGEX_PREFIX + pattern)})"


def _account_condition(matcher: AccountMatcher) -> str:
    parts: list[str] = []
    if matcher.domains is not None:
        parts.append(f"p.domain_name IN ({', '.join(sql_literal(d) for d in matcher.domains)})")
    if matcher.upn_suffixes is not None:
        parts.append(_any([f"ends_with(p.qualified, {sql_literal(u)})" for u in matcher.upn_suffixes]))
    if matcher.sid_prefixes is not None:
        # A prefix ends at a '-' (matching.sid_has_prefix).
        sid_conditions = [
            f"(p.sid_upper = {sql_literal(p)} OR starts_with(p.sid_upper, {sql_literal(p + '-')}))"
            for p in matcher.sid_prefixes
        ]
        parts.append(_any(sid_conditions))
    if matcher.name_pattern is not None:
        parts.append(_regex("p.user_name", matcher.name_pattern.pattern))
    return " AND ".join(parts)


def _host_condition(matcher: HostMatcher) -> str:
    parts: list[str] = []
    if matcher.name_pattern is not None:
        pattern = matcher.name_pattern.pattern
        parts.append(f"({_regex('q.host_name', pattern)} OR {_regex('q.short_name', pattern)})")
    if matcher.networks is not None:
        ranges = []
        for network in matcher.networks:
            low, high = int(network.network_address), int(network.broadcast_address)
            if network.version == 4:
                ranges.append(f"q.v4 BETWEEN {low} AND {high}")
            else:
                ranges.append(f"q.v6 BETWEEN '{low:032x}' AND '{high:032x}'")
        parts.append(_any(ranges))
    return " AND ".join(parts)


def macro_statements(model: GroupModel, schema: str = "model") -> list[str]:
    """The CREATE MACRO statements for ``model`` in ``schema``.

    ``account_org`` and ``host_match`` are generated from the model's rules: register again after
    changing the model.
    """
    host_case = _first_match(
        [
            (_host_condition(m), f"{{'org': {sql_literal(m.org)}, 'zone': {sql_literal(m.zone)}}}")
            for m in model.host_matchers
        ],
        "CAST(NULL AS STRUCT(org VARCHAR, zone VARCHAR))",
    )
    account_case = _first_match(
        [(_account_condition(m), sql_literal(m.org)) for m in model.account_matchers], "CAST(NULL AS VARCHAR)"
    )
    quoted = quote_identifier(schema)
    statements = [statement.strip().replace("{s}", quoted) for statement in _MACROS]
    # The cases go in after {s} is replaced: rule values may contain '{s}'.
    statements.append(_HOST_MATCH.strip().replace("{s}", quoted).replace("{case}", host_case))
    statements.append(_ACCOUNT_ORG.strip().replace("{s}", quoted).replace("{case}", account_case))
    statements += [statement.replace("{s}", quoted) for statement in _DERIVED]
    return statements


def register_model(con: duckdb.DuckDBPyConnection, model: GroupModel, schema: str = "model") -> None:
    """Create ``schema`` with one table per entry of :meth:`GroupModel.tables` and the macros
    ``account_org(principal, domain, sid)``, ``host_org(host, ip)``, ``host_zone(host, ip)``,
    ``host_match(host, ip)`` ({org, zone}), ``ip_parts(ip)`` ({v4, v6}), ``ipv4_to_int(ip)``,
    ``ipv6_to_hex(ip)`` and ``clean_text(t)``.

    Calling it again replaces the tables and macros.
    """
    quoted = quote_identifier(schema)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
    for name, table in model.tables().items():
        view = f"__sekimori_model_{name}"
        con.register(view, table)
        try:
            con.execute(f"CREATE OR REPLACE TABLE {quoted}.{quote_identifier(name)} AS SELECT * FROM {view}")
        finally:
            con.unregister(view)
    for statement in macro_statements(model, schema):
        con.execute(statement)
