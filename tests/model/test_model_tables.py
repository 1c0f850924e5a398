"""The model as Arrow tables, and in DuckDB: tables, macros, and agreement with Python."""

from __future__ import annotations

import ipaddress
from datetime import date

import duckdb
import pyarrow as pa
import pytest

from sekimori.model import TABLE_SCHEMAS, GroupModel, load_model_text, register_model
from tests.model.conftest import MINIMAL

# (principal, domain, sid) as they appear in events.
ACCOUNTS = [
    ("CORP\\kr01234", None, None),
    ("kr01234", "CORP", None),
    ("kr01234", "corp.parent.example", None),
    ("CORP\\alice", None, None),
    ("alice", "CORP", None),
    ("OTHER\\alice", "CORP", None),
    ("alice", "OTHER", None),
    ("AFFKR\\ext-lee", None, None),
    ("ext-lee", "affkr.example", None),
    ("AFFKR\\park", None, None),
    ("park@affiliate-kr.example", None, None),
    ("PARK@AFFILIATE-KR.EXAMPLE", None, None),
    ("carol@parent.example", None, None),
    ("carol@sub.parent.example", None, None),
    ("x", None, "S-1-5-21-2181354431-3447853260-3224839220-1104"),
    (None, None, "s-1-5-21-1004336348-1177238915-682003330-500"),
    (None, None, "S-1-5-21-1004336348-1177238915-6820033301-500"),
    ("CTR-PC-0042\\jdoe", None, None),
    ("jdoe", "ctr-pc-0042", None),
    ("-", "-", "-"),
    (" CORP\\alice ", "", None),
    ("CORP\\", None, None),
    ("\\alice", "CORP", None),
    ("@parent.example", None, None),
    (None, None, None),
    # letters whose case Python and DuckDB map differently: folded for ASCII only on both sides
    ("alice", "CORİ", None),
    ("kr01234", "ᴄORP", None),
    (None, None, "ſ-1-5-21-1004336348-1177238915-682003330-500"),
    ("carol@PARENT.EXAMPLİ", None, None),
]

# (host, ip) as they appear in events.
HOSTS = [
    ("ctr-pc-0042", None),
    ("CTR-PC-0042.affkr.example", None),
    ("kr-ops-01.corp.parent.example", None),
    ("ws01.corp.parent.example", None),
    ("ws01.corp.parent.example.", None),
    ("ws01", None),
    ("\\\\dc01", None),
    ("dc01", "10.10.1.5"),
    (None, "10.10.1.5"),
    (None, "10.10.9.9"),
    (None, "10.20.3.4"),
    (None, "192.168.50.7"),
    (None, "203.0.113.80"),
    (None, "8.8.8.8"),
    (None, "fd00:20::5"),
    (None, "FD00:20:0:0:0:0:0:5"),
    (None, "fd00:10::1.2.3.4"),
    (None, "fd00:20::1%eth0"),
    (None, "::ffff:10.20.3.4"),
    (None, "::ffff:a14:304"),
    (None, "2001:db8:203::1"),
    (None, "2001:db8::1"),
    (None, "10.010.1.5"),
    (None, "not-an-ip"),
    ("unknown", "192.168.50.7"),
    ("-", "-"),
    (None, None),
]


def test_every_table_has_its_schema(example: GroupModel) -> None:
    tables = example.tables()
    assert set(tables) == set(TABLE_SCHEMAS)
    for name, table in tables.items():
        assert table.schema.equals(TABLE_SCHEMAS[name]), name


