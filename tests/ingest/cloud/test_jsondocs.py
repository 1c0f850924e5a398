"""Telling one JSON document from one record per line, and the first record's keys, when the head a
reader looks at ends inside the first line; JSON arrays one after another."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sekimori.ingest.base import Quarantine
from sekimori.ingest.cloud.jsondocs import is_json_lines, iter_json_docs, leading_members
from sekimori.ingest.source import expand
from tests.conftest import DATA

HEAD = 4096
LONG = {"eventName": "PutBucketPolicy", "requestParameters": {"policy": "p" * 2 * HEAD}}
SHORT = {"eventName": "GetObject"}


def _decides(tmp_path: Path, text: str, name: str = "f.json") -> bool:
    path = tmp_path / name
    data = text.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    (src,) = expand(str(path))
    return is_json_lines(src, src.head(HEAD))


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        (f"{json.dumps(LONG)}\n{json.dumps(SHORT)}\n", True),  # the head ends inside the first line
        (f"\ufeff\r\n{json.dumps(LONG)}\r\n\r\n{json.dumps(SHORT)}\r\n", True),
        (f"{json.dumps([LONG])}\n{json.dumps([SHORT])}\n", True),  # an array on each line
        (f"{json.dumps(SHORT)}\n{json.dumps(SHORT)}\n", True),  # the head holds it all
        (json.dumps({"Records": [LONG, SHORT]}), False),  # one document, one line
        (json.dumps({"Records": [LONG, SHORT]}) + "\n\n  \n", False),  # blank lines after it
        (json.dumps({"Records": [LONG, SHORT]}, indent=2), False),  # pretty-printed
        ("[\n" + json.dumps(LONG) + ",\n" + json.dumps(SHORT) + "\n]\n", False),  # an array, one a line
        (json.dumps(LONG)[: HEAD + 10] + "\n" + json.dumps(SHORT) + "\n", False),  # a cut first line
        ("", False),
    ],
)
def test_json_lines_or_one_document(tmp_path: Path, text: str, lines: bool) -> None:
    assert _decides(tmp_path, text) is lines
    assert _decides(tmp_path, text, "f.json.gz") is lines  # read on through the decompressed stream


def test_a_first_line_the_stream_breaks_off_in_is_left_to_the_reader(tmp_path: Path) -> None:
    policy = " ".join(f"Sid{i}" for i in range(2 * HEAD))  # compresses too little to fit the cut
    text = json.dumps({**LONG, "requestParameters": {"policy": policy}}) + "\n" + json.dumps(SHORT)
    data = gzip.compress(text.encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    (src,) = expand(str(path))
    assert is_json_lines(src, b'{"eventName": "PutBucketPolicy", "requestParam') is False


def test_leading_members_of_a_record_longer_than_the_head() -> None:
    record = {"Operation": "UserLoggedIn", "n": [1, {"a": None}], "ModifiedProperties": "m" * 100}
    head = json.dumps(record).encode()[:60]
    assert leading_members(head) == {"Operation": "UserLoggedIn", "n": [1, {"a": None}]}
    assert leading_members(b"[ " + head) == {"Operation": "UserLoggedIn", "n": [1, {"a": None}]}


@pytest.mark.parametrize(
    ("head", "want"),
    [
        (b'{"a": 1}\n{"b": 2}', {"a": 1}),  # a whole record: first_object's answer
        (b'{"a"', None),  # not one member whole
        (b'{"a" 1, "b": 2', None),  # no colon: nothing read past it
        (b"not json", None),
    ],
)
def test_leading_members_edges(head: bytes, want: object) -> None:
    assert leading_members(head) == want


OKTA = DATA / "okta" / "panther_okta_sample.jsonl"


def _docs(path: Path) -> tuple[list[tuple[int, int, str, dict]], list[tuple]]:
    (src,) = expand(str(path))
    quarantine = Quarantine(src)
    docs = list(iter_json_docs(src, quarantine))
    return docs, [(r.record, r.field, r.reason) for r in quarantine.records]


@pytest.mark.parametrize("gap", ["\n", "\r\n\r\n", ""])
def test_api_pages_saved_one_after_another_are_read_as_one_array(tmp_path: Path, gap: str) -> None:
    records = [json.loads(line) for line in OKTA.read_text().splitlines() if line.strip()]
    pages = [json.dumps(records[:4]), json.dumps(records[4:6]), json.dumps(records[6:])]
    path = tmp_path / "pages.json"
    path.write_text(gap.join(pages) + "\n")
    docs, bad = _docs(path)
    assert bad == []
    assert [(number, offset) for number, offset, _, _ in docs] == [(n, -1) for n in range(1, 10)]
    assert [doc for *_, doc in docs] == records
    assert [json.loads(raw) for _, _, raw, _ in docs] == records


def test_what_follows_an_array_that_is_not_one_is_named(tmp_path: Path) -> None:
    records = [json.loads(line) for line in OKTA.read_text().splitlines() if line.strip()]
    path = tmp_path / "tail.json"
    path.write_text(json.dumps(records[:2]) + "\n" + json.dumps(records[2]) + "\n")
    docs, bad = _docs(path)
    assert [doc for *_, doc in docs] == records[:2]
    assert bad == [(3, "record", "not JSON: more after the JSON array's end")]
