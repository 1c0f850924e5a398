"""Real SigmaHQ rules over their real regression events, through the ``sigma`` detector."""

from __future__ import annotations

import json

import pytest

from sekimori.detect.alerts import ALERT_SCHEMA, alert_id
from sekimori.detect.base import detectors
from sekimori.detect.run import run_detectors
from sekimori.detect.sigma.correlation import timespan_seconds
from sekimori.detect.sigma.rules import compile_rules
from sekimori.store import Store
from tests.conftest import DATA

SIGMA = DATA / "sigma"
CERTUTIL = "ea0cdc3e-2239-4f26-a947-4e8f8224e464"
REDSUN = "a7c3e5f2-8b1d-4e9a-b6c2-3d7f5e8a9b4c"
ANYDESK = "0b9ad457-2554-44c1-82c2-d56a99c42377"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("store"))
    s.ingest([str(p) for p in sorted((SIGMA / "evtx").glob("*.evtx"))])
    return s


def _run(store, rules, **settings):
    report = run_detectors(
        store, only=["sigma"], config={"sigma": {"rules": rules, "cache": False, **settings}}
    )
    return report.alerts


def test_registered():
    assert detectors()["sigma"].source == "sigma"


def test_real_rules_on_their_events(store):
    alerts = _run(store, str(SIGMA / "rules"))
    assert alerts.schema == ALERT_SCHEMA
    by_rule: dict[str, list[dict]] = {}
    for a in alerts.to_pylist():
        by_rule.setdefault(a["rule_id"], []).append(a)
    # certutil -encode with windash; the Defender event's spaced field names ("Threat Name");
    # AnyDesk: three file events whose names contain user.conf (the rule's contains).
    assert {k: len(v) for k, v in by_rule.items()} == {CERTUTIL: 1, REDSUN: 1, ANYDESK: 3}
    cert = by_rule[CERTUTIL][0]
    assert cert["title"] == "Suspicious File Encoded To Base64 Via Certutil.EXE"
    assert cert["level"] == "high" and cert["attack"] == ["T1027"]
    assert cert["host"] and cert["time"] is not None and cert["last_time"] == cert["time"]
    (ev,) = cert["evidence"]
    assert ev["path"].endswith(f"{CERTUTIL}.evtx") and ev["record_id"] == 11570013
    assert cert["alert_id"] == alert_id(CERTUTIL, [ev["uid"]])
    assert json.loads(cert["details"])["sigma_file"].endswith(
        "proc_creation_win_certutil_encode_susp_extensions.yml"
    )
    assert sorted(e["evidence"][0]["record_id"] for e in by_rule[ANYDESK]) == [14985, 14988, 14990]


def test_levels_filter(store):
    alerts = _run(store, str(SIGMA / "rules"), levels="high")
    assert set(alerts.column("level").to_pylist()) <= {"high", "critical"}
    assert {REDSUN, CERTUTIL} == set(alerts.column("rule_id").to_pylist())  # AnyDesk is medium


def test_bundled_rules_load():
    from sekimori.detect.sigma.rules import BUNDLED, iter_rule_files

    names = [p for p, _ in iter_rule_files(BUNDLED)]
    assert len(names) > 3000


def _correlation(tmp_path, body: str) -> str:
    rules = tmp_path / "rules"
    rules.mkdir()
    for p in (SIGMA / "rules").glob("*.yml"):
        (rules / p.name).write_text(p.read_text())
    (rules / "corr.yml").write_text(
        "title: AnyDesk config written repeatedly\nid: 11111111-1111-1111-1111-111111111111\nlevel: high\n"
        "tags: [attack.t1219]\ncorrelation:\n" + body
    )
    return str(rules)


def test_event_count_correlation(store, tmp_path):
    rules = _correlation(
        tmp_path,
        f"  type: event_count\n  rules: [{ANYDESK}]\n  group-by: [Computer]\n  timespan: 1m\n"
        "  condition: {gte: 3}\n",
    )
    alerts = [a for a in _run(store, rules).to_pylist() if a["rule_id"].startswith("1111")]
    (a,) = alerts
    assert a["level"] == "high" and a["attack"] == ["T1219"]
    assert sorted(e["record_id"] for e in a["evidence"]) == [14985, 14988, 14990]
    assert json.loads(a["details"])["group"] == {"Computer": "ar-win-dc.attackrange.local"}


def test_event_count_correlation_below_threshold(store, tmp_path):
    rules = _correlation(
        tmp_path,
        f"  type: event_count\n  rules: [{ANYDESK}]\n  group-by: [Computer]\n  timespan: 1m\n"
        "  condition: {gte: 4}\n",
    )
    assert not [a for a in _run(store, rules).to_pylist() if a["rule_id"].startswith("1111")]


def test_value_count_and_temporal_correlations(store, tmp_path):
    rules = _correlation(
        tmp_path,
        f"  type: value_count\n  rules: [{ANYDESK}]\n  group-by: [Computer]\n  timespan: 10s\n"
        "  condition: {gte: 2, field: TargetFilename}\n",
    )
    (a,) = [a for a in _run(store, rules).to_pylist() if a["rule_id"].startswith("1111")]
    assert len(a["evidence"]) == 3  # two distinct file names among the three events


def test_temporal_ordered_correlation(store, tmp_path):
    # The three AnyDesk events, ordered in time: the rule "followed by itself" within 1 minute.
    rules = _correlation(
        tmp_path,
        f"  type: temporal_ordered\n  rules: [{ANYDESK}, {ANYDESK}]\n  group-by: [Computer]\n"
        "  timespan: 1m\n",
    )
    alerts = [a for a in _run(store, rules).to_pylist() if a["rule_id"].startswith("1111")]
    assert len(alerts) == 1 and len(alerts[0]["evidence"]) == 2


def test_timespan():
    assert timespan_seconds("90s") == 90 and timespan_seconds("5m") == 300 and timespan_seconds("1d") == 86400
    with pytest.raises(ValueError):
        timespan_seconds("soon")


def test_windows_json_shapes(tmp_path):
    # Flat NXLog (OTRF) records: EventData fields at the top level.
    (tmp_path / "r.yml").write_text(
        "title: network logon\nid: 22222222-2222-2222-2222-222222222222\n"
        "logsource: {product: windows, service: security}\n"
        "detection:\n  sel:\n    EventID: 4624\n    LogonType: 3\n  condition: sel\n"
    )
    s = Store(tmp_path / "store")
    s.ingest([str(DATA / "windows_json" / "otrf_empire_psexec_sample.zip")])
    expected = (
        s.sql(
            "SELECT count(*) FROM events WHERE event_code = '4624' AND logon_type = 3 "
            "AND lower(channel) = 'security'"
        )
        .column(0)[0]
        .as_py()
    )
    assert expected > 0
    alerts = _run(s, str(tmp_path / "r.yml"))
    assert alerts.num_rows == expected


def test_rules_compile_failures_are_listed(tmp_path):
    (tmp_path / "bad.yml").write_text(
        "title: bad\nlogsource: {product: windows}\ndetection: {condition: nope}\n"
    )
    rs = compile_rules([tmp_path])
    assert not rs.rules and rs.failures and rs.failures[0].path.endswith("bad.yml")
