"""The trust-boundary rules read per-segment edges kept in the store (sekimori/detect/edges.py): a store
detected after each of several ingests gives the alerts of one fresh store holding the same files, a
segment's edges are computed once, and a segment removed or rewritten loses them. The alerts are also
checked against what a plain query over the events gives."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sekimori.detect.edges import EDGES_KIND, EVIDENCE_CAP
from sekimori.detect.run import run_detectors
from sekimori.model import GroupModel
from sekimori.store import Store
from tests.conftest import DATA, corpus
from tests.detect.test_boundary import BASE

FIXTURES = [
    DATA / "evtx/LM_ScheduledTask_ATSVC_target_host.evtx",  # logons across organisations
    DATA / "evtx/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx",  # traffic between zones
    DATA / "pgaudit/pg15-csvlog.csv",  # a first access to personal data
    DATA / "rdp/contractor_rdp_type10.jsonl",  # an RDP logon from a contractor's address
]

# LANL: three organisations by the last digit of a computer's number, DOM1 shared by two of them.
LANL_MODEL: dict[str, Any] = {
    "version": 1,
    "group": "lanl",
    "organisations": [
        {"id": "a", "name": "A", "kind": "parent", "country": "JP"},
        {"id": "b", "name": "B", "kind": "affiliate", "country": "JP"},
        {"id": "c", "name": "C", "kind": "contractor", "country": "JP"},
    ],
    "realms": [{"id": "dom1", "kind": "ad_domain", "name": "DOM1", "shared_by": ["a", "b"]}],
    "accounts": [
        {"org": "b", "realm": "dom1", "domain": ["DOM1"], "name_pattern": "^u\\d*[0-3]$"},
        {"org": "a", "realm": "dom1", "domain": ["DOM1"]},
    ],
    "zones": [{"id": f"z{o}", "name": o, "org": o, "cidrs": [f"10.{i}.0.0/16"]} for i, o in enumerate("abc")],
    "hosts": [
        {"org": "a", "zone": "za", "name_pattern": "^c\\d*[0-3]$"},
        {"org": "b", "zone": "zb", "name_pattern": "^c\\d*[4-6]$"},
        {"org": "c", "zone": "zc", "name_pattern": "^c\\d*[7-9]$"},
    ],
    "systems": [{"id": "s", "name": "s", "owner": "a", "zone": "za", "hosts": ["C1*"], "crown_jewel": True}],
    "grants": [{"id": "g", "org": "b", "systems": ["s"], "owner": "IT", "logon_types": ["network"]}],
}


def _detect(store: Store, model: dict[str, Any]) -> list[dict[str, Any]]:
    report = run_detectors(store, GroupModel.model_validate(model), only=["boundary"])
    return sorted(report.alerts.to_pylist(), key=lambda a: (a["rule_id"], a["alert_id"]))


def _kept(store: Store) -> dict[str, tuple[str, int]]:
    """Segment → (edges file name, modification time) of the kept edges."""
    return {s: (p.name, p.stat().st_mtime_ns) for s, p in store.derived_files(EDGES_KIND).items()}


def _one_go_and_in_steps(
    tmp_path: Path, model: dict[str, Any], files: list[Path], reader: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Store]:
    """The alerts of one store ingesting ``files`` at once, and of one detected after each file."""
    whole = Store(tmp_path / "whole")
    whole.ingest([str(f) for f in files], reader=reader)
    at_once = _detect(whole, model)
    steps = Store(tmp_path / "steps")
    for n, f in enumerate(files, 1):
        before = _kept(steps)
        steps.ingest([str(f)], reader=reader)
        alerts = _detect(steps, model)
        after = _kept(steps)
        assert len(after) == len(steps.segments()) == n  # each segment's edges, kept
        assert {s: after[s] for s in before} == before  # the earlier segments' were not computed again
    return at_once, alerts, steps


def test_detecting_after_each_ingest_gives_the_alerts_of_one_store_of_the_fixtures(tmp_path):
    at_once, in_steps, _ = _one_go_and_in_steps(tmp_path, BASE, FIXTURES)
    assert in_steps == at_once
    rules = {a["rule_id"] for a in at_once}
    # the fixtures reach every kind of evidence: logons, flows, a first access
    assert {"boundary.logon_without_grant", "boundary.flow_not_allowed"} <= rules
    assert "boundary.first_personal_data_access" in rules


def test_a_segment_removed_or_rewritten_loses_its_edges(tmp_path):
    store = Store(tmp_path / "store")
    for f in FIXTURES:
        store.ingest([str(f)])
    _detect(store, BASE)
    # the segments of the ATSVC logons (removed below) and of the traffic (rewritten); segment names sort
    # by the second they were written in, then at random
    of_file = {Path(m["files"][0]["path"]).name: store.segments_dir / m["segment"] for m in store.manifests()}
    first, second = of_file[FIXTURES[0].name], of_file[FIXTURES[1].name]
    old_edges = _kept(store)[second.name]
    # rewritten: another manifest under the same name, so its edges are computed again
    (second / "manifest.json").write_text((second / "manifest.json").read_text() + "\n")
    # removed: the ATSVC logons are gone
    for path in first.iterdir():
        path.unlink()
    first.rmdir()
    stale = tmp_path / "store" / "derived" / "boundary_edges_000000000000"  # of other (older) code
    stale.mkdir()
    (stale / f"{second.name}.0.parquet").write_bytes(b"")
    alerts = _detect(store, BASE)
    assert not stale.exists()
    kept = _kept(store)
    assert first.name not in kept and kept[second.name][0] != old_edges[0]
    files = sorted(p.name for p in (tmp_path / "store" / "derived" / EDGES_KIND).iterdir())
    assert files == sorted(name for name, _ in kept.values())  # nothing else left behind
    fresh = Store(tmp_path / "fresh")
    fresh.ingest([str(f) for f in FIXTURES[1:]])
    assert alerts == _detect(fresh, BASE)


@pytest.fixture(scope="module")
def lanl_parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The LANL sample cut into three files (each a segment of its own when ingested apart)."""
    lines = corpus("lanl-2015", "auth_head", "auth_first50k.csv").read_text().splitlines()
    folder = tmp_path_factory.mktemp("lanl-parts")
    parts = []
    for n, cut in enumerate((0, 18_000, 35_000)):
        end = (18_000, 35_000, len(lines))[n]
        path = folder / f"auth-{n}.csv"
        path.write_text("\n".join(lines[cut:end]) + "\n")
        parts.append(path)
    return parts


