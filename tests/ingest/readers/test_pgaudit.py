"""The pgaudit reader on logs written by a real PostgreSQL 15 + pgAudit 1.7 (see ATTRIBUTION.md)."""

from __future__ import annotations

import csv
import gzip
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.lanl import LanlAuthReader
from sekimori.ingest.readers.pgaudit import PgauditReader, parse_time
from sekimori.ingest.readers.syslog import SyslogReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import Source, expand
from tests.conftest import DATA

PG = DATA / "pgaudit"
CSV1 = PG / "pg15-csvlog.csv"
ERR1 = PG / "pg15-stderr.log"
CSV2 = PG / "pg15-run2-csvlog.csv"
ERR2 = PG / "pg15-run2-stderr-kv.log"
EVTX_HEAD = b"ElfFile\x00" + bytes(120)
JSON_HEAD = b'{"EventID": 4624, "Hostname": "WIN-1"}\n' * 3
ZEEK_HEAD = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#path\tconn\n#fields\tts\tuid\n"


def _read(path: Path, plain: bool = False) -> tuple[pa.Table, Quarantine]:
    (src,) = [Source(str(path), path)] if plain else list(expand(str(path)))
    q = Quarantine(src)
    return pa.Table.from_batches(list(PgauditReader().read(src, q)), schema=EVENT_SCHEMA), q


def _records(path: Path) -> list[tuple[int, list[str]]]:
    """(first line number, fields) of each CSV record, counted independently of the reader."""
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        line = 1
        for row in reader:
            out.append((line, row))
            line = reader.line_num + 1
    return out


def _where(table: pa.Table, **equal: object) -> list[dict]:
    mask = None
    for col, value in equal.items():
        m = pc.equal(table[col], value)
        mask = m if mask is None else pc.and_(mask, m)
    return table.filter(mask).to_pylist()


def test_csvlog_every_record_is_an_event_and_audit_records_are_data_access():
    records = _records(CSV1)
    table, q = _read(CSV1)
    assert len(q) == 0 and table.num_rows == len(records)
    assert table["record_id"].to_pylist() == [line for line, _ in records]
    audit = [row for _, row in records if row[13].startswith("AUDIT: ")]
    access = table.filter(pc.equal(table["category"], "data_access"))
    assert access.num_rows == len(audit) > 30
    assert set(access["ocsf_class_uid"].to_pylist()) == {6005}
    assert set(access["ocsf_class_name"].to_pylist()) == {"Datastore Activity"}
    assert set(access["activity"].to_pylist()) == {"query"}
    assert set(access["outcome"].to_pylist()) == {"success"}
    classes = [re.match(r"AUDIT: \w+,\d+,\d+,(\w+),", row[13])[1].lower() for row in audit]
    assert access["event_code"].to_pylist() == [f"pgaudit.{c}" for c in classes]
    reads = [row for row in audit if ",READ," in row[13][:40]]
    assert len(_where(table, event_code="pgaudit.read")) == len(reads)


def test_known_csvlog_records():
    table, _ = _read(CSV1)
    # OBJECT,8,1,READ,SELECT,TABLE,public.customers,select * from customers;
    obj = [r for r in _where(table, event_code="pgaudit.read", principal="app") if r["object"]]
    first = obj[0]
    assert (first["object"], first["object_type"], first["action"]) == ("public.customers", "TABLE", "SELECT")
    assert first["command_line"] == "select * from customers;" and first["database"] == "crm"
    assert (first["src_ip"], first["src_port"]) == ("127.0.0.1", 59422) and first["process_id"] == 8552
    assert first["time"] == datetime(2026, 11, 23, 20, 48, 7, 388000, tzinfo=UTC)
    assert first["provider"] == "pgaudit" and first["channel"] == "postgresql"
    raw = orjson.loads(first["raw"])
    assert raw["audit"]["audit_type"] == "OBJECT" and raw["session_id"] == "6b04a687.2168"

    # The multi-line INSERT: quoted newlines and doubled quotes inside the audit record inside the CSV.
    (insert,) = [r for r in _where(table, action="INSERT") if "customers" in r["command_line"]]
    assert insert["command_line"] == (
        "INSERT INTO customers (name, email, note) VALUES\n"
        "  ('Alice Example', 'alice@example.org', 'prefers \"quoted\" text, and commas'),\n"
        "  ('Bob Example', 'bob@example.org', NULL);"
    )
    assert insert["event_code"] == "pgaudit.write" and insert["record_id"] == 19
    (copy,) = _where(table, action="COPY")
    assert copy["event_code"] == "pgaudit.read"
    assert copy["command_line"].startswith("COPY (SELECT name, email")

    # The analyst reads customers from another connection.
    analyst = _where(table, event_code="pgaudit.read", principal="analyst")
    assert [r["object"] for r in analyst] == [None, "public.customers"]
    assert analyst[1]["src_port"] == 59440


