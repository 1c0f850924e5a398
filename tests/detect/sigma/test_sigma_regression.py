"""The SigmaHQ regression cases and a differential test against pySigma's SQLite backend.

Every ``regression_data/**/info.yml`` case's EVTX is ingested (one store for all), the whole corpus
runs once, and each case's rule must match its events exactly ``match_count`` times. Where ``info.yml``
gives no count (a "positive detection test"), the count is the one a second engine, pySigma's SQLite
backend, gives on the same file, and it must be at least one. Cases whose ``match_count`` disagrees with
what the rule text says are listed in ``KNOWN`` with their true count (read off the events by hand, and
equal to the second engine's).
"""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from sekimori.detect.sigma.passes import run_groups
from sekimori.detect.sigma.reference import build_sqlite, reference_matches, store_rows
from sekimori.detect.sigma.rules import load_ruleset
from sekimori.store import Store
from tests.conftest import corpus

pytestmark = pytest.mark.corpus

# rule id → (the true count, why info.yml's match_count of 1 is not it)
KNOWN = {
    "0b9ad457-2554-44c1-82c2-d56a99c42377": (3, "3 events' TargetFilename contain \\AnyDesk\\user.conf"),
    "8fbf3271-1ef6-4e94-8210-03c2317947f6": (3, "3 file events match the rule's file names"),
    "45e112d0-7759-4c2a-aa36-9f8fb79d3393": (3, "3 registry set events match the rule"),
    "c7dcacd0-cc59-4004-b0a4-1d6cdebe6f3e": (2, "2 registry set events match the rule"),
}


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    base = corpus("sigma")
    cases = []
    for info_path in sorted((base / "regression_data").rglob("info.yml")):
        info = yaml.safe_load(info_path.read_text())
        rule_id = info["rule_metadata"][0]["id"]
        for test in info.get("regression_tests_info") or []:
            cases.append((rule_id, base / test["path"], test.get("match_count"), test.get("type")))
    store = Store(tmp_path_factory.mktemp("sigma-regression"))
    report = store.ingest([str(p) for _, p, _, kind in cases if kind == "evtx"])
    first = {f.digest: f.path for f in report.files if f.status != "skipped"}
    canonical = {f.path: first.get(f.digest, f.path) for f in report.files}
    sources = [base / "rules", base / "rules-emerging-threats", base / "rules-threat-hunting"]
    ruleset = load_ruleset(sources)
    con = store.connect()
    matches = run_groups(con, ruleset.rules)
    return cases, canonical, ruleset, matches, con, sources


@pytest.fixture(scope="module")
def reference(regression):
    """The second engine's (rule id, uid) matches over the same store."""
    _, _, _, _, con, sources = regression
    return reference_matches(build_sqlite(store_rows(con)), sources)


def test_regression_cases(regression, reference):
    cases, canonical, ruleset, matches, con, _ = regression
    counts = Counter(
        (ruleset.rules[i].id, f)
        for i, f in zip(
            matches.column("rule_index").to_pylist(), matches.column("source_file").to_pylist(), strict=True
        )
    )
    file_of = dict(con.execute("SELECT uid, source_file FROM events").fetchall())
    second = Counter((rule_id, file_of[uid]) for rule_id, uid in reference.matches)
    failed, compared = [], 0
    evtx = [c for c in cases if c[3] == "evtx"]
    for rule_id, path, expected, _ in evtx:
        key = (rule_id, canonical[str(path)])
        got = counts[key]
        if rule_id in KNOWN:
            want = KNOWN[rule_id][0]
            assert second[key] == want, (rule_id, second[key])  # the second engine agrees with the hand count
        elif expected is None:
            assert rule_id in reference.converted, rule_id  # else there would be no count to hold it to
            want = second[key]
            assert want > 0, (rule_id, path.name)  # a positive detection test
        else:
            want = expected
        compared += 1
        if got != want:
            failed.append((rule_id, path.name, want, got))
    assert not failed, failed
    # every case with an EVTX file is compared; the others have no reader (a Cisco CLI log)
    assert compared == len(evtx) and {c[3] for c in cases} - {"evtx"} <= {"raw"}


def test_differential_against_pysigma_sqlite(regression, reference):
    _, _, ruleset, matches, _, _ = regression
    ours = {
        (ruleset.rules[i].id, uid)
        for i, uid in zip(
            matches.column("rule_index").to_pylist(), matches.column("uid").to_pylist(), strict=True
        )
    }
    ref = reference
    # Not comparable: keyword rules (the SQLite backend has no unbound search) and unresolved
    # placeholders; all others must agree event for event.
    assert all("Value-only" in why or "Placeholder" in why for why in ref.failures.values()), ref.failures
    ours = {m for m in ours if m[0] in ref.converted}
    assert ours == ref.matches, (sorted(ours - ref.matches)[:20], sorted(ref.matches - ours)[:20])


def test_corpus_compiles():
    base = corpus("sigma")
    ruleset = load_ruleset([base / "rules"])
    assert len(ruleset.rules) == 3141 and not ruleset.failures
