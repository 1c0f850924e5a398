"""The Zeek reader on real logs: WRCCDC 2018 traffic through Zeek 6.2, TSV and JSON (see ATTRIBUTION.md).

The fixtures in ``tests/data/zeek`` hold the same records in both forms (``<log>.log`` is Zeek's default
TSV with its header block, ``<log>.json`` the json-streaming-logs output), so the two forms must give the
same events. The corpus has no conn.log; conn is tested on a synthetic block with Zeek's conn header.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.zeek import ZeekReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import expand
from sekimori.ingest.zeek.fields import infer_path
from sekimori.ingest.zeek.normalize import NORMALIZER_INPUTS, NORMALIZERS
from tests.conftest import DATA

ZEEK = DATA / "zeek"
LOGS = (
    "kerberos",
    "ntlm",
    "rdp",
    "smb_mapping",
    "smb_files",
    "ssh",
    "dns",
    "dce_rpc",
    "analyzer",
    "known_services",
)

# Columns that must agree between the TSV and the JSON form of a record (record_id is the line number,
# which differs: the TSV file has a header).
KEY_COLUMNS = (
    "time",
    "channel",
    "provider",
    "event_code",
    "category",
    "activity",
    "ocsf_class_uid",
    "ocsf_class_name",
    "host",
    "principal",
    "domain",
    "auth_package",
    "outcome",
    "status",
    "src_host",
    "src_ip",
    "src_port",
    "target_host",
    "target_ip",
    "target_port",
    "protocol",
    "object",
    "object_type",
    "action",
)


class VectorReader(ZeekReader):
    """Every TSV chunk through the vectorised path."""

    vector_min_rows = 1


class RowReader(ZeekReader):
    """Every TSV line through the row path (the reference)."""

    vector_min_rows = 1 << 60


MODES = {"vector": VectorReader, "rows": RowReader}


def read(path: Path | str, reader: type[ZeekReader] = ZeekReader) -> tuple[pa.Table, Quarantine]:
    (source,) = expand(str(path))
    quarantine = Quarantine(source)
    batches = list(reader().read(source, quarantine))
    for batch in batches:
        assert batch.schema == EVENT_SCHEMA
    return pa.Table.from_batches(batches, schema=EVENT_SCHEMA), quarantine


def rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def data_lines(path: Path) -> list[int]:
    """Line numbers (from 1) of the lines that are neither headers nor blank."""
    lines = path.read_bytes().split(b"\n")
    return [i for i, line in enumerate(lines, 1) if line.strip() and not line.startswith(b"#")]


def offsets(path: Path) -> list[int]:
    """Byte offset of each line (index 0 = line 1)."""
    result, pos = [], 0
    for line in path.read_bytes().split(b"\n"):
        result.append(pos)
        pos += len(line) + 1
    return result


def quarantined(q: Quarantine) -> list[tuple[int | None, str | None, str]]:
    return [(r.record, r.field, r.reason) for r in q.records]


def by_uid_and_time(table: pa.Table) -> dict[tuple[str, Any], dict[str, Any]]:
    out = {}
    for row in rows(table):
        raw = orjson.loads(row["raw"])
        key = (raw.get("uid") or raw.get("host") or raw.get("name"), row["time"])
        assert key not in out, key
        out[key] = row
    return out


def raw_values(raw: str) -> dict[str, Any]:
    """A record's fields without writer metadata (``_path``, ``_write_ts``) and unset values."""
    return {k: v for k, v in orjson.loads(raw).items() if not k.startswith("_") and v is not None}


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        # TSV prints doubles with six decimals; JSON keeps all digits.
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, abs_tol=1e-6)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def at(table: pa.Table, uid: str) -> dict[str, Any]:
    """The first record of a connection."""
    return next(r for r in rows(table) if orjson.loads(r["raw"]).get("uid") == uid)


# --------------------------------------------------------------------------------------------------
# Counts, and the two forms agree
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("log", LOGS)
def test_one_event_per_data_line(log: str, mode: str) -> None:
    for path in (ZEEK / f"{log}.log", ZEEK / f"{log}.json"):
        table, q = read(path, MODES[mode])
        assert len(q) == 0, quarantined(q)
        assert table["record_id"].to_pylist() == data_lines(path)
        assert set(table["channel"].to_pylist()) == {log}
        assert set(table["provider"].to_pylist()) == {"zeek"}
        assert table["event_code"].to_pylist() == table["channel"].to_pylist()
        assert table["time"].null_count == 0


@pytest.mark.parametrize("log", LOGS)
def test_tsv_and_json_give_the_same_events(log: str) -> None:
    tsv, _ = read(ZEEK / f"{log}.log")
    js, _ = read(ZEEK / f"{log}.json")
    a, b = by_uid_and_time(tsv), by_uid_and_time(js)
    assert a.keys() == b.keys() and len(a) == tsv.num_rows
    for key, row in a.items():
        other = b[key]
        assert {c: row[c] for c in KEY_COLUMNS} == {c: other[c] for c in KEY_COLUMNS}, key
        left, right = raw_values(row["raw"]), raw_values(other["raw"])
        if log == "known_services" and right.get("service") == [""]:
            # Zeek's TSV writes a set holding one empty string as "(empty)", like an empty set: the TSV
            # form cannot tell them apart.
            right["service"] = []
        assert left.keys() == right.keys(), key
        assert all(same_value(left[k], right[k]) for k in left), key


