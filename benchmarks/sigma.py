"""Speed and exactness of the Sigma engine against the reference, on the EVTX attack samples.

    python benchmarks/sigma.py [--evtx ../shared/data/evtx-attack-samples] [--rules DIR ...] [--repeat 2]

1. Ingests every EVTX file under ``--evtx`` into a temporary store (timed apart).
2. sekimori: compiles the SigmaHQ Windows rules (bundled zip by default; compile time shown cold and
   from the cache) and evaluates them over the store, one SQL pass per log source group (best of
   ``--repeat``).
3. Reference (the Zircolite way): flattens the same events in Python into one SQLite table, converts
   each rule with pySigma's SQLite backend (same Sysmon + Windows pipelines) and runs one query per
   rule.
4. Checks that the (rule, event) match sets are equal on the rules both can run, and prints wall
   times, events/s and the ratio. Exit status 1 if the matches differ.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and this file would shadow pySigma's
# ``sigma`` package: drop the folder, put the repository first.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from sekimori.detect.sigma.engine import groups, run_groups  # noqa: E402
from sekimori.detect.sigma.reference import build_sqlite, reference_matches, store_rows  # noqa: E402
from sekimori.detect.sigma.rules import load_ruleset  # noqa: E402
from sekimori.store import Store  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--evtx", default=str(REPO.parent / "shared" / "data" / "evtx-attack-samples"))
    ap.add_argument("--rules", nargs="*", default=None, help="rule directories (default: the bundled zip)")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    sources: list[str | Path | None] = list(args.rules) if args.rules else [None]

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        started = time.perf_counter()
        report = store.ingest([args.evtx])
        print(
            f"ingest: {report.events:,} events from {len(report.files)} files in "
            f"{time.perf_counter() - started:.1f} s"
        )
        con = store.connect()
        events = con.sql("SELECT count(*) FROM events WHERE source_format = 'evtx'").fetchall()[0][0]

        started = time.perf_counter()
        ruleset = load_ruleset(sources, cache=False)
        cold = time.perf_counter() - started
        load_ruleset(sources)  # fill the cache
        started = time.perf_counter()
        ruleset = load_ruleset(sources)
        warm = time.perf_counter() - started
        windows = [r for r in ruleset.rules if r.windows]
        print(
            f"rules: {len(ruleset.rules):,} compiled ({len(windows):,} Windows), "
            f"{len(ruleset.failures)} not compiled; compile {cold:.1f} s cold, {warm:.2f} s cached"
        )
        print(f"passes: {len(groups(windows))} (one per log source group)")

        best = float("inf")
        matches = None
        for _ in range(max(1, args.repeat)):
            started = time.perf_counter()
            matches = run_groups(con, windows)
            best = min(best, time.perf_counter() - started)
        assert matches is not None
        ours = {
            (ruleset.rules[i].id, uid)
            for i, uid in zip(
                matches.column("rule_index").to_pylist(), matches.column("uid").to_pylist(), strict=True
            )
        }
        print(
            f"sekimori: {best:.2f} s, {events / best:,.0f} events/s, {len(ours):,} matches "
            f"(+ {warm:.2f} s cached compile)"
        )

        started = time.perf_counter()
        db = build_sqlite(store_rows(con))
        flat = time.perf_counter() - started
        started = time.perf_counter()
        ref = reference_matches(db, sources)
        query = time.perf_counter() - started
        total = flat + query
        print(
            f"reference: {total:.2f} s ({flat:.2f} s flatten + {query:.2f} s convert and query), "
            f"{events / total:,.0f} events/s, {len(ref.matches):,} matches, "
            f"{len(ref.converted):,} rules converted, {len(ref.failures)} not"
        )
        print(
            f"ratio: {total / best:.1f}x faster (evaluation); "
            f"{total / (best + warm):.1f}x including the cached compile"
        )

        ours = {m for m in ours if m[0] in ref.converted}
        if ours != ref.matches:
            print(
                f"DIFFERENT: only sekimori {sorted(ours - ref.matches)[:10]}, "
                f"only reference {sorted(ref.matches - ours)[:10]}"
            )
            return 1
        print(f"matches: identical on the {len(ref.converted):,} rules both run ({len(ours):,} matches)")
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
