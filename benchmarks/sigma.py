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

``--scales 1 8 32``: the same at k× the corpus instead (the store holds k copies of its segments, each
copy's ``uid`` made distinct, as ``detect_scale.py`` builds them), each engine in a fresh process whose
peak RSS is read at its end; printed side by side per scale: seconds, peak RSS, the ratio, and whether
the matches are equal on the rules both run. The rules are compiled (and cached) before the timed runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and this file would shadow pySigma's
# ``sigma`` package: drop the folder, put the repository first.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from sekimori.detect import run_detectors  # noqa: E402
from sekimori.detect.sigma.engine import groups  # noqa: E402
from sekimori.detect.sigma.passes import run_groups  # noqa: E402
from sekimori.detect.sigma.reference import build_sqlite, reference_matches, store_rows  # noqa: E402
from sekimori.detect.sigma.rules import load_ruleset  # noqa: E402
from sekimori.store import Store  # noqa: E402


def _peak_mb() -> float:
    # VmHWM, not ru_maxrss: a child started by exec carries its parent's ru_maxrss over.
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def child(engine: str, store_path: str, sources: list[str | Path | None], out: str) -> None:
    """One engine's matches over the store, to ``out`` (JSON), with its seconds and peak RSS."""
    con = Store(store_path).connect()
    started = time.perf_counter()
    converted: list[str] = []
    if engine == "sekimori":  # the detector as `sekimori detect` runs it: memory limit 1 GB, batches
        settings = (
            {"sigma": {"rules": [str(r) for r in sources if r is not None]}} if sources != [None] else {}
        )
        alerts = run_detectors(Store(store_path), only=["sigma"], config=settings, save=False).alerts
        pairs = sorted({(a["rule_id"], a["evidence"][0]["uid"]) for a in alerts.to_pylist()})
    else:
        ref = reference_matches(build_sqlite(store_rows(con)), sources)
        pairs, converted = sorted(ref.matches), sorted(ref.converted)
    seconds = time.perf_counter() - started
    Path(out).write_text(
        json.dumps({"seconds": seconds, "rss_mb": _peak_mb(), "pairs": pairs, "converted": converted})
    )


def _detect_scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("detect_scale_benchmark", HERE / "detect_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def scaled(evtx: str, scales: list[int], rules: list[str]) -> int:
    sources: list[str | Path | None] = list(rules) if rules else [None]
    load_ruleset(sources)  # compiled once, cached for the children
    status = 0
    build = _detect_scale().scaled_store
    with tempfile.TemporaryDirectory() as tmp:
        base = Store(Path(tmp) / "base")
        base.ingest([evtx])
        print(
            f"{'scale':>5} {'events':>9} | {'sekimori s':>10} {'peak MB':>8} | {'reference s':>11} "
            f"{'peak MB':>8} | {'ratio':>6} | matches"
        )
        for k in scales:
            target = Path(tmp) / f"x{k}"
            events = build(base, k, target)
            result = {}
            for engine in ("sekimori", "reference"):
                out = Path(tmp) / f"{engine}-{k}.json"
                command = [
                    sys.executable,
                    __file__,
                    "--child",
                    engine,
                    "--store",
                    str(target),
                    "--out",
                    str(out),
                ]
                subprocess.run(command + [a for r in rules for a in ("--rules", r)], check=True)
                result[engine] = json.loads(out.read_text())
            ours, ref = result["sekimori"], result["reference"]
            converted = set(ref["converted"])
            same = {tuple(p) for p in ours["pairs"] if p[0] in converted} == {tuple(p) for p in ref["pairs"]}
            status |= 0 if same else 1
            print(
                f"{k:>4}× {events:>9,} | {ours['seconds']:>10.1f} {ours['rss_mb']:>8,.0f} | "
                f"{ref['seconds']:>11.1f} {ref['rss_mb']:>8,.0f} | "
                f"{ref['seconds'] / ours['seconds']:>5.1f}× | "
                f"{'equal' if same else 'DIFFERENT'} ({len(ref['pairs']):,} on {len(converted):,} rules)",
                flush=True,
            )
            shutil.rmtree(target)
    print(
        "seconds: sekimori's Sigma detector (1 GB limit); the reference's flattening into SQLite and queries"
    )
    return status


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--evtx", default=str(REPO.parent / "shared" / "data" / "evtx-attack-samples"))
    ap.add_argument("--rules", nargs="*", default=None, help="rule directories (default: the bundled zip)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--scales", nargs="*", type=int, help="k× the corpus, each engine in its own process")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sources: list[str | Path | None] = list(args.rules) if args.rules else [None]
    if args.child:
        child(args.child, args.store, sources, args.out)
        return 0
    if args.scales:
        return scaled(args.evtx, args.scales, list(args.rules or []))

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