@pytest.mark.parametrize("log", LOGS)
def test_vectorised_and_row_paths_agree(log: str) -> None:
    vector, qv = read(ZEEK / f"{log}.log", VectorReader)
    row, qr = read(ZEEK / f"{log}.log", RowReader)
    assert quarantined(qv) == quarantined(qr)
    for column in EVENT_SCHEMA.names:
        left, right = vector[column].to_pylist(), row[column].to_pylist()
        if column == "raw":  # doubles may be printed differently (1e-05 / 0.00001), the values are equal
            left, right = [orjson.loads(x) for x in left], [orjson.loads(x) for x in right]
        assert left == right, column


class CountingVectorReader(VectorReader):
    """The vectorised path, counting the lines it hands to the row path."""

    def read(self, source: Any, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        self.row_lines = 0
        return super().read(source, quarantine)

    def _tsv_line(self, *args: Any) -> None:
        self.row_lines += 1
        super()._tsv_line(*args)


def test_escaped_lines_take_the_vectorised_path(tmp_path: Path) -> None:
    # Lines with Zeek's escapes go the vectorised way: strings and set elements unescaped as the row
    # path does, doubles written as orjson writes them (Arrow writes 1e+14 for 100000000000000.0),
    # byte for byte. An escape in an address or a number sends the line to the row path.
    lines = (ZEEK / "dns.log").read_text().split("\n")
    header, data = lines[:8], [line for line in lines[8:] if line and not line.startswith("#")]
    escapes = ["\\x41", "\\\\", "\\xff", "\\x0a", "\\x22", "\\xe2\\x82\\xac", "\\x09", "\\x2c"]
    escapes += ["\\x7f", "\\x2d"]
    body = []
    for i, line in enumerate(data):
        f = line.split("\t")
        f[9] = f[9] + escapes[i % len(escapes)]  # query: string
        f[21] = escapes[(i + 3) % len(escapes)] + "," + f[21]  # answers: vector[string]
        f[8] = ["100000000000000.000000", "123456789012345.000000", "0.000010", f[8]][i % 4]  # rtt
        f[22] = "100000000000000.000000," + f[22] if i % 3 else f[22]  # TTLs: vector[interval]
        body.append("\t".join(f))
    body[5] = body[5].replace("\t10.47.1.100\t", "\t10.47.1.10\\x30\t", 1)  # an escaped address
    body[6] = body[6].replace("\t53\t", "\t5\\x33\t", 1)  # an escaped port
    path = write(tmp_path, "dns.log", "\n".join(header + body) + "\n")
    (source,) = expand(str(path))
    reader = CountingVectorReader()
    batches = list(reader.read(source, Quarantine(source)))
    vector = pa.Table.from_batches(batches, schema=EVENT_SCHEMA)
    row, qr = read(path, RowReader)
    assert reader.row_lines == 2 and quarantined(qr) == [(15, "id.resp_p", "bad port '5\\\\x33'")]
    assert vector.equals(row)
    first = orjson.loads(vector["raw"][0].as_py())
    assert first["query"] == "ise.wrccdc.orgA" and first["rtt"] == 1e14 and first["answers"][0] == "\n"
    assert orjson.loads(vector["raw"][4].as_py())["query"] == 'ise.wrccdc.org"'


def test_time_and_count_forms_in_a_vectorised_chunk(tmp_path: Path) -> None:
    # Zeek's own time form (seconds, a dot, six digits) is read without the regular expressions; any
    # other form in the chunk takes the general way; both agree with the row path.
    lines = (ZEEK / "dns.log").read_text().split("\n")
    header, data = lines[:8], [line for line in lines[8:] if line and not line.startswith("#")]
    times = ["1521911720", "1521911720.5", "01521911720.865716", "-", "1521911720.8657161", "(empty)"]
    times += ["253402300799.999999", "253402300800.000000", "1.5e9", "1521911720.", ".865716", "+1.000000"]
    counts = ["0", "18446744073709551615", "123456789012345678", "1234567890123456789", "+1", "١", "-"]
    for only_six in (True, False):
        body = []
        for i, line in enumerate(data * 3):
            f = line.split("\t")
            if not only_six and i % 3 == 0:
                f[0] = times[i % len(times)]
            f[7] = counts[i % len(counts)]  # trans_id: count
            body.append("\t".join(f))
        path = write(tmp_path, "dns.log", "\n".join(header + body) + "\n")
        vector, qv = read(path, VectorReader)
        row, qr = read(path, RowReader)
        assert quarantined(qv) == quarantined(qr) and len(qr) > 0
        assert vector.equals(row)


# --------------------------------------------------------------------------------------------------
# Known records
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["log", "json"])
def test_kerberos(ext: str) -> None:
    table, _ = read(ZEEK / f"kerberos.{ext}")
    first = at(table, "CiB1v61O1fMDWoHN2")
    assert first["time"] == datetime(2018, 3, 24, 17, 18, 5, 713879, tzinfo=UTC)
    assert first["category"] == "authentication" and first["ocsf_class_uid"] == 3002
    assert first["ocsf_class_name"] == "Authentication"
    assert first["activity"] == "ticket_request"
    assert first["auth_package"] == "Kerberos" and first["protocol"] == "kerberos"
    assert first["principal"] is None and first["domain"] == "NM"  # client "/NM"
    assert first["object"] == "krbtgt/NM" and first["object_type"] == "SERVICE"
    assert first["outcome"] is None and first["status"] is None  # success unset
    assert (first["src_ip"], first["src_port"], first["target_ip"], first["target_port"]) == (
        "10.128.0.241",
        58444,
        "10.47.1.208",
        808,
    )
    assert first["host"] is None
    failed = at(table, "CSPQFyC6A6IZOEXi")
    assert failed["outcome"] == "failure" and failed["status"] == "KDC_ERR_WRONG_REALM"
    assert failed["target_port"] == 88
    assert failed["record_id"] == (19 if ext == "log" else 11)  # 8 header lines in the TSV
    raw = orjson.loads(failed["raw"])
    assert raw["till"] == "1970-01-01T00:00:00.000000Z" and raw["forwardable"] is True


