"""A generic-category rule on the built-in Windows audit events, as pySigma's Windows audit pipeline reads it.

Expectations are read off pySigma-pipeline-windows (``windows_audit_pipeline``: 4688 and 4657, their
field names) and the Windows event documentation (4657's OperationType %%1904/%%1905), and checked on
evtx-shaped records against pySigma's SQLite backend where the two readings are the same.
"""

from __future__ import annotations

import textwrap

import duckdb
import orjson

from sekimori.detect.sigma.engine import groups
from sekimori.detect.sigma.passes import run_groups
from sekimori.detect.sigma.reference import build_sqlite, reference_matches
from sekimori.detect.sigma.rules import compile_rules
from sekimori.detect.sigma.ruleset import Ruleset

SECURITY_4688 = (("Channel", ("Security",)), ("EventID", ("4688",)))
SECURITY_4657 = (("Channel", ("Security",)), ("EventID", ("4657",)))


def _rule(tmp_path, category: str, detection: str, name: str = "r.yml") -> str:
    path = tmp_path / name
    path.write_text(
        textwrap.dedent(
            f"""\
            title: t
            id: 00000000-0000-0000-0000-0000000000{len(name):02d}
            logsource:
                product: windows
                category: {category}
            detection:
            """
        )
        + textwrap.indent(textwrap.dedent(detection), "    ")
    )
    return str(path)


