"""The Windows part of OTRF Security-Datasets (zipped and tarred NDJSON): every line becomes an event or
a quarantine row, and the events are exactly the lines an independent JSON parse calls Windows records."""

import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from sekimori.store import Store
from tests.conftest import corpus

pytestmark = pytest.mark.corpus


def _members(path: Path):
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if not name.endswith("/") and not name.startswith("__MACOSX/"):
                    yield z.read(name)
    else:
        with tarfile.open(path, "r:*") as t:
            for m in t.getmembers():
                if m.isfile():
                    yield t.extractfile(m).read()


def _expected(path: Path) -> tuple[int, int]:
    """(Windows records, other non-empty lines), by the standard json module."""
    events = other = 0
    for data in _members(path):
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                other += 1
                continue
            windows = isinstance(doc, dict) and (
                "EventID" in doc
                or isinstance(doc.get("winlog"), dict)
                or ("event_id" in doc and "log_name" in doc)
            )
            if windows:
                events += 1
            else:
                other += 1
    return events, other


def test_every_windows_dataset_line_is_accounted_for(tmp_path):
    windows = corpus("security-datasets", "datasets", "atomic", "windows")
    archives = sorted(p for p in windows.rglob("*") if p.suffix in (".zip", ".gz"))
    assert len(archives) >= 90
    store = Store(tmp_path / "store")
    report = store.ingest([str(p) for p in archives])
    results = {f.path: f for f in report.files}
    total = 0
    for path in archives:
        events, other = _expected(path)
        result = results[str(path)]
        assert result.status != "failed", (path, result.note)
        assert result.events == events, path
        assert result.quarantined == other, path
        total += events
    assert store.stats()["events"] == total
    # the normalized columns are filled where the mapping says so
    check = store.sql(
        "SELECT count(*) AS n, count(principal) AS p, count(time) AS t FROM events WHERE event_code = '4624'"
    ).to_pylist()[0]
    assert check["n"] > 0 and check["p"] == check["n"] and check["t"] == check["n"]
