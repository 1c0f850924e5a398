"""Entra records in one JSON document (the portal's JSON array, a Graph page ``{"value": [...]}``, an Event
Hub ``{"records": [...]}``), on Panther's real records: read one record at a time, the same events as
the same records one per line, and a document that breaks keeps the records before the break.

The oracle is a plain reading here: the records parsed with ``json`` one line at a time, each element's
place in the document text written here, and the events of the line-per-record file (another path of
the reader). The truncation and bounded-read tests fail on the code before streaming (it parsed the
whole document: a break lost every record, and the file was read in one piece).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest

from sekimori.ingest.base import Quarantine
from sekimori.ingest.readers.entra import EntraReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import Source, expand
from tests.conftest import corpus

BLOCK = 1 << 20  # the reader's read size


def _records() -> list[dict[str, Any]]:
    path = corpus("identity-cloud", "entra-signin", "panther_azure_audit.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _read(source: Source) -> tuple[pa.Table, Quarantine]:
    quarantine = Quarantine(source)
    batches = list(EntraReader().read(source, quarantine))
    return pa.Table.from_batches(batches, schema=EVENT_SCHEMA), quarantine


def _read_text(tmp_path: Path, text: str, name: str = "doc.json") -> tuple[pa.Table, Quarantine]:
    path = tmp_path / name
    path.write_text(text)
    return _read(Source(str(path), path))


def _without(table: pa.Table, *columns: str) -> list[dict[str, Any]]:
    return table.drop_columns(list(columns)).to_pylist()


DOCUMENTS = {
    "array": lambda rs: json.dumps(rs, indent=2),
    "compact array": json.dumps,
    "graph page": lambda rs: json.dumps(
        {"@odata.context": "https://graph.microsoft.com/x", "value": rs}, indent=2
    ),
    "event hub": lambda rs: json.dumps({"records": rs}, indent=1),
}


@pytest.mark.parametrize("shape", list(DOCUMENTS))
def test_a_document_reads_as_its_records_one_per_line(tmp_path: Path, shape: str) -> None:
    records = _records()
    lines, lines_q = _read_text(tmp_path, "".join(json.dumps(r) + "\n" for r in records), "lines.json")
    table, quarantine = _read_text(tmp_path, DOCUMENTS[shape](records))
    assert len(quarantine) == len(lines_q) == 0
    assert table["record_id"].to_pylist() == list(range(1, len(records) + 1))
    # raw is each record written compactly (its own text when it was a line)
    assert table["raw"].to_pylist() == [orjson.dumps(r).decode() for r in records]
    assert _without(table, "raw") == _without(lines, "raw")


def test_records_larger_than_a_read_block_in_a_large_array(tmp_path: Path) -> None:
    records = _records()
    many = records * 40  # several MiB: elements run across the read blocks
    big = dict(records[0], padding="x" * (BLOCK + 10))  # one record longer than a block
    table, quarantine = _read_text(tmp_path, json.dumps([*many, big], indent=2))
    assert len(quarantine) == 0
    assert table.num_rows == len(many) + 1
    assert json.loads(table["raw"][-1].as_py()) == big


def _array_with_places(records: list[dict[str, Any]]) -> tuple[str, list[int]]:
    """A pretty-printed array and the character offset where each element starts."""
    text, starts = "[\n", []
    for n, record in enumerate(records):
        starts.append(len(text))
        text += json.dumps(record, indent=2) + (",\n" if n < len(records) - 1 else "\n")
    return text + "]\n", starts


def test_truncated_array_keeps_the_records_before_the_break(tmp_path: Path) -> None:
    records = _records()
    text, starts = _array_with_places(records)
    cut = starts[30] + 100  # inside the 31st record
    table, quarantine = _read_text(tmp_path, text[:cut])  # ASCII: characters are bytes
    assert table["record_id"].to_pylist() == list(range(1, 31))
    (broken,) = quarantine.records
    assert broken.record == 31 and broken.reason.startswith("JSON document broken off")
    assert starts[30] <= broken.offset <= cut  # type: ignore[operator]
    assert broken.excerpt is not None and records[30]["time"] in broken.excerpt  # the record that broke


def test_truncated_graph_page_keeps_the_records_before_the_break(tmp_path: Path) -> None:
    records = _records()
    head = '{\n  "@odata.context": "https://graph.microsoft.com/x",\n  "value": '
    text, starts = _array_with_places(records)
    table, quarantine = _read_text(tmp_path, head + text[: starts[10]])  # cut between records 10 and 11
    assert table["record_id"].to_pylist() == list(range(1, 11))
    (broken,) = quarantine.records
    assert broken.record == 11 and "not closed" in broken.reason
    assert broken.offset == len(head) + starts[10]


def test_data_after_the_document_is_quarantined_after_its_records(tmp_path: Path) -> None:
    records = _records()[:5]
    text = json.dumps(records, indent=2)
    table, quarantine = _read_text(tmp_path, text + "\ngarbage\n")
    assert table.num_rows == 5
    (extra,) = quarantine.records
    assert extra.record == 6 and extra.offset == len(text) + 1 and "after the JSON document" in extra.reason


@dataclass
class _Recording:
    """A file object that notes how much each read handed out."""

    path: Path
    sizes: list[int]

    def __post_init__(self) -> None:
        self._fh = self.path.open("rb")

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self.sizes.append(len(data))
        return data

    def __iter__(self) -> _Recording:
        return self

    def __next__(self) -> bytes:
        line = self._fh.readline()
        if not line:
            raise StopIteration
        self.sizes.append(len(line))
        return line

    def __enter__(self) -> _Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


@dataclass(frozen=True)
class _RecordingSource(Source):
    sizes: list[int] | None = field(default=None, compare=False)

    def open(self) -> Any:
        assert self.sizes is not None
        return _Recording(Path(self.path), self.sizes)


@pytest.mark.parametrize("shape", ["compact array", "graph page"])
def test_a_large_document_is_read_in_bounded_blocks(tmp_path: Path, shape: str) -> None:
    records = _records() * 60
    path = tmp_path / "big.json"
    path.write_text(DOCUMENTS[shape](records))
    assert path.stat().st_size > 4 * BLOCK
    sizes: list[int] = []
    table, quarantine = _read(_RecordingSource(str(path), path, sizes=sizes))
    assert table.num_rows == len(records) and len(quarantine) == 0
    assert sum(sizes) >= path.stat().st_size and max(sizes) <= BLOCK


def test_gzip_array_that_breaks_off_keeps_the_records_before(tmp_path: Path) -> None:
    records = _records() * 80  # the half kept is several read blocks (a block cut short is lost whole)
    packed = gzip.compress(json.dumps(records, indent=2).encode())
    path = tmp_path / "cut.json.gz"
    path.write_bytes(packed[: len(packed) // 2])
    (source,) = expand(str(path))
    table, quarantine = _read(source)
    kept = table["record_id"].to_pylist()
    assert 0 < len(kept) < len(records) and kept == list(range(1, len(kept) + 1))
    assert table["raw"].to_pylist() == [orjson.dumps(r).decode() for r in records[: len(kept)]]
    (broken,) = quarantine.records
    assert broken.record == len(kept) + 1 and "broke off" in broken.reason


def test_an_element_orjson_refuses_is_quarantined_and_the_reading_goes_on(tmp_path: Path) -> None:
    records = _records()[:6]
    text = json.dumps(records, indent=2)
    at = text.index('"durationMs": 0', text.index("{", 1))  # in the first record
    table, quarantine = _read_text(tmp_path, text[:at] + '"durationMs": NaN' + text[at + 15 :])
    assert table["record_id"].to_pylist() == [2, 3, 4, 5, 6]
    (bad,) = quarantine.records
    assert bad.record == 1 and bad.reason.startswith("not JSON") and records[0]["time"] in (bad.excerpt or "")


def test_a_single_pretty_printed_record_with_an_unreadable_value(tmp_path: Path) -> None:
    record = _records()[8]
    text = json.dumps(record, indent=2).replace('"durationMs": 0', '"durationMs": NaN', 1)
    assert "NaN" in text
    table, quarantine = _read_text(tmp_path, text)
    assert table.num_rows == 0
    (bad,) = quarantine.records
    assert bad.record == 1 and bad.reason.startswith("not JSON")