@pytest.mark.parametrize("ext", ["log", "json"])
def test_ntlm(ext: str) -> None:
    table, _ = read(ZEEK / f"ntlm.{ext}")
    admin = at(table, "CT1orU31pfzjVTClIh")
    assert admin["category"] == "authentication" and admin["activity"] == "logon"
    assert admin["auth_package"] == "NTLM" and admin["ocsf_class_uid"] == 3002
    assert (admin["principal"], admin["domain"], admin["src_host"], admin["target_host"]) == (
        "Administrator",
        "JERRY",
        "NULL",
        "KRAMER",
    )
    assert admin["outcome"] is None  # success unset in the log
    anonymous = [r for r in rows(table) if r["principal"] is None]
    assert anonymous and {r["outcome"] for r in anonymous} <= {"success", None}
    ok = at(table, "CsoXem4bZphR5lR48j")
    assert ok["principal"] == "Administrator" and ok["outcome"] == "success"
    assert ok["target_host"] == "PC-HELEN"


@pytest.mark.parametrize("ext", ["log", "json"])
def test_rdp(ext: str) -> None:
    table, _ = read(ZEEK / f"rdp.{ext}")
    assert set(table["ocsf_class_uid"].to_pylist()) == {4005}
    assert set(table["category"].to_pylist()) == {"authentication"}
    assert set(table["protocol"].to_pylist()) == {"rdp"}
    by_result = {r["status"]: r["outcome"] for r in rows(table)}
    assert by_result == {
        "Success": "success",
        "encrypted": None,
        "SSL_NOT_ALLOWED_BY_SERVER": "failure",
        None: None,
    }
    nessus = [r for r in rows(table) if r["principal"] == "nessus" and r["status"] == "Success"]
    assert nessus and all(r["src_host"] == "tenablese" for r in nessus)
    assert {"jerry", "jerrysrv", "ScoringEngine", "rdp_logon_screen.nbin"} <= set(
        table["principal"].to_pylist()
    )


@pytest.mark.parametrize("ext", ["log", "json"])
def test_smb(ext: str) -> None:
    mapping, _ = read(ZEEK / f"smb_mapping.{ext}")
    ipc = at(mapping, "CGLspW1BuwJH6YxjK6")
    assert ipc["category"] == "data_access" and ipc["ocsf_class_uid"] == 4006
    assert ipc["object"] == "\\\\SNOZBERRY\\IPC$" and ipc["object_type"] == "SHARE"
    assert ipc["action"] == "TREE_CONNECT" and ipc["target_host"] == "SNOZBERRY"
    admin = at(mapping, "C4RwE01ohVxASBuobd")
    assert admin["object"] == "\\\\10.47.21.25\\ADMIN$" and admin["target_host"] is None  # an address
    files, _ = read(ZEEK / f"smb_files.{ext}")
    assert set(files["ocsf_class_uid"].to_pylist()) == {1001}
    objects = {(r["action"], r["object"]) for r in rows(files)}
    assert ("FILE_OPEN", "\\svcctl") in objects
    assert ("FILE_DELETE", "\\\\10.47.21.82\\ADMIN$\\Temp\\wdszAPrV.tmp") in objects


@pytest.mark.parametrize("ext", ["log", "json"])
def test_ssh(ext: str) -> None:
    table, _ = read(ZEEK / f"ssh.{ext}")
    assert set(table["ocsf_class_uid"].to_pylist()) == {4007}
    assert set(table["protocol"].to_pylist()) == {"ssh"}
    outcomes = [r["outcome"] for r in rows(table)]
    assert outcomes.count("success") == 5 and outcomes.count("failure") == 2 and outcomes.count(None) == 15
    first = at(table, "C2MugGdsn3ZVI1wn6")
    raw = orjson.loads(first["raw"])
    assert raw["client"] == "SSH-2.0-OpenSSH_7.6" and raw["server"].startswith("SSH-2.0-OpenSSH_7.4p1")
    assert first["outcome"] == "success" and first["target_port"] == 22


