"""Sigma on Spark local[1] and local[2] against Sigma on DuckDB, on the same store, in one run.

    python benchmarks/spark.py [--corpus PATH ...] [--copies 8] [--runs 2]

The corpus (default: ../shared/data/evtx-attack-samples, 8,248 events) is ingested once; the store
holds ``--copies`` copies of its segments, each copy's ``uid`` made distinct (the work grows with the
copies, the matches too). Each engine runs in its own process (a Spark master is fixed when its JVM
starts): the whole bundled SigmaHQ ruleset, ``--runs`` times; the last (warm: rules transpiled, JVM
warmed up) is reported, with the first and the session start. Printed side by side: events, seconds,
events/s, events/s per core, and each engine's rate relative to DuckDB's; the Spark runs' matches are
checked equal to DuckDB's.

``--ingest PATH ...`` (e.g. ../shared/data/security-datasets/datasets/atomic/windows) measures the
ingest instead: the same files read by this machine's worker processes (1 and 2) and in Spark tasks
(local[1], local[2]), each into a new store in its own process; printed side by side: seconds,
events/s, events/s per core, relative to one local process, and whether the stores' events are the
same (a digest over every event's uid, time and raw).

``--boundary [--events 2000000]`` measures the trust-boundary rules' per-segment edges instead, on the
synthetic authentications and group model of ``benchmarks/auth.py`` (a segment per 2 M events; at
1 M events they raise no boundary alert), or with ``--lanl-copies K`` on K copies of the LANL sample's
segment with tests/detect's LANL model (1,488 alerts of three rules; the copies' uids made distinct):
each engine in its own process runs the ``boundary`` detector with every segment's edges computed again
(``full``; ``--runs`` times, the last reported), then once on the kept edges (the judging alone, on
DuckDB for every engine). Printed side by side: the full run, the edges' part of it (Spark: its jobs;
DuckDB: the full run less the cached one), events/s of the edges per core, relative to DuckDB's, and
whether the alerts (every column) and the kept edges are the same as DuckDB's.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import duckdb  # noqa: E402

from sekimori.detect import DetectProgress  # noqa: E402
from sekimori.model import GroupModel  # noqa: E402
from sekimori.store import Store  # noqa: E402

DEFAULT = [REPO.parent / "shared" / "data" / "evtx-attack-samples"]
ENGINES = ("duckdb", "local[1]", "local[2]")


def build_store(root: Path, corpus: list[Path], copies: int, reader: str | None = None) -> int:
    """Ingest ``corpus`` once, then add ``copies - 1`` copies of its segments with distinct uids."""
    store = Store(root)
    store.ingest([str(p) for p in corpus], reader=reader)
    originals = store.segments()
    con = duckdb.connect()
    for k in range(1, copies):
        for seg in originals:
            target = store.segments_dir / f"{seg.name}-copy{k}"
            target.mkdir()
            for part in sorted(seg.glob("events-*.parquet")):
                src = str(part).replace("'", "''")
                dst = str(target / part.name).replace("'", "''")
                con.execute(
                    f"COPY (SELECT * REPLACE (uid || '~{k}' AS uid) FROM read_parquet('{src}')) "
                    f"TO '{dst}' (FORMAT parquet, COMPRESSION zstd)"
                )
            (target / "manifest.json").write_text(json.dumps({"segment": target.name, "files": []}))
    con.close()
    return int(store.sql("SELECT count(*) AS n FROM events").column("n")[0].as_py())


def child(engine: str, store_path: str, runs: int) -> None:
    """One engine's runs over the store; prints one JSON line."""
    from sekimori.detect import load_ruleset, run_detectors

    store = Store(store_path)
    rules = load_ruleset().rules
    seconds: list[float] = []
    pairs: set[tuple[str, str]] = set()
    started = time.perf_counter()
    if engine == "duckdb":
        start_s = 0.0
        for _ in range(runs):
            t = time.perf_counter()
            alerts = run_detectors(store, only=["sigma"], save=False).alerts
            seconds.append(time.perf_counter() - t)
        pairs = {(a["rule_id"], a["evidence"][0]["uid"]) for a in alerts.to_pylist()}
        cores = os.cpu_count() or 1
    else:
        from sekimori.spark import SparkSettings, read_events, run_sigma_spark, spark_session

        settings = SparkSettings(master=engine, loopback=True)
        spark = spark_session(settings)
        read_events(spark, store)
        start_s = time.perf_counter() - started
        for _ in range(runs):
            t = time.perf_counter()
            result = run_sigma_spark(spark, rules)
            seconds.append(time.perf_counter() - t)
        pairs = {(a["rule_id"], a["evidence"][0]["uid"]) for a in result.alerts.to_pylist()}
        cores = settings.local_cores()
        spark.stop()
    print(
        json.dumps(
            {"engine": engine, "cores": cores, "seconds": seconds, "start": start_s, "pairs": sorted(pairs)}
        )
    )


INGEST_ENGINES = ("workers=1", "workers=2", "local[1]", "local[2]")


