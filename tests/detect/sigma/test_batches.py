"""A Sigma run cut into many small batches gives exactly the alerts of a run reading every event at
once: the demo's real logs (EVTX attack samples and Entra sign-ins), the bundled SigmaHQ rules and a
correlation (the security log cleared 3 times on one computer) whose events fall in different batches."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sekimori.detect import DetectProgress, run_detectors
from sekimori.detect.base import memory_bytes
from sekimori.detect.sigma.batches import Budget, plan
from sekimori.store import Store
from tests.detect.sigma.test_incremental import CORRELATION

ROOT = Path(__file__).parents[3]
LOGS = ROOT / "sekimori" / "demo" / "data" / "logs"
BUNDLED = ROOT / "sekimori" / "detect" / "sigma" / "sigmahq-rules.zip"
ROWS = 40  # events a batch holds in the cut runs: the demo logs (237 events) make 6 batches of it
# The bundled rules for what the demo logs hold (Windows security and system, Sysmon network and process
# access, Entra ID), not all of them: each rule's compilation costs.
FOLDERS = (
    "rules/windows/builtin/",
    "rules/windows/network_connection/",
    "rules/windows/process_access/",
    "rules/cloud/azure/",
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("batches")
    rules = root / "rules"
    rules.mkdir()
    with zipfile.ZipFile(BUNDLED) as zf:
        for name in zf.namelist():
            if name.startswith(FOLDERS) and name.endswith(".yml"):
                (rules / name.replace("/", "__")).write_bytes(zf.read(name))
    (rules / "correlation.yml").write_text(CORRELATION)
    store = Store(root / "store")
    store.ingest([str(LOGS)])
    return store, [str(rules)]


def _run(store, rules, rows=None, incremental=True, limit=None):
    told: list[DetectProgress] = []
    settings: dict = {"rules": rules, "incremental": incremental}
    if rows is not None:
        settings["batch_rows"] = rows
    report = run_detectors(
        store,
        only=["sigma"],
        config={"sigma": settings},
        save=False,
        progress=told.append,
        memory_limit=limit,
    )
    passes = {e.logsource: e.events for e in told if e.step == "pass"}
    rows_sorted = sorted(report.alerts.to_pylist(), key=lambda r: (r["alert_id"], r["rule_id"]))
    _TOLD[:] = told
    return rows_sorted, passes


_TOLD: list[DetectProgress] = []  # what the last ``_run`` was told


def _positions(alerts, rule_id, store):
    """Where the events of one rule's alerts are in the store's files: (file, row)."""
    uids = {e["uid"] for a in alerts if a["rule_id"] == rule_id for e in a["evidence"]}
    positions = []
    for file in store.event_files():
        column = pq.read_table(file, columns=["uid"]).column("uid").to_pylist()
        positions += [(file, i) for i, u in enumerate(column) if u in uids]
    return positions


@pytest.mark.parametrize("incremental", [True, False])
def test_many_small_batches_give_the_alerts_of_one(setup, incremental):
    store, rules = setup
    whole, whole_passes = _run(store, rules, incremental=incremental)  # no memory limit: one batch
    cut, cut_passes = _run(store, rules, rows=ROWS, incremental=incremental)
    batches = plan(store.event_files(), Budget(ROWS, 1 << 40))
    assert len(batches) > 5
    # progress: each pass told of each of its batches, counted over all passes, the events adding up
    steps = [e for e in _TOLD if e.step == "batch"]
    total = len(cut_passes) * len(batches)
    assert [e.done for e in steps] == list(range(1, total + 1)) and {e.total for e in steps} == {total}
    per_source: dict[str | None, int] = {}
    for e in steps:
        per_source[e.logsource] = per_source.get(e.logsource, 0) + e.events
    assert per_source == cut_passes

    assert cut == whole
    # each pass read every event of its log source, across the batches
    assert cut_passes == whole_passes
    burst = [a for a in whole if a["title"].startswith("Security log cleared three")]
    assert len(burst) == 1 and len(burst[0]["evidence"]) == 3
    # the burst's three clearings are in more than one batch: the correlation spans batches
    spans = {
        b
        for file, i in _positions(whole, "0c5b7e9a-1f2d-4c3b-9a8e-7d6c5b4a3f21", store)
        for b, pieces in enumerate(batches)
        if any(p.file == file and p.start <= i < p.stop for p in pieces)
    }
    assert len(spans) > 1


def test_plan_covers_every_row_once_within_the_bounds(setup):
    store, _ = setup
    files = store.event_files()
    rows = {f: pq.ParquetFile(f).metadata.num_rows for f in files}
    for budget in (Budget(ROWS, 1 << 40), Budget(1 << 40, 200_000), Budget(7, 1)):
        batches = plan(files, budget)
        covered = sorted((p.file, r) for b in batches for p in b for r in range(p.start, p.stop))
        assert covered == sorted((f, r) for f, n in rows.items() for r in range(n))
        sizes = [sum(p.stop - p.start for p in b) for b in batches]
        assert max(sizes) <= budget.rows
    # the default budget of a memory limit: an eighth of it in bytes
    assert Budget.of(memory_bytes("1GB")) == Budget(500_000, 250_000_000)  # a quarter of 10**9 bytes
    assert Budget.of(None) is None and memory_bytes("2.5GiB") == int(2.5 * 2**30)
