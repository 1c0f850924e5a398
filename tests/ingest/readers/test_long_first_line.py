"""JSON records whose first line is longer than the head a reader decides by (4 KB to choose one JSON
document or one record per line, 64 KB to sniff): real records made long by a long field the mapping
does not read, put last (as APIs write the identifying fields first), the expected records worked out
with a plain ``json.loads`` per line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sekimori.ingest.base import Reader, detect
from sekimori.ingest.readers.cloudtrail import CloudTrailReader
from sekimori.ingest.readers.entra import EntraReader
from sekimori.ingest.readers.google_workspace import GoogleWorkspaceReader
from sekimori.ingest.readers.m365 import M365Reader
from sekimori.ingest.readers.okta import OktaReader
from sekimori.ingest.source import expand
from tests.conftest import DATA, corpus, read_all

CLOUDTRAIL = ("identity-cloud", "cloudtrail", "panther_aws_cloudtrail.jsonl")
ISO = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")
DECIDING_HEAD = 4096
SNIFFED_HEAD = 64 * 1024


def _cloudtrail_records(count: int) -> list[dict[str, Any]]:
    """Panther's CloudTrail records that read as events (an eventName and an ISO eventTime)."""
    lines = corpus(*CLOUDTRAIL).read_text().splitlines()
    docs = [json.loads(line) for line in lines if line.strip()]
    good = [d for d in docs if "eventName" in d and ISO.match(str(d.get("eventTime", "")))]
    return good[:count]