def test_row_counts(example: GroupModel) -> None:
    counts = {name: table.num_rows for name, table in example.tables().items()}
    assert counts["organisations"] == 3
    assert counts["realm_members"] == sum(len(r.shared_by) for r in example.realms)
    assert counts["account_rules"] == sum(
        len(r.domain or []) + len(r.upn_suffix or []) + len(r.sid_prefix or []) + (r.name_pattern is not None)
        for r in example.accounts
    )
    # explicit rules' values, then one row per zone network
    assert counts["host_rules"] == sum(
        (h.name_pattern is not None) + len(h.cidr or []) for h in example.hosts
    ) + sum(len(z.cidrs) for z in example.zones)
    assert counts["flows"] == sum(len(f.ports) if f.ports is not None else 1 for f in example.flows)
    assert counts["grants"] == sum(
        (len(g.systems) + len(g.hosts)) * len(g.logon_types) for g in example.grants
    )
    assert counts["personal_data"] == 3


def test_table_values(example: GroupModel) -> None:
    tables = example.tables()
    contracts = {row["id"]: row for row in tables["contracts"].to_pylist()}
    assert contracts["c-infra-ops"]["start_date"] == date(2019, 4, 1)
    assert contracts["c-infra-ops"]["end_date"] is None
    assert contracts["c-infra-ops"]["systems"] == ["corp-ad", "employee-portal"]

    rules = tables["account_rules"].to_pylist()
    assert {
        "rule_order": 0,
        "org": "contractor-kr",
        "realm": "aff-ad",
        "kind": "name_pattern",
        "value": "(?i)^ext-",
    } in rules
    assert {r["value"] for r in rules if r["kind"] == "domain"} == {
        "affkr",
        "affkr.example",
        "corp",
        "corp.parent.example",
        "ctr-pc-0042",
    }

    hosts = tables["host_rules"].to_pylist()
    v4 = next(r for r in hosts if r["value"] == "10.10.1.0/24")
    assert (v4["ip_version"], v4["ip_lo"], v4["ip_hi"], v4["source"]) == (4, 0x0A0A0100, 0x0A0A01FF, "zones")
    v6 = next(r for r in hosts if r["value"] == "fd00:20::/48")
    assert v6["ip_version"] == 6 and v6["ip_lo"] is None
    assert v6["ip6_lo"] == "fd000020000000000000000000000000"
    assert v6["ip6_hi"] == "fd000020" + "0000" + "f" * 20
    assert int(v6["ip6_hi"], 16) == int(ipaddress.ip_network("fd00:20::/48").broadcast_address)
    assert [r["rule_order"] for r in hosts] == sorted(r["rule_order"] for r in hosts)

    flows = [r for r in tables["flows"].to_pylist() if r["flow_id"] == "f-affiliate-to-parent"]
    assert sorted(r["port"] for r in flows) == [88, 445, 3389]
    anyport = [r for r in tables["flows"].to_pylist() if r["flow_id"] == "f-internal-to-dc"]
    assert [r["port"] for r in anyport] == [None]

    grants = [r for r in tables["grants"].to_pylist() if r["grant_id"] == "g-parent-staff"]
    assert {(r["logon_type"], r["logon_type_code"]) for r in grants} == {
        ("interactive", 2),
        ("network", 3),
        ("remote_interactive", 10),
        ("cached_interactive", 11),
    }
    assert {r["host_regex"] for r in grants} == {"(?i)^(?:.*\\.corp\\.parent\\.example)$"}

    personal = {r["data_store"]: r for r in tables["personal_data"].to_pylist()}
    assert personal["ds-messaging-users"]["records"] == 302_980
    assert personal["ds-messaging-users"]["secrecy_of_communications"] is True
    assert personal["ds-employee-directory"]["paths"] == ["\\\\emp-fs01\\hr\\directory"]


def test_empty_sections_give_typed_empty_tables() -> None:
    model = load_model_text(MINIMAL)
    tables = model.tables()
    assert tables["organisations"].num_rows == 2
    for name, table in tables.items():
        assert table.schema.equals(TABLE_SCHEMAS[name]), name
        if name != "organisations":
            assert table.num_rows == 0, name
    assert tables["host_rules"].schema.field("ip_lo").type == pa.int64()
    assert tables["personal_data"].schema.field("items").type == pa.list_(pa.string())


