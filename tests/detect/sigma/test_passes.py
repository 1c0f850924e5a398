"""Passes over batches where some log sources have no event: those passes read nothing there, and the
matches are those of each event judged on its own."""

from __future__ import annotations

import duckdb

from sekimori.detect.sigma.passes import SigmaBatch, run_groups
from sekimori.detect.sigma.rules import compile_rules
from tests.detect.sigma.test_logsources import _store

SYSMON = "Microsoft-Windows-Sysmon/Operational"
# (channel, event code, EventData): process creations on Sysmon 1 and Security 4688 (whose image field
# is NewProcessName), a logon, an application event.
EVENTS = [
    (SYSMON, "1", {"Image": "C:\\x\\a.exe"}),
    (SYSMON, "1", {"Image": "C:\\x\\b.exe"}),
    ("Security", "4688", {"NewProcessName": "C:\\y\\A.EXE"}),
    ("Security", "4624", {"TargetUserName": "bob", "LogonType": "10"}),
    ("Application", "1000", {"Data": "a.exe"}),
]
RULES = {
    "proc": "logsource: {product: windows, category: process_creation}\n"
    "detection: {sel: {Image|endswith: '\\a.exe'}, condition: sel}\n",
    "logon": "logsource: {product: windows, service: security}\n"
    "detection: {sel: {EventID: 4624, LogonType: 10}, condition: sel}\n",
}


def _con() -> duckdb.DuckDBPyConnection:
    return _store([(channel, int(code), data) for channel, code, data in EVENTS])


def test_passes_without_events_in_a_batch_read_nothing_there(tmp_path):
    for i, (name, body) in enumerate(RULES.items()):
        uuid = f"00000000-0000-0000-0000-00000000000{i}"
        (tmp_path / f"{name}.yml").write_text(f"title: {name}\nid: {uuid}\n{body}")
    rs = compile_rules([tmp_path])
    assert not rs.failures, rs.failures
    index = {r.title: r.index for r in rs.rules}
    con = _con()
    # batch 0: the Sysmon events; batch 1: the Security ones; batch 2: the application event only
    for b, where in enumerate(["channel = 'Microsoft-Windows-Sysmon/Operational'", "channel = 'Security'"]):
        con.execute(f"CREATE VIEW batch{b} AS SELECT * FROM events WHERE {where}")
    con.execute("CREATE VIEW batch2 AS SELECT * FROM events WHERE channel = 'Application'")
    told: list[SigmaBatch] = []
    matches = run_groups(
        con, rs.rules, batches=["batch0", "batch1", "batch2"], on_batch=told.append, threads=1
    )
    got = sorted(zip(matches["rule_index"].to_pylist(), matches["uid"].to_pylist(), strict=True))
    assert got == sorted([(index["proc"], "0"), (index["proc"], "2"), (index["logon"], "3")])
    # every pass is told of every batch, with the events it read there: none where it has none
    per_pass: dict[str, list[int]] = {}
    for t in told:
        per_pass.setdefault(t.logsource, []).append(t.events)
    both = f"Channel={SYSMON} EventID=1 + Channel=Security EventID=4688"
    assert {k: sorted(v) for k, v in per_pass.items()} == {both: [0, 1, 2], "Channel=Security": [0, 0, 2]}
    assert told[-1].done == told[-1].total == 6
