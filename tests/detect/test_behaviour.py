"""Behaviour analytics on small real inputs: the EVTX fixtures and LANL-format auth lines read by the real
readers into a real store (background lines as in LANL, attacks added after the baseline window)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from pydantic import ValidationError

from sekimori.detect.alerts import ALERT_SCHEMA
from sekimori.detect.base import DetectContext, detectors
from sekimori.detect.behaviour import BehaviourConfig, run_behaviour
from sekimori.detect.behaviour.staging import create_macros
from sekimori.detect.run import run_detectors
from sekimori.store import Store
from tests.conftest import DATA


def _evtx_store(tmp_path: Path, *names: str) -> Store:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in names:
        shutil.copy(DATA / "evtx" / name, folder / name)
    store = Store(tmp_path / "store")
    store.ingest([str(folder)], workers=1)
    return store


def _run(store: Store, **settings: object) -> pa.Table:
    ctx = DetectContext(store, config={"behaviour": settings})
    try:
        return run_behaviour(ctx.con, BehaviourConfig.from_settings(ctx.settings("behaviour")))
    finally:
        ctx.close()


def _rows(alerts: pa.Table, rule: str | None = None) -> list[dict]:
    rows = alerts.to_pylist()
    return [r for r in rows if rule is None or r["rule_id"] == f"behaviour.{rule}"]


# -- LANL-format auth lines: time,src user,dst user,src pc,dst pc,auth type,logon type,orientation,result ----


def _line(
    t: int, user: str, src: str, dst: str, pkg: str = "Kerberos", lt: str = "Network", result: str = "Success"
) -> str:
    return f"{t},{user},{user},{src},{dst},{pkg},{lt},LogOn,{result}"


def _lanl_lines() -> list[str]:
    lines = []
    # baseline (t < ~1000 of a 1..4000 span): routine logons
    for i in range(25):
        lines.append(_line(10 + i, "U1@DOM1", "C1", "C10"))
        lines.append(_line(10 + i, "U1@DOM1", "C1", "C11"))
    for i in range(30):
        lines.append(_line(100 + i, "U2@DOM1", "C2", "C10"))
    for i in range(5):
        lines.append(_line(200 + i, "U3@DOM1", "C3", "C10"))
        lines.append(_line(200 + i, "C5$@DOM1", "C5", "C10"))
    # fan-out: U3 from its usual source to 12 hosts in 4 minutes, NTLM
    lines += [_line(1500 + 20 * i, "U3@DOM1", "C3", f"C{100 + i}", pkg="NTLM") for i in range(12)]
    # the same by a machine account and by ANONYMOUS LOGON: skipped by default
    lines += [_line(1500 + 20 * i, "C5$@DOM1", "C5", f"C{200 + i}") for i in range(12)]
    lines += [_line(1500 + 20 * i, "ANONYMOUS LOGON@C8", "C8", f"C{300 + i}", pkg="NTLM") for i in range(12)]
    # new source for U1
    lines.append(_line(1800, "U1@DOM1", "C66", "C10"))
    # RDP logon for an account (and onto a host) that only ever saw network logons
    lines.append(_line(2000, "U2@DOM1", "C2", "C10", lt="RemoteInteractive", pkg="Negotiate"))
    # brute force: 12 failures then a success
    lines += [_line(2500 + 5 * i, "U4@DOM1", "C7", "C10", result="Fail") for i in range(12)]
    lines.append(_line(2600, "U4@DOM1", "C7", "C10"))
    # spray: one source, 7 accounts, one failure each
    lines += [_line(3000 + i, f"U{10 + i}@DOM1", "C9", "C10", result="Fail") for i in range(7)]
    lines.append(_line(4000, "U1@DOM1", "C1", "C10"))
    return sorted(lines, key=lambda s: int(s.split(",", 1)[0]))


@pytest.fixture(scope="module")
def lanl_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("behaviour-lanl")
    path = root / "auth.txt"
    real = (DATA / "lanl" / "auth_head.csv").read_text().splitlines()
    # real LANL background lines (t 1..), then the scenario above
    path.write_text("\n".join(real + _lanl_lines()) + "\n")
    store = Store(root / "store")
    store.ingest([str(path)], reader="lanl", workers=1)
    return store


@pytest.fixture(scope="module")
def lanl_alerts(lanl_store: Store) -> pa.Table:
    return _run(lanl_store)


def test_alerts_have_the_alert_schema_scores_and_evidence(lanl_alerts: pa.Table) -> None:
    assert lanl_alerts.schema == ALERT_SCHEMA
    assert lanl_alerts.num_rows > 0
    for r in _rows(lanl_alerts):
        assert r["source"] == "behaviour"
        assert 0.0 <= r["score"] <= 1.0
        assert r["level"] in ("informational", "low", "medium", "high")
        assert r["attack"] and r["evidence"]
        assert all(e["path"] and e["record_id"] and e["uid"] for e in r["evidence"])
        details = json.loads(r["details"])
        assert details["evidence_listed"] == len(r["evidence"])
    scores = lanl_alerts.column("score").to_pylist()
    assert scores == sorted(scores, reverse=True)  # ranked


def test_fan_out_of_a_user_is_found_machine_and_anonymous_are_skipped(lanl_alerts: pa.Table) -> None:
    fan = _rows(lanl_alerts, "fan_out")
    assert [r["account"] for r in fan] == ["u3"]
    details = json.loads(fan[0]["details"])
    assert details["hosts"] == 12 and fan[0]["src_host"] == "c3"
    assert len(fan[0]["evidence"]) == 12
    assert {"T1021", "T1078", "T1550.002"} <= set(fan[0]["attack"])  # NTLM network logons
    assert not any(r["account"] in ("c5$", "anonymous logon") for r in _rows(lanl_alerts))


def test_machine_accounts_are_analysed_when_configured(lanl_store: Store) -> None:
    alerts = _run(lanl_store, skip_machine_accounts=False)
    assert {r["account"] for r in _rows(alerts, "fan_out")} == {"u3", "c5$"}


def test_brute_force_followed_by_success_is_high(lanl_alerts: pa.Table) -> None:
    brute = _rows(lanl_alerts, "brute_force")
    assert [r["account"] for r in brute] == ["u4"]
    details = json.loads(brute[0]["details"])
    assert details["failures"] == 12 and details["followed_by_success"] is True
    assert brute[0]["level"] == "high" and "T1110.001" in brute[0]["attack"]
    assert len(brute[0]["evidence"]) == 13  # 12 failures + the success


def test_password_spray_from_one_source(lanl_alerts: pa.Table) -> None:
    spray = _rows(lanl_alerts, "password_spray")
    assert [r["src_host"] for r in spray] == ["c9"]
    details = json.loads(spray[0]["details"])
    assert details["accounts"] == 7 and details["failures_per_account"] == 1
    assert spray[0]["attack"] == ["T1110.003"]


def test_new_source_first_seen_and_rare_logon_type(lanl_store: Store, lanl_alerts: pa.Table) -> None:
    new_src = [(r["account"], r["src_host"]) for r in _rows(lanl_alerts, "new_source")]
    assert ("u1", "c66") in new_src
    first = {(r["account"], r["src_host"], r["target_host"]) for r in _rows(lanl_alerts, "first_seen_logon")}
    fanned = {("u3", "c3", f"c{100 + i}") for i in range(12)}
    assert not fanned & first  # reported once, by the fan-out alert
    alone = _run(lanl_store, rules=["first_seen_logon"])
    assert fanned <= {(r["account"], r["src_host"], r["target_host"]) for r in _rows(alone)}
    rare = _rows(lanl_alerts, "rare_logon_type")
    assert [(r["account"], json.loads(r["details"])["logon_type"]) for r in rare] == [("u2", 10)]
    details = json.loads(rare[0]["details"])
    assert details["rare_for_account"] and details["rare_for_destinations"] == ["c10"]
    assert "T1021.001" in rare[0]["attack"]


def test_thresholds_come_from_settings(lanl_store: Store) -> None:
    alerts = _run(lanl_store, fan_out_min_hosts=13, brute_min_failures=13, spray_min_accounts=8)
    assert not _rows(alerts, "fan_out") and not _rows(alerts, "brute_force")
    assert not _rows(alerts, "password_spray")
    only = _run(lanl_store, rules=["fan_out"])
    assert {r["rule_id"] for r in _rows(only)} == {"behaviour.fan_out"}
    # a baseline that covers everything leaves nothing first-seen
    late = _run(lanl_store, baseline_fraction=1.0, rules=["new_source", "first_seen_logon", "fan_out"])
    assert late.num_rows == 0


def test_evidence_is_capped_and_says_so(lanl_store: Store) -> None:
    fan = _rows(_run(lanl_store, evidence_cap=5, rules=["fan_out", "brute_force"]))
    for r in fan:
        assert len(r["evidence"]) <= 5 + 10  # brute force adds up to 10 success events
        assert json.loads(r["details"])["evidence_truncated"] is True


def test_fan_out_over_all_hosts_counts_known_hosts_too(lanl_store: Store) -> None:
    alerts = _run(lanl_store, fan_out_hosts="all", rules=["fan_out"])
    assert [r["account"] for r in _rows(alerts)] == ["u3"]


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValidationError):
        BehaviourConfig.from_settings({"fan_out_min_hosts": 1})
    with pytest.raises(ValidationError):
        BehaviourConfig.from_settings({"no_such_threshold": 3})


def test_host_and_ip_normalisation() -> None:
    con = duckdb.connect()
    create_macros(con, BehaviourConfig())
    got = con.execute(
        "SELECT _bh_host('\\\\PC01.Example.Corp'), _bh_host('pc01'), _bh_host('10.0.2.17'), "
        "_bh_host('fe80::1'), _bh_host('localhost'), _bh_host('-'), "
        "_bh_ip('::ffff:10.0.0.5'), _bh_ip('::1'), "
        "_bh_acct('Administrator', 'EXAMPLE'), _bh_keep('WS01$', 'EX'), _bh_keep('SYSTEM', 'NT AUTHORITY'), "
        "_bh_keep('bob', 'EX')"
    ).fetchall()[0]
    assert got == (
        "pc01",
        "pc01",
        "10.0.2.17",
        "fe80::1",
        "localhost",
        "localhost",
        "10.0.0.5",
        "localhost",
        "administrator",
        False,
        False,
        True,
    )
    create_macros(con, BehaviourConfig(strip_host_domain=False, account_key="user@domain"))
    got = con.execute("SELECT _bh_host('PC01.Example.Corp'), _bh_acct('Bob', 'EXAMPLE.corp')").fetchall()[0]
    assert got == ("pc01.example.corp", "bob@example")


# -- real EVTX fixtures ------------------------------------------------------------------------------


def test_kerberos_spray_fixture_is_flagged_as_password_spray(tmp_path: Path) -> None:
    store = _evtx_store(tmp_path, "kerberos_pwd_spray_4771.evtx")
    alerts = _run(store, baseline_scope="source_file")
    assert [r["rule_id"] for r in _rows(alerts)] == ["behaviour.password_spray"]
    spray = _rows(alerts)[0]
    assert spray["src_host"] == "172.16.66.1" and spray["target_host"] == "01566s-win16-ir"
    details = json.loads(spray["details"])
    assert details["accounts"] == 9 and details["followed_by_success"] is False
    assert set(details["activities"]) == {"preauth", "ticket_request"}
    con = store.connect()
    uids = {u for (u,) in con.execute("SELECT uid FROM events WHERE outcome = 'failure'").fetchall()}
    assert {e["uid"] for e in spray["evidence"]} == uids


def test_detector_plugin_runs_through_run_detectors(tmp_path: Path) -> None:
    store = _evtx_store(
        tmp_path,
        "kerberos_pwd_spray_4771.evtx",
        "LM_ScheduledTask_ATSVC_target_host.evtx",
        "4624_LT3_AnonymousLogon_Localhost_JuicyPotato.evtx",
    )
    assert detectors()["behaviour"].source == "behaviour"
    report = run_detectors(
        store, only=["behaviour"], config={"behaviour": {"baseline_scope": "source_file"}}, save=False
    )
    assert report.alerts.schema == ALERT_SCHEMA
    assert report.alerts.column("rule_id").to_pylist() == ["behaviour.password_spray"]
    quiet = run_detectors(
        store, only=["behaviour"], config={"behaviour": {"spray_min_accounts": 10}}, save=False
    )
    assert quiet.alerts.num_rows == 0


def test_empty_store_gives_no_alerts(tmp_path: Path) -> None:
    alerts = _run(Store(tmp_path / "empty"))
    assert alerts.num_rows == 0 and alerts.schema == ALERT_SCHEMA
