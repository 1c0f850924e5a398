"""Scoping, the timeline and the containment proposals: on the demo's real logs, and on LANL-format logons
written for the time-order rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sekimori.demo import build_demo_store, demo_model, detect
from sekimori.detect import Alert, alerts_from_table
from sekimori.respond import ContainmentAction, Entry
from sekimori.respond.actions import ActionKind
from sekimori.respond.playbook import propose_containment
from sekimori.respond.scope import _path_matches, _table_matches, scope_from_alerts
from sekimori.respond.timeline import build_timeline
from sekimori.store import Store

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    store, _ = build_demo_store(tmp_path_factory.mktemp("demo") / "store")
    model = demo_model()
    alerts = alerts_from_table(detect(store, model).alerts)
    return store, model, alerts


def test_scope_follows_the_chain_in_the_real_logs(demo):
    store, model, alerts = demo
    crossing = [a for a in alerts if a.rule_id == "boundary.account_from_foreign_host"]
    assert crossing, "the demo's boundary alert: admin01 used from the contractor's PC02"
    scope = scope_from_alerts(store, crossing[:1], model)
    hosts = {h.key: h for h in scope.hosts}
    accounts = {a.key: a for a in scope.accounts}
    # named by the alert: PC02 and admin01; then admin01 onto PC01, the parent's administrator used from
    # PC01, and the administrator onto the domain controller, in time order
    assert {"pc02", "pc01", "win-77ltaphiq1r"} <= set(hosts)
    assert {"example\\admin01", "example\\administrator"} <= set(accounts)
    assert hosts["pc02"].hop == 0 and hosts["pc01"].hop >= 1
    assert accounts["example\\administrator"].since >= hosts["pc01"].since
    assert hosts["win-77ltaphiq1r"].since >= accounts["example\\administrator"].since
    assert hosts["pc01"].org == "affiliate-kr" and accounts["example\\administrator"].org == "parent"
    # each hop names its evidence (file and record as ingested)
    assert all(e["path"] and e["record_id"] is not None for h in scope.hosts if h.hop for e in h.evidence)
    # the domain controller holds the employee directory: touched once it is compromised
    assert [d.key for d in scope.data_stores] == ["ds-employee-directory"]
    lines = scope.hops()
    stamps = [x[:20] for x in lines]
    assert stamps == sorted(stamps) and any("used from compromised host pc01" in x for x in lines)


def test_a_detection_run_lists_its_alerts_in_one_total_order(demo):
    # Alerts tied on (time, rule): the demo has several, a Sigma rule matching events of one time. They
    # came in the order their detector's SQL gave them; the alert id now decides.
    _, _, alerts = demo
    keys = [(a.time, a.rule_id, a.alert_id) for a in alerts]
    assert len({k[:2] for k in keys}) < len(keys)  # the ties are there
    assert keys == sorted(keys)


def test_containment_and_timeline_from_the_scope(demo):
    store, model, alerts = demo
    crossing = [a for a in alerts if a.rule_id == "boundary.account_from_foreign_host"][:1]
    scope = scope_from_alerts(store, crossing, model)
    proposals = propose_containment(scope, model)
    kinds = {(p.action.kind, p.action.target) for p in proposals}
    assert (ActionKind.reset_password, "EXAMPLE\\admin01") in kinds
    assert (ActionKind.disable_account, "EXAMPLE\\admin01") in kinds  # the affiliate's account
    assert all(
        k != (ActionKind.disable_account, "EXAMPLE.CORP\\administrator") for k in kinds
    )  # parent's own
    assert (ActionKind.block_route, "10.0.2.17/32->10.0.2.0/24") in kinds  # affiliate net → parent net
    assert {p.connector for p in proposals} <= {"ldap", "nftables"}

    detected = crossing[0].time + timedelta(days=33)
    entries = [
        Entry(time=detected, kind="detection", text="suspicious access detected", actor="soc"),
        Entry(time=detected + timedelta(days=10), kind="judgment", text="judged external", actor="ciso"),
    ]
    actions = [
        ContainmentAction(
            id=1,
            kind="reset_password",
            target="EXAMPLE\\admin01",
            status="verified",
            verified_at=detected + timedelta(days=10, hours=2),
            requested_by="soc",
        )
    ]
    timeline = build_timeline(crossing, entries, actions, scope)
    assert timeline.first_activity == min(scope.first_activity, crossing[0].time)
    assert timeline.dwell_time == detected - timeline.first_activity
    assert timeline.time_to_contain == timedelta(days=10, hours=2)
    assert timeline.missing == ["notification"]
    times = [i.time for i in timeline.items]
    assert times == sorted(times) and {"alert", "scope", "detection", "containment"} <= {
        i.kind for i in timeline.items
    }


def _lanl_store(tmp_path: Path, lines: list[str]) -> Store:
    path = tmp_path / "auth.txt"
    path.write_text("\n".join(lines) + "\n")
    store = Store(tmp_path / "store")
    store.ingest([str(path)])
    return store


def _u2_on_c1(**more: str) -> Alert:
    """The alert of these LANL tests: U2 at t=200 (2024-01-01 00:03:20 UTC) from C1."""
    return Alert.from_row(
        {
            "alert_id": "a",
            "time": datetime(2024, 1, 1, 0, 3, 20, tzinfo=UTC),
            "title": "test",
            "rule_id": "t",
            "account": "U2",
            "domain": "DOM1",
            "src_host": "C1",
            "evidence": [],
            **more,
        }
    )


def test_time_order_a_logon_before_the_compromise_does_not_spread(tmp_path, monkeypatch):
    monkeypatch.setenv("SEKIMORI_LANL_EPOCH", "2024-01-01T00:00:00Z")
    # t=100: u1 from C1 to C2 (before anything is compromised)
    # t=200: the alert names u2 on C1 (C1 compromised from 200)
    # t=300: u3 from C1 to C3 → u3 compromised (after), C3 compromised
    # t=150: u4 from C1 to C4 → before C1's compromise: not in scope
    store = _lanl_store(
        tmp_path,
        [
            "100,U1@DOM1,U1@DOM1,C1,C2,Kerberos,Network,LogOn,Success",
            "150,U4@DOM1,U4@DOM1,C1,C4,Kerberos,Network,LogOn,Success",
            "300,U3@DOM1,U3@DOM1,C1,C3,Kerberos,Network,LogOn,Success",
            "400,U3@DOM1,U3@DOM1,C3,C5,Kerberos,Network,LogOn,Success",
        ],
    )
    alert = _u2_on_c1(host="C9")
    scope = scope_from_alerts(store, [alert])
    assert {h.key for h in scope.hosts} == {"c1", "c3", "c5"}
    assert {a.key for a in scope.accounts} == {"dom1\\u2", "dom1\\u3"}
    assert scope.rounds >= 2


def test_object_matching():
    assert _path_matches(r"\\*\SYSVOL\corp\policies", r"\\DC01\SYSVOL")
    assert not _path_matches(r"\\*\IPC$\samr", r"\\DC01\SYSVOL")
    assert _table_matches("public.users", "users") and _table_matches("users", "users")
    assert not _table_matches("public.users_archive", "users")
    with pytest.raises(ValueError, match="at least one alert"):
        scope_from_alerts(None, [])  # type: ignore[arg-type]


def test_logons_at_one_time_give_the_same_scope_whatever_the_order_of_the_lines(tmp_path, monkeypatch):
    # LANL times are whole seconds: U3 is used from compromised C1 toward six hosts at t=300, and reaches
    # C9 from six sources at t=400. Before, each hop's cause was whichever tied logon the aggregate met
    # first, so its evidence (and C9's source) followed the order of the lines. Now the first by its
    # shown values: toward C3, and C9 from C3, whatever the order; the evidence is that line.
    monkeypatch.setenv("SEKIMORI_LANL_EPOCH", "2024-01-01T00:00:00Z")
    lines = [f"300,U3@DOM1,U3@DOM1,C1,C{d},Kerberos,Network,LogOn,Success" for d in range(3, 9)]
    lines += [f"400,U3@DOM1,U3@DOM1,C{s},C9,Kerberos,Network,LogOn,Success" for s in range(3, 9)]
    alert = _u2_on_c1()
    for seed in range(6):
        random.Random(seed).shuffle(lines)
        (tmp_path / str(seed)).mkdir()
        scope = scope_from_alerts(_lanl_store(tmp_path / str(seed), lines), [alert])
        caused = {}
        for s in (*scope.accounts, *scope.hosts):
            if s.hop:
                (evidence,) = s.evidence
                caused[s.key] = (s.via, lines[evidence["record_id"] - 1])
        assert caused["dom1\\u3"][1] == "300,U3@DOM1,U3@DOM1,C1,C3,Kerberos,Network,LogOn,Success"
        assert "used from compromised host c1" in caused["dom1\\u3"][0]
        assert caused["c9"][1] == "400,U3@DOM1,U3@DOM1,C3,C9,Kerberos,Network,LogOn,Success"
        assert "logged on from c3" in caused["c9"][0]
        assert sorted(caused) == ["c3", "c4", "c5", "c6", "c7", "c8", "c9", "dom1\\u3"]