def test_lanl_in_steps_gives_the_alerts_of_one_store_and_of_a_plain_query(tmp_path, lanl_parts):
    at_once, in_steps, store = _one_go_and_in_steps(tmp_path, LANL_MODEL, lanl_parts, reader="lanl")
    assert in_steps == at_once
    foreign = [a for a in at_once if a["rule_id"] == "boundary.account_from_foreign_host"]
    expected = _foreign_host_alerts(store)
    assert len(expected) > 100  # the check has something to check
    got = {(a["account"], a["domain"], a["src_host"].lower(), a["target_host"].lower()): a for a in foreign}
    assert set(got) == set(expected)
    for key, (events, first, last, evidence) in expected.items():
        alert = got[key]
        assert (__import__("json").loads(alert["details"])["events"], alert["time"], alert["last_time"]) == (
            events,
            first,
            last,
        )
        refs = Counter((e["path"], e["record_id"], e["uid"]) for e in alert["evidence"])
        if sum(evidence.values()) <= EVIDENCE_CAP:
            assert refs == evidence
        else:
            assert sum(refs.values()) == EVIDENCE_CAP and not refs - evidence


def _lanl_org(name: str | None, digits: dict[str, str]) -> str | None:
    match = re.fullmatch(r"c\d*(\d)", (name or "").lower())
    return digits.get(match.group(1)) if match else None


def _foreign_host_alerts(store: Store) -> dict[tuple[Any, ...], tuple[int, Any, Any, Counter]]:
    """``boundary.account_from_foreign_host`` on LANL worked out from the events alone: a successful logon
    of a DOM1 account (b's if its name ends in 0-3, else a's) from a computer of another organisation (by
    its number's last digit), one alert per (account, domain, source, target) with every such logon
    counted and, as evidence, the events of each of its (activity, logon type) groups: every event with
    the same account, source, target and logon type, whatever its activity or outcome."""
    digits = {**dict.fromkeys("0123", "a"), **dict.fromkeys("456", "b"), **dict.fromkeys("789", "c")}
    rows = store.sql(
        """SELECT principal, domain, lower(src_host) AS source, lower(coalesce(target_host, host)) AS target,
                  logon_type, activity, outcome, time, record_id, uid, source_file
           FROM events WHERE category = 'authentication' AND NOT ends_with(principal, '$')
             AND upper(principal) NOT IN ('ANONYMOUS LOGON', 'SYSTEM', 'LOCAL SERVICE', 'NETWORK SERVICE',
                                          'DWM-1', 'UMFD-0')""",
        sandbox=False,
    ).to_pylist()
    universe: dict[tuple[Any, ...], Counter] = {}
    counted: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        key = (r["principal"], r["domain"], r["source"], r["target"])
        universe.setdefault((*key, r["logon_type"]), Counter())[
            (r["source_file"], r["record_id"], r["uid"])
        ] += 1
        if (
            r["activity"] in ("logon", "explicit_credentials", "session_reconnect")
            and r["outcome"] != "failure"
        ):
            counted.setdefault(key, []).append(r)
    out = {}
    for key, logons in counted.items():
        principal, domain, source, target = key
        if (domain or "").upper() != "DOM1" or source is None or source == target:
            continue
        account = "b" if re.fullmatch(r"u\d*[0-3]", (principal or "").lower()) else "a"
        source_org = _lanl_org(source, digits)
        if source_org is None or source_org == account:
            continue
        evidence: Counter = Counter()
        for _activity, logon_type in {(r["activity"], r["logon_type"]) for r in logons}:
            evidence.update(universe[(*key, logon_type)])
        times = [r["time"] for r in logons]
        out[key] = (len(logons), min(times), max(times), evidence)
    return out