def test_logins_and_failures():
    table, _ = _read(CSV1)
    ok = _where(table, event_code="postgresql.connection_authorized")
    assert len(ok) == 5 and {r["activity"] for r in ok} == {"logon"}
    assert {r["outcome"] for r in ok} == {"success"}
    app = next(r for r in ok if r["principal"] == "app")
    assert app["auth_package"] == "scram-sha-256" and app["database"] == "crm"
    assert app["category"] == "authentication"
    (failed,) = _where(table, event_code="postgresql.auth_failed")
    assert failed["principal"] == "analyst" and failed["outcome"] == "failure" and failed["status"] == "28P01"
    assert failed["auth_package"] == "password" and failed["src_ip"] == "127.0.0.1"
    errors = _where(table, event_code="postgresql.error")
    assert [r["status"] for r in errors] == ["42P01", "42501"]
    assert errors[1]["command_line"] == "select * from orders"
    off = _where(table, event_code="postgresql.disconnection")
    assert len(off) == 5 and {r["activity"] for r in off} == {"logoff"}

    table2, _ = _read(CSV2)
    (reject,) = _where(table2, event_code="postgresql.hba_reject")
    assert reject["principal"] == "blocked" and reject["outcome"] == "failure" and reject["database"] == "crm"
    (nouser,) = _where(table2, event_code="postgresql.auth_failed")
    assert nouser["principal"] == "nosuchuser"


@pytest.mark.parametrize(("csv_path", "stderr_path"), [(CSV1, ERR1), (CSV2, ERR2)])
def test_stderr_and_csvlog_of_the_same_server_give_the_same_events(csv_path, stderr_path):
    a, qa = _read(csv_path)
    b, qb = _read(stderr_path)
    assert len(qa) == len(qb) == 0
    # sql_state is not in these log_line_prefixes, and %t has no milliseconds; everything else is there.
    cols = [c for c in EVENT_SCHEMA.names if c not in ("status", "raw", "record_id", "time")]
    assert a.select(cols).to_pylist() == b.select(cols).to_pylist()
    seconds = [t.replace(microsecond=0) for t in a["time"].to_pylist()]
    assert seconds == [t.replace(microsecond=0) for t in b["time"].to_pylist()]


def test_stderr_specifics():
    table, _ = _read(ERR1)
    # DETAIL/STATEMENT lines are folded into their entry; continuation lines (tab) into the statement.
    lines = ERR1.read_text().splitlines()
    prefixed = [ln for ln in lines if re.match(r"\d{4}-\d\d-\d\d ", ln)]
    folded = [ln for ln in prefixed if re.search(r"\] \S+ (DETAIL|STATEMENT|HINT|CONTEXT):  ", ln)]
    assert table.num_rows == len(prefixed) - len(folded)
    (err,) = [r for r in _where(table, event_code="postgresql.error") if r["principal"] == "app"]
    assert err["command_line"] == "SELECT * FROM no_such_table;"
    raw = orjson.loads(err["raw"])
    assert raw["query"] == "SELECT * FROM no_such_table;" and len(raw["lines"]) == 2

    kv, _ = _read(ERR2)  # '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '
    reads = _where(kv, event_code="pgaudit.read", principal="analyst")
    # the prefix has the client address without its port: the port comes from "connection received"
    assert reads and (reads[0]["src_ip"], reads[0]["src_port"]) == ("127.0.0.1", 54176)
    assert reads[0]["time"] == datetime(2026, 11, 23, 20, 59, 39, tzinfo=UTC)
    once = _where(kv, event_code="pgaudit.write")
    assert once[0]["command_line"].startswith("UPDATE orders")
    assert once[1]["command_line"] is None  # pgaudit.log_statement_once: "<previously logged>"


