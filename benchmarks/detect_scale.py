"""How detection's time and memory grow with the store: the Sigma detector at 1×, 2×, 4×, 8× a corpus,
with DuckDB's memory capped (the default, 1 GB) and uncapped, side by side in one run.

    python benchmarks/detect_scale.py [--corpus PATH ...] [--scales 1 2 4 8] [--limit 1GB]

The corpus (default: five OTRF Security-Datasets Windows archives, ~59,000 events) is ingested once;
the k× store holds k copies of its segments, each copy's ``uid`` made distinct (the events' content is
the same, so each copy matches the same rules: the work grows k times). Each run is a fresh process
(``sekimori detect --only sigma``) whose own peak RSS is read at its end. Printed: events, seconds,
seconds per million events and the ratio to 1× (linear time keeps it near 1.0), peak RSS, and whether
the capped and uncapped runs gave the same alerts (capped, the Sigma passes read the store in batches the
limit bounds; uncapped, at once).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from sekimori.store import Store  # noqa: E402

OTRF = REPO.parent / "shared" / "data" / "security-datasets" / "datasets" / "atomic" / "windows"
DEFAULT = [
    OTRF / "other" / "aptsimulator_cobaltstrike.zip",
    OTRF / "privilege_escalation" / "host" / "empire_uac_shellapi_fodhelper.zip",
    OTRF / "lateral_movement" / "host" / "purplesharp_ad_playbook_I.zip",
    OTRF / "defense_evasion" / "host" / "empire_wmic_add_user_backdoor.zip",
    OTRF / "credential_access" / "host" / "empire_ninjacopy_dumping_ntds_dit_file.zip",
]

# Run in the child: detect, then print its own peak RSS (ru_maxrss is KiB on Linux).
CHILD = """
import hashlib, json, resource, sys, time
from sekimori.detect import run_detectors
from sekimori.store import Store
limit = sys.argv[2] or None
t = time.perf_counter()
report = run_detectors(Store(sys.argv[1]), only=["sigma"], save=False, memory_limit=limit)
seconds = time.perf_counter() - t
ids = "\\n".join(sorted(report.alerts.column("alert_id").to_pylist()))
print(json.dumps({"seconds": seconds, "alerts": report.alerts.num_rows,
                  "digest": hashlib.sha256(ids.encode()).hexdigest()[:16],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def scaled_store(base: Store, k: int, target: Path) -> int:
    """A store with ``k`` copies of ``base``'s segments (uids made distinct); its event count."""
    import duckdb

    (target / "segments").mkdir(parents=True)
    for copy in range(k):
        for seg in base.segments():
            dest = target / "segments" / f"{seg.name}-x{copy}"
            dest.mkdir()
            shutil.copy(seg / "manifest.json", dest / "manifest.json")
            for part in sorted(seg.glob("events-*.parquet")):
                src, out = str(part).replace("'", "''"), str(dest / part.name).replace("'", "''")
                duckdb.execute(
                    f"COPY (SELECT * REPLACE (uid || '#{copy}' AS uid) FROM read_parquet('{src}')) "
                    f"TO '{out}' (FORMAT parquet, COMPRESSION zstd)"
                )
    return int(Store(target).sql("SELECT count(*) AS n FROM events").column("n")[0].as_py())


def run(store: Path, limit: str | None) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(store), limit or ""],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", nargs="*", default=[str(p) for p in DEFAULT])
    ap.add_argument("--scales", nargs="*", type=int, default=[1, 2, 4, 8])
    ap.add_argument("--limit", default="1GB", help="the capped runs' memory limit")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sekimori-scale-") as tmp:
        base = Store(Path(tmp) / "base")
        started = time.perf_counter()
        base.ingest(args.corpus)
        print(
            f"corpus ingested in {time.perf_counter() - started:.1f} s; warming the rule cache …", flush=True
        )
        run(base.root, args.limit)  # compiles the rules once (cached for the timed runs)
        rows = []
        for k in args.scales:
            target = Path(tmp) / f"x{k}"
            events = scaled_store(base, k, target)
            capped = run(target, args.limit)
            uncapped = run(target, None)
            rows.append((k, events, capped, uncapped))
            print(f"{k}× done", flush=True)
            shutil.rmtree(target)
        first = rows[0]
        per_m = {name: first[i]["seconds"] / first[1] * 1e6 for name, i in (("capped", 2), ("uncapped", 3))}
        print(
            f"\n{'scale':>5} {'events':>10} | {'capped s':>9} {'s/M ev':>7} {'×1 rate':>7} {'RSS MB':>7} |"
            f" {'uncapped s':>10} {'s/M ev':>7} {'×1 rate':>7} {'RSS MB':>7} | alerts (capped/uncapped)"
        )
        for k, events, capped, uncapped in rows:
            cells = []
            for name, r in (("capped", capped), ("uncapped", uncapped)):
                spm = r["seconds"] / events * 1e6
                cells.append(
                    f"{r['seconds']:>9.1f} {spm:>7.1f} {spm / per_m[name]:>7.2f} {r['rss_mb']:>7.0f}"
                )
            same = "same ids" if capped.get("digest") == uncapped.get("digest") else "DIFFERENT ids"
            alerts = f"{int(capped['alerts']):,}/{int(uncapped['alerts']):,} {same}"
            print(f"{k:>4}× {events:>10,} | {cells[0]} | {cells[1]} | {alerts}")
        print(f"\ncapped: memory_limit {args.limit}; uncapped: DuckDB's default (80 % of RAM)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