def test_empty_model_in_duckdb() -> None:
    con = duckdb.connect()
    register_model(con, load_model_text(MINIMAL))
    assert con.execute("SELECT count(*) FROM model.host_rules").fetchone() == (0,)
    query = "SELECT model.account_org('CORP\\a', NULL, NULL), model.host_org('h', '10.0.0.1')"
    assert con.execute(query).fetchone() == (None, None)
    columns = con.execute("DESCRIBE model.grants").fetchall()
    assert ("expires", "DATE") in [(c[0], c[1]) for c in columns]
    con.close()


def test_registered_tables(example_con: duckdb.DuckDBPyConnection, example: GroupModel) -> None:
    query = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'model'"
    names = {row[0] for row in example_con.execute(query).fetchall()}
    assert names == set(TABLE_SCHEMAS)
    for name, table in example.tables().items():
        assert example_con.execute(f"SELECT count(*) FROM model.{name}").fetchone() == (table.num_rows,)


def test_account_macro_agrees_with_python(
    example_con: duckdb.DuckDBPyConnection, example: GroupModel
) -> None:
    events = pa.table(
        {
            "principal": [a[0] for a in ACCOUNTS],
            "domain": [a[1] for a in ACCOUNTS],
            "principal_sid": [a[2] for a in ACCOUNTS],
        }
    )
    cursor = example_con.cursor()
    cursor.register("events", events)
    rows = cursor.execute(
        "SELECT principal, domain, principal_sid, model.account_org(principal, domain, principal_sid) "
        "FROM events"
    ).fetchall()
    expected = [example.classify_account(*account) for account in ACCOUNTS]
    assert [row[3] for row in rows] == expected
    # the cases cover every organisation and no match
    assert set(expected) == {"parent", "affiliate-kr", "contractor-kr", None}


def test_host_macros_agree_with_python(example_con: duckdb.DuckDBPyConnection, example: GroupModel) -> None:
    events = pa.table({"src_host": [h[0] for h in HOSTS], "src_ip": [h[1] for h in HOSTS]})
    cursor = example_con.cursor()
    cursor.register("events", events)
    rows = cursor.execute(
        "SELECT model.host_org(src_host, src_ip), model.host_zone(src_host, src_ip) FROM events"
    ).fetchall()
    expected = [example.classify_host(*host) for host in HOSTS]
    assert rows == expected
    assert {zone for _, zone in expected} == {
        "contractor-net",
        "parent-internal",
        "parent-dc",
        "affiliate-net",
        "dmz",
        None,
    }


def test_join_events_with_the_model(example_con: duckdb.DuckDBPyConnection) -> None:
    """Logons across the group, joined with organisations, flows and grants through the macros."""
    events = pa.table(
        {
            "principal": ["kr01234", "alice", "ext-lee"],
            "domain": ["CORP", "CORP", "AFFKR"],
            "principal_sid": [None, None, None],
            "src_ip": ["10.20.3.4", "10.10.9.9", "192.168.50.7"],
            "target_host": ["msg-ops-01.corp.parent.example", "emp-web01", "kr-jump-01"],
            "target_ip": ["10.10.7.7", "10.10.8.8", "10.20.0.9"],
            "target_port": [3389, 443, 3389],
            "logon_type": pa.array([10, 3, 10], pa.int16()),
        }
    )
    cursor = example_con.cursor()
    cursor.register("events", events)
    rows = cursor.execute(
        """
        WITH classified AS (
            SELECT e.*, model.account_org(e.principal, e.domain, e.principal_sid) AS account_org,
                   model.host_zone(NULL, e.src_ip) AS src_zone,
                   model.host_match(e.target_host, e.target_ip) AS target
            FROM events AS e
        )
        SELECT c.principal, o.country, c.src_zone, c.target.zone AS target_zone,
               (SELECT string_agg(DISTINCT f.flow_id, ',') FROM model.flows AS f
                WHERE f.from_zone = c.src_zone AND f.to_zone = c.target.zone
                  AND (f.port IS NULL OR f.port = c.target_port)) AS allowed_by,
               (SELECT string_agg(DISTINCT g.grant_id, ',') FROM model.grants AS g
                JOIN model.system_hosts AS sh ON sh.system = g.system
                WHERE g.org = c.account_org AND g.logon_type_code = c.logon_type
                  AND regexp_matches(c.target_host, sh.regex)) AS granted_by
        FROM classified AS c JOIN model.organisations AS o ON o.id = c.account_org
        ORDER BY c.principal
        """
    ).fetchall()
    assert rows == [
        ("alice", "JP", "parent-internal", "parent-internal", None, None),
        ("ext-lee", "KR", "contractor-net", "affiliate-net", "f-contractor-support", "g-contractor-support"),
        (
            "kr01234",
            "KR",
            "affiliate-net",
            "parent-internal",
            "f-affiliate-to-parent",
            "g-affiliate-infra-ops",
        ),
    ]