def _store(records: list[tuple[str, int, dict[str, object]]]) -> duckdb.DuckDBPyConnection:
    """``events`` of evtx-shaped records: (channel, event id, EventData)."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE events (uid VARCHAR, time TIMESTAMPTZ, source_file VARCHAR, record_id BIGINT, "
        "host VARCHAR, principal VARCHAR, domain VARCHAR, source_format VARCHAR, raw VARCHAR, "
        "channel VARCHAR, provider VARCHAR, event_code VARCHAR)"
    )
    for i, (channel, event_id, data) in enumerate(records):
        raw = {"Event": {"System": {"EventID": event_id, "Channel": channel}, "EventData": data}}
        con.execute(
            "INSERT INTO events VALUES (?, TIMESTAMPTZ '2024-01-01 00:00:00+00', 'f.evtx', ?, 'ws1', NULL, "
            "NULL, 'evtx', ?, ?, 'p', ?)",
            [str(i), i, orjson.dumps(raw).decode(), channel, str(event_id)],
        )
    return con


def _uids(con: duckdb.DuckDBPyConnection, path: str) -> list[str]:
    rs = compile_rules([path])
    assert not rs.failures, rs.failures
    return _run(con, rs)


def _run(con: duckdb.DuckDBPyConnection, rs: Ruleset) -> list[str]:
    return sorted(run_groups(con, rs.rules, threads=1).column("uid").to_pylist())


def _reference(con: duckdb.DuckDBPyConnection, path: str) -> list[str]:
    rows = con.execute("SELECT uid, raw FROM events ORDER BY uid").fetchall()
    return sorted(uid for _, uid in reference_matches(build_sqlite(rows), [path]).matches)


SYSMON = "Microsoft-Windows-Sysmon/Operational"
CMD, SQL = "C:\\Windows\\System32\\cmd.exe", "C:\\x\\sqlservr.exe"
PROCESSES = [
    (SYSMON, 1, {"Image": CMD, "ParentImage": SQL, "CommandLine": "cmd /c whoami"}),
    ("Security", 4688, {"NewProcessName": CMD, "ParentProcessName": SQL, "SubjectLogonId": "0x3e7"}),
    ("Security", 4688, {"NewProcessName": CMD, "ParentProcessName": "C:\\Windows\\explorer.exe"}),
    # the Sysmon names in a 4688 record are not 4688's: not read there
    ("Security", 4688, {"Image": CMD, "ParentImage": SQL}),
    ("Security", 4624, {"NewProcessName": CMD, "ParentProcessName": SQL}),
]


def test_process_creation_runs_on_sysmon_1_and_security_4688(tmp_path):
    path = _rule(
        tmp_path,
        "process_creation",
        "sel:\n    Image|endswith: '\\cmd.exe'\n    ParentImage|endswith: '\\sqlservr.exe'\ncondition: sel\n",
    )
    rs = compile_rules([path])
    (rule,) = rs.rules
    (audit,) = rule.variants
    assert audit.filter == SECURITY_4688 and audit.index == rule.index and audit.id == rule.id
    assert audit.fields == {"NewProcessName", "ParentProcessName"}
    assert [g.filter for g in groups(rs.rules)][1] == SECURITY_4688
    con = _store(PROCESSES)
    assert _run(con, rs) == ["0", "1"] == _reference(con, path)


def test_logon_id_and_user_on_4688(tmp_path):
    """LogonId → SubjectLogonId; User has no 4688 name, so a ``not`` on it holds there."""
    path = _rule(
        tmp_path,
        "process_creation",
        "sel:\n    Image|endswith: '\\cmd.exe'\nf1:\n    LogonId: '0x3e7'\nf2:\n    User|contains: AUTHORI\n"
        "condition: sel and not 1 of f*\n",
    )
    con = _store(PROCESSES)
    assert _uids(con, path) == ["0", "2"] == _reference(con, path)


RUN, EXE = "\\REGISTRY\\MACHINE\\SOFTWARE\\Run", "C:\\a.exe"
MODIFIED = "Existing registry value modified"


def _4657(operation: str, **data: str) -> tuple[str, int, dict[str, object]]:
    return ("Security", 4657, {"OperationType": operation, "ObjectName": RUN, "ProcessName": EXE, **data})


REGISTRY = [
    (
        SYSMON,
        13,
        {
            "EventType": "SetValue",
            "TargetObject": "HKLM\\SOFTWARE\\Run\\x",
            "Details": "evil.exe",
            "Image": EXE,
        },
    ),
    _4657("%%1905", NewValue="evil.exe"),
    _4657(MODIFIED, NewValue="evil.exe"),
    _4657("%%1904", NewValue="evil.exe"),
    _4657("%%1906", OldValue="evil.exe"),
]


def test_registry_set_runs_on_4657_modified_values(tmp_path):
    """registry_set → 4657 with OperationType "Existing registry value modified" (%%1905 in the raw
    record); TargetObject → ObjectName, Image → ProcessName, Details → NewValue."""
    path = _rule(
        tmp_path,
        "registry_set",
        "sel:\n    TargetObject|contains: '\\SOFTWARE\\Run'\n    Details|contains: evil\n"
        "    Image|endswith: '\\a.exe'\ncondition: sel\n",
    )
    rs = compile_rules([path])
    (audit,) = rs.rules[0].variants
    assert audit.filter == SECURITY_4657
    assert audit.fields == {"OperationType", "ObjectName", "NewValue", "ProcessName"}
    con = _store(REGISTRY)
    assert _run(con, rs) == ["0", "1", "2"]
    # pySigma's pipeline knows the rendered text only: the raw %%1905 record (1) is the difference.
    assert _reference(con, path) == ["0", "2"]


def test_registry_event_takes_created_and_modified(tmp_path):
    path = _rule(
        tmp_path, "registry_event", "sel:\n    TargetObject|contains: '\\SOFTWARE\\Run'\ncondition: sel\n"
    )
    con = _store(REGISTRY)
    assert _uids(con, path) == ["0", "1", "2", "3"]


def test_registry_rule_on_fields_4657_lacks_has_no_audit_reading(tmp_path):
    path = _rule(
        tmp_path, "registry_set", "sel:\n    EventType: SetValue\n    Details: evil.exe\ncondition: sel\n"
    )
    rs = compile_rules([path])
    (rule,) = rs.rules
    assert rule.variants == [] and not rs.failures
    (why,) = rs.variant_failures
    assert why.id == rule.id and "EventType" in why.reason and "4657" in why.reason
    assert _run(_store(REGISTRY), rs) == ["0"]  # still on Sysmon 13


def test_other_log_sources_have_no_audit_reading(tmp_path):
    for category in ("network_connection", "file_event", "dns_query", "image_load"):
        path = _rule(
            tmp_path, category, "sel:\n    Image|endswith: '\\a.exe'\ncondition: sel\n", f"{category}.yml"
        )
        (rule,) = compile_rules([path]).rules
        assert rule.variants == []
    (tmp_path / "s.yml").write_text(
        "title: t\nid: 00000000-0000-0000-0000-000000000099\n"
        "logsource: {product: windows, service: security}\n"
        "detection:\n  sel:\n    EventID: 4688\n    Image|endswith: '\\a.exe'\n  condition: sel\n"
    )
    (rule,) = compile_rules([tmp_path / "s.yml"]).rules
    assert rule.variants == [] and rule.fields == {"EventID", "Image"}  # written for Security: as is


def test_repeated_data_values(tmp_path):
    """Unnamed <Data> elements (evtx crate: {"#text": [...]}) read as their values, space-separated."""
    path = tmp_path / "msi.yml"
    path.write_text(
        "title: t\nid: 00000000-0000-0000-0000-000000000098\n"
        "logsource: {product: windows, service: application}\n"
        "detection:\n  sel:\n    Data|contains: '\\\\\\\\'\n"
        "  other:\n    Data|contains|all: ['a.msi 2128', 'x']\n"
        "  condition: sel or other\n"
    )
    records = [
        ("Application", 1040, {"Data": {"#text": ["C:\\Program Files\\a.msi", "2128", "x"]}}),
        ("Application", 1040, {"Data": {"#text": ["\\\\server\\share\\b.msi", "2128"]}}),
        ("Application", 1040, {"Data": "C:\\a.msi"}),
    ]
    con = _store(records)
    assert _uids(con, str(path)) == ["0", "1"] == _reference(con, str(path))