def _fixture_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _lengthened(record: dict[str, Any], field: str, size: int) -> dict[str, Any]:
    """``record`` with ``field``, last, holding name/value pairs that make its JSON at least ``size``
    characters long."""
    pairs = [{"Name": f"property{i}", "Value": "v" * 60} for i in range(size // 80 + 1)]
    return {**{k: v for k, v in record.items() if k != field}, field: pairs}


def _json_lines(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _read(reader: type[Reader], path: Path) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    table, quarantines = read_all(reader, path)
    rows = table.select(["record_id", "event_code", "raw"]).to_pylist()
    bad = [(r.record, r.field, r.reason) for q in quarantines for r in q.records]
    return rows, bad


# -- CloudTrail ---------------------------------------------------------------------------------------


def test_cloudtrail_json_lines_whose_first_record_is_longer_than_the_head(tmp_path: Path) -> None:
    records = _cloudtrail_records(10)
    records[0] = _lengthened(records[0], "responseElements", 2 * DECIDING_HEAD)
    path = tmp_path / "cloudtrail.jsonl"
    path.write_text(_json_lines(records))
    lines = path.read_text().splitlines()
    assert len(lines[0]) > DECIDING_HEAD
    rows, bad = _read(CloudTrailReader, path)
    assert bad == []
    assert [r["record_id"] for r in rows] == list(range(1, 11))
    assert [r["event_code"] for r in rows] == [json.loads(line)["eventName"] for line in lines]
    assert [r["raw"] for r in rows] == lines  # each record's own line


def test_cloudtrail_one_line_s3_files_one_after_another_the_first_longer_than_the_head(
    tmp_path: Path,
) -> None:
    records = _cloudtrail_records(12)
    records[0] = _lengthened(records[0], "responseElements", 2 * DECIDING_HEAD)
    path = tmp_path / "s3_objects.jsonl"
    path.write_text(_json_lines([{"Records": records[:7]}, {"Records": records[7:]}]))
    assert len(path.read_text().splitlines()[0]) > DECIDING_HEAD
    rows, bad = _read(CloudTrailReader, path)
    assert bad == []
    # numbered on through the lines, as the records of one S3 file are
    assert [r["record_id"] for r in rows] == list(range(1, 13))
    expected = [r for line in path.read_text().splitlines() for r in json.loads(line)["Records"]]
    assert [json.loads(r["raw"]) for r in rows] == expected


@pytest.mark.parametrize("layout", ["one line", "one line and blank lines", "pretty-printed", "array"])
def test_cloudtrail_a_single_document_longer_than_the_head_is_still_one_document(
    tmp_path: Path, layout: str
) -> None:
    records = _cloudtrail_records(12)
    records[0] = _lengthened(records[0], "responseElements", 2 * DECIDING_HEAD)
    text = {
        "one line": json.dumps({"Records": records}),
        "one line and blank lines": json.dumps({"Records": records}) + "\n\n  \n",
        "pretty-printed": json.dumps({"Records": records}, indent=2),
        "array": json.dumps(records),
    }[layout]
    path = tmp_path / "document.json"
    path.write_text(text)
    rows, bad = _read(CloudTrailReader, path)
    assert bad == []
    assert [r["record_id"] for r in rows] == list(range(1, 13))
    assert [json.loads(r["raw"]) for r in rows] == records


def test_cloudtrail_a_broken_first_line_longer_than_the_head_is_named_and_the_rest_read(
    tmp_path: Path,
) -> None:
    records = _cloudtrail_records(5)
    first = json.dumps(_lengthened(records[0], "responseElements", 2 * DECIDING_HEAD))
    path = tmp_path / "cut.jsonl"
    path.write_text(first[: DECIDING_HEAD + 100] + "\n" + _json_lines(records[1:]))
    rows, bad = _read(CloudTrailReader, path)
    # JSON Lines whose first line is cut: that line quarantined, the records after it read as lines
    ((record, _, reason),) = bad
    assert record == 1 and reason.startswith("not JSON: ")
    lines = path.read_text().splitlines()[1:]
    assert [r["record_id"] for r in rows] == [2, 3, 4, 5]
    assert [r["event_code"] for r in rows] == [json.loads(line)["eventName"] for line in lines]
    assert [r["raw"] for r in rows] == lines


def test_cloudtrail_claims_json_lines_whose_first_record_is_longer_than_the_sniffed_head(
    tmp_path: Path,
) -> None:
    records = _cloudtrail_records(3)
    records[0] = _lengthened(records[0], "responseElements", 2 * SNIFFED_HEAD)
    path = tmp_path / "cloudtrail.jsonl"
    path.write_text(_json_lines(records))
    (src,) = expand(str(path))
    assert detect(src.head(), src) is CloudTrailReader
    rows, bad = _read(CloudTrailReader, path)
    assert bad == [] and [r["record_id"] for r in rows] == [1, 2, 3]


# -- the other JSON Lines readers ---------------------------------------------------------------------

# (reader, fixture, the field made long, the record's event_code field)
OTHERS = [
    (M365Reader, DATA / "m365" / "panther_microsoft365_audit.jsonl", "ModifiedProperties", "Operation"),
    (OktaReader, DATA / "okta" / "panther_okta_sample.jsonl", "securityContext", "eventType"),
    (
        GoogleWorkspaceReader,
        DATA / "google_workspace" / "reports_api_activities.jsonl",
        "etag",
        None,
    ),
]


@pytest.mark.parametrize(("reader", "fixture", "field", "code"), OTHERS, ids=lambda v: getattr(v, "name", ""))
@pytest.mark.parametrize("size", [2 * DECIDING_HEAD, 2 * SNIFFED_HEAD], ids=["over 4 KB", "over 64 KB"])
def test_a_first_record_longer_than_the_head_is_claimed_and_read_like_the_rest(
    tmp_path: Path, reader: type[Reader], fixture: Path, field: str, code: str | None, size: int
) -> None:
    short = tmp_path / "short.jsonl"
    short.write_text(_json_lines(_fixture_records(fixture)))
    records = _fixture_records(fixture)
    records[0] = _lengthened(records[0], field, size)
    path = tmp_path / "long.jsonl"
    path.write_text(_json_lines(records))
    (src,) = expand(str(path))
    assert detect(src.head(), src) is reader
    rows, bad = _read(reader, path)
    short_rows, short_bad = _read(reader, short)
    assert rows, "the fixture has events"
    # the same records stored or quarantined, the first one's raw being its own (long) line
    assert [(r["record_id"], r["event_code"]) for r in rows] == [
        (r["record_id"], r["event_code"]) for r in short_rows
    ]
    assert bad == short_bad
    if code is not None:
        # the record's own field, camelCase or data-lake lower case
        own = [{k.lower(): v for k, v in records[r["record_id"] - 1].items()} for r in rows]
        assert [r["event_code"] for r in rows] == [doc[code.lower()] for doc in own]
    first_rows = [r for r in rows if r["record_id"] == 1]
    assert first_rows and all(json.loads(r["raw"]) == records[0] for r in first_rows)


def test_entra_graph_json_lines_whose_first_record_is_longer_than_the_sniffed_head(tmp_path: Path) -> None:
    """Graph sign-ins one per line (no Azure Monitor category to look for): the keys the head holds whole
    of the cut first record say what it is."""
    page = json.loads((DATA / "entra" / "graph_beta_signins_page.json").read_text())
    records = page["value"]
    short = tmp_path / "short.jsonl"
    short.write_text(_json_lines(records))
    long = tmp_path / "long.jsonl"
    long.write_text(_json_lines([_lengthened(records[0], "durationMs", 2 * SNIFFED_HEAD), *records[1:]]))
    (src,) = expand(str(long))
    assert detect(src.head(), src) is EntraReader
    rows, bad = _read(EntraReader, long)
    short_rows, short_bad = _read(EntraReader, short)
    assert len(rows) == len(records) and bad == short_bad == []
    assert [r["record_id"] for r in rows] == [r["record_id"] for r in short_rows]
