"""Sigma judges only the segments its last run did not, and gives the alerts of a full run: the demo's
real logs ingested in two parts into one store, detected after each, against the same logs ingested
at once and detected once. A correlation (the security log cleared 3 times on one computer) whose
events fall in both parts shows that bursts spanning the two runs are found."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from sekimori.detect import DetectProgress, run_detectors
from sekimori.store import Store

LOGS = Path(__file__).parents[3] / "sekimori" / "demo" / "data" / "logs"
BUNDLED = Path(__file__).parents[3] / "sekimori" / "detect" / "sigma" / "sigmahq-rules.zip"
CLEARED = "rules/windows/builtin/security/win_security_audit_log_cleared.yml"
CLEARED_ID = "d99b79d2-0a6f-4f46-ad8b-260b6e17f982"
PLINK = "rules/windows/process_creation/proc_creation_win_plink_port_forwarding.yml"
# Part A holds one clearing on WIN-77LTAPHIQ1R (LM_ScheduledTask…) and one on PC01 (DE_RDP…); part B the
# other two on WIN-77LTAPHIQ1R (the two discovery files) and one on PC01 (LM_WMIC…): read off a run of the
# rule on each file. Only A and B together make 3 on WIN-77LTAPHIQ1R; PC01 has 2.
PART_A = ["LM_ScheduledTask_ATSVC_target_host.evtx", "DE_RDP_Tunnel_5156.evtx"]
CORRELATION = f"""title: Security log cleared three times on one computer
id: 0c5b7e9a-1f2d-4c3b-9a8e-7d6c5b4a3f21
status: test
correlation:
    type: event_count
    rules:
        - {CLEARED_ID}
    group-by:
        - Computer
    timespan: 3650d
    condition:
        gte: 3
level: high
"""


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    root = tmp_path_factory.mktemp("parts")
    rules = root / "rules"
    rules.mkdir()
    with zipfile.ZipFile(BUNDLED) as zf:
        (rules / "cleared.yml").write_bytes(zf.read(CLEARED))
    (rules / "correlation.yml").write_text(CORRELATION)
    a, b = root / "a", root / "b"
    a.mkdir()
    b.mkdir()
    for f in sorted(LOGS.iterdir()):
        if f.suffix in (".evtx", ".json"):
            shutil.copy(f, (a if f.name in PART_A else b) / f.name)
    return rules, a, b


def _run(store, rules, **kw):
    told: list[DetectProgress] = []
    report = run_detectors(
        store, only=["sigma"], config={"sigma": {"rules": [str(rules)]}}, progress=told.append, **kw
    )
    events = sum(e.events for e in told if e.step == "pass")
    return report.alerts, events


def _events(store, folder=None):
    con = store.connect()
    where = "" if folder is None else f" WHERE source_file LIKE '{folder}/%'"
    return con.execute(f"SELECT count(*) FROM events{where}").fetchall()[0][0]


def test_two_runs_give_the_alerts_of_one_and_the_second_reads_only_the_new_part(tmp_path, parts):
    rules, a, b = parts
    once = Store(tmp_path / "once")
    once.ingest([str(a), str(b)])
    full_alerts, full_read = _run(once, rules)

    twice = Store(tmp_path / "twice")
    twice.ingest([str(a)])
    first, first_read = _run(twice, rules)
    twice.ingest([str(b)])
    second, second_read = _run(twice, rules)

    # the Windows events of the security channel are what the rule's pass reads
    assert first_read > 0 and second_read > 0
    assert first_read + second_read == full_read
    assert sorted(second["alert_id"].to_pylist()) == sorted(full_alerts["alert_id"].to_pylist())
    titles = sorted(second["title"].to_pylist())
    # 5 clearings (3 on WIN-77LTAPHIQ1R, 2 on PC01) and one burst: WIN-77LTAPHIQ1R's three
    assert titles.count("Security Eventlog Cleared") == 5
    (burst,) = [r for r in second.to_pylist() if r["title"].startswith("Security log cleared three")]
    assert burst["host"] == "WIN-77LTAPHIQ1R.example.corp" and len(burst["evidence"]) == 3
    assert not any(t.startswith("Security log cleared three") for t in first["title"].to_pylist())

    # nothing new: nothing read, the same alerts
    third, third_read = _run(twice, rules)
    assert third_read == 0
    assert sorted(third["alert_id"].to_pylist()) == sorted(full_alerts["alert_id"].to_pylist())
    # asked for a full run: every event read again, the same alerts
    again, again_read = _run(twice, rules, full=True)
    assert again_read == full_read
    assert sorted(again["alert_id"].to_pylist()) == sorted(full_alerts["alert_id"].to_pylist())


def test_other_rules_or_a_removed_segment_mean_a_full_run(tmp_path, parts):
    rules, a, b = parts
    store = Store(tmp_path / "s")
    store.ingest([str(a), str(b)])
    _, read = _run(store, rules)
    assert read > 0
    # without the correlation: the same base rules, whose kept matches still hold (nothing read)
    same = tmp_path / "same"
    shutil.copytree(rules, same)
    (same / "correlation.yml").unlink()
    alerts, read_same = _run(store, same)
    assert read_same == 0 and alerts.num_rows == 5
    # another base rule: the kept matches are not all of its matches, every event is read again
    other = tmp_path / "other"
    shutil.copytree(rules, other)
    with zipfile.ZipFile(BUNDLED) as zf:
        (other / "plink.yml").write_bytes(zf.read(PLINK))
    alerts, read_other = _run(store, other)
    assert read_other > read and "Suspicious Plink Port Forwarding" in alerts["title"].to_pylist()
    # a judged segment gone: its matches must go too
    _run(store, rules)
    (gone,) = [s for s in store.segments()]
    shutil.rmtree(gone)
    store.ingest([str(a)])
    alerts, read_after = _run(store, rules)
    assert read_after > 0
    paths = {e["path"] for r in alerts.to_pylist() for e in r["evidence"]}
    assert all(Path(p).name in PART_A for p in paths)
