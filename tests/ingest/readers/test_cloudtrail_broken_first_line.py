"""CloudTrail JSON Lines whose first line is broken (cut short by a partial write, garbage): its first
character opens a JSON value the line does not close, so the reader takes the file for one document,
which does not parse. It is read as lines instead: the broken line quarantined, every later line as in
any JSON Lines file. A broken pretty-printed document still gives its one quarantine row.

Inputs are made of Panther's real CloudTrail records (one a line); what the reader should give is
worked out with a plain ``json.loads`` per line of the same bytes, the quarantine rows by hand.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from sekimori.ingest.base import detect
from sekimori.ingest.readers.cloudtrail import CloudTrailReader
from sekimori.ingest.source import expand
from tests.conftest import corpus, read_all

PANTHER = ("identity-cloud", "cloudtrail", "panther_aws_cloudtrail.jsonl")
ISO = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")
# Panther lines that are JSON but not events (README; test_cloudtrail.py counts them): no eventName,
# an eventTime that is no time.
NOT_EVENTS = {328: "eventTime", 461: "eventTime", 470: "eventName", 471: "eventName", 474: "eventName"}


def _panther_lines() -> list[bytes]:
    return [line for line in corpus(*PANTHER).read_bytes().split(b"\n") if line.strip()]


def _good_records(count: int) -> list[dict[str, Any]]:
    """Panther records that read as events (an eventName and an ISO eventTime)."""
    docs = [json.loads(line) for line in _panther_lines()]
    good = [d for d in docs if "eventName" in d and ISO.match(str(d.get("eventTime", "")))]
    assert len(good) >= count
    return good[:count]


def _name(record: dict[str, Any]) -> str:
    name = record["eventName"] if "eventName" in record else record["eventname"]  # Lake: lower case
    assert isinstance(name, str)
    return name


def _per_line(data: bytes) -> tuple[list[tuple[int, Any, bytes]], list[tuple[int, int]]]:
    """The oracle: (line number, JSON value, line) of each line ``json.loads`` reads, and (line number,
    byte offset) of each non-blank line it does not."""
    good, bad = [], []
    offset = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            try:
                good.append((number, json.loads(line), line))
            except ValueError:
                bad.append((number, offset))
        offset += len(line) + 1
    return good, bad


def _read(path: Path) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    table, quarantines = read_all(CloudTrailReader, path)
    rows = table.select(["record_id", "event_code", "raw"]).to_pylist()
    bad = [(r.record, r.offset, r.field, r.reason) for q in quarantines for r in q.records]
    return rows, bad


def _write(path: Path, data: bytes) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def _claimed(path: Path) -> bool:
    (source,) = expand(str(path))
    return detect(source.head(), source) is CloudTrailReader


# -- JSON Lines, first line broken -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["panther.jsonl", "panther.jsonl.gz"])
def test_real_file_first_line_cut_at_half(tmp_path: Path, name: str) -> None:
    lines = _panther_lines()
    assert len(lines) == 475
    cut = lines[0][: len(lines[0]) // 2]
    assert cut.startswith(b"{") and not cut.endswith(b"}")  # looks like a document's start
    data = b"\n".join([cut, *lines[1:]]) + b"\n"
    path = _write(tmp_path / name, data)
    assert _claimed(path)

    good, bad = _per_line(data)
    assert bad == [(1, 0)]  # json.loads: only the cut line is not JSON
    expected = [(n, _name(d), line.decode()) for n, d, line in good if n not in NOT_EVENTS]
    assert len(expected) == 475 - 1 - len(NOT_EVENTS)

    rows, quarantined = _read(path)
    assert [(r["record_id"], r["event_code"], r["raw"]) for r in rows] == expected
    assert [(r, o, f) for r, o, f, _ in quarantined] == [
        (1, 0, None),
        (328, len(b"\n".join([cut, *lines[1:327]])) + 1, "eventTime"),
        (461, len(b"\n".join([cut, *lines[1:460]])) + 1, "eventTime"),
        (470, len(b"\n".join([cut, *lines[1:469]])) + 1, "eventName"),
        (471, len(b"\n".join([cut, *lines[1:470]])) + 1, "eventName"),
        (474, len(b"\n".join([cut, *lines[1:473]])) + 1, "eventName"),
    ]
    assert quarantined[0][3].startswith("not JSON: ")


def test_cut_first_line_leaves_the_other_lines_as_the_whole_file_gives_them(tmp_path: Path) -> None:
    """Every column of every event after the cut line is what the intact file gives for it."""
    lines = _panther_lines()
    intact = _write(tmp_path / "intact.jsonl", b"\n".join(lines) + b"\n")
    cut = lines[0][: len(lines[0]) // 2]
    broken = _write(tmp_path / "broken.jsonl", b"\n".join([cut, *lines[1:]]) + b"\n")
    whole, _ = read_all(CloudTrailReader, intact)
    read, _ = read_all(CloudTrailReader, broken)
    assert whole["record_id"][0].as_py() == 1
    assert read.num_rows == whole.num_rows - 1
    assert read.equals(whole.filter(pc.not_equal(whole["record_id"], 1)))


def test_garbage_first_line(tmp_path: Path) -> None:
    records = _good_records(40)
    garbage = b"[2024-05-02 10:41:07] ERROR exporter: connection reset, retrying"
    data = garbage + b"\n" + b"".join(json.dumps(r).encode() + b"\n" for r in records)
    path = _write(tmp_path / "export.jsonl", data)
    assert _claimed(path)

    good, bad = _per_line(data)
    assert bad == [(1, 0)]
    rows, quarantined = _read(path)
    assert len(rows) == len(good) == 40
    assert [r["record_id"] for r in rows] == [n for n, _, _ in good] == list(range(2, 42))
    assert [r["event_code"] for r in rows] == [d["eventName"] for _, d, _ in good]
    assert [json.loads(r["raw"]).get("eventID") for r in rows] == [d.get("eventID") for _, d, _ in good]
    assert [(r, o, f) for r, o, f, _ in quarantined] == [(1, 0, None)]
    assert quarantined[0][3].startswith("not JSON: ")


def test_s3_objects_one_a_line_first_cut(tmp_path: Path) -> None:
    """One ``{"Records": [...]}`` S3 object a line, the first cut (longer than the 4 KB head, so the
    head alone does not show where it ends): the records of the later lines are numbered across them."""
    records = _good_records(30)
    objects = [json.dumps({"Records": records[i : i + 10]}).encode() for i in (0, 10, 20)]
    cut = objects[0][: len(objects[0]) // 2]
    assert len(cut) > 4096
    data = b"\n".join([cut, objects[1], objects[2]]) + b"\n"
    path = _write(tmp_path / "s3.jsonl", data)
    assert _claimed(path)

    good, bad = _per_line(data)
    assert bad == [(1, 0)]
    expected = [record for _, doc, _ in good for record in doc["Records"]]
    assert len(expected) == 20
    rows, quarantined = _read(path)
    assert [r["record_id"] for r in rows] == list(range(1, len(expected) + 1))
    assert [r["event_code"] for r in rows] == [d["eventName"] for d in expected]
    assert [json.loads(r["raw"]) for r in rows] == expected
    assert [json.loads(r["raw"]).get("eventID") for r in rows] == [d.get("eventID") for d in expected]
    assert [(r, o, f) for r, o, f, _ in quarantined] == [(1, 0, None)]
    assert quarantined[0][3].startswith("not JSON: ")


# -- a broken document stays one quarantine row ------------------------------------------------------


def _without_comma(text: str) -> tuple[str, int]:
    """``text`` with the comma ending its middle line (or the next line that has one) taken out, and
    the offset where the JSON parse then stops: the first character of the line after it."""
    lines = text.split("\n")
    i = len(lines) // 2
    while not lines[i].endswith(","):
        i += 1
    lines[i] = lines[i][:-1]
    before = len("\n".join(lines[: i + 1])) + 1
    return "\n".join(lines), before + len(lines[i + 1]) - len(lines[i + 1].lstrip())


@pytest.mark.parametrize(
    "layout",
    [
        "s3_pretty",  # {"Records": [...]} indented
        "array_pretty",  # [records] indented
        "array_one_a_line",  # [\n{record},\n{record}\n]: the second line is an element and its comma
    ],
)
def test_broken_multi_line_document_is_one_row(tmp_path: Path, layout: str) -> None:
    records = _good_records(10)
    if layout == "s3_pretty":
        text = json.dumps({"Records": records}, indent=2)
    elif layout == "array_pretty":
        text = json.dumps(records, indent=4)
    else:
        text = "[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n"
    broken, where = _without_comma(text)
    path = _write(tmp_path / "doc.json", broken.encode())
    assert _claimed(path)
    _, bad = _per_line(broken.encode())
    assert len(bad) >= 10  # read as lines it would be many rows

    rows, quarantined = _read(path)
    assert rows == []
    assert [(r, o, f) for r, o, f, _ in quarantined] == [(1, where, None)]
    assert quarantined[0][3].startswith("not a JSON document: ")


def test_truncated_pretty_document_is_one_row(tmp_path: Path) -> None:
    text = json.dumps({"Records": _good_records(10)}, indent=2).encode()
    cut = text[: len(text) // 2]
    path = _write(tmp_path / "doc.json", cut)
    rows, quarantined = _read(path)
    assert rows == []
    assert len(quarantined) == 1
    record, _, field, reason = quarantined[0]
    assert (record, field) == (1, None) and reason.startswith("not a JSON document: ")


def test_one_broken_line_is_one_document_row(tmp_path: Path) -> None:
    """A single line that does not parse: nothing after it to read as lines."""
    line = _panther_lines()[0]
    path = _write(tmp_path / "one.json", line[: len(line) // 2] + b"\n\n")
    rows, quarantined = _read(path)
    assert rows == []
    assert [(r, f) for r, _, f, _ in quarantined] == [(1, None)]
    assert quarantined[0][3].startswith("not a JSON document: ")
