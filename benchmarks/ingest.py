"""Ingest speed and memory, measured on the real corpora in ../shared/data.

    python benchmarks/ingest.py [--repeat 3] [--memory-mb 400] [--data ../shared/data] [--sections json ...]

1. EVTX: the raw ``evtx`` parse of every file of evtx-attack-samples (iterating ``records_json``), and
   sekimori's full ingest of the same files (sniff, parse, normalize, write Parquet, commit), in one
   process; prints both rates and the ratio. Best of ``--repeat`` runs each.
2. JSON: the same for the Windows part of OTRF Security-Datasets (raw = decompress + ``orjson.loads``
   of every line).
3. Zeek (WRCCDC 2018, JSON and the default TSV): raw gunzip + ``orjson.loads`` / split at tabs per
   line against sekimori's ingest of the same files.
4. Memory: ingests NDJSON files of ~1/4 and 1x ``--memory-mb`` (built by repeating real OTRF lines) in
   child processes and prints their peak RSS: flat memory means the two peaks are about equal.
5. Identity and cloud formats (Entra ID, Okta, Google Workspace, CloudTrail): a JSON Lines file of about
   ``--identity-mb`` built by repeating the real sample lines of ../shared/data/identity-cloud, raw
   ``orjson.loads`` per line against sekimori's ingest of the same file, with the peak RSS of each ingest
   at that size and a quarter of it (in child processes). Both rates are the best of ``--repeat`` runs
   (the machine may be busy with other work); the peak RSS is the highest of the runs. The ratio of the
   CPU times (raw parse / ingest process) is printed too: on a shared machine it moves less.
6. Archives: one tar, one tar.gz and one zip holding ``--archive-copies`` copies of the Zeek TSV logs (as many
   members), each ingested into a new store; the rates side by side. A member of a .tar.gz used to be
   found by decompressing the archive up to it, and each zip member's open read the whole directory
   again, so their cost grew with the square of their members.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import evtx
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sekimori.store import Store  # noqa: E402

# What the benchmark can run, in its order (``--sections``).
SECTIONS = ("evtx", "json", "zeek-json", "zeek-default", "archives", "memory", "identity")


def best_of(repeat: int, fn):  # type: ignore[no-untyped-def]
    best = None
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def raw_evtx(files: list[Path]) -> int:
    n = 0
    for f in files:
        try:
            records = evtx.PyEvtxParser(str(f)).records_json()
        except Exception:
            continue
        while True:
            try:
                next(records)
            except StopIteration:
                break
            except Exception:
                continue
            n += 1
    return n


def raw_json(archives: list[Path]) -> int:
    import tarfile

    n = 0
    for path in archives:
        members: list[bytes] = []
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                members = [z.read(name) for name in z.namelist() if not name.endswith("/")]
        else:
            with tarfile.open(path, "r:*") as t:
                members = [t.extractfile(m).read() for m in t.getmembers() if m.isfile()]  # type: ignore[union-attr]
        for data in members:
            for line in data.splitlines():
                if line.strip():
                    try:
                        orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    n += 1
    return n


def raw_zeek_json(files: list[Path]) -> int:
    import gzip

    n = 0
    for path in files:
        for line in gzip.decompress(path.read_bytes()).splitlines():
            if line.strip():
                orjson.loads(line)
                n += 1
    return n


def raw_zeek_tsv(files: list[Path]) -> int:
    """gunzip + split each data line at tabs (Zeek's default ASCII logs; ``#`` lines are headers)."""
    import gzip

    n = 0
    for path in files:
        for line in gzip.decompress(path.read_bytes()).splitlines():
            if line and not line.startswith(b"#"):
                line.decode().split("\t")
                n += 1
    return n


def ingest(paths: list[Path]) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="sekimori-bench-"))
    try:
        report = Store(tmp / "store").ingest([str(p) for p in paths])
        return report.events
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def compare(title: str, raw_name: str, raw_fn, paths: list[Path], size: int, repeat: int) -> None:  # type: ignore[no-untyped-def]
    raw_s, raw_n = best_of(repeat, lambda: raw_fn(paths))
    ours_s, ours_n = best_of(repeat, lambda: ingest(paths))
    print(f"\n== {title}: {len(paths)} files, {size / 1e6:.1f} MB")
    print(f"  {raw_name:<38} {raw_n:>9,} records  {raw_s:7.3f} s  {raw_n / raw_s:>10,.0f} records/s")
    ours = "sekimori ingest (to Parquet store)"
    print(f"  {ours:<38} {ours_n:>9,} events   {ours_s:7.3f} s  {ours_n / ours_s:>10,.0f} events/s")
    print(f"  ratio sekimori / raw: {(ours_n / ours_s) / (raw_n / raw_s):.0%}")


