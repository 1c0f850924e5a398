"""The event store: a directory of Parquet segments with DuckDB views over them.

Layout::

    STORE/segments/<segment>/events-NNNNN.parquet   normalized events (EVENT_SCHEMA)
    STORE/segments/<segment>/quarantine.parquet     records that could not be read (QUARANTINE_SCHEMA)
    STORE/segments/<segment>/manifest.json          the files this segment holds, with their digests
    STORE/.staging/<segment>/                       a segment being written

A segment is written under ``.staging`` and becomes visible by one atomic directory rename, so a run
killed at any point leaves either whole segments or nothing; the next run deletes the leftovers and
re-reads the files that were not committed (nothing lost, nothing doubled). A file is known by the
SHA-256 of its content: ingesting the same content again, under any name, counts once.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import uuid
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sekimori.ingest.base import Quarantine, Reader, detect, get_reader
from sekimori.ingest.fit import fits_int64, safe_str, text_safe
from sekimori.ingest.schema import EVENT_SCHEMA, QUARANTINE_SCHEMA
from sekimori.ingest.source import Source, SourceError, expand
from sekimori.ingest.walk import input_paths
from sekimori.store.errors import StoreError
from sekimori.store.lock import writer_lock
from sekimori.store.readonly import check_read_only

SEGMENT_ROWS = 1_000_000  # commit a segment once it holds this many events (at a file boundary)
ROW_GROUP_ROWS = 128 * 1024
# Raw records run to kilobytes each: bound the buffered bytes too, so memory stays flat.
ROW_GROUP_BYTES = 48 * 1024 * 1024
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1


@dataclass
class FileResult:
    """What one input file gave."""

    path: str  # as given
    digest: str
    size: int
    events: int = 0
    quarantined: int = 0
    readers: list[str] = field(default_factory=list)
    status: str = "ingested"  # ingested | skipped (same content already in the store) | failed | partial
    note: str | None = None
    grown_from: str | None = None  # digest of the earlier version this one appends to
    skipped_events: int = 0  # events of the earlier versions, already in the store

    def __post_init__(self) -> None:
        # A file name that is not UTF-8 is kept escaped: the manifest feeds the ``files`` view.
        self.path = safe_str(self.path)


@dataclass(frozen=True)
class Resume:
    """How to read a file that grew since it was ingested: what is already in the store.

    ``skip_events``/``skip_quarantined``: the file still starts with the bytes ingested before (an
    append-only log), so its first events and quarantine rows are the stored ones. ``after_record``:
    an EVTX log rewrites its header as it grows, so records up to the stored highest EventRecordID are
    the stored ones.
    """

    previous_digest: str
    skip_events: int = 0
    skip_quarantined: int = 0
    after_record: int | None = None


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files if f.status != "skipped")

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files if f.status != "skipped")

    @property
    def skipped(self) -> int:
        return sum(1 for f in self.files if f.status == "skipped")


# (path, file size, events read from it so far, whether the file is finished)
ProgressCallback = Callable[[str, int, int, bool], None]


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Parsing allocates millions of short-lived containers; generational GC passes over them cost
    # ~40% of the JSON parse time and find nothing to free.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def file_digest(path: Path, prefix_size: int | None = None) -> tuple[str, str | None]:
    """SHA-256 of the file and, given ``prefix_size``, of its first ``prefix_size`` bytes, in one read."""
    full = hashlib.sha256()
    prefix = hashlib.sha256() if prefix_size is not None else None
    remaining = prefix_size or 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            full.update(block)
            if prefix is not None and remaining:
                prefix.update(block[:remaining])
                remaining -= min(remaining, len(block))
    return full.hexdigest(), (prefix.hexdigest() if prefix is not None and not remaining else None)


def iter_input_files(paths: Iterable[str]) -> Iterator[str]:
    """Files named, and files under directories named, in a stable order; paths kept as given.

    Paths that cannot be read (a folder that cannot be listed, a FIFO, a broken link) are yielded too:
    ``Store.ingest`` reports each as failed (see ``sekimori.ingest.walk``)."""
    for path, _ in input_paths(paths):
        yield path


class _SegmentWriter:
    """Writes one segment under .staging; ``commit`` publishes it atomically."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
        self.dir = store.root / ".staging" / self.name
        self.dir.mkdir(parents=True)
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._part = 0
        self._quarantine: list[dict[str, Any]] = []
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._spilled = 0
        self.files: list[FileResult] = []

    def write(self, batch: pa.RecordBatch) -> None:
        # Small files give small batches: gather them into full row groups before writing.
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        self.rows += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS or self._pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.dir / f"events-{self._part:05d}.parquet",
                EVENT_SCHEMA,
                compression=COMPRESSION,
                compression_level=COMPRESSION_LEVEL,
            )
        self._writer.write_table(
            pa.Table.from_batches(self._pending, EVENT_SCHEMA), row_group_size=ROW_GROUP_ROWS
        )
        self._pending = []
        self._pending_rows = 0
        self._pending_bytes = 0

    def quarantine(self, rows: list[dict[str, Any]]) -> None:
        self._quarantine.extend(rows)

    def add(self, outcome: FileOutcome) -> None:
        """Take one file's outcome: its batches, its spilled parts (moved in), its quarantine rows."""
        for batch in outcome.batches:
            self.write(batch)
        for part in outcome.spilled:  # a large file's parts, already Parquet: moved, not rewritten
            self._spilled += 1
            os.rename(part, self.dir / f"events-spill-{self._spilled:05d}.parquet")
        self.rows += outcome.result.events - sum(b.num_rows for b in outcome.batches)
        self.quarantine(outcome.quarantine)
        self.files.append(outcome.result)

    def commit(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
        if self._quarantine:
            pq.write_table(
                pa.Table.from_pylist(self._quarantine, QUARANTINE_SCHEMA), self.dir / "quarantine.parquet"
            )
        manifest = {"segment": self.name, "created": time.time(), "files": [asdict(f) for f in self.files]}
        (self.dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
        target = self.store.segments_dir / self.name
        os.rename(self.dir, target)  # the commit point
        _fsync_dir(self.store.segments_dir)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Store:
    """A sekimori event store in ``root`` (created on first ingest)."""

    def __init__(
        self,
        root: str | Path,
        segment_rows: int | None = None,
        *,
        lock_wait: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """``lock_wait``: how long a write waits for another process writing to the same store (None: as
        long as it takes, 0: refuse at once); ``on_wait`` is told, once, that it waits and for whom."""
        self.root = Path(root)
        self.lock_wait = lock_wait
        self.on_wait = on_wait
        self.segments_dir = self.root / "segments"
        env_rows = os.environ.get("SEKIMORI_SEGMENT_ROWS")
        self.segment_rows = segment_rows or (int(env_rows) if env_rows else SEGMENT_ROWS)

    # ---- writing -------------------------------------------------------------------------------

    @contextmanager
    def writer(self, command: str) -> Iterator[None]:
        """Hold the store's one-writer lock (see :mod:`sekimori.store.lock`); re-entrant in a thread."""
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: exists and is not a directory")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot create the store: {exc.strerror or exc}") from exc
        with writer_lock(self.root, command, self.lock_wait, self.on_wait):
            yield

    def _prepare(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: exists and is not a directory")
        try:
            self.segments_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot create the store: {exc.strerror or exc}") from exc
        staging = self.root / ".staging"
        if staging.exists():  # segments of a run that did not finish: their files will be read again
            shutil.rmtree(staging)

    def ingest(
        self,
        paths: Iterable[str],
        *,
        reader: str | None = None,
        progress: ProgressCallback | None = None,
        workers: int | None = None,
    ) -> IngestReport:
        """Read ``paths`` (files or directories) into the store. Bad records are quarantined.

        ``workers``: processes reading files in parallel (default: one per CPU when the run is large
        enough to repay starting them, else 1). Hashing, de-duplication, writing and the commits stay
        in this process, so parallel runs keep the same guarantees. The run holds the store's writer
        lock from its first decision (which files are new) to its last commit.
        """
        with self.writer("ingest"):
            return self._ingest(paths, reader=reader, progress=progress, workers=workers)

    def _ingest(
        self,
        paths: Iterable[str],
        *,
        reader: str | None,
        progress: ProgressCallback | None,
        workers: int | None,
    ) -> IngestReport:
        self._prepare()
        started = time.perf_counter()
        report = IngestReport()
        known = self.known_digests()
        previous = self.versions()
        if reader:
            get_reader(reader)  # fail before reading anything
        segment: _SegmentWriter | None = None
        spill_dir = self.root / ".staging" / f"spill-{uuid.uuid4().hex[:12]}"
        todo: list[Todo] = []
        work: dict[str, int] = {}  # decompressed size estimates, to decide on workers
        resumes: dict[str, Resume | None] = {}  # grown files: what of them is already stored
        plan: list[FileOutcome | FileResult | None] = []  # input order; None = read by _read_all

        try:
            for path, problem in input_paths(paths):
                if problem is not None:  # never opened: a FIFO would block, a folder cannot be listed
                    plan.append(_failed(path, problem))
                    continue
                try:
                    size = os.path.getsize(path)
                    earlier = previous.get(safe_str(path))
                    if earlier is not None and size <= earlier["size"]:
                        earlier = None  # not grown: a new version, or the same content
                    digest, prefix = file_digest(Path(path), earlier["size"] if earlier else None)
                except OSError as exc:
                    plan.append(_failed(path, f"cannot read: {exc.strerror or exc}"))
                    continue
                if digest in known:
                    note = f"same content as {known[digest]}"
                    plan.append(FileResult(path, digest, size, status="skipped", note=note))
                    continue
                known[digest] = path
                resumes[path] = self._resume_for(safe_str(path), prefix, earlier) if earlier else None
                todo.append((path, digest, size))
                work[path] = input_size(path, size)
                plan.append(None)

            n_workers = (
                workers if workers is not None else _auto_workers([(p, d, work[p]) for p, d, _ in todo])
            )
            read = _read_all([(p, d, s, resumes.get(p)) for p, d, s in todo], reader, spill_dir, n_workers)
            for entry in plan:
                if isinstance(entry, FileResult):  # same content already in the store
                    report.files.append(entry)
                    if progress:
                        progress(entry.path, entry.size, 0, True)
                    continue
                outcome = entry if entry is not None else next(read)
                result = outcome.result
                if segment is None:
                    segment = _SegmentWriter(self)
                segment.add(outcome)
                report.files.append(result)
                if progress:
                    progress(result.path, result.size, result.events, True)
                if segment.rows >= self.segment_rows:
                    segment.commit()
                    segment = None
            if segment is not None:
                segment.commit()
                segment = None
        finally:
            if segment is not None:  # interrupted: drop the uncommitted segment, nothing half-visible
                shutil.rmtree(segment.dir, ignore_errors=True)
            shutil.rmtree(spill_dir, ignore_errors=True)
        report.seconds = time.perf_counter() - started
        return report

    # ---- reading -------------------------------------------------------------------------------

    def segments(self) -> list[Path]:
        if not self.segments_dir.is_dir():
            return []
        return sorted(p for p in self.segments_dir.iterdir() if (p / "manifest.json").is_file())

    def manifests(self) -> list[dict[str, Any]]:
        out = []
        for seg in self.segments():
            try:
                out.append(json.loads((seg / "manifest.json").read_text()))
            except (OSError, json.JSONDecodeError) as exc:
                raise StoreError(f"{seg / 'manifest.json'}: unreadable manifest: {exc}") from exc
        return out

    def known_digests(self) -> dict[str, str]:
        return {f["digest"]: f["path"] for m in self.manifests() for f in m["files"] if f.get("digest")}

    def files(self) -> list[dict[str, Any]]:
        return [f for m in self.manifests() for f in m["files"]]

    def event_files(self) -> list[str]:
        return [str(p) for seg in self.segments() for p in sorted(seg.glob("events-*.parquet"))]

    def put_table(self, name: str, table: pa.Table) -> Path:
        """Store a derived table (e.g. alerts) as ``tables/<name>.parquet``, replacing it atomically;
        ``connect()`` shows it as a view of that name."""
        if not name.isidentifier():
            raise StoreError(f"{name!r} is not a valid table name")
        with self.writer(f"put_table {name}"):
            folder = self.root / "tables"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{name}.parquet"
            tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
            pq.write_table(table, tmp, compression=COMPRESSION, compression_level=COMPRESSION_LEVEL)
            os.replace(tmp, target)  # readers see the old table or the new one, never half of one
        return target

    def tables(self) -> dict[str, Path]:
        folder = self.root / "tables"
        return {p.stem: p for p in sorted(folder.glob("*.parquet"))} if folder.is_dir() else {}

    def quarantine_files(self) -> list[str]:
        return [str(p) for seg in self.segments() for p in sorted(seg.glob("quarantine.parquet"))]

    def connect(self, sandbox: bool = False, scratch: str | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the views ``events``, ``quarantine`` and ``files``.

        ``sandbox``: the connection may read the store's files and nothing else (no other files, no
        writes, no extensions, no network); for SQL that comes from a user. ``scratch``: a private folder for
        DuckDB's spill files (without one, a sandboxed connection does not spill).
        """
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        _create_view(con, "events", self.event_files(), EVENT_SCHEMA)
        _create_view(con, "quarantine", self.quarantine_files(), QUARANTINE_SCHEMA)
        files = pa.Table.from_pylist(
            [
                {k: f.get(k) for k in ("path", "digest", "size", "events", "quarantined", "status")}
                for f in self.files()
            ],
            schema=pa.schema(
                [
                    ("path", pa.string()),
                    ("digest", pa.string()),
                    ("size", pa.int64()),
                    ("events", pa.int64()),
                    ("quarantined", pa.int64()),
                    ("status", pa.string()),
                ]
            ),
        )
        con.register("_files", files)
        con.execute("CREATE VIEW files AS SELECT * FROM _files")
        for name, path in self.tables().items():
            if name not in ("events", "quarantine", "files"):
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{_sql_str(path)}')")
        if sandbox:
            # Only the folders holding the store's data (not the store's root, where a case database or
            # the lock live); DuckDB's spill files in a private folder, not the working directory.
            folders = [self.segments_dir, self.root / "tables"]
            allowed = ", ".join(f"'{_sql_str(str(f.resolve()))}/'" for f in folders)
            con.execute(f"SET temp_directory = '{_sql_str(scratch or '')}'")  # '': no spilling at all
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute(f"SET allowed_directories = [{allowed}]")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")  # the query cannot undo the settings above
        return con

    def sql(self, query: str, sandbox: bool = True) -> pa.Table:
        """Run one query over the store's views. ``sandbox`` (the default; always for SQL from a user): the
        query must be one SELECT over the views (see :mod:`sekimori.store.readonly`) and runs on a
        connection that can read the store's data and write nothing."""
        with tempfile.TemporaryDirectory(prefix="sekimori-query-") as scratch:  # mode 0700: this user only
            con = self.connect(sandbox=sandbox, scratch=scratch)
            try:
                if sandbox:
                    check_read_only(con, query, self.view_names(con))
                relation = con.sql(query)
                return relation.to_arrow_table() if relation is not None else pa.table({})
            finally:
                con.close()

    @staticmethod
    def view_names(con: duckdb.DuckDBPyConnection) -> list[str]:
        """The views a query may name (those starting with ``_`` are the store's own plumbing)."""
        rows = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        return [r[0] for r in rows if not r[0].startswith("_")]

    def events(self, where: str | None = None, columns: list[str] | None = None) -> pa.Table:
        cols = ", ".join(columns) if columns else "*"
        return self.sql(f"SELECT {cols} FROM events" + (f" WHERE {where}" if where else ""))

    def stats(self) -> dict[str, Any]:
        """Totals and, per path as given (the versions of a growing file added up), events and
        quarantined records."""
        per_path: dict[str, dict[str, Any]] = {}
        for f in self.files():
            if f.get("status") == "skipped":
                continue
            entry = per_path.setdefault(f["path"], {"path": f["path"], "events": 0, "quarantined": 0})
            entry["events"] += int(f.get("events") or 0)
            entry["quarantined"] += int(f.get("quarantined") or 0)
            # A path whose latest run failed (unreadable, a FIFO, ...) says so and why.
            if f.get("status") in ("failed", "partial"):
                entry.update(status=f["status"], note=f.get("note"))
            else:
                entry.pop("status", None)
                entry.pop("note", None)
        files = list(per_path.values())
        return {
            "events": sum(f["events"] for f in files),
            "quarantined": sum(f["quarantined"] for f in files),
            "files": files,
        }

    def versions(self) -> dict[str, dict[str, Any]]:
        """Per path: the latest version ingested and the totals of all its versions."""
        out: dict[str, dict[str, Any]] = {}
        for f in self.files():
            if f.get("status") in ("skipped", "failed") or not f.get("digest"):
                continue
            entry = out.setdefault(f["path"], {"events": 0, "quarantined": 0})
            entry["events"] += int(f.get("events") or 0)
            entry["quarantined"] += int(f.get("quarantined") or 0)
            entry.update(digest=f["digest"], size=int(f.get("size") or 0), readers=f.get("readers") or [])
        return out

    def _resume_for(self, path: str, prefix_digest: str | None, previous: dict[str, Any]) -> Resume | None:
        """How to read ``path``, grown since its earlier version was ingested; None if not an append."""
        if prefix_digest == previous["digest"]:
            return Resume(previous["digest"], previous["events"], previous["quarantined"])
        if previous["readers"] == ["evtx"]:
            con = self.connect()
            try:
                row = con.execute(
                    "SELECT max(record_id) FROM events WHERE source_file = ?", [path]
                ).fetchone()
            finally:
                con.close()
            if row and row[0] is not None:
                return Resume(previous["digest"], after_record=int(row[0]))
        return None


@dataclass
class FileOutcome:
    """What reading one file gave: events in memory, events spilled to Parquet, quarantine rows."""

    result: FileResult
    batches: list[pa.RecordBatch] = field(default_factory=list)
    spilled: list[str] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)


SPILL_BYTES = 64 * 1024 * 1024  # a file's events beyond this go to Parquet parts, not memory
# In a worker, a file's events beyond this are written to its own part by the worker: shipping them
# through a pipe (pickle both ends) would cost more than the parse.
WORKER_SPILL_BYTES = 4 * 1024 * 1024
PARALLEL_MIN_BYTES = 64 * 1024 * 1024  # of decompressed input: smaller runs end before workers start
CHUNK_BYTES = 8 * 1024 * 1024  # files are handed to workers in chunks of about this much input
CHUNK_FILES = 64

Todo = tuple[str, str, int]  # (path, digest, decompressed size estimate)
Task = tuple[str, str, int, "Resume | None"]  # (path, digest, size, what of it is already stored)


def input_size(path: str, size: int) -> int:
    """The decompressed size of a file, cheaply: zip directory sizes, gzip trailer, else the size."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
            if magic.startswith(b"PK\x03\x04"):
                with zipfile.ZipFile(fh) as zf:
                    return sum(info.file_size for info in zf.infolist())
            if magic.startswith(b"\x1f\x8b") and size >= 18:
                fh.seek(-4, os.SEEK_END)
                isize = int.from_bytes(fh.read(4), "little")  # size mod 2**32
                return max(isize, size)
    except (OSError, zipfile.BadZipFile, ValueError):
        pass
    return size


def _auto_workers(todo: list[Todo]) -> int:
    env = os.environ.get("SEKIMORI_WORKERS")
    if env:
        return max(1, int(env))
    if len(todo) < 2 or sum(size for _, _, size in todo) < PARALLEL_MIN_BYTES:
        return 1
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is not None and not os.path.exists(main_file):
        return 1  # e.g. `python -` : spawned workers could not re-import the main module
    return max(1, min(os.cpu_count() or 1, len(todo)))


def _chunks(todo: list[Task]) -> Iterator[list[Task]]:
    chunk: list[Task] = []
    chunk_bytes = 0
    for item in todo:
        chunk.append(item)
        chunk_bytes += item[2]
        if chunk_bytes >= CHUNK_BYTES or len(chunk) >= CHUNK_FILES:
            yield chunk
            chunk, chunk_bytes = [], 0
    if chunk:
        yield chunk


def _read_chunk(chunk: list[Task], reader: str | None, spill_dir: str) -> list[FileOutcome]:
    return [
        read_file(path, digest, size, reader, spill_dir, WORKER_SPILL_BYTES, resume)
        for path, digest, size, resume in chunk
    ]


def _read_all(todo: list[Task], reader: str | None, spill_dir: Path, workers: int) -> Iterator[FileOutcome]:
    """Outcomes in input order; with ``workers`` > 1 chunks of files are read by a pool of processes."""
    if workers <= 1:
        for path, digest, size, resume in todo:
            yield read_file(path, digest, size, reader, str(spill_dir), resume=resume)
        return
    # spawn, not fork: this process may hold Arrow/DuckDB threads, which fork would copy mid-lock.
    ctx = multiprocessing.get_context("spawn")
    window = 2 * workers  # bounded read-ahead keeps memory flat
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        chunks = _chunks(todo)
        pending: deque[tuple[list[Task], Future[list[FileOutcome]]]] = deque()

        def submit() -> None:
            chunk = next(chunks, None)
            if chunk is not None:
                pending.append((chunk, pool.submit(_read_chunk, chunk, reader, str(spill_dir))))

        for _ in range(window):
            submit()
        while pending:
            chunk, future = pending.popleft()
            try:
                outcomes = future.result()
            except BrokenProcessPool:  # a worker died (out of memory, killed): read the rest here
                outcomes = _read_chunk(chunk, reader, str(spill_dir))
                for rest, _ in pending:
                    outcomes += _read_chunk(rest, reader, str(spill_dir))
                pending.clear()
                for rest_chunk in chunks:
                    outcomes += _read_chunk(rest_chunk, reader, str(spill_dir))
            yield from outcomes
            if pending or outcomes:
                submit()


def read_file(
    path: str,
    digest: str,
    size: int,
    reader: str | None,
    spill_dir: str,
    spill_bytes: int | None = None,
    resume: Resume | None = None,
) -> FileOutcome:
    """Read one file with the reader its content calls for; never raises for bad content.

    ``resume``: the file grew since it was ingested; what the store already holds is left out.
    Runs in a worker process as well as in-process, so it only takes and returns picklable values.
    """
    result = FileResult(path, digest, size)
    skip_events = resume.skip_events if resume else 0
    after_record = resume.after_record if resume else None
    if resume is not None:
        result.grown_from = resume.previous_digest
    outcome = FileOutcome(result)
    forced = get_reader(reader) if reader else None
    uid_prefix = digest[:16]
    ordinal = 0
    pending_bytes = 0
    writer: pq.ParquetWriter | None = None

    def spill() -> None:
        nonlocal writer, pending_bytes
        if writer is None:
            Path(spill_dir).mkdir(parents=True, exist_ok=True)
            part = os.path.join(spill_dir, f"{uid_prefix}-{uuid.uuid4().hex[:8]}.parquet")
            writer = pq.ParquetWriter(
                part, EVENT_SCHEMA, compression=COMPRESSION, compression_level=COMPRESSION_LEVEL
            )
            outcome.spilled.append(part)
        writer.write_table(
            pa.Table.from_batches(outcome.batches, EVENT_SCHEMA), row_group_size=ROW_GROUP_ROWS
        )
        outcome.batches = []
        pending_bytes = 0

    try:
        sources = list(expand(path))
    except SourceError as exc:
        outcome.quarantine.append(_quarantine_row(path, None, None, str(exc)))
        result.quarantined = 1
        result.status = "failed"
        result.note = str(exc)
        return outcome
    try:
        for source in sources:
            quarantine = Quarantine(source)
            cls: type[Reader] | None = None
            try:
                cls = forced or detect(source.head(), source)
            except SourceError as exc:
                quarantine.add(str(exc))
            else:
                if cls is None:
                    quarantine.add("no reader recognises this content")
            if cls is not None:
                result.readers.append(cls.name)
                try:
                    with _gc_paused():
                        for batch in cls().read(source, quarantine):
                            n = batch.num_rows
                            start = ordinal
                            ordinal += n  # ordinals count every event read, kept or not: uids stay unique
                            if skip_events:
                                drop = min(skip_events, n)
                                batch, skip_events, start = (
                                    batch.slice(drop),
                                    skip_events - drop,
                                    start + drop,
                                )
                                result.skipped_events += drop
                            if after_record is not None and batch.num_rows:
                                ids = batch.column("record_id")
                                keep = pc.or_kleene(pc.is_null(ids), pc.greater(ids, after_record))
                                result.skipped_events += (
                                    batch.num_rows - pc.sum(keep.cast(pa.int64())).as_py()
                                )
                                batch = batch.filter(keep)
                            n = batch.num_rows
                            if n == 0:
                                continue
                            outcome.batches.append(
                                _with_provenance(batch, source, cls.name, uid_prefix, start)
                            )
                            result.events += n
                            pending_bytes += batch.nbytes
                            if pending_bytes >= (spill_bytes or SPILL_BYTES):
                                spill()
                except SourceError as exc:
                    quarantine.add(str(exc))
                except Exception as exc:  # a reader bug must not lose the run: keep what was read
                    quarantine.add(f"reader {cls.name} failed: {type(exc).__name__}: {exc}")
                    result.status = "partial"
            reader_name = cls.name if cls else None
            outcome.quarantine.extend(
                _quarantine_row(
                    path, source.member, reader_name, b.reason, b.record, b.offset, b.field, b.excerpt
                )
                for b in quarantine.records
            )
        if writer is not None and outcome.batches:
            spill()
    finally:
        if writer is not None:
            writer.close()
    if resume is not None:  # the earlier versions' quarantine rows are stored already
        if resume.after_record is not None:
            outcome.quarantine = [
                q for q in outcome.quarantine if q["record"] is None or q["record"] > resume.after_record
            ]
        else:
            outcome.quarantine = outcome.quarantine[resume.skip_quarantined :]
    result.quarantined = len(outcome.quarantine)
    result.readers = sorted(set(result.readers))
    return outcome


def _sql_str(path: Path | str) -> str:
    return str(path).replace("'", "''")


def _create_view(con: duckdb.DuckDBPyConnection, name: str, files: list[str], schema: pa.Schema) -> None:
    if files:
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listing}])")
    else:
        con.register(f"_{name}_empty", schema.empty_table())
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}_empty")


def _with_provenance(
    batch: pa.RecordBatch, source: Source, reader: str, uid_prefix: str, start: int
) -> pa.RecordBatch:
    n = batch.num_rows
    cols = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
    cols["uid"] = pa.array([f"{uid_prefix}:{i}" for i in range(start, start + n)], pa.string())
    cols["source_format"] = pa.array([reader] * n, pa.string())
    cols["source_file"] = pa.array([safe_str(source.path)] * n, pa.string())
    cols["source_member"] = pa.array([text_safe(source.member)] * n, pa.string())
    return pa.RecordBatch.from_arrays([cols[f.name] for f in EVENT_SCHEMA], schema=EVENT_SCHEMA)


def _failed(path: str, note: str) -> FileOutcome:
    """A path that could not be read at all: a failed file with one quarantine row saying why."""
    result = FileResult(path, "", 0, quarantined=1, status="failed", note=note)
    return FileOutcome(result, quarantine=[_quarantine_row(path, None, None, note)])


def _quarantine_row(
    path: str,
    member: str | None,
    reader: str | None,
    reason: str,
    record: int | None = None,
    offset: int | None = None,
    field_name: str | None = None,
    excerpt: str | None = None,
) -> dict[str, Any]:
    # Every value must fit QUARANTINE_SCHEMA here: one that does not would fail the segment's commit.
    if record is not None and not fits_int64(record):
        reason, record = f"{reason} (record number {record!r} does not fit int64)", None
    if offset is not None and not fits_int64(offset):
        reason, offset = f"{reason} (offset {offset!r} does not fit int64)", None
    return {
        "source_file": text_safe(path),
        "source_member": text_safe(member),
        "source_format": text_safe(reader),
        "record": record,
        "offset": offset,
        "field": text_safe(field_name),
        "reason": text_safe(reason),
        "excerpt": text_safe(excerpt),
    }