@pytest.mark.parametrize("ext", ["log", "json"])
def test_dns_dce_rpc_and_generic(ext: str) -> None:
    dns, _ = read(ZEEK / f"dns.{ext}")
    first = rows(dns)[0]
    assert first["ocsf_class_uid"] == 4003 and first["category"] == "network" and first["activity"] == "query"
    assert (first["object"], first["action"], first["status"], first["outcome"]) == (
        "ise.wrccdc.org",
        "A",
        "NOERROR",
        "success",
    )
    assert orjson.loads(first["raw"])["answers"] == ["ise.wrccdc.cpp.edu", "134.71.3.16"]
    empty = [r for r in rows(dns) if orjson.loads(r["raw"])["query"] == ""]
    assert len(empty) == 2 and all(r["object"] is None and r["outcome"] is None for r in empty)
    rpc, _ = read(ZEEK / f"dce_rpc.{ext}")
    call = at(rpc, "Com0DqIPOu8FjMTma")
    assert (call["category"], call["activity"], call["object"], call["action"]) == (
        "network",
        "rpc",
        "samr",
        "SamrConnect2",
    )
    analyzer, _ = read(ZEEK / f"analyzer.{ext}")
    assert set(analyzer["category"].to_pylist()) == {"generic"}
    assert set(analyzer["ocsf_class_uid"].to_pylist()) == {0}
    reason = orjson.loads(at(analyzer, "CacZvz2zUEpupVCVba")["raw"])["failure_reason"]
    # TSV "\x0a" is a newline; "\\x0d" is the text \x0d that binpac wrote.
    assert reason.endswith(':83: \nexpected pattern: "\\x0d\\x0a"\nactual data: ""')


def test_unescaping_matches_zeek_json(tmp_path: Path) -> None:
    header = (ZEEK / "analyzer.log").read_text().split("\n")[:8]
    line = "\t".join(
        [
            "1521911722.137115",
            "violation",
            "protocol",
            "X",
            "Cabc",
            "-",
            "10.0.0.1",
            "1",
            "10.0.0.2",
            "2",
            "a\\x09b\\x01c\\\\d\\xc3\\xa9\\xff",
            "\\x2d",
        ]
    )
    table, _ = read(write(tmp_path, "a.log", "\n".join([*header, line]) + "\n"))
    raw = orjson.loads(rows(table)[0]["raw"])
    # tab kept, control byte and invalid UTF-8 as the text \xHH (as Zeek's JSON writer), é decoded
    assert raw["failure_reason"] == "a\tb\\x01c\\dé\\xff"
    assert raw["failure_data"] == "-"  # an escaped "-" is the text, not the unset marker


# --------------------------------------------------------------------------------------------------
# conn (not in the corpus: Zeek 6's conn.log header with synthetic lines)
# --------------------------------------------------------------------------------------------------

