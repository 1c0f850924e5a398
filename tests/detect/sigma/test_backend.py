"""Sigma modifiers and semantics of the DuckDB backend, checked on small in-memory event sets."""

from __future__ import annotations

import re
import textwrap

import duckdb
import orjson
import pytest
import yaml

from sekimori.detect.sigma.backend import MANY, SEPARATOR
from sekimori.detect.sigma.engine import Group, groups
from sekimori.detect.sigma.rules import attack_ids, compile_rules, logsource_filter
from sekimori.detect.sigma.ruleset import Ruleset


def _events(records: list[dict[str, object]]) -> duckdb.DuckDBPyConnection:
    """A connection whose ``events`` view holds evtx-shaped Sysmon 1 records with these EventData."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE events (uid VARCHAR, time TIMESTAMPTZ, source_file VARCHAR, record_id BIGINT, "
        "host VARCHAR, principal VARCHAR, domain VARCHAR, source_format VARCHAR, raw VARCHAR, "
        "channel VARCHAR, provider VARCHAR, event_code VARCHAR)"
    )
    for i, data in enumerate(records):
        raw = {
            "Event": {
                "System": {
                    "EventID": 1,
                    "Channel": "Microsoft-Windows-Sysmon/Operational",
                    "Computer": "ws1",
                },
                "EventData": data,
            }
        }
        con.execute(
            "INSERT INTO events VALUES (?, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(?), "
            "'f.evtx', ?, "
            "'ws1', NULL, NULL, 'evtx', ?, 'Microsoft-Windows-Sysmon/Operational', "
            "'Microsoft-Windows-Sysmon', '1')",
            [str(i), i, i, orjson.dumps(raw).decode()],
        )
    return con


def _matches(tmp_path, detection: str, records: list[dict[str, object]]) -> list[int]:
    rule = textwrap.dedent(
        """\
        title: t
        id: 00000000-0000-0000-0000-000000000001
        logsource:
            product: windows
            category: process_creation
        detection:
        """
    ) + textwrap.indent(textwrap.dedent(detection), "    ")
    (tmp_path / "r.yml").write_text(rule)
    rs = compile_rules([tmp_path / "r.yml"])
    assert not rs.failures, rs.failures
    con = _events(records)
    sysmon, _security_4688 = groups(rs.rules)  # the rule on Sysmon 1, and on Security 4688
    g = sysmon
    assert g.filter == SYSMON_1
    return sorted(int(u) for _, u in con.execute(f"SELECT rule_index, uid FROM ({g.sql()})").fetchall())


SYSMON_1 = (("Channel", ("Microsoft-Windows-Sysmon/Operational",)), ("EventID", ("1",)))
SECURITY_4688 = (("Channel", ("Security",)), ("EventID", ("4688",)))

CMD = [
    {"CommandLine": "CMD.EXE /c whoami", "Image": "C:\\Windows\\System32\\cmd.exe"},
    {"CommandLine": "powershell -enc SQBFAFgA", "Image": "C:\\Windows\\powershell.exe"},
    {"CommandLine": "net user", "Image": "C:\\Windows\\net.exe", "User": None},
]


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        ("sel:\n    CommandLine|contains: 'WHOAMI'\ncondition: sel\n", [0]),  # case-insensitive
        ("sel:\n    Image|endswith: '\\CMD.exe'\ncondition: sel\n", [0]),
        ("sel:\n    Image|startswith: 'c:\\windows\\p'\ncondition: sel\n", [1]),
        ("sel:\n    CommandLine: 'net us?r'\ncondition: sel\n", [2]),  # ? wildcard
        ("sel:\n    CommandLine: 'net*'\ncondition: sel\n", [2]),
        ("sel:\n    CommandLine|contains|all: ['cmd', 'whoami']\ncondition: sel\n", [0]),
        ("sel:\n    CommandLine|re: '^CMD'\ncondition: sel\n", [0]),
        ("sel:\n    CommandLine|re: '^cmd'\ncondition: sel\n", []),  # re is case-sensitive
        ("sel:\n    CommandLine|re|i: '^cmd'\ncondition: sel\n", [0]),
        ("sel:\n    CommandLine|cased: 'net user'\ncondition: sel\n", [2]),
        ("sel:\n    CommandLine|contains|cased: 'cmd'\ncondition: sel\n", []),
        ("sel:\n    CommandLine|contains|windash: '-c'\ncondition: sel\n", [0]),  # /c
        ("sel:\n    User: null\ncondition: sel\n", [0, 1, 2]),
        ("sel:\n    User|exists: true\ncondition: sel\n", []),
        ("sel:\n    Image|exists: true\nf:\n    Image|contains: net\ncondition: sel and not f\n", [0, 1]),
        ("sel:\n    Missing: x\ncondition: not sel\n", [0, 1, 2]),  # absent field: the negation holds
        ("sel:\n    CommandLine|fieldref: Image\ncondition: sel\n", []),
        ("keywords:\n    - 'SQBFAFgA'\ncondition: keywords\n", [1]),
        ("sel:\n    CommandLine|base64offset|contains: 'IEX'\ncondition: sel\n", []),
        ("sel:\n    CommandLine|wide|base64offset|contains: 'IEX'\ncondition: sel\n", [1]),  # UTF-16LE
    ],
)
def test_modifiers(tmp_path, detection, expected):
    assert _matches(tmp_path, detection, CMD) == expected


def test_numbers_cidr_and_compare(tmp_path):
    records = [
        {"DestinationIp": "10.1.2.3", "DestinationPort": 445},
        {"DestinationIp": "192.168.1.5", "DestinationPort": "3389"},
    ]
    assert _matches(tmp_path, "sel:\n    DestinationIp|cidr: '10.0.0.0/8'\ncondition: sel\n", records) == [0]
    assert _matches(tmp_path, "sel:\n    DestinationPort: 445\ncondition: sel\n", records) == [0]
    assert _matches(tmp_path, "sel:\n    DestinationPort: 3389\ncondition: sel\n", records) == [1]
    assert _matches(tmp_path, "sel:\n    DestinationPort|gt: 1000\ncondition: sel\n", records) == [1]
    assert _matches(tmp_path, "sel:\n    DestinationPort|lte: 445\ncondition: sel\n", records) == [0]


def test_unresolved_placeholder_is_listed(tmp_path):
    (tmp_path / "r.yml").write_text(
        "title: t\nid: 00000000-0000-0000-0000-000000000002\n"
        "logsource: {product: windows, service: security}\n"
        "detection:\n  sel:\n    TargetUserName|expand: '%Admins%'\n  condition: sel\n"
    )
    rs = compile_rules([tmp_path / "r.yml"])
    assert not rs.rules
    assert "placeholder" in rs.failures[0].reason
    rs = compile_rules([tmp_path / "r.yml"], placeholders={"Admins": ["alice", "bob"]})
    assert not rs.failures and "'alice'" in rs.rules[0].sql


def test_logsource_filters():
    assert logsource_filter("windows", "process_creation", None) == (
        ("Channel", ("Microsoft-Windows-Sysmon/Operational",)),
        ("EventID", ("1",)),
    )
    assert logsource_filter("windows", None, "security") == (("Channel", ("Security",)),)


def test_attack_ids():
    assert attack_ids(["attack.t1003.001", "attack.credential-access", "attack.T1059", "car.2013"]) == [
        "T1003.001",
        "T1059",
    ]


def test_one_pass_per_group(tmp_path):
    for i, img in enumerate(("a.exe", "b.exe")):
        (tmp_path / f"r{i}.yml").write_text(
            f"title: r{i}\nid: 00000000-0000-0000-0000-00000000001{i}\n"
            "logsource: {product: windows, category: process_creation}\n"
            f"detection:\n  sel:\n    Image|endswith: '{img}'\n  condition: sel\n"
        )
    rs = compile_rules([tmp_path])
    g, audit = groups(rs.rules)
    assert isinstance(g, Group) and len(g.rules) == 2 and g.filter == SYSMON_1
    assert audit.filter == SECURITY_4688 and [r.index for r in audit.rules] == [0, 1]
    con = _events([{"Image": "x\\a.exe"}, {"Image": "y\\B.EXE"}])
    got = sorted(con.execute(f"SELECT rule_index, uid FROM ({g.sql()})").fetchall())
    assert got == [(0, "0"), (1, "1")]


def test_rule_duckdb_rejects_is_listed_and_others_run(tmp_path):
    from sekimori.detect.sigma.passes import run_groups

    (tmp_path / "bad.yml").write_text(
        "title: lookahead\nid: 00000000-0000-0000-0000-000000000020\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n  sel:\n    Image|re: 'a(?!b)'\n  condition: sel\n"
    )
    (tmp_path / "good.yml").write_text(
        "title: good\nid: 00000000-0000-0000-0000-000000000021\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n  sel:\n    Image|endswith: 'a.exe'\n  condition: sel\n"
    )
    rs = compile_rules([tmp_path])
    assert len(rs.rules) == 2  # pySigma accepts the rule; RE2 (DuckDB) has no lookahead
    failures: list = []
    con = _events([{"Image": "x\\a.exe"}])
    matches = run_groups(con, rs.rules, failures=failures)
    assert [rs.rules[i].title for i in matches.column("rule_index").to_pylist()] == ["good"]
    assert [f.title for f in failures] == ["lookahead"] and "DuckDB" in failures[0].reason


# Values enough to be matched as one list (``backend.any_of``): "tok1" is a prefix of listed values
# without being one, so a match of it would be wrong.
LISTED = [f"Tok{i:02d}" for i in range(10, 10 + MANY + 4)]
LIST_RECORDS = [
    {"CommandLine": v, "Image": img}
    for v in [
        "x tok15 y",
        "TOK29 at the start",
        "at the end TOK10",
        "tok1",
        "Tok22",
        "",
        "nothing listed",
        "\U0001f642tok17\nsecond line",
        "tok10tok11",
    ]
    for img in ["C:\\Windows\\cmd.exe", "C:\\Windows\\net.exe"]
] + [{"Image": "C:\\Windows\\cmd.exe"}, {"Image": "C:\\Windows\\net.exe"}]  # no CommandLine


def _compiled(tmp_path, detection: dict[str, object]) -> Ruleset:
    """A process creation rule of ``detection``, compiled (it must compile)."""
    rule = {
        "title": "t",
        "id": "00000000-0000-0000-0000-000000000003",
        "logsource": {"product": "windows", "category": "process_creation"},
        "detection": detection,
    }
    (tmp_path / "r.yml").write_text(yaml.safe_dump(rule))
    rs = compile_rules([tmp_path / "r.yml"])
    assert not rs.failures, rs.failures
    return rs


def _listed(value: object, modifier: str, values: list[str]) -> bool:
    """Sigma's reading, by brute force: case-insensitive, an absent field matches no value."""
    if not isinstance(value, str):
        return False
    v = value.lower()
    tests = {"contains": v.__contains__, "startswith": v.startswith, "endswith": v.endswith}
    return any(tests[modifier](x.lower()) for x in values)


