"""The LANL 2015 readers on real lines of auth.txt and redteam.txt (see ATTRIBUTION.md)."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.lanl import LOGON_TYPES, LanlAuthReader, LanlRedteamReader
from sekimori.ingest.readers.pgaudit import PgauditReader
from sekimori.ingest.readers.syslog import SyslogReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import Source, expand
from tests.conftest import DATA

LANL = DATA / "lanl"
AUTH = LANL / "auth_head.csv"
SELECTED = LANL / "auth_selected.csv"
REDTEAM = LANL / "redteam_head.txt.gz"
FIELDS = [
    "time",
    "src_user",
    "dst_user",
    "src_computer",
    "dst_computer",
    "auth_type",
    "logon_type",
    "orientation",
    "outcome",
]
EVTX_HEAD = b"ElfFile\x00" + bytes(120)
JSON_HEAD = b'{"EventID": 4624, "Hostname": "WIN-1"}\n' * 3
ZEEK_HEAD = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#path\tconn\n#fields\tts\tuid\n"


def _read(reader, path: Path, plain: bool = False) -> tuple[pa.Table, Quarantine]:
    sources = [Source(str(path), path)] if plain else list(expand(str(path)))
    (src,) = sources
    q = Quarantine(src)
    return pa.Table.from_batches(list(reader.read(src, q)), schema=EVENT_SCHEMA), q


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_auth_head_every_line_an_event_with_the_fields_of_the_line():
    rows = _csv_rows(AUTH)
    table, q = _read(LanlAuthReader(), AUTH)
    assert table.num_rows == len(rows) == 250 and len(q) == 0
    assert table["record_id"].to_pylist() == list(range(1, 251))
    events = table.to_pylist()
    for row, ev in zip(rows, events, strict=True):
        t, src_user, dst_user, src_pc, dst_pc, auth_type, logon_type, _, result = row
        assert ev["time"] == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(t))
        user, _, domain = src_user.rpartition("@")
        assert (ev["principal"], ev["domain"]) == (user, domain)
        assert ev["object"] == dst_user and ev["object_type"] == "USER"
        assert ev["src_host"] == (None if src_pc == "?" else src_pc)
        assert ev["host"] == ev["target_host"] == (None if dst_pc == "?" else dst_pc)
        assert ev["auth_package"] == (None if auth_type == "?" else auth_type)
        assert ev["logon_type"] == LOGON_TYPES.get(logon_type)
        assert ev["outcome"] == {"Success": "success", "Fail": "failure"}[result]
        assert ev["category"] == "authentication" and ev["ocsf_class_uid"] == 3002
        assert ev["ocsf_class_name"] == "Authentication"
        assert orjson.loads(ev["raw"]) == {**dict(zip(FIELDS, row, strict=True)), "time": int(t)}
    first = events[0]  # 1,ANONYMOUS LOGON@C586,ANONYMOUS LOGON@C586,C1250,C586,NTLM,Network,LogOn,Success
    assert first["principal"] == "ANONYMOUS LOGON" and first["domain"] == "C586"
    assert first["logon_type"] == 3 and first["activity"] == "logon" and first["event_code"] == "lanl.logon"
    assert first["channel"] == "auth" and first["provider"] == "lanl"


def test_logon_types_orientations_and_outcomes():
    rows = _csv_rows(SELECTED)
    table, q = _read(LanlAuthReader(), SELECTED)
    assert table.num_rows == len(rows) and len(q) == 0
    seen = {(r[6], ev["logon_type"]) for r, ev in zip(rows, table.to_pylist(), strict=True)}
    assert {
        ("Unlock", 7),
        ("NewCredentials", 9),
        ("NetworkCleartext", 8),
        ("Batch", 4),
        ("Interactive", 2),
    } <= seen
    assert ("?", None) in seen
    activity = {
        (r[7], ev["activity"], ev["event_code"]) for r, ev in zip(rows, table.to_pylist(), strict=True)
    }
    assert activity >= {
        ("TGT", "ticket_request", "lanl.tgt"),
        ("TGS", "service_ticket", "lanl.tgs"),
        ("AuthMap", "auth_map", "lanl.authmap"),
        ("LogOn", "logon", "lanl.logon"),
        ("LogOff", "logoff", "lanl.logoff"),
    }
    fails = sum(1 for r in rows if r[8] == "Fail")
    assert fails and pc.sum(pc.equal(table["outcome"], "failure")).as_py() == fails
    packages = set(table["auth_package"].to_pylist())
    assert "MICROSOFT_AUTHENTICATION_PACKAG" in packages  # truncated in the source: kept as is


def test_epoch_from_env_and_argument(monkeypatch):
    monkeypatch.setenv("SEKIMORI_LANL_EPOCH", "2015-01-01")
    table, _ = _read(LanlAuthReader(), AUTH)
    assert table["time"][0].as_py() == datetime(2015, 1, 1, 0, 0, 1, tzinfo=UTC)
    table, _ = _read(LanlAuthReader(epoch="2020-06-01T00:00:00+02:00"), AUTH)
    assert table["time"][0].as_py() == datetime(2020, 5, 31, 22, 0, 1, tzinfo=UTC)
    monkeypatch.setenv("SEKIMORI_LANL_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="SEKIMORI_LANL_EPOCH"):
        LanlAuthReader()


def test_redteam_labels():
    with gzip.open(REDTEAM, "rt") as fh:
        rows = list(csv.reader(fh))
    table, q = _read(LanlRedteamReader(), REDTEAM)
    assert table.num_rows == len(rows) == 100 and len(q) == 0
    first = table.to_pylist()[0]  # 150885,U620@DOM1,C17693,C1003
    assert first["time"] == datetime(1970, 1, 2, 17, 54, 45, tzinfo=UTC)
    assert (first["principal"], first["domain"]) == ("U620", "DOM1")
    assert (first["src_host"], first["target_host"], first["host"]) == ("C17693", "C1003", "C1003")
    assert first["activity"] == "redteam_label" and first["category"] == "authentication"
    assert first["event_code"] == "lanl.redteam" and first["record_id"] == 1
    assert orjson.loads(first["raw"]) == {
        "time": 150885,
        "user": "U620@DOM1",
        "src_computer": "C17693",
        "dst_computer": "C1003",
    }


def test_json_escaping_of_odd_values(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(
        b'5,we"ird\\@DOM1,U1@DOM1,C1,C2,NTLM,Network,LogOn,Success\n'
        b"6,tab\there@DOM1,U1@DOM1,C1,C\xc3\xa9,Kerberos,Network,LogOn,Success\n"
        b"7,nodomain,U1@,C1,?,?,?,LogOff,Success\n"
    )
    table, q = _read(LanlAuthReader(), path)
    assert len(q) == 0
    raws = [orjson.loads(r) for r in table["raw"].to_pylist()]
    assert raws[0]["src_user"] == 'we"ird\\@DOM1' and raws[1]["src_user"] == "tab\there@DOM1"
    assert raws[1]["dst_computer"] == "Cé"
    assert table["principal"].to_pylist() == ['we"ird\\', "tab\there", "nodomain"]
    assert table["domain"].to_pylist() == ["DOM1", "DOM1", None]
    assert table["host"][2].as_py() is None and table["logon_type"][2].as_py() is None


def test_bad_lines_are_quarantined_with_line_numbers(tmp_path):
    good = AUTH.read_bytes().splitlines(keepends=True)
    lines = [
        b"time,source user@domain,destination user@domain,source computer,destination computer,"
        b"authentication type,logon type,authentication orientation,success/failure\n",  # 1 header
        good[0],  # 2
        b"\n",  # 3 blank: skipped silently
        b"2,too,few\n",  # 4
        b"3,U\xff@DOM1,U1@DOM1,C1,C2,NTLM,Network,LogOn,Success\n",  # 5 not UTF-8
        good[1],  # 6
        b"x5,U1@DOM1,U1@DOM1,C1,C2,NTLM,Network,LogOn,Success\n",  # 7 bad time
        b"6,U1@DOM1,U1@DOM1,C1,C2\x00,NTLM,Network,LogOn,Success\n",  # 8 NUL
        b"7,U1@DOM1,U1@DOM1,C1,C\r2,NTLM,Network,LogOn,Success\n",  # 9 bare CR
        b"99999999999999,U1@DOM1,U1@DOM1,C1,C2,NTLM,Network,LogOn,Success\n",  # 10 time out of range
        b"1,a,b,c,d,e,f,g,h,i,j,k\n",  # 11 too many fields
        good[2].rstrip(b"\n"),  # 12, no final newline
    ]
    path = tmp_path / "bad.csv"
    path.write_bytes(b"".join(lines))
    table, q = _read(LanlAuthReader(), path)
    assert table["record_id"].to_pylist() == [2, 6, 12]
    got = sorted((r.record, r.field) for r in q.records)
    assert got == [
        (1, "time"),
        (4, "columns"),
        (5, "line"),
        (7, "time"),
        (8, "line"),
        (9, "line"),
        (10, "time"),
        (11, "columns"),
    ]
    by_line = {r.record: r for r in q.records}
    assert "header" in by_line[1].reason and by_line[4].reason == "3 fields, expected 9"
    assert by_line[5].offset == sum(len(x) for x in lines[:4]) and "utf-8" in by_line[5].reason


def test_line_numbers_stay_right_across_blocks(tmp_path):
    """Bad lines spread over several pyarrow blocks: later good lines keep their own line numbers."""
    good = AUTH.read_bytes().splitlines(keepends=True)
    out, expected = [], []
    for i in range(40_000):
        if i % 997 == 5:
            out.append(b"broken,line\n")
        else:
            out.append(good[i % len(good)])
            expected.append(i + 1)
    path = tmp_path / "big.csv"
    path.write_bytes(b"".join(out))
    table, q = _read(LanlAuthReader(), path)
    assert table["record_id"].to_pylist() == expected
    assert sorted(r.record for r in q.records) == [i + 1 for i in range(40_000) if i % 997 == 5]


def test_truncated_gzip_keeps_what_came_before(tmp_path):
    blob = gzip.compress(AUTH.read_bytes() * 40)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(blob[: len(blob) // 2])
    table, q = _read(LanlAuthReader(), path)
    assert table.num_rows > 1000
    (broke,) = q.records
    assert "broke off" in broke.reason and broke.record == table["record_id"].to_pylist()[-1] + 1
    assert table["record_id"].to_pylist() == list(range(1, table.num_rows + 1))


# -- sniffing ---------------------------------------------------------------------------------------


def test_sniffing():
    (auth,) = expand(str(AUTH))
    (red,) = expand(str(REDTEAM))
    assert LanlAuthReader.sniff(auth.head(), auth) == 1.0
    assert LanlRedteamReader.sniff(red.head(), red) > 0.5
    assert LanlAuthReader.sniff(red.head(), red) == 0 and LanlRedteamReader.sniff(auth.head(), auth) == 0
    assert detect(auth.head(), auth) is LanlAuthReader
    assert detect(red.head(), red) is LanlRedteamReader
    assert SyslogReader.sniff(auth.head(), auth) == 0 and PgauditReader.sniff(auth.head(), auth) == 0
    heads = [
        EVTX_HEAD,
        JSON_HEAD,
        ZEEK_HEAD,
        (DATA / "syslog" / "loghub-openssh.log").read_bytes()[:4096],
        (DATA / "pgaudit" / "pg15-csvlog.csv").read_bytes()[:4096],
        b"",
    ]
    for head in heads:
        assert LanlAuthReader.sniff(head, auth) == 0
        assert LanlRedteamReader.sniff(head, auth) == 0


# -- property: never raises, every line accounted for -----------------------------------------------

_field = st.text(st.characters(blacklist_characters=",\n\r", blacklist_categories=("Cs",)), max_size=8)
_line = st.one_of(
    st.lists(_field, min_size=1, max_size=12).map(",".join),
    st.tuples(st.integers(0, 10**13), st.lists(_field, min_size=8, max_size=8)).map(
        lambda p: ",".join([str(p[0]), *p[1]])
    ),
)


def _blank(line: bytes) -> bool:
    body = line.rstrip(b"\r")
    return not body.strip() or (set(body) <= {ord(",")} and body.count(b",") == 8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_line, max_size=40))
def test_property_lines(tmp_path, lines):
    path = tmp_path / "p.csv"
    data = "\n".join(lines).encode()
    path.write_bytes(data)
    table, q = _read(LanlAuthReader(), path, plain=True)
    expected = sum(1 for ln in data.split(b"\n") if not _blank(ln))
    assert table.num_rows + len(q) == expected
    assert table["time"].null_count == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_property_random_bytes(tmp_path, data):
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    for reader in (LanlAuthReader(), LanlRedteamReader()):
        table, q = _read(reader, path, plain=True)
        n = len(reader.columns)
        expected = sum(
            1
            for ln in data.removeprefix(b"\xef\xbb\xbf").split(b"\n")  # pyarrow skips a leading BOM
            if ln.rstrip(b"\r").strip()
            and not (set(ln.rstrip(b"\r")) == {ord(",")} and ln.count(b",") == n - 1)
        )
        assert table.num_rows + len(q) == expected