CONN_HEADER = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#open\t2024-01-01-00-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\t\
conn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\t\
tunnel_parents
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\t\
string\tcount\tcount\tcount\tcount\tset[string]
"""
CONN_LINES = [
    "1700000000.000001\tC1\t10.0.0.1\t50000\t10.0.0.2\t445\ttcp\tsmb,gssapi\t1.5\t100\t200\tSF\tT\tT\t0\tShADadFf\t5\t300\t5\t400\t(empty)",
    "1700000001.5\tC2\t10.0.0.1\t50001\t10.0.0.3\t3389\ttcp\t-\t-\t-\t-\tREJ\tT\tT\t0\tSr\t1\t60\t1\t40\t-",
    "1700000002\tC3\t10.0.0.1\t50002\t8.8.8.8\t53\tudp\tdns\t0.01\t40\t80\tS0\tT\tF\t0\tD\t1\t68\t0\t0\t-",
    "1700000003.25\tC4\tfe80::1\t5353\tff02::fb\t5353\tudp\t-\t-\t-\t-\tOTH\tT\tF\t0\t-\t1\t100\t0\t0\tCa,Cb",
]


@pytest.mark.parametrize("mode", MODES)
def test_conn(tmp_path: Path, mode: str) -> None:
    table, q = read(
        write(tmp_path, "c.log", CONN_HEADER + "\n".join(CONN_LINES) + "\n#close\tx\n"), MODES[mode]
    )
    assert len(q) == 0
    got = {orjson.loads(r["raw"])["uid"]: r for r in rows(table)}
    assert set(table["ocsf_class_uid"].to_pylist()) == {4001}
    assert set(table["category"].to_pylist()) == {"network"}
    sf, rej, s0, oth = got["C1"], got["C2"], got["C3"], got["C4"]
    assert (sf["activity"], sf["outcome"], sf["status"], sf["protocol"]) == (
        "close",
        "success",
        "SF",
        "smb,gssapi",
    )
    assert (rej["activity"], rej["outcome"], rej["protocol"]) == ("refuse", "failure", "tcp")
    assert (s0["activity"], s0["outcome"], s0["protocol"]) == ("traffic", None, "dns")  # UDP: no handshake
    assert (oth["src_ip"], oth["target_ip"], oth["src_port"]) == ("fe80::1", "ff02::fb", 5353)
    assert sf["time"] == datetime(2023, 11, 14, 22, 13, 20, 1, tzinfo=UTC)
    assert rej["time"] == datetime(2023, 11, 14, 22, 13, 21, 500000, tzinfo=UTC)
    raw = orjson.loads(sf["raw"])
    assert raw["tunnel_parents"] == [] and raw["local_orig"] is True and raw["duration"] == 1.5
    assert raw["ts"] == "2023-11-14T22:13:20.000001Z"
    assert orjson.loads(oth["raw"])["tunnel_parents"] == ["Ca", "Cb"]
    assert orjson.loads(rej["raw"])["service"] is None


# --------------------------------------------------------------------------------------------------
# Sniffing and telling the log from the content
# --------------------------------------------------------------------------------------------------

EVTX_HEAD = b"ElfFile\x00" + bytes(120)
SYSLOG_HEAD = b"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186\n"
WINDOWS_JSON_HEAD = (
    b'{"EventID":4624,"Channel":"Security","Hostname":"WIN-1","TimeCreated":"2020-01-01T00:00:00Z",'
    b'"TargetUserName":"alice","IpAddress":"10.0.0.1","IpPort":"50000"}\n'
)
LANL_HEAD = b"1,ANONYMOUS LOGON@C586,ANONYMOUS LOGON@C586,C1250,C586,NTLM,Network,LogOn,Success\n"


@pytest.mark.parametrize("log", LOGS)
def test_sniff_and_detect_pick_zeek(log: str) -> None:
    for path, least in ((ZEEK / f"{log}.log", 1.0), (ZEEK / f"{log}.json", 0.9)):
        (source,) = expand(str(path))
        assert ZeekReader.sniff(source.head(), source) >= least
        assert detect(source.head(), source) is ZeekReader


@pytest.mark.parametrize(
    "head", [EVTX_HEAD, SYSLOG_HEAD, WINDOWS_JSON_HEAD, LANL_HEAD, b"", b"{}\n", b"[1,2]\n"]
)
def test_sniff_says_no_to_other_formats(head: bytes) -> None:
    (source,) = expand(str(ZEEK / "kerberos.log"))  # the name must not matter
    assert ZeekReader.sniff(head, source) == 0


def test_sniff_stock_zeek_json(tmp_path: Path) -> None:
    # LogAscii::use_json without the streaming package: no _path, epoch ts.
    line = (
        b'{"ts":1521911885.713879,"uid":"CiB1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2"}\n'
    )
    (source,) = expand(str(write(tmp_path, "x.txt", line)))
    assert ZeekReader.sniff(line, source) >= 0.8
    known = b'{"ts":1521911885.7,"host":"10.0.0.1","port_num":80,"port_proto":"tcp","service":["HTTP"]}\n'
    assert 0 < ZeekReader.sniff(known, source) < 0.8


def _strip_path(path: Path) -> bytes:
    lines = []
    for line in path.read_bytes().splitlines():
        rec = orjson.loads(line)
        rec.pop("_path"), rec.pop("_write_ts")
        lines.append(orjson.dumps(rec))
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize(
    "log", ["kerberos", "ntlm", "rdp", "smb_mapping", "smb_files", "ssh", "dns", "dce_rpc"]
)
def test_json_log_told_from_content_not_name(tmp_path: Path, log: str) -> None:
    # Named like another log: the name only breaks ties, the keys decide.
    table, q = read(write(tmp_path, "weird.json", _strip_path(ZEEK / f"{log}.json")))
    expected, _ = read(ZEEK / f"{log}.json")
    assert len(q) == 0
    channels = table["channel"].to_pylist()
    assert channels == [log] * table.num_rows
    for column in KEY_COLUMNS:
        assert table[column].to_pylist() == expected[column].to_pylist(), column


def test_name_breaks_ties_only(tmp_path: Path) -> None:
    # Only the connection id: every log fits as well as any other; the file name decides.
    line = (
        b'{"ts":"2018-03-24T17:16:30.249394Z","uid":"Cv5n","id.orig_h":"10.128.0.233","id.orig_p":49568,'
        b'"id.resp_h":"10.47.21.80","id.resp_p":445}\n'
    )
    table, _ = read(write(tmp_path, "ntlm.json", line))
    assert table["channel"].to_pylist() == ["ntlm"]
    table, _ = read(write(tmp_path, "capture.json", line))
    assert table["channel"].to_pylist() == ["capture"]  # not a known log: the name labels it
    assert infer_path(("ts", "uid", "request_type", "client", "service"), "ssh") == "kerberos"
    assert infer_path(("ts", "client"), "ssh") == "ssh"  # kerberos and ssh both have client: a tie
    assert infer_path(("ts", "client"), "kerberos") == "kerberos"
    assert infer_path(("ts", "value", "colour")) is None


def test_tsv_block_without_path_is_told_from_fields(tmp_path: Path) -> None:
    text = "\n".join(
        line for line in (ZEEK / "ssh.log").read_text().split("\n") if not line.startswith("#path")
    )
    table, _ = read(write(tmp_path, "dns.log", text))
    assert set(table["channel"].to_pylist()) == {"ssh"}


def test_json_epoch_ts_and_nested_id(tmp_path: Path) -> None:
    lines = []
    for line in (ZEEK / "kerberos.json").read_bytes().splitlines():
        rec = orjson.loads(line)
        dt = datetime.fromisoformat(rec.pop("ts"))
        rec = {"ts": dt.timestamp(), **rec}
        rec["id"] = {k[3:]: rec.pop(k) for k in list(rec) if k.startswith("id.")}
        lines.append(orjson.dumps(rec))
    table, q = read(write(tmp_path, "k.json", b"\n".join(lines)))
    expected, _ = read(ZEEK / "kerberos.json")
    assert len(q) == 0
    for column in KEY_COLUMNS:
        assert table[column].to_pylist() == expected[column].to_pylist(), column


def test_json_values_of_other_types_are_not_confused(tmp_path: Path) -> None:
    # Normalized columns are cached by their inputs: 0, False and 0.0 are equal in Python but not here.
    base = '{"_path":"dns","ts":1.5,"query":"a.example","qtype_name":"A","rcode_name":"NOERROR","rcode":'
    path = write(tmp_path, "d.json", "\n".join(base + v + "}" for v in ("0", "false", "0.0", "0")) + "\n")
    table, _ = read(path)
    assert table["outcome"].to_pylist() == ["success", None, None, "success"]


@pytest.mark.parametrize("mode", MODES)
def test_several_header_blocks(tmp_path: Path, mode: str) -> None:
    # Rotated logs concatenated: each block is read with its own header.
    first = (ZEEK / "kerberos.log").read_bytes()
    second = (ZEEK / "ntlm.log").read_bytes()
    path = write(tmp_path, "both.log", first + b"\n" + second)
    table, q = read(path, MODES[mode])
    assert len(q) == 0
    assert table["record_id"].to_pylist() == data_lines(path)
    channels = table["channel"].to_pylist()
    assert channels == ["kerberos"] * 11 + ["ntlm"] * 31


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("separator", [",", "||"])
def test_other_separators(tmp_path: Path, mode: str, separator: str) -> None:
    # LogAscii::separator may be set to something else than a tab; a header line and the data lines use it.
    escaped = "".join(f"\\x{ord(c):02x}" for c in separator)
    lines = (ZEEK / "ssh.log").read_text().split("\n")
    converted = [f"#separator {escaped}"] + [line.replace("\t", separator) for line in lines[1:]]
    table, q = read(write(tmp_path, "s.log", "\n".join(converted)), MODES[mode])
    expected, _ = read(ZEEK / "ssh.log")
    assert len(q) == 0
    assert table.equals(expected)


@pytest.mark.parametrize("log", ["ssh.log", "ssh.json"])
def test_byte_order_mark(tmp_path: Path, log: str) -> None:
    path = write(tmp_path, log, b"\xef\xbb\xbf" + (ZEEK / log).read_bytes())
    (source,) = expand(str(path))
    assert ZeekReader.sniff(source.head(), source) >= 0.9
    table, q = read(path)
    expected, _ = read(ZEEK / log)
    assert len(q) == 0 and table.equals(expected)
    lone = write(tmp_path, "lone.json", b"\xef\xbb\xbf\n" + (ZEEK / "ssh.json").read_bytes())
    table, q = read(lone)
    assert quarantined(q) == [(1, None, "a byte-order mark and nothing else")] and table.num_rows == 22


def test_gzip_and_batches(tmp_path: Path) -> None:
    path = write(tmp_path, "dns.log.gz", gzip.compress((ZEEK / "dns.log").read_bytes()))

    class Small(ZeekReader):
        batch_size = 16
        vector_min_rows = 4

    (source,) = expand(str(path))
    batches = list(Small().read(source, Quarantine(source)))
    assert [b.num_rows for b in batches] == [16, 16, 10]
    table, _ = read(ZEEK / "dns.log")
    assert pa.Table.from_batches(batches).equals(table)


def test_normalizers_read_only_their_declared_inputs() -> None:
    # The vectorised path hands a normalizer only NORMALIZER_INPUTS[path]; reading anything else would
    # make it differ from the row path.
    class Recorder(dict[str, Any]):
        def __init__(self) -> None:
            super().__init__()
            self.seen: set[str] = set()

        def get(self, key: str, default: Any = None) -> Any:
            self.seen.add(key)
            return default

        def __getitem__(self, key: str) -> Any:
            self.seen.add(key)
            raise KeyError(key)

    assert NORMALIZERS.keys() == NORMALIZER_INPUTS.keys()
    for path, normalize in NORMALIZERS.items():
        rec = Recorder()
        normalize(rec)
        assert rec.seen <= set(NORMALIZER_INPUTS[path]), path


# --------------------------------------------------------------------------------------------------
# Quarantine
# --------------------------------------------------------------------------------------------------


def _corrupt_tsv(tmp_path: Path) -> Path:
    lines = (ZEEK / "kerberos.log").read_text().split("\n")
    # lines[8] is line 9, the first data line
    lines[9] = lines[9].rsplit("\t", 1)[0]  # line 10: a field missing
    lines[10] = "15219x1890.611969" + lines[10][len("1521911890.611969") :]  # line 11: bad ts
    lines[11] = lines[11].replace("\t40076\t", "\t99999\t")  # line 12: port out of range
    lines[12] = lines[12].replace("10.128.0.241", "10.128.0.300")  # line 13: not an address
    lines[13] = lines[13].replace("\tT\tT\t", "\tT\tyes\t")  # line 14: not a bool
    return write(tmp_path, "k.log", "\n".join(lines))


@pytest.mark.parametrize("mode", MODES)
def test_quarantine_tsv(tmp_path: Path, mode: str) -> None:
    path = _corrupt_tsv(tmp_path)
    table, q = read(path, MODES[mode])
    assert quarantined(q) == [
        (10, None, "expected 20 fields, got 19"),
        (11, "ts", "bad timestamp '15219x1890.611969'"),
        (12, "id.orig_p", "bad port '99999'"),
        (13, "id.orig_h", "bad address '10.128.0.300'"),
        (14, "renewable", "bad bool 'yes'"),
    ]
    starts = offsets(path)
    assert [r.offset for r in q.records] == [starts[9], starts[10], starts[11], starts[12], starts[13]]
    assert all(r.excerpt for r in q.records)
    assert table["record_id"].to_pylist() == [9, 15, 16, 17, 18, 19]
    assert table.num_rows + len(q) == len(data_lines(path))


def test_quarantine_in_a_vectorised_chunk(tmp_path: Path) -> None:
    # Bad lines amid many good ones: the good ones go the vectorised way, order and numbers are kept.
    lines = (ZEEK / "dns.log").read_text().split("\n")
    lines[20] = lines[20].replace("\tudp\t", "\tudp\t\t")  # line 21: a field too many
    lines[30] = lines[30].replace("\t53\t", "\t-53\t", 1)  # line 31: bad port
    fields = lines[40].split("\t")
    fields[3] = "(empty)"  # line 41: the empty marker where a port must be
    lines[40] = "\t".join(fields)
    path = write(tmp_path, "d.log", "\n".join(lines))
    vector, qv = read(path, VectorReader)
    row, qr = read(path, RowReader)
    assert quarantined(qv) == quarantined(qr)
    assert quarantined(qv) == [
        (21, None, "expected 24 fields, got 25"),
        (31, "id.resp_p", "bad port '-53'"),
        (41, "id.orig_p", "bad port '(empty)'"),
    ]
    assert vector["record_id"].to_pylist() == [n for n in data_lines(path) if n not in (21, 31, 41)]
    assert vector.equals(row)


def test_quarantine_json(tmp_path: Path) -> None:
    lines = (ZEEK / "kerberos.json").read_text().split("\n")
    lines[1] = lines[1][:-5]  # line 2: cut short
    lines[3] = lines[3].replace('"ts":"2018-03-24T', '"ts":"2018-13-24T')  # line 4: no month 13
    lines[4] = "[1, 2, 3]"  # line 5: not an object
    lines[6] = re.sub(r'"id.resp_p":\d+', '"id.resp_p":"http"', lines[6])  # line 7
    lines[7] = lines[7].replace('"id.orig_h":"10.128.0.241"', '"id.orig_h":12')  # line 8
    path = write(tmp_path, "k.json", "\n".join(lines))
    table, q = read(path)
    got = quarantined(q)
    assert [(r, f) for r, f, _ in got] == [
        (2, None),
        (4, "ts"),
        (5, None),
        (7, "id.resp_p"),
        (8, "id.orig_h"),
    ]
    assert got[0][2].startswith("invalid JSON")
    assert got[1][2] == "bad timestamp '2018-13-24T17:18:23.116112Z'"
    assert got[2][2] == "JSON list is not an object"
    starts = offsets(path)
    assert [r.offset for r in q.records] == [starts[n - 1] for n in (2, 4, 5, 7, 8)]
    assert table["record_id"].to_pylist() == [1, 3, 6, 9, 10, 11]


@pytest.mark.parametrize("mode", MODES)
def test_truncated_gzip(tmp_path: Path, mode: str) -> None:
    data = gzip.compress((ZEEK / "dns.log").read_bytes())
    path = write(tmp_path, "dns.log.gz", data[: len(data) - 40])
    table, q = read(path, MODES[mode])
    ((record, field, reason),) = quarantined(q)
    assert reason.startswith("stream broke off") and field is None
    ids = table["record_id"].to_pylist()
    assert ids == list(range(9, 9 + len(ids))) and len(ids) > 20
    assert record == ids[-1] + 1


@pytest.mark.parametrize("mode", MODES)
def test_broken_headers(tmp_path: Path, mode: str) -> None:
    lines = (ZEEK / "ssh.log").read_text().split("\n")
    types = lines[7]
    lines[7] = types.rsplit("\t", 1)[0]  # #types one short of #fields
    path = write(tmp_path, "s.log", "\n".join(lines))
    table, q = read(path, MODES[mode])
    assert table.num_rows == 0 and len(q) == 22
    assert {r.reason for r in q.records} == {"#fields has 23 names but #types has 22"}
    data_only = write(tmp_path, "d.log", "\n".join(lines[8:]))
    table, q = read(data_only, MODES[mode])  # no header at all: these are not JSON either
    assert table.num_rows == 0 and len(q) == 22


# --------------------------------------------------------------------------------------------------
# Property: random lines never raise, and every data line is accounted for exactly once
# --------------------------------------------------------------------------------------------------

DNS_HEADER = "\n".join((ZEEK / "dns.log").read_text().split("\n")[:8])
DNS_SAMPLE = [line.split("\t") for line in (ZEEK / "dns.log").read_text().split("\n")[8:] if line[:1] == "1"]
NASTY = [
    "-",
    "(empty)",
    "",
    "T",
    "F",
    "x",
    "\\",
    "\\x",
    "\\x0",
    "\\x2d",
    "\\\\",
    '"',
    "é",
    "\x01",
    "\r",
    "1e308",
    "99999",
    "-1",
    "1521911720.8",
    "nan",
    "inf",
    "::1",
    "10.0.0.256",
    "a,b",
    ",",
    "-,-",
    "(empty),x",
    "\ufeff",
]

field_value = st.one_of(st.sampled_from(NASTY), st.text(max_size=6).filter(lambda s: "\n" not in s))


@st.composite
def tsv_line(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:  # anything at all on one line
        return draw(st.text(max_size=80).filter(lambda s: "\n" not in s))
    fields = list(draw(st.sampled_from(DNS_SAMPLE)))
    for _ in range(draw(st.integers(0, 3) if kind == 1 else st.just(0))):
        fields[draw(st.integers(0, len(fields) - 1))] = draw(field_value)
    if kind == 3:
        if draw(st.booleans()):
            fields.append(draw(field_value))
        else:
            fields.pop()
    return "\t".join(fields)


def _is_text(line: bytes) -> bool:
    try:
        line.decode()
    except UnicodeDecodeError:
        return False
    return b"\x00" not in line


def _check_accounted(path: Path, reader: type[ZeekReader]) -> tuple[pa.Table, Quarantine]:
    table, q = read(path, reader)
    expected = []
    for i, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if not line.rstrip(b"\r").strip():
            continue  # blank: skipped by iter_lines
        if not line.startswith(b"#") or not _is_text(line):
            expected.append(i)  # a data line, or a header line iter_lines refuses (NUL, not UTF-8)
    got = sorted([*table["record_id"].to_pylist(), *(r.record for r in q.records)])
    assert got == expected
    for value in table["raw"].to_pylist():
        assert isinstance(orjson.loads(value), dict)
    return table, q


@contextlib.contextmanager
def _tmp_file(data: bytes, name: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        yield path


def _same(a: tuple[pa.Table, Quarantine], b: tuple[pa.Table, Quarantine]) -> None:
    assert quarantined(a[1]) == quarantined(b[1])
    assert [r.offset for r in a[1].records] == [r.offset for r in b[1].records]
    for column in EVENT_SCHEMA.names:
        left, right = a[0][column].to_pylist(), b[0][column].to_pylist()
        if column == "raw":
            left, right = [orjson.loads(x) for x in left], [orjson.loads(x) for x in right]
        assert left == right, column


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(tsv_line(), min_size=1, max_size=40))
def test_random_tsv_lines_never_raise(lines: list[str]) -> None:
    data = (DNS_HEADER + "\n" + "\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")
    with _tmp_file(data, "dns.log") as path:
        vector = _check_accounted(path, VectorReader)
        row = _check_accounted(path, RowReader)
    _same(vector, row)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
json_key = st.sampled_from(
    [
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "_path",
        "id",
        "client",
        "success",
        "query",
        "rcode",
        "cookie",
        "result",
        "username",
        "path",
    ]
)
json_special = st.sampled_from(
    [
        "2018-03-24T17:18:05.713879Z",
        "2018-03-24",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-05:00",
        1521911885.713879,
        1e300,
        -1e300,
        10**30,
        1521911885713,
        "10.0.0.1",
        "::1",
        "300.1.1.1",
        70000,
        -1,
        "kerberos",
        "dns",
        "",
        "/REALM",
        "a\\b",
    ]
)


@st.composite
def json_line(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.text(max_size=60).filter(lambda s: "\n" not in s))
    record = draw(st.dictionaries(json_key, json_special | json_value, max_size=8))
    text = json.dumps(record)  # not orjson: big integers and NaN must be possible too
    if kind == 2 and len(text) > 2:
        text = text[: draw(st.integers(1, len(text) - 1))]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_line(), min_size=1, max_size=30))
def test_random_json_lines_never_raise(lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")
    with _tmp_file(data, "x.json") as path:
        _check_accounted(path, ZeekReader)
