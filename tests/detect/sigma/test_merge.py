"""Passes that differ only in field names run as one (``merge.py``): the same matches as the two
passes apart, which the pySigma agreement tests check; and pairs that are not a pure renaming are
left apart. Real SigmaHQ rules over real EVTX logs (Sysmon event 1 and Security event 4688)."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sekimori.detect.sigma import passes as passes_module
from sekimori.detect.sigma.engine import Group, groups
from sekimori.detect.sigma.merge import MergedGroup, merge_renamed, renaming
from sekimori.detect.sigma.passes import run_groups
from sekimori.detect.sigma.rules import load_ruleset
from sekimori.store import Store
from tests.conftest import corpus

SYSMON_1 = "Channel=Microsoft-Windows-Sysmon/Operational EventID=1"
SECURITY_4688 = "Channel=Security EventID=4688"


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset()


def _pair(ruleset) -> tuple[Group, Group]:
    found = {g.label: g for g in groups(ruleset.rules)}
    return found[SYSMON_1], found[SECURITY_4688]


def test_the_process_creation_readings_merge_by_their_three_renamed_fields(ruleset):
    sysmon, security = _pair(ruleset)
    assert renaming(sysmon, security) == {
        "NewProcessName": "Image",
        "ParentProcessName": "ParentImage",
        "SubjectLogonId": "LogonId",
    }
    merged = [g for g in merge_renamed(groups(ruleset.rules)) if isinstance(g, MergedGroup)]
    assert [(m.first.label, m.second.label) for m in merged] == [(SYSMON_1, SECURITY_4688)]


def _with_sql(group: Group, index: int, sql: str) -> Group:
    rules = [dataclasses.replace(r, sql=sql) if r.index == index else r for r in group.rules]
    return Group(group.filter, rules, group.source)


def test_a_pair_that_is_not_one_renaming_stays_two_passes(ruleset):
    sysmon, security = _pair(ruleset)
    rule = next(r for r in security.rules if '"l:NewProcessName"' in r.sql and "'" in r.sql)
    # a literal changed in one reading
    literal = _with_sql(security, rule.index, rule.sql.replace("'", "'x", 1))
    assert renaming(sysmon, literal) is None
    # one field renamed two ways in two rules
    other = next(r for r in security.rules if r.index != rule.index and '"l:NewProcessName"' in r.sql)
    twisted = _with_sql(security, other.index, other.sql.replace('"l:NewProcessName"', '"l:CommandLine"'))
    assert renaming(sysmon, twisted) is None
    # a rule the other group does not have
    assert renaming(sysmon, Group(security.filter, [*security.rules[1:], ruleset.rules[0]])) is None
    # non-Windows sources never merge
    assert renaming(sysmon, Group(security.filter, security.rules, "zeek:conn")) is None


@pytest.mark.corpus
def test_merged_passes_give_the_matches_of_the_passes_apart(tmp_path, ruleset, monkeypatch):
    store = Store(tmp_path / "store")
    store.ingest([str(corpus("evtx-attack-samples"))])
    con = store.connect()
    n_1, n_4688 = con.execute(
        "SELECT count(*) FILTER (channel = 'Microsoft-Windows-Sysmon/Operational' AND event_code = '1'), "
        "count(*) FILTER (channel = 'Security' AND event_code = '4688') FROM events"
    ).fetchone()
    assert n_1 > 100 and n_4688 > 10
    rules = ruleset.rules
    merged = run_groups(con, rules)
    monkeypatch.setattr(passes_module, "merge_renamed", list)
    apart = run_groups(con, rules)
    order = [("rule_index", "ascending"), ("uid", "ascending")]
    assert merged.num_rows > 1000
    assert merged.sort_by(order).equals(apart.sort_by(order))
    process = {r.index for r in _pair(ruleset)[0].rules}
    hits = pc.is_in(merged["rule_index"], pa.array(sorted(process), pa.int64()))
    assert pc.sum(hits).as_py() > 100  # the merged pass itself found matches
