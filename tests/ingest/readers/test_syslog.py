"""The syslog reader on real lines: loghub OpenSSH/Linux and auth.log written by rsyslog.

See tests/data/ATTRIBUTION.md for where the fixtures come from.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.lanl import LanlAuthReader
from sekimori.ingest.readers.pgaudit import PgauditReader
from sekimori.ingest.readers.syslog import SyslogReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import Source, expand
from tests.conftest import DATA

SYSLOG = DATA / "syslog"
OPENSSH = SYSLOG / "loghub-openssh.log"
LINUX = SYSLOG / "loghub-linux.log"
ISO = SYSLOG / "rsyslog-iso.log"
RFC5424 = SYSLOG / "rsyslog-rfc5424.log"
BSD = SYSLOG / "rsyslog-bsd.log"

# Heads of the other formats sekimori reads: the syslog sniffer must say 0 to all of them.
EVTX_HEAD = b"ElfFile\x00" + bytes(120)
JSON_HEAD = b'{"EventID": 4624, "Hostname": "WIN-1", "TimeCreated": "2020-01-01T00:00:00Z"}\n' * 3
ZEEK_HEAD = (
    b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    b"#fields\tts\tuid\tid.orig_h\n#types\ttime\tstring\taddr\n1521002160.1\tCx\t10.0.0.1\n"
)


class Reader2016(SyslogReader):
    year = 2016


def _read(reader: SyslogReader, path: Path) -> tuple[pa.Table, Quarantine]:
    batches: list[pa.RecordBatch] = []
    quarantines = []
    for src in expand(str(path)):
        q = Quarantine(src)
        batches.extend(reader.read(src, q))
        quarantines.append(q)
    (q,) = quarantines
    return pa.Table.from_batches(batches, schema=EVENT_SCHEMA), q


def _read_plain(reader: SyslogReader, path: Path) -> tuple[pa.Table, Quarantine]:
    """Read a file as plain bytes (no archive detection: random bytes may look like gzip)."""
    src = Source(str(path), path)
    q = Quarantine(src)
    return pa.Table.from_batches(list(reader.read(src, q)), schema=EVENT_SCHEMA), q


def _lines(path: Path) -> list[str]:
    return path.read_bytes().decode().splitlines()


def _rows(table: pa.Table, **equal: object) -> list[dict]:
    mask = None
    for col, value in equal.items():
        m = pc.equal(table[col], value)
        mask = m if mask is None else pc.and_(mask, m)
    return table.filter(mask).to_pylist()


# -- counts against independent counting of the raw lines ------------------------------------------


def test_every_loghub_line_is_an_event_and_sshd_counts_match_grep():
    lines = _lines(OPENSSH)
    table, q = _read(Reader2016(), OPENSSH)
    assert table.num_rows + len(q) == len(lines)
    assert len(q) == 0

    accepted = sum(1 for ln in lines if re.search(r"sshd\[\d+\]: Accepted \S+ for ", ln))
    failed = sum(
        1
        for ln in lines
        if re.search(r"sshd\[\d+\]: (?:message repeated \d+ times: \[ )?Failed \S+ for ", ln)
    )
    codes = table["event_code"].to_pylist()
    assert accepted == 1 and failed > 50
    assert sum(c.startswith("sshd.accepted_") for c in codes) == accepted
    assert sum(c.startswith("sshd.failed_") for c in codes) == failed
    ssh = table.filter(pc.starts_with(table["event_code"], "sshd.accepted_"))
    assert ssh["outcome"].to_pylist() == ["success"] * accepted
    failures = table.filter(pc.starts_with(table["event_code"], "sshd.failed_"))
    assert set(failures["outcome"].to_pylist()) == {"failure"}
    assert set(failures["activity"].to_pylist()) == {"logon"}
    assert failures["src_ip"].null_count == 0 and failures["src_port"].null_count == 0

    invalid = sum(1 for ln in lines if re.search(r"sshd\[\d+\]: Invalid user ", ln))
    assert codes.count("sshd.invalid_user") == invalid
    pam = sum(1 for ln in lines if "pam_unix(sshd:auth): authentication failure;" in ln)
    assert codes.count("pam.auth_failure") == pam


def test_known_openssh_lines():
    table, _ = _read(Reader2016(), OPENSSH)
    rows = table.to_pylist()
    # line 1: Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for ns.… [IP]
    first = rows[0]
    assert first["record_id"] == 1
    assert first["time"] == datetime(2016, 12, 10, 6, 55, 46, tzinfo=UTC)
    assert first["event_code"] == "sshd.reverse_mapping_failed"
    assert first["src_ip"] == "173.234.31.186" and first["src_host"] == "ns.marryaldkfaczcz.com"
    assert first["host"] == "LabSZ" and first["channel"] == first["provider"] == "sshd"
    assert first["process_id"] == 24200 and first["category"] == "network"

    # line 6: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2
    failed = rows[5]
    assert failed["record_id"] == 6
    assert failed["event_code"] == "sshd.failed_password"
    assert failed["category"] == "authentication" and failed["ocsf_class_uid"] == 3002
    assert failed["ocsf_class_name"] == "Authentication"
    assert failed["activity"] == "logon" and failed["outcome"] == "failure"
    assert failed["principal"] == "webmaster" and failed["status"] == "invalid_user"
    assert (failed["src_ip"], failed["src_port"]) == ("173.234.31.186", 38926)
    assert failed["auth_package"] == "password" and failed["target_host"] == "LabSZ"
    raw = orjson.loads(failed["raw"])
    assert raw["line"] == _lines(OPENSSH)[5]
    assert raw["program"] == "sshd" and raw["pid"] == 24200 and raw["year"] == 2016

    # "message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]"
    repeated = [r for r in rows if "message repeated" in orjson.loads(r["raw"])["line"]]
    assert repeated and repeated[0]["event_code"] == "sshd.failed_password"
    assert repeated[0]["principal"] == "root" and orjson.loads(repeated[0]["raw"])["fields"]["repeated"] == 5

    (accepted,) = _rows(table, event_code="sshd.accepted_password")
    assert accepted["principal"] == "fztu" and accepted["activity"] == "logon"
    assert (accepted["src_ip"], accepted["src_port"]) == ("119.137.62.142", 49116)
    assert accepted["time"] == datetime(2016, 12, 10, 9, 32, 20, tzinfo=UTC)
    (opened,) = _rows(table, event_code="pam.session_opened")
    assert opened["principal"] == "fztu" and opened["process_id"] == accepted["process_id"]

    closed = _rows(table, event_code="sshd.received_disconnect")
    assert closed and closed[0]["status"] == "11" and closed[0]["category"] == "network"


def test_old_style_pam_tags_su_and_login_in_linux_messages():
    lines = _lines(LINUX)
    table, q = _read(SyslogReader(year=2005), LINUX)
    assert table.num_rows == len(lines) and len(q) == 0
    first = table.slice(0, 1).to_pylist()[0]
    # Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; … rhost=218.188.2.4
    assert first["event_code"] == "pam.auth_failure" and first["channel"] == "sshd"
    assert first["src_ip"] == "218.188.2.4" and first["principal"] is None
    assert first["auth_package"] == "pam_unix" and first["process_id"] == 19939
    assert first["time"] == datetime(2005, 6, 14, 15, 16, 1, tzinfo=UTC)

    opened = sum(1 for ln in lines if "session opened for user" in ln)
    assert len(_rows(table, event_code="pam.session_opened")) == opened
    su = [r for r in _rows(table, event_code="pam.session_opened") if r["channel"] == "su"]
    assert su and su[0]["principal"] == "cyrus" and su[0]["activity"] == "logon"

    (root,) = _rows(table, event_code="login.root_login")  # "combo  -- root[2421]: ROOT LOGIN ON tty2"
    assert root["principal"] == "root" and root["process_id"] == 2421 and root["outcome"] == "success"
    restart = [r for r in table.to_pylist() if "syslogd 1.4.1: restart" in orjson.loads(r["raw"])["line"]]
    assert restart and restart[0]["channel"] == "syslogd" and restart[0]["event_code"] == "generic"
    assert restart[0]["category"] == "generic"
    klog = _rows(table, event_code="klogind.auth_failed")
    assert len(klog) == sum(1 for ln in lines if "klogind[" in ln and "Authentication failed from" in ln)
    assert klog[0]["src_ip"] == "163.27.187.39"


def test_rsyslog_iso_lines_sudo_su_and_sshd():
    table, q = _read(SyslogReader(), ISO)
    assert table.num_rows == len(_lines(ISO)) and len(q) == 0
    (pw,) = _rows(table, event_code="sshd.accepted_password")
    # 2026-11-24T06:00:35.229051+09:00 lab-web1 sshd[18818]: Accepted password for alice from 127.0.0.1 …
    assert pw["time"] == datetime(2026, 11, 23, 21, 0, 35, 229051, tzinfo=UTC)
    assert pw["principal"] == "alice" and (pw["src_ip"], pw["src_port"]) == ("127.0.0.1", 60868)
    (pk,) = _rows(table, event_code="sshd.accepted_publickey")
    assert pk["auth_package"] == "publickey"
    assert orjson.loads(pk["raw"])["fields"]["info"].startswith("ED25519 SHA256:")

    (invalid,) = _rows(table, event_code="sshd.invalid_user")
    assert invalid["principal"] == "mallory" and invalid["activity"] == "preauth"
    assert invalid["src_port"] == 60880

    cmds = _rows(table, event_code="sudo.command")
    assert [(r["principal"], r["object"], r["command_line"]) for r in cmds] == [
        ("alice", "root", "/usr/bin/ls -la /root"),
        ("alice", "bob", "/usr/bin/id -un"),
    ]
    assert all(r["category"] == "process" and r["ocsf_class_uid"] == 1007 for r in cmds)
    assert cmds[0]["process"] == "/usr/bin/ls" and cmds[0]["object_type"] == "USER"
    bad_pw = _rows(table, event_code="sudo.incorrect_password")
    assert len(bad_pw) == 2 and {r["outcome"] for r in bad_pw} == {"failure"}
    (denied,) = _rows(table, event_code="sudo.not_in_sudoers")
    assert denied["principal"] == "bob" and denied["command_line"] == "/usr/bin/cat /etc/shadow"
    assert denied["outcome"] == "failure"

    (su_failed,) = _rows(table, event_code="su.failed")  # FAILED SU (to root) alice on pts/0
    assert (su_failed["principal"], su_failed["object"]) == ("alice", "root")
    su_ok = [r for r in _rows(table, event_code="su.success") if r["principal"] == "alice"]
    assert su_ok and su_ok[0]["object"] == "bob"  # (to bob) alice on pts/0
    sudo_pam = [r for r in _rows(table, event_code="pam.auth_failure") if r["channel"] == "sudo"]
    assert sudo_pam and sudo_pam[0]["principal"] == "alice"


def test_the_three_rsyslog_formats_give_the_same_events():
    """One session logged three ways: RFC 3339 (+09:00), RFC 5424, and RFC 3164 in local time."""
    iso, _ = _read(SyslogReader(), ISO)
    rfc, _ = _read(SyslogReader(), RFC5424)
    bsd, _ = _read(SyslogReader(year=2026, tz="Asia/Tokyo"), BSD)
    cols = ["event_code", "principal", "object", "command_line", "src_ip", "src_port", "host", "channel"]
    assert iso.select(cols).to_pylist() == rfc.select(cols).to_pylist() == bsd.select(cols).to_pylist()
    assert iso["time"].to_pylist() == rfc["time"].to_pylist()
    assert [t.replace(microsecond=0) for t in iso["time"].to_pylist()] == bsd["time"].to_pylist()
    raw = orjson.loads(rfc["raw"][0].as_py())
    assert raw["format"] == "rfc5424" and raw["facility"] == "auth" and raw["severity"] == "info"


# -- year and time zone ---------------------------------------------------------------------------


def _copy_with_mtime(src: Path, dst: Path, when: datetime) -> Path:
    shutil.copyfile(src, dst)
    os.utime(dst, (when.timestamp(), when.timestamp()))
    return dst


def test_year_comes_from_the_mtime(tmp_path):
    # A December log written to disk in January: the December lines are from the year before.
    jan = _copy_with_mtime(OPENSSH, tmp_path / "a.log", datetime(2017, 1, 15, tzinfo=UTC))
    table, _ = _read(SyslogReader(), jan)
    assert {t.year for t in table["time"].to_pylist()} == {2016}
    dec = _copy_with_mtime(OPENSSH, tmp_path / "b.log", datetime(2017, 12, 31, tzinfo=UTC))
    table, _ = _read(SyslogReader(), dec)
    assert {t.year for t in table["time"].to_pylist()} == {2017}


def test_year_from_env_class_attribute_and_argument(tmp_path, monkeypatch):
    path = _copy_with_mtime(OPENSSH, tmp_path / "a.log", datetime(2017, 1, 15, tzinfo=UTC))
    monkeypatch.setenv("SEKIMORI_SYSLOG_YEAR", "2010")
    assert _read(SyslogReader(), path)[0]["time"][0].as_py().year == 2010
    assert _read(Reader2016(), path)[0]["time"][0].as_py().year == 2016
    assert _read(SyslogReader(year=2012), path)[0]["time"][0].as_py().year == 2012
    monkeypatch.setenv("SEKIMORI_SYSLOG_YEAR", "not-a-year")
    with pytest.raises(ValueError, match="SEKIMORI_SYSLOG_YEAR"):
        SyslogReader()


def test_archive_members_take_the_archive_mtime(tmp_path):
    archive = tmp_path / "logs.tar.gz"
    data = OPENSSH.read_bytes()
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("var/log/auth.log")
        info.size = len(data)
        info.mtime = int(datetime(2030, 12, 31, tzinfo=UTC).timestamp())  # the member's own mtime: ignored
        tf.addfile(info, io.BytesIO(data))
    when = datetime(2019, 2, 1, tzinfo=UTC).timestamp()
    os.utime(archive, (when, when))
    (src,) = expand(str(archive))
    assert src.member == "var/log/auth.log"
    q = Quarantine(src)
    times = pa.Table.from_batches(list(SyslogReader().read(src, q)))["time"].to_pylist()
    assert {t.year for t in times} == {2018}  # December lines, archive written in February 2019

    gz = tmp_path / "auth.log.gz"
    gz.write_bytes(gzip.compress(data))
    os.utime(gz, (datetime(2021, 12, 20, tzinfo=UTC).timestamp(),) * 2)
    table, _ = _read(SyslogReader(), gz)
    assert {t.year for t in table["time"].to_pylist()} == {2021}


def test_year_rolls_over_when_months_go_back(tmp_path):
    text = (
        "Dec 31 23:59:58 h sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2\n"
        "Nov 30 10:00:00 h sshd[1]: a late line from another host: same year\n"
        "Dec 31 23:59:59 h sshd[1]: Connection closed by 10.0.0.1 port 1\n"
        "Jan  1 00:00:01 h sshd[2]: Failed password for b from 10.0.0.2 port 2 ssh2\n"
        "Feb 29 12:00:00 h sshd[2]: 2017 has no 29 February\n"
        "Mar  1 00:00:00 h sshd[2]: still 2017\n"
        "Jan  2 00:00:00 h sshd[2]: two months back: out of order, not a new year\n"
    )
    path = tmp_path / "roll.log"
    path.write_text(text)
    table, q = _read(SyslogReader(year=2016), path)
    years = [(t.year, t.month) for t in table["time"].to_pylist()]
    assert years == [(2016, 12), (2016, 11), (2016, 12), (2017, 1), (2017, 3), (2017, 1)]
    (bad,) = q.records
    assert (bad.record, bad.field) == (5, "timestamp")
    assert bad.offset == len("".join(text.splitlines(keepends=True)[:4]).encode())


def test_time_zone_from_env(tmp_path, monkeypatch):
    path = tmp_path / "a.log"
    path.write_text("Mar  1 09:00:00 h sshd[1]: hello\n2024-03-01T09:00:00 h sshd[1]: no offset\n")
    monkeypatch.setenv("SEKIMORI_SYSLOG_TZ", "Asia/Tokyo")
    table, _ = _read(SyslogReader(year=2024), path)
    assert table["time"].to_pylist() == [datetime(2024, 3, 1, 0, 0, tzinfo=UTC)] * 2
    monkeypatch.setenv("SEKIMORI_SYSLOG_TZ", "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="SEKIMORI_SYSLOG_TZ"):
        SyslogReader()


# -- quarantine -------------------------------------------------------------------------------------


def test_garbage_and_bad_timestamps_are_quarantined_with_line_and_offset(tmp_path):
    good = _lines(OPENSSH)[:3]
    bad = [
        "this is not syslog",
        "Feb 30 12:00:00 host sshd[1]: no such day",
        "Foo  1 12:00:00 host sshd[1]: no such month",
        "<999>Dec 10 06:55:46 LabSZ sshd[1]: priority out of range",
        "2024-13-01T00:00:00Z host x: month 13",
        "<34>1 - host app - - - no time stamp",
        "<34>1 2024-03-01T00:00:00Z host app - - [broken structured data",
    ]
    content = "\n".join([good[0], *bad, good[1], "", good[2]]) + "\n"
    path = tmp_path / "mixed.log"
    path.write_text(content)
    table, q = _read(Reader2016(), path)
    assert table["record_id"].to_pylist() == [1, 9, 11]  # line 10 is blank: neither event nor quarantine
    got = [(r.record, r.field) for r in q.records]
    assert got == [
        (2, "header"),
        (3, "timestamp"),
        (4, "timestamp"),
        (5, "header"),
        (6, "timestamp"),
        (7, "timestamp"),
        (8, "header"),
    ]
    starts = [0]
    for line in content.encode().splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    assert [r.offset for r in q.records] == starts[1:8]
    assert all(r.reason and r.excerpt for r in q.records)


def test_invalid_utf8_and_truncated_gzip(tmp_path):
    lines = OPENSSH.read_bytes().splitlines(keepends=True)
    data = b"".join(lines[:4]) + b"Dec 10 07:00:00 LabSZ sshd[1]: caf\xe9 \xff\n" + b"".join(lines[4:])
    path = tmp_path / "latin1.log"
    path.write_bytes(data)
    table, q = _read(Reader2016(), path)
    (bad,) = q.records
    assert bad.record == 5 and "utf-8" in bad.reason
    assert table.num_rows == len(lines)

    blob = gzip.compress(OPENSSH.read_bytes() * 20)
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(blob[: len(blob) // 2])
    table, q = _read(Reader2016(), cut)
    assert table.num_rows > 100
    assert len(q) == 1 and "broke off" in q.records[0].reason
    assert q.records[0].record == table["record_id"].to_pylist()[-1] + 1


# -- sniffing ---------------------------------------------------------------------------------------


def _source(path: Path) -> Source:
    (src,) = expand(str(path))
    return src


@pytest.mark.parametrize("path", [OPENSSH, LINUX, ISO, RFC5424, BSD])
def test_sniff_recognises_every_fixture(path):
    src = _source(path)
    assert SyslogReader.sniff(src.head(), src) >= 0.9
    assert detect(src.head(), src) is SyslogReader


@pytest.mark.parametrize(
    "head",
    [
        EVTX_HEAD,
        JSON_HEAD,
        ZEEK_HEAD,
        (DATA / "lanl" / "auth_head.csv").read_bytes()[:4096],
        (DATA / "pgaudit" / "pg15-csvlog.csv").read_bytes()[:4096],
        (DATA / "pgaudit" / "pg15-stderr.log").read_bytes()[:4096],
        b"",
    ],
)
def test_sniff_says_no_to_other_formats(head):
    assert SyslogReader.sniff(head, _source(OPENSSH)) == 0


def test_other_readers_do_not_claim_syslog():
    src = _source(OPENSSH)
    assert LanlAuthReader.sniff(src.head(), src) == 0
    assert PgauditReader.sniff(src.head(), src) == 0


# -- property: never raises, every line accounted for -----------------------------------------------

_header = st.sampled_from(
    [
        "Dec 10 06:55:46 LabSZ ",
        "Jan  1 00:00:00 h ",
        "2024-03-01T12:00:00.5+09:00 h ",
        "<38>1 2024-03-01T00:00:00Z h ",
        "",
    ]
)
_body = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=80)
_tag = st.sampled_from(["sshd[1]: ", "sudo: ", "su[2]: ", "sshd(pam_unix)[3]: ", "kernel: ", "", "x y: "])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_header, _tag, _body), max_size=30))
@example(parts=[("", "", "\x1f")])  # a lone unit separator is garbage (quarantined), not a blank line
def test_property_syslog_like_lines(tmp_path, parts):
    lines = [h + t + b for h, t, b in parts]
    path = tmp_path / "p.log"
    path.write_bytes("\n".join(lines).encode())
    table, q = _read_plain(SyslogReader(year=2020), path)
    # Blank means ASCII whitespace only, as in the reader: str.strip() would also drop the
    # separators \x1c-\x1f, which are garbage to quarantine, not blank lines.
    nonblank = sum(1 for ln in lines if ln.encode().strip())
    assert table.num_rows + len(q) == nonblank
    assert table["time"].null_count == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=600))
def test_property_random_bytes(tmp_path, data):
    path = tmp_path / "r.log"
    path.write_bytes(data)
    table, q = _read_plain(SyslogReader(year=2020), path)
    nonblank = sum(1 for ln in data.split(b"\n") if ln.rstrip(b"\r\n").strip())
    assert table.num_rows + len(q) == nonblank
