"""The auditd reader on the small fixtures: mapping by hand, sniffing, quarantine, batching."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.auditd import AuditdReader
from sekimori.ingest.source import expand
from tests.conftest import DATA, SHARED_DATA, read_all

UBUNTU = DATA / "auditd" / "ubuntu-16.10-linux-4.8.0.log"
ENRICHED = DATA / "auditd" / "enriched-node-ubuntu-21.10.log"
NORMAL = DATA / "auditd" / "normal.log"


def _by_line(path: Path) -> dict[int, dict]:
    table, _ = read_all(AuditdReader, path)
    return {row["record_id"]: row for row in table.to_pylist()}


def _at(epoch: str) -> datetime:
    sec, ms = epoch.split(".")
    return datetime.fromtimestamp(int(sec), UTC).replace(microsecond=int(ms) * 1000)


def test_user_login_failed_and_session_start_by_hand():
    rows = _by_line(UBUNTU)
    # line 32: USER_LOGIN … acct=28696E76616C6964207573657229 ("(invalid user)")
    # addr=179.38.151.221 res=failed
    failed = rows[32]
    assert (failed["category"], failed["activity"], failed["ocsf_class_uid"]) == (
        "authentication",
        "logon",
        3002,
    )
    assert failed["ocsf_class_name"] == "Authentication"
    assert (failed["principal"], failed["src_ip"], failed["outcome"]) == (None, "179.38.151.221", "failure")
    assert (failed["process"], failed["process_id"], failed["event_code"]) == (
        "/usr/sbin/sshd",
        12635,
        "USER_LOGIN",
    )
    assert failed["time"] == _at("1492896301.818")
    assert failed["tenant"] is None and failed["mfa_used"] is None and failed["application"] is None
    assert json.loads(failed["raw"])["USER_LOGIN"]["acct"] == "(invalid user)"
    # line 24: USER_START acct="andrew_kroh" addr=72.83.230.100 ses=11 res=success
    start = rows[24]
    assert (start["principal"], start["src_ip"], start["outcome"], start["logon_id"]) == (
        "andrew_kroh", "72.83.230.100", "success", "11"
    )  # fmt: skip
    assert (start["activity"], start["action"], start["auth_package"]) == (
        "session_start",
        "PAM:session_open",
        "pam",
    )
    # line 33: USER_LOGIN with id=1001 and no acct
    assert (rows[33]["principal"], rows[33]["src_ip"], rows[33]["outcome"]) == (
        "1001",
        "72.83.230.100",
        "success",
    )


def test_execve_event_by_hand():
    row = _by_line(UBUNTU)[5]  # SYSCALL(59)+EXECVE(a0="uname" a1="-a")+CWD+PATH×2+PROCTITLE+EOE
    assert (row["category"], row["activity"], row["ocsf_class_uid"]) == ("process", "process_start", 1007)
    assert (row["process"], row["command_line"], row["process_id"]) == ("/bin/uname", "uname -a", 10043)
    assert (row["principal"], row["logon_id"], row["outcome"], row["status"]) == (
        "1001",
        "11",
        "success",
        "0",
    )
    raw = json.loads(row["raw"])
    assert raw["SYSCALL"]["ppid"] == "10027" and raw["CWD"]["cwd"] == "/home/andrew_kroh"
    assert [p["name"] for p in raw["PATH"]] == ["/bin/uname", "/lib64/ld-linux-x86-64.so.2"]
    assert raw["SYSCALL"]["key"] == "key=user_commands" and raw["stamp"] == "1492752522.985:8972"
    assert "EOE" not in raw


def test_connect_and_accept_by_hand():
    rows = _by_line(UBUNTU)
    # line 20: connect (42), success=no exit=-115, saddr 02000050 A9FEA9FE → 169.254.169.254:80
    conn = rows[20]
    assert (conn["category"], conn["activity"], conn["ocsf_class_uid"]) == ("network", "connect", 4001)
    assert (conn["target_ip"], conn["target_port"], conn["src_ip"]) == ("169.254.169.254", 80, None)
    assert (conn["outcome"], conn["status"], conn["process"]) == ("failure", "-115", "/usr/bin/python3.5")
    # line 16: accept (43), saddr 0200 E31C 4853E664 → peer 72.83.230.100:58140
    acc = rows[16]
    assert (acc["activity"], acc["src_ip"], acc["src_port"], acc["target_ip"]) == (
        "accept",
        "72.83.230.100",
        58140,
        None,
    )
    assert acc["principal"] == "0"  # auid unset: the uid


def test_generic_types_by_hand():
    rows = _by_line(UBUNTU)
    prom = rows[1]  # ANOM_PROMISCUOUS dev=ens4 + SYSCALL ioctl(16) + PROCTITLE "ifconfig ens4 -promisc"
    assert (prom["category"], prom["event_code"], prom["ocsf_class_uid"]) == (
        "generic",
        "ANOM_PROMISCUOUS",
        0,
    )
    assert (prom["object"], prom["action"], prom["command_line"]) == (
        "ens4",
        "ioctl",
        "ifconfig ens4 -promisc",
    )
    rule = rows[31]  # CONFIG_CHANGE auid=1001 ses=67 op="remove_rule" key="key=container-create" list=4 res=1
    assert (rule["event_code"], rule["principal"], rule["action"], rule["outcome"]) == (
        "CONFIG_CHANGE", "1001", "remove_rule", "success"
    )  # fmt: skip
    assert rows[26]["object"] == "rsyslog" and rows[26]["event_code"] == "SERVICE_START"


def test_enriched_log_with_node_prefix():
    rows = _by_line(ENRICHED)
    assert sorted(rows) == [1, 4, 7]
    freq = rows[4]  # TIME_ADJNTPVAL op=freq; SYSCALL uid=112 … UID="_chrony", auid unset; node=ubuntu2110
    assert (freq["principal"], freq["host"], freq["action"], freq["event_code"]) == (
        "_chrony", "ubuntu2110", "freq", "TIME_ADJNTPVAL"
    )  # fmt: skip
    raw = json.loads(freq["raw"])
    assert (
        raw["node"] == "ubuntu2110" and raw["SYSCALL"]["uid"] == "112" and raw["SYSCALL"]["ARCH"] == "x86_64"
    )
    assert raw["SYSCALL"]["SYSCALL"] == "clock_adjtime"
    tick = json.loads(rows[7]["raw"])["TIME_ADJNTPVAL"]  # two records of one type → a list
    assert [r["op"] for r in tick] == ["freq", "tick"]


def test_corrupt_records_quarantined_and_reading_goes_on(tmp_path):
    lines = UBUNTU.read_text().splitlines()
    lines[5] = lines[5][:40]  # the EXECVE record cut inside its stamp
    lines.insert(10, "type=SYSCALL garbage")
    lines.insert(11, '{"SourceSystem": "Linux", "Computer": "x"}')
    path = tmp_path / "audit.log"
    path.write_text("\n".join(lines) + "\n")
    table, (q,) = read_all(AuditdReader, path)
    assert [(r.record, r.field) for r in q.records] == [(6, "msg"), (11, "msg"), (12, "SyslogMessage")]
    assert all(r.reason for r in q.records)
    assert table.num_rows == 14  # the cut record's event lives on without its EXECVE record
    uname = {row["record_id"]: row for row in table.to_pylist()}[5]
    assert (uname["category"], uname["command_line"]) == ("process", None)


def test_ausearch_output_with_separators(tmp_path):
    records = NORMAL.read_text().splitlines()
    # `ausearch -if audit.log` prints each event's records after "----" and a local "time->" line
    out = ["----", "time->Wed Apr 12 22:48:09 2017", *records[:2], "----", "time->Wed Apr 12 22:48:11 2017"]
    out += records[2:7]
    path = tmp_path / "ausearch.txt"
    path.write_text("\n".join(out) + "\n")
    (src,) = expand(str(path))
    assert detect(src.head(), src) is AuditdReader
    table, (q,) = read_all(AuditdReader, path)
    assert len(q) == 0
    assert table["record_id"].to_pylist() == [3, 7]
    assert table["command_line"].to_pylist() == [None, "grep --color=auto mapping"]


def test_many_events_stream_out_in_batches(tmp_path):
    path = tmp_path / "big.log"
    with path.open("w") as fh:
        for serial in range(1, 3001):
            stamp = f"msg=audit(1500000000.{serial % 1000:03d}:{serial}):"
            fh.write(
                f"type=SYSCALL {stamp} arch=c000003e syscall=59 success=yes exit=0 pid={serial} "
                'auid=1000 uid=1000 ses=3 comm="x" exe="/bin/x"\n'
            )
            fh.write(f'type=EXECVE {stamp} argc=2 a0="x" a1="{serial}"\n')
            fh.write(f"type=EOE {stamp}\n")
    (src,) = expand(str(path))
    reader = AuditdReader()
    reader.batch_size = 1000
    batches = list(reader.read(src, Quarantine(src)))
    assert [b.num_rows for b in batches] == [1000, 1000, 1000]
    assert batches[2].column("command_line")[999].as_py() == "x 3000"


# -- sniffing ---------------------------------------------------------------------------------------


def _auditd_files() -> list[Path]:
    here = sorted((DATA / "auditd").glob("*.log"))
    shared = SHARED_DATA / "identity-cloud" / "auditd"
    if shared.exists():
        here += sorted(shared.glob("go-libaudit/*.log")) + sorted(shared.glob("otrf-Log4Shell/*.zip"))
    return here


@pytest.mark.parametrize("path", _auditd_files(), ids=lambda p: p.name)
def test_detect_picks_auditd_for_its_files(path):
    for src in expand(str(path)):
        assert detect(src.head(), src) is AuditdReader


def _other_files() -> list[Path]:
    files = [p for p in sorted(DATA.rglob("*")) if p.is_file() and "auditd" not in p.parts]
    files = [p for p in files if p.suffix not in (".md", ".sql", ".yml", ".yaml")]
    shared = SHARED_DATA / "identity-cloud"
    if shared.exists():
        files += sorted(shared.glob("*/*.jsonl")) + sorted(shared.glob("entra-signin/*/*.Zip"))
    return files


@pytest.mark.parametrize("path", _other_files(), ids=lambda p: str(p.relative_to(p.parents[1])))
def test_sniff_says_no_to_other_formats(path):
    for src in expand(str(path)):
        assert AuditdReader.sniff(src.head(), src) == 0


def _peak_reading(path: Path) -> int:
    (src,) = expand(str(path))
    reader = AuditdReader()
    reader.batch_size = 500
    reader.window = 16  # both files fill the window; what is left to grow is what leaks
    tracemalloc.start()
    try:
        rows = sum(b.num_rows for b in reader.read(src, Quarantine(src)))
        return tracemalloc.get_traced_memory()[1] if rows else 0
    finally:
        tracemalloc.stop()


def test_memory_flat_in_file_size(tmp_path):
    records = UBUNTU.read_text().splitlines()  # 14 events, no EOE on some: they wait in the window
    peaks = []
    for copies in (100, 400):
        path = tmp_path / f"x{copies}.log"
        with path.open("w") as fh:
            for n in range(copies):
                for line in records:
                    fh.write(line.replace("):", f"{n:04d}):", 1) + "\n")  # a new serial per copy
        peaks.append(_peak_reading(path))
    assert peaks[1] < 1.5 * peaks[0]