def child_ingest(engine: str, store_path: str, paths: list[str]) -> None:
    """One ingest of ``paths`` into a new store; prints one JSON line."""
    store = Store(store_path)
    started = time.perf_counter()
    if engine.startswith("workers="):
        cores = int(engine.split("=")[1])
        t = time.perf_counter()
        report = store.ingest(paths, workers=cores)
    else:
        from sekimori.spark import SparkFileReading, SparkSettings, spark_session

        settings = SparkSettings(master=engine, loopback=True)
        spark = spark_session(settings)
        cores = settings.local_cores()
        t = time.perf_counter()
        report = store.ingest(paths, reading=SparkFileReading(spark))
    seconds = time.perf_counter() - t
    digest = store.sql("SELECT count(*) AS n, bit_xor(hash(uid, time, raw)) AS h FROM events").to_pylist()[0]
    print(
        json.dumps(
            {
                "engine": engine,
                "cores": cores,
                "seconds": seconds,
                "start": t - started,
                "events": report.events,
                "digest": [digest["n"], str(digest["h"])],
            }
        )
    )


def run_ingest(paths: list[Path]) -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="sekimori-bench-spark-ingest-") as tmp:
        for k, engine in enumerate(INGEST_ENGINES):
            command = [sys.executable, __file__, "--child-ingest", engine, "--store", f"{tmp}/s{k}"]
            done = subprocess.run([*command, *map(str, paths)], check=True, capture_output=True, text=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    base = results[0]
    base_rate = base["events"] / base["seconds"]
    print(
        f"ingest of {', '.join(p.name for p in paths)}: {base['events']:,} events; "
        f"machine: {os.cpu_count()} cores"
    )
    print(
        f"{'engine':<11}{'cores':>6}{'start s':>9}{'run s':>8}{'events/s':>11}{'ev/s/core':>11}"
        f"{'vs 1 process':>14}{'same events':>13}"
    )
    for r in results:
        rate = r["events"] / r["seconds"]
        same = "yes" if r["digest"] == base["digest"] else "NO"
        print(
            f"{r['engine']:<11}{r['cores']:>6}{r['start']:>9.1f}{r['seconds']:>8.1f}{rate:>11,.0f}"
            f"{rate / r['cores']:>11,.0f}{rate / base_rate:>14.2f}{same:>13}"
        )


def _auth_benchmark() -> ModuleType:
    """benchmarks/auth.py as a module (its generator and group model)."""
    spec = importlib.util.spec_from_file_location("_sekimori_bench_auth", HERE / "auth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _digest(rows: list[dict[str, Any]]) -> str:
    text = json.dumps(sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str)), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


LANL = REPO.parent / "shared" / "data" / "lanl-2015" / "auth_head" / "auth_first50k.csv"


def _boundary_model(lanl: bool) -> GroupModel:
    """The group model: tests/detect's LANL model (three organisations, a shared realm) for the LANL
    sample, benchmarks/auth.py's for its synthetic authentications."""
    if not lanl:
        model: GroupModel = _auth_benchmark().bench_model()
        return model
    from tests.detect.test_boundary_edges import LANL_MODEL

    return GroupModel.model_validate(LANL_MODEL)


def child_boundary(engine: str, store_path: str, runs: int, lanl: bool) -> None:
    """One engine's boundary runs over the store; prints one JSON line."""
    import pyarrow.parquet as pq

    from sekimori.detect import run_detectors
    from sekimori.detect.edges import EDGES_KIND

    store = Store(store_path)
    model = _boundary_model(lanl)
    spark_engine = None
    started = time.perf_counter()
    cores = os.cpu_count() or 1
    if engine != "duckdb":
        from sekimori.spark import SparkEngine, SparkSettings

        spark_engine = SparkEngine(SparkSettings(master=engine, loopback=True))
        assert spark_engine.spark is not None  # started before the runs are timed
        cores = spark_engine.settings.local_cores()
    start_s = time.perf_counter() - started
    seconds: list[float] = []
    edges_s: list[float] = []
    for _ in range(runs):
        passes: list[float] = []

        def told(p: DetectProgress, passes: list[float] = passes) -> None:
            if p.step == "pass" and (p.logsource or "").startswith("spark: edges"):
                passes.append(p.seconds)

        t = time.perf_counter()
        report = run_detectors(store, model, only=["boundary"], full=True, engine=spark_engine, progress=told)
        seconds.append(time.perf_counter() - t)
        edges_s.append(sum(passes))
    t = time.perf_counter()
    cached = run_detectors(store, model, only=["boundary"], engine=spark_engine).alerts
    cached_s = time.perf_counter() - t
    if spark_engine is not None:
        spark_engine.close()
    rows = report.alerts.to_pylist()
    assert _digest(cached.to_pylist()) == _digest(rows)
    edges = [r for p in store.derived_files(EDGES_KIND).values() for r in pq.read_table(p).to_pylist()]
    result = {
        "engine": engine,
        "cores": cores,
        "start": start_s,
        "seconds": seconds,
        "edges": edges_s[-1] if spark_engine is not None else seconds[-1] - cached_s,
        "cached": cached_s,
        "alerts": len(rows),
        "alerts_digest": _digest(rows),
        "edges_rows": len(edges),
        "edges_digest": _digest(edges),
    }
    print(json.dumps(result))


def run_boundary(events: int, runs: int, lanl_copies: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sekimori-bench-spark-boundary-") as tmp:
        if lanl_copies:
            total = build_store(Path(tmp) / "store", [LANL], lanl_copies, reader="lanl")
            store = Store(Path(tmp) / "store")
            what = f"authentications of the LANL sample ({lanl_copies} copies, tests/detect's LANL model)"
        else:
            store = _auth_benchmark().generate(Path(tmp) / "store", events, 30.0, 7)
            total = int(store.sql("SELECT count(*) AS n FROM events").column("n")[0].as_py())
            what = "synthetic authentications (benchmarks/auth.py)"
        segments = len(store.segments())
        results = []
        for engine in ENGINES:
            command = [sys.executable, __file__, "--child-boundary", engine, "--store", str(store.root)]
            command += ["--lanl-copies", str(lanl_copies)]
            done = subprocess.run([*command, "--runs", str(runs)], check=True, capture_output=True, text=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"boundary edges: {total:,} {what} in {segments} segments")
    print(f"machine: {os.cpu_count()} cores; runs per engine: {runs} (the last reported)\n")
    base = results[0]
    base_rate = total / base["edges"] / base["cores"]
    print(
        f"{'engine':<10}{'cores':>6}{'start s':>9}{'run s':>8}{'edges s':>9}{'judge s':>9}"
        f"{'edges ev/s':>12}{'ev/s/core':>11}{'per core vs DuckDB':>20}{'same alerts':>13}{'same edges':>12}"
    )
    for r in results:
        rate = total / r["edges"]
        same = "yes" if r["alerts_digest"] == base["alerts_digest"] else "NO"
        same_edges = "yes" if r["edges_digest"] == base["edges_digest"] else "NO"
        print(
            f"{r['engine']:<10}{r['cores']:>6}{r['start']:>9.1f}{r['seconds'][-1]:>8.1f}{r['edges']:>9.1f}"
            f"{r['cached']:>9.1f}{rate:>12,.0f}{rate / r['cores']:>11,.0f}"
            f"{rate / r['cores'] / base_rate:>20.2f}{same:>13}{same_edges:>12}"
        )
    print(f"\nalerts: {base['alerts']:,}; edges: {base['edges_rows']:,} rows")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", nargs="+", type=Path, default=DEFAULT)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--ingest", nargs="+", type=Path, help="measure the ingest of these files instead")
    parser.add_argument("--boundary", action="store_true", help="measure the boundary rules' edges instead")
    parser.add_argument("--events", type=int, default=2_000_000, help="--boundary: synthetic events")
    parser.add_argument("--lanl-copies", type=int, default=0, help="--boundary: the LANL sample, k copies")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-boundary", help=argparse.SUPPRESS)
    parser.add_argument("--child-ingest", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child_ingest:
        child_ingest(args.child_ingest, args.store, rest)
        return
    if args.ingest:
        run_ingest(args.ingest)
        return
    if args.child_boundary:
        child_boundary(args.child_boundary, args.store, args.runs, bool(args.lanl_copies))
        return
    if args.boundary:
        run_boundary(args.events, args.runs, args.lanl_copies)
        return
    if args.child:
        child(args.child, args.store, args.runs)
        return
    with tempfile.TemporaryDirectory(prefix="sekimori-bench-spark-") as tmp:
        events = build_store(Path(tmp) / "store", args.corpus, args.copies)
        print(f"store: {events:,} events ({args.copies} copies of {', '.join(p.name for p in args.corpus)})")
        print(f"machine: {os.cpu_count()} cores; runs per engine: {args.runs} (the last reported)\n")
        results = []
        for engine in ENGINES:
            out = (
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        engine,
                        "--store",
                        str(Path(tmp) / "store"),
                        "--runs",
                        str(args.runs),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            results.append(json.loads(out))
    base = results[0]
    base_rate = events / base["seconds"][-1] / base["cores"]
    print(
        f"{'engine':<10}{'cores':>6}{'start s':>9}{'1st run s':>11}{'run s':>9}{'events/s':>11}"
        f"{'ev/s/core':>11}{'per core vs DuckDB':>20}{'same matches':>14}"
    )
    for r in results:
        last = r["seconds"][-1]
        per_core = events / last / r["cores"]
        same = "yes" if r["pairs"] == base["pairs"] else "NO"
        print(
            f"{r['engine']:<10}{r['cores']:>6}{r['start']:>9.1f}{r['seconds'][0]:>11.1f}{last:>9.1f}"
            f"{events / last:>11,.0f}{per_core:>11,.0f}{per_core / base_rate:>20.2f}{same:>14}"
        )
    spark1, spark2 = results[1]["seconds"][-1], results[2]["seconds"][-1]
    print(
        f"\nlocal[2] vs local[1]: {spark1 / spark2:.2f}x faster (2.00 = linear in cores); "
        f"matches: {len(base['pairs']):,} (rule, event) pairs"
    )


if __name__ == "__main__":
    main()
