"""The Zeek reader on the whole WRCCDC 2018 Zeek corpus (../shared/data/zeek-wrccdc2018), TSV and JSON."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.zeek import ZeekReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import expand
from tests.conftest import corpus

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "zeek-wrccdc2018"
TSV = CORPUS / "zeek-default"
JSON = CORPUS / "zeek-json"

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module", autouse=True)
def _corpus_present() -> None:
    corpus("zeek-wrccdc2018")  # skips (or fails in CI) when the corpus is not beside the repository


def _files() -> list[Path]:
    return sorted(TSV.glob("*.log.gz")) + sorted(JSON.glob("*.json.gz"))


def _data_lines(path: Path) -> int:
    with gzip.open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip() and not line.startswith(b"#"))


def _read(path: Path) -> tuple[pa.Table, Quarantine]:
    (source,) = expand(str(path))
    assert detect(source.head(), source) is ZeekReader
    quarantine = Quarantine(source)
    batches = list(ZeekReader().read(source, quarantine))
    return pa.Table.from_batches(batches, schema=EVENT_SCHEMA), quarantine


@pytest.mark.parametrize("path", _files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_data_line_is_an_event_or_quarantined(path: Path) -> None:
    table, quarantine = _read(path)
    assert table.num_rows + len(quarantine) == _data_lines(path)
    # The corpus is clean Zeek output: nothing is quarantined.
    assert len(quarantine) == 0, [(r.record, r.field, r.reason) for r in quarantine.records[:5]]
    log = path.name.split(".")[0]
    assert set(table["channel"].to_pylist()) == {log}


@pytest.mark.parametrize(
    "log", ["kerberos", "ntlm", "ssh", "rdp", "smb_mapping", "smb_files", "dns", "dce_rpc"]
)
def test_tsv_and_json_agree(log: str) -> None:
    # Both folders were written by the same Zeek run: same records, same order. Even the record counts
    # of the other logs agree; only the raw form of a set holding one empty string differs (TSV writes
    # it as "(empty)", like an empty set), which does not touch these logs.
    tsv, _ = _read(TSV / f"{log}.log.gz")
    js, _ = _read(JSON / f"{log}.json.gz")
    assert tsv.num_rows == js.num_rows > 0
    columns = [
        c
        for c in EVENT_SCHEMA.names
        if c not in ("uid", "source_format", "source_file", "source_member", "record_id", "raw")
    ]
    assert tsv.select(columns).equals(js.select(columns))


def test_outcomes_on_the_corpus() -> None:
    # What the logs say about authentication, as counted with zcat | cut | sort | uniq -c.
    def outcomes(log: str) -> dict[str | None, int]:
        table, _ = _read(TSV / f"{log}.log.gz")
        values = table["outcome"].to_pylist()
        return {v: values.count(v) for v in set(values)}

    assert outcomes("kerberos") == {None: 10, "failure": 1}
    assert outcomes("ntlm") == {"success": 206, None: 216}
    assert outcomes("ssh") == {"success": 5, "failure": 2, None: 15}
    rdp = outcomes("rdp")
    assert rdp["success"] == 33 + 10 + 1 and rdp["failure"] == 2