def _rewrite(path: Path, dst: Path, width: int) -> Path:
    """The same records with ``width`` columns, as PostgreSQL 12 (23), 13 (24) or a future version writes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for _, row in _records(path):
        writer.writerow((row + [""] * width)[:width])
    dst.write_text(out.getvalue())
    return dst


@pytest.mark.parametrize("width", [23, 24, 26, 28])
def test_every_csvlog_width_from_pg12_on(tmp_path, width):
    base, _ = _read(CSV1)
    table, q = _read(_rewrite(CSV1, tmp_path / "w.csv", width))
    assert len(q) == 0
    cols = ["time", "event_code", "principal", "database", "object", "command_line", "src_ip", "record_id"]
    assert table.select(cols).to_pylist() == base.select(cols).to_pylist()
    if width == 28:
        assert orjson.loads(table["raw"][0].as_py())["extra"] == ["", ""]


def test_gzip_and_quarantine(tmp_path):
    records = _records(CSV1)
    text = CSV1.read_text()
    lines = text.splitlines(keepends=True)
    # Corrupt a few records: too few columns, a bad time, a bad pid, a malformed AUDIT payload, bad UTF-8.
    broken = list(lines)
    broken[0] = "2026-11-23 20:47:58.686 UTC,,,8521,,short\n"
    broken[1] = broken[1].replace("2026-11-23 20:47:58.686 UTC", "2026-13-23 20:47:58.686 UTC", 1)
    broken[2] = broken[2].replace(",8521,", ",85x21,", 1)
    audit_line = next(i for i, ln in enumerate(lines) if '"AUDIT: SESSION,2,1,ROLE' in ln)
    broken[audit_line] = broken[audit_line].replace("AUDIT: SESSION,2,1,ROLE", "AUDIT: SESSION,x,1,ROLE")
    data = "".join(broken).encode()
    multi = next(i for i, ln in enumerate(lines) if "('Alice Example'" in ln)
    data = data.replace(b"'Alice Example'", b"'Alice \xff Example'")
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(data))
    table, q = _read(path)
    got = sorted((r.record, r.field) for r in q.records)
    assert got == [
        (1, "record"),
        (2, "timestamp"),
        (3, "process_id"),
        (audit_line + 1, "message"),
        (multi, "record"),
    ]
    assert table.num_rows + len(q) == len(records)
    offsets = {r.record: r.offset for r in q.records}
    assert offsets[2] == len(broken[0].encode())

    cut = tmp_path / "cut.csv.gz"
    blob = gzip.compress(CSV1.read_bytes() * 30)
    cut.write_bytes(blob[: len(blob) // 2])
    table, q = _read(cut)
    assert table.num_rows > 100 and any("broke off" in r.reason for r in q.records)


def test_stderr_garbage_and_orphans(tmp_path):
    lines = ERR1.read_text().splitlines(keepends=True)
    content = "\tan orphan continuation line\n" + "".join(lines[:10]) + "garbage line\n" + "".join(lines[10:])
    path = tmp_path / "e.log"
    path.write_text(content)
    table, q = _read(path)
    assert sorted((r.record, r.field) for r in q.records) == [(1, "header"), (12, "header")]
    base, _ = _read(ERR1)
    assert table.num_rows == base.num_rows


def test_time_zones():
    assert parse_time("2024-05-01 10:00:00.123 UTC") == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert parse_time("2024-05-01 19:00:00 JST") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_time("2024-05-01 07:00:00 -03") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_time("2024-05-01 15:30:00 +0530") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_time("2024-05-01 12:00:00 CEST") == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_unknown_zone_is_quarantined(tmp_path):
    path = tmp_path / "z.log"
    path.write_text(
        "2024-05-01 10:00:00.123 XYZT [4242] app@crm LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,"
        'public.customers,"select * from customers",<not logged>\n'
        "2024-05-01 10:00:00.123 UTC [4242] app@crm LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,"
        'public.customers,"select * from customers",<not logged>\n'
    )
    table, q = _read(path)
    assert table.num_rows == 1 and [(r.record, r.field) for r in q.records] == [(1, "timestamp")]
    ev = table.to_pylist()[0]
    assert (ev["principal"], ev["database"], ev["object"], ev["event_code"]) == (
        "app",
        "crm",
        "public.customers",
        "pgaudit.read",
    )


# -- sniffing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CSV1, ERR1, CSV2, ERR2])
def test_sniff_recognises_the_fixtures(path):
    (src,) = expand(str(path))
    assert PgauditReader.sniff(src.head(), src) >= 0.8
    assert detect(src.head(), src) is PgauditReader
    assert SyslogReader.sniff(src.head(), src) == 0 and LanlAuthReader.sniff(src.head(), src) == 0


@pytest.mark.parametrize(
    "head",
    [
        EVTX_HEAD,
        JSON_HEAD,
        ZEEK_HEAD,
        (DATA / "syslog" / "rsyslog-iso.log").read_bytes()[:4096],
        (DATA / "lanl" / "auth_head.csv").read_bytes()[:4096],
        (PG / "session1.sql").read_bytes(),
        b"",
    ],
)
def test_sniff_says_no_to_other_formats(head):
    (src,) = expand(str(CSV1))
    assert PgauditReader.sniff(head, src) == 0


# -- properties -------------------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.booleans(), st.lists(_text, max_size=30)), min_size=1, max_size=15))
def test_property_csv_records(tmp_path, records):
    """Every CSV record, well-formed or not, is one event or one quarantine row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)  # PostgreSQL quotes text fields
    writer.writerow(
        ["2024-05-01 10:00:00.123 UTC", *[""] * 2, "1", *[""] * 7, "LOG", "00000", "first", *[""] * 12]
    )
    for timestamp, fields in records:
        writer.writerow(["2024-05-01 10:00:00 UTC" if timestamp else "x", *fields])
    path = tmp_path / "p.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    table, q = _read(path, plain=True)
    assert table.num_rows + len(q) == len(records) + 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            _text.filter(lambda s: "\n" not in s and "\r" not in s and not s.startswith("\t") and s.strip()),
            st.tuples(st.sampled_from(["LOG", "ERROR", "FATAL", "WARNING"]), _text).map(
                lambda p: (
                    f"2024-05-01 10:00:00.123 UTC [42] app@crm {p[0]}:  "
                    + p[1].replace("\n", " ").replace("\r", " ")
                )
            ),
        ),
        max_size=25,
    )
)
def test_property_stderr_lines(tmp_path, lines):
    """Every stderr line that is not a continuation is one event or one quarantine row."""
    path = tmp_path / "p.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table, q = _read(path, plain=True)
    assert table.num_rows + len(q) == len([ln for ln in lines if ln.strip()])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.binary(max_size=500),
    st.sampled_from([b"", b"2024-05-01 10:00:00 UTC,", b"2024-05-01 10:00:00 UTC [1] "]),
)
def test_property_random_bytes_never_raise(tmp_path, data, prefix):
    path = tmp_path / "r.log"
    path.write_bytes(prefix + data)
    table, _ = _read(path, plain=True)
    assert table["time"].null_count == 0
