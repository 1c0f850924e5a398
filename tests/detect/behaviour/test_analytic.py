"""Behaviour analytics are plugins: every registered analytic keeps the contract, and an analytic added
from outside (here, at run time) runs with the others without editing them."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pyarrow as pa
import pytest
from pydantic import ValidationError

from sekimori.detect.alerts import ALERT_SCHEMA
from sekimori.detect.behaviour import ANALYTICS, Analytic, BehaviourConfig, run_behaviour
from sekimori.store import Store
from tests.conftest import DATA
from tests.detect.test_behaviour import _lanl_lines

BUILT_IN = {"brute_force", "fan_out", "first_seen_logon", "new_source", "password_spray", "rare_logon_type"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("analytics")
    path = root / "auth.txt"
    real = (DATA / "lanl" / "auth_head.csv").read_text().splitlines()
    path.write_text("\n".join(real + _lanl_lines()) + "\n")
    store = Store(root / "store")
    store.ingest([str(path)], reader="lanl", workers=1)
    return store


def _run(store: Store, **settings: object) -> pa.Table:
    con = store.connect()
    try:
        return run_behaviour(con, BehaviourConfig.from_settings(settings))
    finally:
        con.close()


def test_the_built_in_analytics_are_registered_and_run_by_default() -> None:
    assert set(ANALYTICS.all()) >= BUILT_IN
    assert set(BehaviourConfig().rules) == set(ANALYTICS.all())


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_each_analytic_says_what_it_is_and_alone_gives_only_its_alerts(store: Store, name: str) -> None:
    cls = ANALYTICS.get(name)
    assert cls.name == name and cls.rule_id() == f"behaviour.{name}"
    assert cls.title and cls.finds and cls.attack
    alerts = _run(store, rules=[name])
    assert alerts.schema == ALERT_SCHEMA
    rows = alerts.to_pylist()
    assert rows, f"{name} finds its scenario"
    assert {r["rule_id"] for r in rows} == {cls.rule_id()}
    assert {r["title"] for r in rows} == {cls.title}
    for r in rows:
        assert set(cls.attack) <= set(r["attack"])
        assert json.loads(r["details"])["evidence_kind"] == cls.evidence_kind


def test_an_unknown_analytic_is_rejected() -> None:
    with pytest.raises(ValidationError, match="no_such_analytic"):
        BehaviourConfig.from_settings({"rules": ["fan_out", "no_such_analytic"]})


class LateLogons(Analytic):
    """A stand-in for an analytic from another distribution: logons after the baseline, per account."""

    name: ClassVar[str] = "late_logons"
    title: ClassVar[str] = "Logons after the baseline"
    finds: ClassVar[str] = "accounts with remote logons after the baseline"
    attack: ClassVar[tuple[str, ...]] = ("T1078",)

    def applies(self, cfg: BehaviourConfig) -> bool:
        return cfg.baseline_scope == "global"

    def sql(self, cfg: BehaviourConfig, running: frozenset[str]) -> str:
        return f"""
SELECT '{self.rule_id()}' AS rule_id, min(t0) AS time, max(t1) AS last_time, acct AS account,
  NULL AS domain, NULL AS src_host, NULL AS src_ip, NULL AS target_host, 0.1 AS score, false AS ntlm,
  list(ev ORDER BY t0, ev.uid)[1:{cfg.evidence_cap}] AS evidence, sum(n - n_base) AS events,
  {{'late': sum(n - n_base)}} AS info
FROM _bh_l WHERE remote AND t0 IS NOT NULL GROUP BY scope, acct"""

    def techniques(self, info: dict[str, Any], ntlm: bool) -> list[str]:
        return list(self.attack)


def test_an_analytic_added_as_a_plugin_runs_beside_the_built_in_ones(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ANALYTICS.all()  # the built-in ones loaded first, as on any run
    monkeypatch.setitem(ANALYTICS._classes, LateLogons.name, LateLogons)
    alerts = _run(store, rules=["late_logons", "brute_force"])
    rules = alerts.column("rule_id").to_pylist()
    assert set(rules) == {"behaviour.late_logons", "behaviour.brute_force"}
    late = [r for r in alerts.to_pylist() if r["rule_id"] == "behaviour.late_logons"]
    assert {r["account"] for r in late} >= {"u1", "u2", "u3"}
    assert all(r["level"] == "informational" and r["attack"] == ["T1078"] for r in late)
    # an analytic that does not apply to the settings is left out
    alone = _run(store, rules=["late_logons"], baseline_scope="source_file")
    assert alone.num_rows == 0