@pytest.mark.parametrize("modifier", ["contains", "startswith", "endswith"])
@pytest.mark.parametrize("condition", ["sel", "not sel", "sel and not f", "f or sel", "not (sel or f)"])
@pytest.mark.parametrize("values", [LISTED, [*LISTED, "tok22\nx"]])  # the second has the separator
def test_many_values_match_as_one_call_each(tmp_path, modifier, condition, values):
    detection = {
        "sel": {f"CommandLine|{modifier}": values},
        "f": {"Image|endswith": "\\cmd.exe"},
        "condition": condition,
    }
    rs = _compiled(tmp_path, detection)
    assert ("string_split" in rs.rules[0].sql) == (SEPARATOR not in "".join(values))
    sysmon = groups(rs.rules)[0]
    got = sorted(
        int(u)
        for _, u in _events(LIST_RECORDS).execute(f"SELECT rule_index, uid FROM ({sysmon.sql()})").fetchall()
    )
    expected = []
    for i, rec in enumerate(LIST_RECORDS):
        sel = _listed(rec.get("CommandLine"), modifier, values)
        f = str(rec["Image"]).lower().endswith("\\cmd.exe")
        truth = {"sel": sel, "not sel": not sel, "sel and not f": sel and not f, "f or sel": f or sel}
        truth["not (sel or f)"] = not (sel or f)
        if truth[condition]:
            expected.append(i)
    assert got == expected