def memory(data: Path, target_mb: int) -> None:
    """Peak RSS of ingesting NDJSON of two sizes, each in its own process."""
    host = data / "security-datasets/datasets/atomic/windows/lateral_movement/host"
    source = host / "empire_psexec_dcerpc_tcp_svcctl.zip"
    with zipfile.ZipFile(source) as z:
        lines = [line for line in z.read(z.namelist()[0]).splitlines() if line.strip()]
    block = b"\n".join(lines) + b"\n"
    tmp = Path(tempfile.mkdtemp(prefix="sekimori-mem-"))
    print(f"\n== memory: NDJSON built from {source.name} ({len(lines):,} real lines repeated)")
    try:
        for mb in (max(1, target_mb // 4), target_mb):
            path = tmp / f"big-{mb}.json"
            with open(path, "wb") as fh:
                written = 0
                while written < mb * 1_000_000:
                    fh.write(block)
                    written += len(block)
            # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's at fork.
            code = (
                "import re, sys, time; from sekimori.store import Store; t = time.perf_counter(); "
                "r = Store(sys.argv[1]).ingest([sys.argv[2]]); "
                "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
                "print(r.events, time.perf_counter() - t, hwm)"
            )
            out = subprocess.run(
                [sys.executable, "-c", code, str(tmp / f"store-{mb}"), str(path)],
                capture_output=True,
                text=True,
                check=True,
                cwd=REPO,
            ).stdout.split()
            events, seconds, rss_kb = int(out[0]), float(out[1]), int(out[2])
            size = path.stat().st_size
            print(
                f"  {size / 1e6:7.0f} MB file: {events:>10,} events in {seconds:6.1f} s "
                f"({events / seconds:,.0f} events/s), peak RSS {rss_kb / 1024:,.0f} MB"
            )
            path.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


IDENTITY_SAMPLES = {
    "entra": "entra-signin/panther_azure_audit.jsonl",
    "okta": "okta/panther_okta_systemlog.jsonl",
    "google_workspace": "google-workspace/panther_gsuite_activityevent.jsonl",
    "cloudtrail": "cloudtrail/panther_aws_cloudtrail.jsonl",
}


def _ingest_in_child(store: Path, path: Path) -> tuple[int, int, float, int, float]:
    """(events, quarantined, seconds, peak RSS kB, CPU seconds) of one ingest in a fresh process; the CPU
    time counts its reading workers' (a large file is read in slices by all of them)."""
    code = (
        "import os, re, sys, time; from sekimori.store import Store; t = time.perf_counter(); "
        "cpu = lambda: sum(os.times()[:4]); c = cpu(); r = Store(sys.argv[1]).ingest([sys.argv[2]]); "
        "s = time.perf_counter() - t; c = cpu() - c; "
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
        "print(r.events, r.quarantined, s, hwm, c)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(store), str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout.split()
    return int(out[0]), int(out[1]), float(out[2]), int(out[3]), float(out[4])


def identity_formats(data: Path, target_mb: int, repeat: int = 1) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="sekimori-idp-"))
    print(f"\n== identity and cloud formats: JSON Lines of ~{target_mb} MB from the real samples, repeated")
    try:
        for name, relative in IDENTITY_SAMPLES.items():
            lines = [
                line
                for line in (data / "identity-cloud" / relative).read_bytes().splitlines()
                if line.strip()
            ]
            block = b"\n".join(lines) + b"\n"
            sizes = {}
            for mb in (max(1, target_mb // 4), target_mb):
                path = tmp / f"{name}-{mb}.jsonl"
                with open(path, "wb") as fh:
                    for _ in range(max(1, mb * 1_000_000 // len(block))):
                        fh.write(block)
                sizes[mb] = path
            big = sizes[target_mb]
            raw_s = raw_cpu = 0.0
            for run in range(repeat):
                start, cpu = time.perf_counter(), time.process_time()
                raw_n = sum(
                    1 for line in big.read_bytes().splitlines() if line.strip() and orjson.loads(line)
                )
                took, cpu = time.perf_counter() - start, time.process_time() - cpu
                raw_s, raw_cpu = (took, cpu) if run == 0 else (min(raw_s, took), min(raw_cpu, cpu))
            small_rss = seconds = rss = cpu_s = 0
            for run in range(repeat):
                small = _ingest_in_child(tmp / f"store-{name}-small-{run}", sizes[max(1, target_mb // 4)])
                events, quarantined, took, peak, cpu = _ingest_in_child(tmp / f"store-{name}-{run}", big)
                small_rss, rss = max(small_rss, small[3]), max(rss, peak)
                seconds = took if run == 0 else min(seconds, took)
                cpu_s = cpu if run == 0 else min(cpu_s, cpu)
            print(
                f"  {name:<17} {big.stat().st_size / 1e6:5.0f} MB  raw {raw_n / raw_s:>9,.0f} records/s  "
                f"sekimori {(events + quarantined) / seconds:>9,.0f} records/s "
                f"({events:,} events, {quarantined:,} quarantined)  "
                f"ratio {((events + quarantined) / seconds) / (raw_n / raw_s):.0%} "
                f"(by CPU time {((events + quarantined) / cpu_s) / (raw_n / raw_cpu):.0%})  "
                f"peak RSS {small_rss / 1024:,.0f} MB at 1/4 size, {rss / 1024:,.0f} MB at full size"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_archives(data: Path, copies: int, repeat: int) -> None:
    import gzip
    import io
    import tarfile

    logs = sorted((data / "zeek-wrccdc2018" / "zeek-default").glob("*.gz"))
    if not logs:
        return
    tmp = Path(tempfile.mkdtemp(prefix="sekimori-archives-"))
    try:
        plain = tmp / "logs.tar"
        with tarfile.open(plain, "w") as tar:
            for copy in range(copies):
                for log in logs:
                    content = gzip.decompress(log.read_bytes())
                    info = tarfile.TarInfo(f"copy{copy}/{log.name[:-3]}")
                    info.size = len(content)
                    tar.addfile(info, io.BytesIO(content))
        packed = tmp / "logs.tar.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=6))
        zipped = tmp / "logs.zip"
        with tarfile.open(plain) as tar, zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
            for member in tar.getmembers():
                z.writestr(member.name, tar.extractfile(member).read())  # type: ignore[union-attr]
        members = copies * len(logs)
        print(f"\n== archives: {members} members of Zeek TSV logs, {plain.stat().st_size / 1e6:.0f} MB")
        rates = {}
        for path in (plain, packed, zipped):
            seconds, events = best_of(repeat, lambda path=path: ingest([path]))
            rates[path.name] = events / seconds
            print(
                f"  {path.name:<12} {path.stat().st_size / 1e6:7.1f} MB  {events:>10,} events  "
                f"{seconds:7.2f} s  {events / seconds:>10,.0f} events/s"
            )
        print(
            f"  ratio tar.gz / tar: {rates[packed.name] / rates[plain.name]:.0%}, "
            f"zip / tar: {rates[zipped.name] / rates[plain.name]:.0%}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-mb", type=int, default=400, help="0 skips the memory check")
    parser.add_argument("--identity-mb", type=int, default=40, help="0 skips the identity formats")
    parser.add_argument(
        "--only-identity", action="store_true", help="run the identity and cloud formats only"
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="the sections to run (default: all); e.g. --sections json zeek-json",
    )
    parser.add_argument(
        "--archive-copies", type=int, default=3, help="copies of the Zeek logs in the archives; 0 skips"
    )
    args = parser.parse_args()
    evtx_dir = args.data / "evtx-attack-samples"
    json_dir = args.data / "security-datasets" / "datasets" / "atomic" / "windows"
    if not evtx_dir.is_dir() or not json_dir.is_dir():
        print(
            f"corpus not found under {args.data}: this benchmark reads evtx-attack-samples and "
            "security-datasets from ../shared/data (or --data DIR)",
            file=sys.stderr,
        )
        return 2
    print(f"sekimori ingest benchmark  (cpus: {os.cpu_count()}, python {sys.version.split()[0]})")
    if args.only_identity:
        identity_formats(args.data, args.identity_mb, args.repeat)
        return 0
    sections = set(args.sections)
    if "evtx" in sections:
        evtx_files = sorted(evtx_dir.rglob("*.evtx"))
        compare(
            "EVTX corpus (evtx-attack-samples)",
            "raw evtx parse (records_json)",
            raw_evtx,
            evtx_files,
            sum(p.stat().st_size for p in evtx_files),
            args.repeat,
        )
    if "json" in sections:
        archives = sorted(p for p in json_dir.rglob("*") if p.suffix in (".zip", ".gz"))
        compare(
            "JSON corpus (Security-Datasets, Windows)",
            "raw unzip + orjson.loads per line",
            raw_json,
            archives,
            sum(p.stat().st_size for p in archives),
            max(1, args.repeat - 1),
        )
    for shape, raw_name, raw_fn in (
        ("zeek-json", "raw gunzip + orjson.loads per line", raw_zeek_json),
        ("zeek-default", "raw gunzip + split at tabs", raw_zeek_tsv),
    ):
        zeek = sorted((args.data / "zeek-wrccdc2018" / shape).glob("*.gz"))
        if zeek and shape in sections:
            compare(
                f"Zeek logs ({shape}, WRCCDC 2018)",
                raw_name,
                raw_fn,
                zeek,
                sum(p.stat().st_size for p in zeek),
                args.repeat,
            )
    if args.archive_copies and "archives" in sections:
        bench_archives(args.data, args.archive_copies, args.repeat)
    if args.memory_mb and "memory" in sections:
        memory(args.data, args.memory_mb)
    if args.identity_mb and "identity" in sections:
        identity_formats(args.data, args.identity_mb, args.repeat)
    rusage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"\nthis process: peak RSS {rusage.ru_maxrss / 1024:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
