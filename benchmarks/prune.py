"""Pruning: the same queries on a store written in the old layout (events in arrival order, segments cut
by size) and in the new one (one file per log source and UTC day, rows in time order per row group).

    python benchmarks/prune.py [--data ../shared/data] [--inputs PATH ...] [--hosts 40] [--repeat 3]
                               [--spark]

1. Builds both stores from the same real inputs (default: Security-Datasets' Windows recordings, the
   WRCCDC 2018 Zeek logs and the EVTX attack samples: several sources over many days; with ``--hosts
   N``, also N hosts' syslog files covering the same eight weeks, made of the real lines of
   tests/data/syslog/loghub-linux.log with the host's name and the day of the month changed), each
   ingest in this process with the same worker setting; the old layout's writer is
   ``sekimori/store/segments.py`` as of ``--old-ref`` (``git show``), put in place of the new one for
   that ingest.
2. Runs time-window, source and combined queries on both with DuckDB (``Store.connect()``, the views
   every reader uses) and prints, side by side: the best time of ``--repeat`` runs, the row groups DuckDB
   scanned of those it had (its profiling output), the bytes it read, and the old/new ratios. The
   results must be equal. "new+index" lists only the files the manifest's index names for the day or
   source (no footer of the other files opened).
3. ``--spark``: the same filters on Spark (local[2]): the rows its Parquet scan returned (row groups its
   filter pushdown skipped return none) and the files it listed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402

import sekimori.store.store as store_module  # noqa: E402
from sekimori.ingest import EVENT_SCHEMA  # noqa: E402
from sekimori.store import Store  # noqa: E402
from sekimori.store.views import create_view  # noqa: E402

OLD_REF = "3af0055"  # the last commit writing events in arrival order


def old_writer(ref: str) -> Any:
    """The SegmentWriter of ``ref``, loaded from git as a module of its own."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{ref}:sekimori/store/segments.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="sekimori-old-")) / "old_segments.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_segments", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SegmentWriter


def build(root: Path, inputs: list[str], writer: Any, workers: int | None) -> tuple[Store, float, float]:
    new_writer = store_module.SegmentWriter
    store_module.SegmentWriter = writer
    try:
        store = Store(root)
        wall, cpu = time.perf_counter(), time.process_time()
        store.ingest(inputs, workers=workers)
        return store, time.perf_counter() - wall, time.process_time() - cpu
    finally:
        store_module.SegmentWriter = new_writer


def profiled(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any], out: Path) -> dict[str, Any]:
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = '{out}'")
    con.execute("SET profiling_mode = 'detailed'")
    con.execute(sql, params).fetchall()
    con.execute("PRAGMA disable_profiling")
    profile = json.loads(out.read_text())
    query = profile["query"]
    return {
        "groups": query.get("total_row_groups_scanned"),
        "of": query.get("total_row_groups_to_scan"),
        "rows": query.get("total_rows_scanned"),
        "bytes": profile.get("io", {}).get("total_bytes_read"),
    }