RUN_RECORDS = [
    {"CommandLine": v}
    for v in [
        "abcd",
        "abcde",
        "ab\ncde\nfg",
        "abcde\nfg",
        "ab\nabcdef",
        "ab\r\ncd\r",  # \r is a character to RE2's "."
        "\u00e9\u00e9\u00e9\u00e9",  # four characters, eight bytes
        "e\u0301e\u0301e",  # five code points
        "\U0001f642\U0001f642\U0001f642\U0001f642\U0001f642",
        "",
        "\n\n\n\n\n\n",
    ]
] + [{"Image": "x"}]  # no CommandLine


@pytest.mark.parametrize("pattern", [".{5,}", ".{5}", "(.){5,}", ".{5,7}", ".{1}", ".{4,}"])
@pytest.mark.parametrize("modifier", ["re", "re|s", "re|i|m"])
def test_run_of_characters_as_line_lengths(tmp_path, pattern, modifier):
    rs = _compiled(tmp_path, {"sel": {f"CommandLine|{modifier}": pattern}, "condition": "sel"})
    assert ("regexp_matches" in rs.rules[0].sql) == ("s" in modifier.split("|"))
    sysmon = groups(rs.rules)[0]
    got = sorted(
        int(u)
        for _, u in _events(RUN_RECORDS).execute(f"SELECT rule_index, uid FROM ({sysmon.sql()})").fetchall()
    )
    flags = re.DOTALL if "s" in modifier.split("|") else 0
    expected = [
        i
        for i, rec in enumerate(RUN_RECORDS)
        if "CommandLine" in rec and re.search(pattern, str(rec["CommandLine"]), flags)
    ]
    assert got == expected


def test_unwrapped_conditions_match_as_wrapped(tmp_path):
    """NULL and false alike leave a CASE WHEN: the events matched without the wrapper are those the
    values say (an absent field, a NOT over it)."""
    rules = {
        "sel": {"sel": {"User": "bob"}, "condition": "sel"},
        "not sel": {"sel": {"User": "bob"}, "condition": "not sel"},
        "sel or f": {"sel": {"User": "bob"}, "f": {"Image|endswith": "a.exe"}, "condition": "sel or f"},
    }
    records = [{"User": "bob", "Image": "x"}, {"Image": "a.exe"}, {"User": None, "Image": "y"}, {}]
    expected = {"sel": [0], "not sel": [1, 2, 3], "sel or f": [0, 1]}
    for name, detection in rules.items():
        rs = _compiled(tmp_path, detection)
        sysmon = groups(rs.rules)[0]
        assert "coalesce((" not in sysmon.match_sql("t").split("CASE WHEN ")[1][:10]
        sql = f"SELECT rule_index, uid FROM ({sysmon.sql()})"
        assert sorted(int(u) for _, u in _events(records).execute(sql).fetchall()) == expected[name], name
