"""Windows JSON exports: OTRF NXLog NDJSON (zipped), Winlogbeat 6, and evtx JSON lines."""

import json
import zipfile

import orjson
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sekimori.ingest.base import detect
from sekimori.ingest.readers.evtx import EvtxReader
from sekimori.ingest.readers.windows_json import WindowsJsonReader
from sekimori.ingest.source import expand
from tests.conftest import DATA, read_all

OTRF = DATA / "windows_json" / "otrf_empire_psexec_sample.zip"
BEAT6 = DATA / "windows_json" / "winlogbeat6_empire_enable_rdp_sample.json.gz"


def _lines(path):
    with zipfile.ZipFile(path) as z:
        return [orjson.loads(line) for line in z.read(z.namelist()[0]).splitlines() if line.strip()]


def test_otrf_zip_every_line_is_an_event_with_its_fields():
    table, quarantines = read_all(WindowsJsonReader, OTRF)
    lines = _lines(OTRF)
    assert table.num_rows == len(lines)
    assert sum(len(q) for q in quarantines) == 0
    assert set(table["source_member"].to_pylist()) == {None}  # the store fills provenance
    logons = table.filter(pc.equal(table["event_code"], "4624")).to_pylist()
    raw_logons = [d for d in lines if d["EventID"] == 4624]
    assert len(logons) == len(raw_logons)
    for row, raw in zip(logons, raw_logons, strict=True):
        assert row["principal"] == raw["TargetUserName"].split("\\")[-1]
        assert row["logon_type"] == int(raw["LogonType"])
        assert row["host"] == raw["Hostname"]
        assert row["outcome"] == "success"
    procs = table.filter(pc.equal(table["activity"], "process_start")).to_pylist()
    assert procs and all(p["process"] and p["command_line"] is not None for p in procs)


def test_winlogbeat6_records_are_read_with_their_event_data():
    table, quarantines = read_all(WindowsJsonReader, BEAT6)
    assert table.num_rows == 69 and not any(len(q) for q in quarantines)
    logons = table.filter(pc.equal(table["event_code"], "4624"))
    assert logons.num_rows == 9
    assert logons["principal"].null_count == 0
    net = table.filter(pc.equal(table["activity"], "network_connection")).to_pylist()
    assert net and net[0]["target_port"] == 5985 and net[0]["src_ip"] == "172.18.39.5"
    assert table["record_id"].null_count == 0  # record_number


def test_evtx_json_lines_normalize_exactly_like_the_evtx_file(tmp_path):
    """Differential: the same records through the EVTX reader and as evtx_dump-style JSON lines."""
    import evtx

    src = DATA / "evtx" / "LM_ScheduledTask_ATSVC_target_host.evtx"
    jsonl = tmp_path / "dump.jsonl"
    with open(jsonl, "w") as fh:
        for rec in evtx.PyEvtxParser(str(src)).records_json():
            fh.write(orjson.dumps(orjson.loads(rec["data"])).decode() + "\n")
    from_evtx, _ = read_all(EvtxReader, src)
    from_json, _ = read_all(WindowsJsonReader, jsonl)
    cols = [c for c in from_evtx.column_names if c != "raw"]
    assert from_evtx.select(cols).to_pylist() == from_json.select(cols).to_pylist()


def test_bad_lines_are_quarantined_with_their_line_numbers(tmp_path):
    good = orjson.dumps(_lines(OTRF)[0]).decode()
    path = tmp_path / "mixed.json"
    path.write_text("\n".join([good, "{not json", '{"EventID": 4624}', "[1,2]", good]) + "\n")
    table, (q,) = read_all(WindowsJsonReader, path)
    assert table.num_rows == 2
    assert sorted((b.record, b.field) for b in q.records) == [(2, None), (3, "time"), (4, None)]


def test_sniffing():
    for path in (OTRF, BEAT6):
        source = next(iter(expand(str(path))))
        assert detect(source.head(), source) is WindowsJsonReader
    assert WindowsJsonReader.sniff(b'{"ts": 1.0, "uid": "C1"}\n', None) == 0.0
    assert WindowsJsonReader.sniff(b"ElfFile\x00", None) == 0.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.text(max_size=80),
            st.dictionaries(st.text(max_size=8), st.integers(), max_size=4).map(
                lambda d: json.dumps({**d, "EventID": 1})
            ),
        ),
        max_size=20,
    )
)
def test_garbage_lines_never_raise_and_each_is_an_event_or_quarantined(tmp_path, lines):
    path = tmp_path / "garbage.json"
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    path.write_text("\n".join(lines) + "\n")
    table, quarantines = read_all(WindowsJsonReader, path)
    content = "\n".join(lines)
    if content.encode().lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        return  # read as one JSON array export, not line by line: no exception is the property here
    non_empty = sum(1 for line in lines if line.encode().strip())  # blank as bytes, as the reader reads
    assert table.num_rows + sum(len(q) for q in quarantines) == non_empty