def run(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = con.execute(sql, params).fetchall()
        best = min(best, time.perf_counter() - start)
    return best, result


def index_connection(store: Store, day: dt.date | None, source: str | None) -> duckdb.DuckDBPyConnection:
    """A connection whose ``events`` reads only the files the manifests' index names."""
    files = [
        str(seg / p["file"])
        for seg in store.segments()
        for p in json.loads((seg / "manifest.json").read_text())["parts"]
        if (day is None or p["day"] == day.isoformat()) and (source is None or p["source"] == source)
    ]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    create_view(con, "events", files, EVENT_SCHEMA)  # the store's own view, over fewer files
    return con


def queries(store: Store) -> list[tuple[str, str, list[Any], dt.date | None, str | None]]:
    """(label, SQL, parameters, day, source) for a busy day and source of the data, and a quiet one."""
    con = store.connect()
    days = con.execute(
        "SELECT time::DATE AS d, count(*) AS n FROM events WHERE time IS NOT NULL GROUP BY 1 ORDER BY n DESC"
    ).fetchall()
    sources = con.execute(
        "SELECT source_format, count(*) AS n FROM events GROUP BY 1 ORDER BY n DESC"
    ).fetchall()
    busy, quiet = days[0][0], days[len(days) // 2][0]
    (hour,) = con.execute(
        "SELECT date_trunc('hour', time) AS h FROM events WHERE time::DATE = ? GROUP BY 1 "
        "ORDER BY count(*) DESC LIMIT 1",
        [busy],
    ).fetchone() or (None,)
    con.close()
    small_source = sources[-1][0]
    big_source = sources[0][0]
    select = "SELECT count(*), sum(length(raw)), count(DISTINCT host) FROM events"
    return [
        ("all events (no filter)", select, [], None, None),
        (f"busiest day {busy}", select + " WHERE time >= ? AND time < ?", _day(busy), busy, None),
        (f"a quieter day {quiet}", select + " WHERE time >= ? AND time < ?", _day(quiet), quiet, None),
        (
            f"busiest hour {hour:%Y-%m-%d %H}:00",
            select + " WHERE time >= ? AND time < ?",
            [hour, hour + dt.timedelta(hours=1)],
            busy,
            None,
        ),
        (f"source {small_source}", select + " WHERE source_format = ?", [small_source], None, small_source),
        (
            f"source {big_source}, day {quiet}",
            select + " WHERE source_format = ? AND time >= ? AND time < ?",
            [big_source, *_day(quiet)],
            quiet,
            big_source,
        ),
    ]


def _day(day: dt.date) -> list[dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), dt.UTC)
    return [start, start + dt.timedelta(days=1)]


def files_and_groups(store: Store) -> tuple[int, int]:
    import pyarrow.parquet as pq

    files = store.event_files()
    return len(files), sum(pq.read_metadata(f).num_row_groups for f in files)


def spark_scan(stores: dict[str, Store], labels: list[tuple[str, str]]) -> None:
    """Rows Spark's Parquet scan returned (after row-group skipping) for each filter, per layout."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "false")  # the scan node stays in the plan's tree
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    print("\n== Spark local[2]: rows returned by the Parquet scan (row groups skipped return none)")
    print(f"  {'filter':<44}" + "".join(f"{name:>24}" for name in stores) + f"{'old/new':>10}")
    for label, where in labels:
        rows = []
        for store in stores.values():
            df = spark.read.parquet(*store.event_files())
            df = df.where(where) if where else df
            scan = _scan_metrics(spark, df)
            rows.append(scan)
        ratio = rows[0][0] / rows[1][0] if rows[1][0] else float("inf")
        cells = "".join(f"{f'{r:,} ({n} files)':>24}" for r, n in rows)
        print(f"  {label:<44}{cells}{ratio:>10.1f}")
    spark.stop()


def _scan_metrics(spark: Any, df: Any) -> tuple[int, int]:
    # The executed plan's FileSourceScanExec, found by walking the tree.
    plan = df.selectExpr("count(*)", "sum(length(raw))")._jdf.queryExecution().executedPlan()
    plan.executeCollect()
    nodes = [plan]
    while nodes:
        node = nodes.pop()
        if node.nodeName().startswith("Scan parquet"):
            metrics = node.metrics()
            return int(metrics.apply("numOutputRows").value()), int(metrics.apply("numFiles").value())
        children = node.children()
        nodes.extend(children.apply(i) for i in range(children.size()))
    return -1, -1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--inputs", nargs="*", help="files or folders (default: see above)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--old-ref", default=OLD_REF)
    parser.add_argument("--hosts", type=int, default=0, help="N hosts' syslog over the same weeks")
    parser.add_argument("--keep", type=Path, help="build the stores here and keep them")
    parser.add_argument("--spark", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="use the stores already in --keep")
    args = parser.parse_args()
    inputs = args.inputs or [
        str(args.data / "security-datasets" / "datasets" / "atomic" / "windows"),
        str(args.data / "zeek-wrccdc2018" / "zeek-default"),
        str(args.data / "evtx-attack-samples"),
    ]
    root = args.keep or Path(tempfile.mkdtemp(prefix="sekimori-prune-"))
    try:
        if args.hosts and not args.reuse:
            inputs.append(str(hosts_syslog(root / "hosts", args.hosts)))
        writers = {"old": old_writer(args.old_ref), "new": store_module.SegmentWriter}
        stores = {}
        print(f"sekimori prune benchmark: {', '.join(inputs)}")
        for name, writer in writers.items():
            if args.reuse and (root / name / "segments").is_dir():
                stores[name], wall, cpu = Store(root / name), 0.0, 0.0
            else:
                shutil.rmtree(root / name, ignore_errors=True)
                stores[name], wall, cpu = build(root / name, inputs, writer, args.workers)
            files, groups = files_and_groups(stores[name])
            size = sum(Path(f).stat().st_size for f in stores[name].event_files())
            print(
                f"  {name} layout: ingest {wall:.1f} s (this process' CPU {cpu:.1f} s), "
                f"{files} files, {groups} row groups, {size / 2**20:.1f} MiB"
            )
        table(stores, args.repeat, root)
        if args.spark:
            labels = [
                (label, _spark_where(params, source))
                for label, _, params, _, source in queries(stores["new"])
            ]
            spark_scan(stores, labels)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


def hosts_syslog(folder: Path, hosts: int, copies: int = 50) -> Path:
    """``hosts`` syslog files, each the real lines of loghub-linux.log ``copies`` times per month (June,
    then July), the day of the month moving forward copy by copy: every file covers the same weeks."""
    lines = (REPO / "tests" / "data" / "syslog" / "loghub-linux.log").read_text().splitlines()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for h in range(hosts):
        with (folder / f"host{h:03d}.log").open("w") as out:
            for month in ("Jun", "Jul"):
                for c in range(copies):
                    day = c * 28 // copies + 1
                    for line in lines:  # "Jun 14 15:16:01 combo sshd..." -> day and host replaced
                        if line.startswith(month):
                            out.write(f"{line[:4]}{day:2d}{line[6:16]}host{h:03d}{line[21:]}\n")
    return folder


def _spark_where(params: list[Any], source: str | None) -> str:
    times = [p for p in params if isinstance(p, dt.datetime)]
    clauses = [f"source_format = '{source}'"] if source else []
    if times:
        clauses.append(f"time >= timestamp'{times[0]:%Y-%m-%d %H:%M:%S}'")
        clauses.append(f"time < timestamp'{times[1]:%Y-%m-%d %H:%M:%S}'")
    return " AND ".join(clauses)


def table(stores: dict[str, Store], repeat: int, root: Path) -> None:
    print(
        f"\n  {'query':<44}{'layout':>10}{'time s':>9}{'row groups':>14}{'rows':>14}"
        f"{'MiB read':>10}{'time old/new':>14}{'groups old/new':>16}"
    )
    for label, sql, params, day, source in queries(stores["new"]):
        results, lines = set(), []
        figures = {}
        for name, store in [*stores.items(), ("new+index", stores["new"])]:
            con = store.connect() if name != "new+index" else index_connection(store, day, source)
            seconds, result = run(con, sql, params, repeat)
            results.add(tuple(result[0]))
            prof = profiled(con, sql, params, root / f"profile-{name}.json")
            con.close()
            figures[name] = (seconds, prof)
        old_s, old_p = figures["old"]
        for name, (seconds, prof) in figures.items():
            ratio_t = f"{old_s / seconds:.1f}" if name != "old" else ""
            ratio_g = f"{old_p['groups'] / max(prof['groups'], 1):.1f}" if name != "old" else ""
            groups = f"{prof['groups']}/{prof['of']}"
            lines.append(
                f"  {label if name == 'old' else '':<44}{name:>10}{seconds:>9.3f}"
                f"{groups:>14}{prof['rows']:>14,}"
                f"{(prof['bytes'] or 0) / 2**20:>10.1f}{ratio_t:>14}{ratio_g:>16}"
            )
        print("\n".join(lines))
        if len(results) != 1:
            raise SystemExit(f"{label}: the layouts disagree: {results}")


if __name__ == "__main__":
    main()
