"""Agreement of sekimori's Sigma engine with pySigma's reference backend, rule by rule.

    python benchmarks/sigma_agreement.py [--evtx ../shared/data/evtx-attack-samples ...] [--rules DIR ...]
                                         [--formats evtx windows_json] [--ours PAIRS.json] [--dump PAIRS.json]

Ingests every file under ``--evtx`` (EVTX; or OTRF's zipped Windows JSON, with ``--formats windows_json``)
into a temporary store, runs the SigmaHQ Windows rules (bundled zip by default) with sekimori's engine
and with the reference (``sekimori/detect/sigma/reference.py``: pySigma's SQLite backend with pySigma's
own Sysmon, Windows log source and Windows audit pipelines), and prints:

- the pair agreement: Jaccard |ours ∩ ref| / |ours ∪ ref| over (rule id, event uid) pairs, over the
  rules the reference can run, and over every rule (the reference cannot run keyword rules);
- a table of every rule whose (rule, event) pairs differ: sekimori's count, the reference's, only-ours,
  only-reference.

``--ours`` reads sekimori's pairs from a file (a JSON list of [rule id, uid], as ``--dump`` writes) instead
of running the engine: that is how an earlier version of the engine is compared with the same reference.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and ``benchmarks/sigma.py`` would shadow
# pySigma's ``sigma`` package: drop the folder, put the repository first.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from sekimori.detect.sigma.passes import run_groups  # noqa: E402
from sekimori.detect.sigma.reference import build_sqlite, reference_matches, store_rows  # noqa: E402
from sekimori.detect.sigma.rules import load_ruleset  # noqa: E402
from sekimori.store import Store  # noqa: E402

Pairs = set[tuple[str, str]]


def jaccard(a: Pairs, b: Pairs) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def differences(ours: Pairs, ref: Pairs) -> list[tuple[str, int, int, int, int]]:
    """(rule id, ours, reference, only ours, only reference) for every rule whose pairs differ."""
    only_ours = Counter(r for r, _ in ours - ref)
    only_ref = Counter(r for r, _ in ref - ours)
    n_ours = Counter(r for r, _ in ours)
    n_ref = Counter(r for r, _ in ref)
    rules = sorted(set(only_ours) | set(only_ref))
    return [(r, n_ours[r], n_ref[r], only_ours[r], only_ref[r]) for r in rules]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--evtx", nargs="+", default=[str(REPO.parent / "shared" / "data" / "evtx-attack-samples")]
    )
    ap.add_argument(
        "--formats", nargs="+", default=["evtx"], help="source formats compared (evtx, windows_json)"
    )
    ap.add_argument("--rules", nargs="*", default=None, help="rule directories (default: the bundled zip)")
    ap.add_argument("--ours", help="sekimori's pairs from this file instead of running the engine")
    ap.add_argument("--dump", help="write sekimori's pairs to this file")
    args = ap.parse_args()
    sources: list[str | Path | None] = list(args.rules) if args.rules else [None]

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        report = store.ingest(list(args.evtx))
        con = store.connect()
        ruleset = load_ruleset(sources)
        titles = {r.id: r.title for r in ruleset.rules}
        if args.ours:
            ours = {(r, u) for r, u in json.loads(Path(args.ours).read_text())}
        else:
            matches = run_groups(con, [r for r in ruleset.rules if r.windows])
            formats = dict(con.execute("SELECT uid, source_format FROM events").fetchall())
            ours = {
                (ruleset.rules[i].id, uid)
                for i, uid in zip(
                    matches.column("rule_index").to_pylist(), matches.column("uid").to_pylist(), strict=True
                )
                if formats[uid] in args.formats
            }
        if args.dump:
            Path(args.dump).write_text(json.dumps(sorted(ours)))
        ref = reference_matches(build_sqlite(store_rows(con, tuple(args.formats))), sources)
        con.close()
    comparable = {m for m in ours if m[0] in ref.converted}
    print(f"events: {report.events:,} from {len(report.files)} files")
    print(
        f"pairs: sekimori {len(ours):,} ({len(comparable):,} of rules the reference runs), "
        f"reference {len(ref.matches):,}; rules the reference runs: {len(ref.converted):,}, "
        f"cannot: {len(ref.failures)}; without an audit reading: {len(ref.variant_failures)}"
    )
    print(f"agreement (Jaccard, rules the reference runs): {jaccard(comparable, ref.matches):.4f}")
    print(f"agreement (Jaccard, every rule): {jaccard(ours, ref.matches):.4f}")
    diff = differences(comparable, ref.matches)
    print(f"rules whose (rule, event) pairs differ: {len(diff)}")
    if diff:
        print("| rule | sekimori | reference | only sekimori | only reference |")
        print("|---|---:|---:|---:|---:|")
        for rid, n_ours, n_ref, a, b in diff:
            print(f"| {titles.get(rid, '?')} (`{rid}`) | {n_ours} | {n_ref} | {a} | {b} |")
    keyword = Counter(r for r, _ in ours - comparable)
    if keyword:
        print("rules the reference cannot run (sekimori's count):")
        for rid, n in sorted(keyword.items()):
            print(f"  {titles.get(rid, '?')} ({rid}): {n}  [{ref.failures.get(rid, '')[:60]}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
