"""Every delivery shape of CloudTrail, built around real records (Panther's rule-test records) the way
AWS documents each envelope; and the quarantine of corrupt records."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sekimori.ingest.base import detect
from sekimori.ingest.cloudtrail.shapes import unwrap
from sekimori.ingest.readers.cloudtrail import CloudTrailReader
from sekimori.ingest.source import expand
from tests.conftest import corpus, read_all

PANTHER = ("identity-cloud", "cloudtrail", "panther_aws_cloudtrail.jsonl")
# Lines with an eventTime and every identity field the checks below look at.
PICK = (1, 3, 55, 87, 110)


@pytest.fixture(scope="module")
def records() -> list[dict]:
    lines = corpus(*PANTHER).read_text().splitlines()
    return [json.loads(lines[n - 1]) for n in PICK]


def _write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _read(path: Path) -> tuple[pa.Table, list]:
    (source,) = list(expand(str(path)))
    assert detect(source.head(), source) is CloudTrailReader
    return read_all(CloudTrailReader, path)


def _same_events(table: pa.Table, records: list[dict]) -> None:
    assert table.num_rows == len(records)
    assert table["event_code"].to_pylist() == [r["eventName"] for r in records]
    assert [json.loads(r) for r in table["raw"].to_pylist()] == records  # raw = the record itself
    # principals worked out by hand for lines 1, 3, 55, 87, 110
    assert table["principal"].to_pylist() == ["john.developer", "bob.ross", "anaya", "root", None]


def test_s3_delivery_file_gzip(tmp_path: Path, records: list[dict]) -> None:
    path = _write(tmp_path / "x.json.gz", orjson.dumps({"Records": records}), gz=True)
    table, qs = _read(path)
    _same_events(table, records)
    assert table["record_id"].to_pylist() == [1, 2, 3, 4, 5]
    assert sum(len(q) for q in qs) == 0


def test_s3_delivery_file_pretty_printed(tmp_path: Path, records: list[dict]) -> None:
    path = _write(tmp_path / "x.json", json.dumps({"Records": records}, indent=2).encode())
    table, _ = _read(path)
    _same_events(table, records)


def test_eventbridge_events(tmp_path: Path, records: list[dict]) -> None:
    lines = [
        {
            "version": "0",
            "id": f"id-{i}",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws." + r["eventSource"].split(".")[0],
            "account": "123456789012",
            "time": r["eventTime"],
            "region": r["awsRegion"],
            "resources": [],
            "detail": r,
        }
        for i, r in enumerate(records)
    ]
    path = _write(tmp_path / "eb.jsonl", b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    table, _ = _read(path)
    _same_events(table, records)


def test_cloudwatch_subscription_payload_and_control_message(tmp_path: Path, records: list[dict]) -> None:
    data = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "aws-cloudtrail-logs",
        "logStream": "123456789012_CloudTrail_us-east-1",
        "subscriptionFilters": ["all"],
        "logEvents": [
            {"id": str(i), "timestamp": 0, "message": json.dumps(r)} for i, r in enumerate(records)
        ],
    }
    control = {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": 0, "message": "CWL CONTROL MESSAGE"}],
    }
    path = _write(tmp_path / "cw.gz", orjson.dumps(control) + b"\n" + orjson.dumps(data) + b"\n", gz=True)
    reader = CloudTrailReader()
    (source,) = list(expand(str(path)))
    from sekimori.ingest.base import Quarantine

    q = Quarantine(source)
    table = pa.Table.from_batches(list(reader.read(source, q)))
    _same_events(table, records)
    assert len(q) == 0 and any("control message" in n for n in reader.notes)


def test_cloudwatch_export_lines_and_filter_output(tmp_path: Path, records: list[dict]) -> None:
    text = "".join(f"2024-01-02T03:04:05.678Z {json.dumps(r)}\n" for r in records)
    table, _ = _read(_write(tmp_path / "000000", text.encode()))
    _same_events(table, records)
    assert table["record_id"].to_pylist() == [1, 2, 3, 4, 5]  # line numbers
    events = {"events": [{"logStreamName": "s", "timestamp": 0, "message": json.dumps(r)} for r in records]}
    table, _ = _read(_write(tmp_path / "filter.json", json.dumps(events, indent=1).encode()))
    _same_events(table, records)


def test_lookup_events_output(tmp_path: Path, records: list[dict]) -> None:
    out = {
        "Events": [
            {"EventId": str(i), "EventName": r["eventName"], "CloudTrailEvent": json.dumps(r)}
            for i, r in enumerate(records)
        ]
    }
    table, _ = _read(_write(tmp_path / "lookup.json", json.dumps(out, indent=4).encode()))
    _same_events(table, records)


def test_json_array_of_records(tmp_path: Path, records: list[dict]) -> None:
    table, _ = _read(_write(tmp_path / "a.json", orjson.dumps(records)))
    _same_events(table, records)


def test_digest_file_is_skipped_with_a_note(tmp_path: Path) -> None:
    # the fields of AWS's sample digest file (CloudTrail digest file structure)
    digest = {
        "awsAccountId": "111122223333",
        "digestStartTime": "2015-08-17T14:01:31Z",
        "digestEndTime": "2015-08-17T15:01:31Z",
        "digestS3Bucket": "amzn-s3-demo-bucket",
        "digestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/x.json.gz",
        "digestPublicKeyFingerprint": "31e8b5433410dfb61a9dc45cc65b22ff",
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": "2015-08-17T14:52:27Z",
        "oldestEventTime": "2015-08-17T14:42:27Z",
        "previousDigestS3Bucket": "amzn-s3-demo-bucket",
        "previousDigestS3Object": None,
        "previousDigestHashValue": None,
        "previousDigestHashAlgorithm": None,
        "previousDigestSignature": None,
        "logFiles": [
            {
                "s3Bucket": "amzn-s3-demo-bucket",
                "s3Object": "AWSLogs/x.json.gz",
                "hashValue": "9bb6196fc6b84d6f075a56548feca262",
                "hashAlgorithm": "SHA-256",
                "newestEventTime": "2015-08-17T14:52:27Z",
                "oldestEventTime": "2015-08-17T14:42:27Z",
            }
        ],
    }
    path = _write(tmp_path / "d.json.gz", orjson.dumps(digest), gz=True)
    (source,) = list(expand(str(path)))
    assert detect(source.head(), source) is CloudTrailReader
    from sekimori.ingest.base import Quarantine

    reader, q = CloudTrailReader(), Quarantine(source)
    assert list(reader.read(source, q)) == []
    assert len(q) == 0
    assert len(reader.notes) == 1 and "digest" in reader.notes[0]


def test_event_history_csv(tmp_path: Path) -> None:
    # CloudTrail console "Download events" CSV columns; the third row lacks a field
    text = (
        "Event ID,Event time,User name,Event name,Resource type,Resource name,AWS access key,"
        "AWS region,Error code,Source IP address,Event source\r\n"
        "e1,2024-05-01T10:00:00Z,alice,ConsoleLogin,,,,us-east-1,,198.51.100.7,signin.amazonaws.com\r\n"
        "e2,2024-05-01T10:05:00Z,bob,DeleteBucket,AWS::S3::Bucket,b1,AKIAEXAMPLE,us-east-1,AccessDenied,"
        "203.0.113.9,s3.amazonaws.com\r\n"
        "e3,2024-05-01T10:06:00Z,carol,GetObject\r\n"
    )
    table, qs = _read(_write(tmp_path / "events.csv", text.encode()))
    rows = table.to_pylist()
    assert [r["principal"] for r in rows] == ["alice", "bob"]
    assert [r["outcome"] for r in rows] == ["success", "failure"]
    assert rows[1]["status"] == "AccessDenied" and rows[1]["logon_id"] == "AKIAEXAMPLE"
    assert rows[0]["category"] == "authentication" and rows[1]["application"] == "s3.amazonaws.com"
    (bad,) = [r for q in qs for r in q.records]
    assert bad.record == 4 and bad.field == "record" and "4 fields" in bad.reason


# -- (e) corrupt records ------------------------------------------------------------------------------


def test_truncated_and_bad_records_are_quarantined_by_record_and_field(
    tmp_path: Path, records: list[dict]
) -> None:
    good = [json.dumps(r) for r in records[:2]]
    bad_time = dict(records[2], eventTime="yesterday")
    lines = [
        good[0],
        good[1][:80],
        json.dumps(bad_time),
        json.dumps({"p_log_type": "AWS.CloudTrail"}),
        good[1],
    ]
    table, qs = _read(_write(tmp_path / "t.jsonl", "\n".join(lines).encode() + b"\n"))
    assert table["record_id"].to_pylist() == [1, 5]
    q = {r.record: r for q in qs for r in q.records}
    assert set(q) == {2, 3, 4}
    assert q[2].reason.startswith("not JSON")
    assert q[3].field == "eventTime" and "yesterday" in q[3].reason
    assert q[4].field == "eventName" and "p_log_type" in q[4].reason


def test_bad_items_inside_an_envelope(tmp_path: Path, records: list[dict]) -> None:
    data = {"Records": [records[0], "not an object", dict(records[1], eventTime=12)]}
    table, qs = _read(_write(tmp_path / "r.json", orjson.dumps(data)))
    assert table["record_id"].to_pylist() == [1]
    q = {r.record: r for q in qs for r in q.records}
    assert q[2].field == "Records" and q[3].field == "eventTime"


def test_truncated_gzip_keeps_what_came_before(tmp_path: Path, records: list[dict]) -> None:
    body = b"".join(orjson.dumps(r) + b"\n" for r in records * 400)
    packed = gzip.compress(body)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    table, qs = read_all(CloudTrailReader, path)
    problems = [r for q in qs for r in q.records]
    assert 0 < table.num_rows < len(records) * 400
    assert problems and problems[-1].reason.startswith("stream broke off")


# -- unwrap: a document with no envelope key is a record, told in one look-up per envelope key ----------

_KEYS = ["Records", "detail", "detail-type", "logEvents", "messageType", "events", "Events", "logFiles",
         "digestStartTime", "digestEndTime", "digestS3Object", "digestSignatureAlgorithm", "eventName",
         "eventSource", "userIdentity", "message", "CloudTrailEvent"]  # fmt: skip
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=3),
    max_leaves=8,
)


def _shape_by_the_rules(doc: dict[str, Any]) -> str:
    """The oracle: the envelope rules of ``shapes``' docstring, tried in order on every document."""
    if isinstance(doc.get("Records"), list):
        return "s3"
    digest_keys = ("digestStartTime", "digestEndTime", "digestS3Object", "digestSignatureAlgorithm")
    if sum(k in doc for k in digest_keys) >= 2 or ("digestS3Object" in doc and "logFiles" in doc):
        return "digest"
    if isinstance(doc.get("detail"), dict) and "detail-type" in doc:
        return "eventbridge"
    if isinstance(doc.get("logEvents"), list) and "messageType" in doc:
        return "control" if doc["messageType"] == "CONTROL_MESSAGE" else "cloudwatch"
    events = doc.get("events")
    if isinstance(events, list) and events and all(isinstance(e, dict) and "message" in e for e in events):
        return "cloudwatch"
    lookup = doc.get("Events")
    if isinstance(lookup, list) and all(isinstance(e, dict) and "CloudTrailEvent" in e for e in lookup):
        return "lookup"
    return "record"


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=6))
def test_unwrap_tells_every_shape_as_the_rules_do(doc: dict[str, Any]) -> None:
    shape, items = unwrap(doc)
    assert shape == _shape_by_the_rules(doc)
    if shape == "record":
        assert items == [doc] and items[0] is doc


def test_unwrap_real_records_are_records(records: list[dict[str, Any]]) -> None:
    for record in records:
        assert unwrap(record) == ("record", [record])
    assert unwrap({"Records": records}) == ("s3", records)