def test_rule_tables_give_the_same_answer_as_the_macros(
    example_con: duckdb.DuckDBPyConnection, example: GroupModel
) -> None:
    """The rule tables are usable on their own: first match wins by ORDER BY rule_order."""
    events = pa.table({"host": [h[0] for h in HOSTS], "ip": [h[1] for h in HOSTS]})
    cursor = example_con.cursor()
    cursor.register("events", events)
    rows = cursor.execute(
        """
        SELECT e.host, e.ip, (
            SELECT r.zone FROM model.host_rules AS r,
                   (SELECT nullif(rtrim(ltrim(model.clean_text(e.host), '\\'), '.'), '') AS name,
                           model.ip_parts(e.ip) AS ip) AS q
            GROUP BY r.rule_order, r.zone
            HAVING count(DISTINCT r.kind) = count(DISTINCT r.kind) FILTER (WHERE CASE r.kind
                WHEN 'name_pattern' THEN regexp_matches(q.name, r.value)
                                      OR regexp_matches(split_part(q.name, '.', 1), r.value)
                WHEN 'cidr' THEN CASE r.ip_version WHEN 4 THEN q.ip.v4 BETWEEN r.ip_lo AND r.ip_hi
                                                   ELSE q.ip.v6 BETWEEN r.ip6_lo AND r.ip6_hi END END)
            ORDER BY r.rule_order LIMIT 1) AS zone
        FROM events AS e
        """
    ).fetchall()
    assert [row[2] for row in rows] == [example.classify_host(h, ip)[1] for h, ip in HOSTS]


@pytest.mark.parametrize(
    ("text", "v4", "v6"),
    [
        ("10.1.2.3", 0x0A010203, None),
        (" 10.1.2.3\n", 0x0A010203, None),
        ("255.255.255.255", 0xFFFFFFFF, None),
        ("10.01.2.3", None, None),  # leading zeros: rejected by Python too
        ("256.1.1.1", None, None),
        ("::", None, "0" * 32),
        ("::1", None, "0" * 31 + "1"),
        ("1::", None, "0001" + "0" * 28),
        ("1:2:3:4:5:6:7:8", None, "00010002000300040005000600070008"),
        ("1:2:3:4:5:6:7::", None, "00010002000300040005000600070000"),
        ("1:2:3:4:5:6:7:8:9", None, None),
        ("1::2::3", None, None),
        (":::", None, None),
        ("::ffff:1.2.3.4", 0x01020304, None),
        ("::1.2.3.4", None, "0" * 24 + "01020304"),
        ("fe80::1%eth0", None, "fe80" + "0" * 27 + "1"),
        ("fe80::1%", None, None),
        ("fe80::1%a%b", None, None),
        ("12345::", None, None),
        ("g::1", None, None),
    ],
)
def test_ip_parsing_in_sql(
    example_con: duckdb.DuckDBPyConnection, text: str, v4: int | None, v6: str | None
) -> None:
    parts = example_con.execute("SELECT model.ip_parts(?)", [text]).fetchone()
    assert parts == ({"v4": v4, "v6": v6},)
