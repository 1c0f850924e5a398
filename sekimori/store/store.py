"""The event store: a directory of Parquet segments with DuckDB views over them.

Layout::

    STORE/segments/<segment>/events-<source>-<day>-NNNNN.parquet   normalized events (EVENT_SCHEMA),
                                                    one file per log source and UTC day (partition.py)
    STORE/segments/<segment>/quarantine.parquet     records that could not be read (QUARANTINE_SCHEMA)
    STORE/segments/<segment>/manifest.json          the files this segment holds, with their digests
    STORE/.staging/<segment>/                       a segment being written

A segment is written under ``.staging`` and becomes visible by one atomic directory rename, so a run
killed at any point leaves either whole segments or nothing; the next run deletes the leftovers and
re-reads the files that were not committed (nothing lost, nothing doubled). A file is known by the
SHA-256 of its content: ingesting the same content again, under any name, counts once.

``Store`` ties the parts together: ``inputs`` (the files a run names), ``reading`` (files to events, in
worker processes), ``segments`` (writing and committing), ``lock`` (one writer), ``views`` (the DuckDB
views and the sandbox) and ``readonly`` (the check of user SQL).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from sekimori.ingest import get_reader, input_paths, safe_str
from sekimori.store.derived import (
    DERIVED,
    Rollup,
    derived_files,
    derived_target,
    drop_rollup,
    kind_dir,
    prune,
    rollup_target,
    rollups,
)
from sekimori.store.errors import StoreError
from sekimori.store.inputs import digest_and_size
from sekimori.store.lock import writer_lock
from sekimori.store.reading import Todo, auto_workers, failed_outcome, read_all, reading_plan
from sekimori.store.readonly import check_read_only
from sekimori.store.results import (
    FileOutcome,
    FileReading,
    FileResult,
    IngestReport,
    ProgressCallback,
    Resume,
)
from sekimori.store.segments import COMPRESSION, COMPRESSION_LEVEL, SEGMENT_ROWS, SegmentWriter
from sekimori.store.spawning import spawn_problem
from sekimori.store.views import create_store_views, narrow_events, sandbox_connection, view_names

log = logging.getLogger(__name__)


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
        reading: FileReading | None = None,
    ) -> IngestReport:
        """Read ``paths`` (files or directories) into the store. Bad records are quarantined.

        ``workers``: processes reading files in parallel (default: one per CPU when the run is large
        enough to repay starting them, else 1). Hashing, de-duplication, writing and the commits stay
        in this process, so parallel runs keep the same guarantees. Workers would run the caller's main
        script again; when that would reach this call again (a script that calls ingest outside
        ``if __name__ == "__main__":``, see :mod:`sekimori.store.spawning`), the files are read in this
        process instead, with a one-line warning (logger ``sekimori.store.store``). The report's
        ``workers`` says how many processes read them. The run holds the store's writer
        lock from its first decision (which files are new) to its last commit.

        ``reading``: the files are read there instead (e.g. in Spark tasks); ``workers`` is then unused.
        """
        with self.writer("ingest"):
            return self._ingest(paths, reader=reader, progress=progress, workers=workers, reading=reading)

    def _ingest(
        self,
        paths: Iterable[str],
        *,
        reader: str | None,
        progress: ProgressCallback | None,
        workers: int | None,
        reading: FileReading | None = None,
    ) -> IngestReport:
        self._prepare()
        started = time.perf_counter()
        report = IngestReport()
        known = self.known_digests()
        previous = self.versions()
        if reader:
            get_reader(reader)  # fail before reading anything
        segment: SegmentWriter | None = None
        spill_dir = self.root / ".staging" / f"spill-{uuid.uuid4().hex[:12]}"
        todo: list[Todo] = []
        work: dict[str, int] = {}  # decompressed size estimates, to decide on workers
        resumes: dict[str, Resume | None] = {}  # grown files: what of them is already stored
        plan: list[FileOutcome | FileResult | None] = []  # input order; None = read by _read_all

        try:
            for path, problem in input_paths(paths):
                if problem is not None:  # never opened: a FIFO would block, a folder cannot be listed
                    plan.append(failed_outcome(path, problem))
                    continue
                try:
                    size = os.path.getsize(path)
                    earlier = previous.get(safe_str(path))
                    if earlier is not None and size <= earlier["size"]:
                        earlier = None  # not grown: a new version, or the same content
                    digest, prefix, decompressed = digest_and_size(
                        Path(path), earlier["size"] if earlier else None, size
                    )
                except OSError as exc:
                    plan.append(failed_outcome(path, f"cannot read: {exc.strerror or exc}"))
                    continue
                if digest in known:
                    note = f"same content as {known[digest]}"
                    plan.append(FileResult(path, digest, size, status="skipped", note=note))
                    continue
                known[digest] = path
                resumes[path] = self._resume_for(safe_str(path), prefix, earlier) if earlier else None
                todo.append((path, digest, size))
                work[path] = decompressed
                plan.append(None)

            tasks = [(p, d, s, resumes.get(p)) for p, d, s in todo]
            if reading is not None:
                read = iter(reading(tasks, reader, spill_dir)) if tasks else iter(())
            else:
                n_workers = (
                    workers if workers is not None else auto_workers([(p, d, work[p]) for p, d, _ in todo])
                )
                problem = spawn_problem() if n_workers > 1 else None
                if problem is not None:
                    log.warning("sekimori: reading in this process, not %d workers: %s", n_workers, problem)
                    n_workers = 1
                n_workers, split = reading_plan(tasks, reader, n_workers)
                report.workers = n_workers
                read = read_all(tasks, reader, spill_dir, n_workers, split)
            for entry in plan:
                if isinstance(entry, FileResult):  # same content already in the store
                    report.files.append(entry)
                    if progress:
                        progress(entry.path, entry.size, 0, True)
                    continue
                outcome = entry if entry is not None else next(read)
                if segment is None:
                    segment = SegmentWriter(self.root / ".staging", self.segments_dir)
                while outcome.more:  # a file read in slices: its pieces, then its outcome
                    segment.add(outcome)
                    if progress:
                        progress(outcome.result.path, outcome.result.size, outcome.result.events, False)
                    outcome = next(read)
                result = outcome.result
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
        return [self._manifest(seg) for seg in self.segments()]

    def segment_events(self) -> dict[str, int]:
        """Segment name → the events it holds, from its manifest (no event read)."""
        return {m["segment"]: sum(int(f.get("events") or 0) for f in m["files"]) for m in self.manifests()}

    def known_digests(self) -> dict[str, str]:
        return {f["digest"]: f["path"] for m in self.manifests() for f in m["files"] if f.get("digest")}

    def files(self) -> list[dict[str, Any]]:
        return [f for m in self.manifests() for f in m["files"]]

    def event_files(
        self,
        segments: Iterable[str] | None = None,
        days: tuple[date, date] | None = None,
        sources: Iterable[str] | None = None,
    ) -> list[str]:
        """The events' Parquet files, of every segment or of the segments named (by folder name).

        ``days`` (first, last; UTC) and ``sources`` (``source_format`` values): only the files that can
        hold such events, by the manifests' index of each file's source and day (a file the index does
        not describe, of a segment written before it, and the files of events without a time are kept).
        """
        chosen = None if segments is None else set(segments)
        wanted = None if sources is None else set(sources)
        out = []
        for seg in self.segments():
            if chosen is not None and seg.name not in chosen:
                continue
            index = {}
            if days is not None or wanted is not None:
                index = {p["file"]: p for p in self._manifest(seg).get("parts", [])}
            for path in sorted(seg.glob("events-*.parquet")):
                part = index.get(path.name)
                if part is not None and not part_wanted(part, days, wanted):
                    continue
                out.append(str(path))
        return out

    def _manifest(self, segment: Path) -> dict[str, Any]:
        try:
            manifest: dict[str, Any] = json.loads((segment / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"{segment / 'manifest.json'}: unreadable manifest: {exc}") from exc
        return manifest

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

    # ---- per-segment derived files (see :mod:`sekimori.store.derived`) ---------------------------

    def derived_files(self, kind: str) -> dict[str, Path]:
        """Segment name → its up-to-date ``kind`` file, for the current segments that have one."""
        return derived_files(self.root, self.segments(), kind)

    @contextmanager
    def derived_writer(self, kind: str, segment: str) -> Iterator[Path]:
        """A path to write segment ``segment``'s ``kind`` file to, published atomically when the block
        ends without an error (under the writer lock)."""
        with (
            self.writer(f"derived {kind}"),
            derived_target(self.root, self.segments_dir / segment, kind) as target,
        ):
            yield target

    def derived_kinds(self) -> list[str]:
        folder = self.root / DERIVED
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def drop_derived(self, kind: str) -> None:
        """Remove every ``kind`` file (e.g. of a kind no code reads any more)."""
        with self.writer(f"derived {kind}"):
            shutil.rmtree(kind_dir(self.root, kind), ignore_errors=True)

    def prune_derived(self, kind: str) -> list[str]:
        """Drop the ``kind`` files of segments no longer in the store (or rewritten)."""
        with self.writer(f"derived {kind}"):
            return prune(self.root, self.segments(), kind)

    def rollups(self, kind: str) -> list[Rollup]:
        """The ``kind`` files that each stand for several segments (see :func:`derived.rollups`)."""
        return rollups(self.root, self.segments(), kind)

    @contextmanager
    def rollup_writer(self, kind: str, segments: list[str]) -> Iterator[Path]:
        """A path to write a ``kind`` rollup of ``segments`` to, published with the list of those segments
        when the block ends without an error (under the writer lock)."""
        with (
            self.writer(f"derived {kind}"),
            rollup_target(self.root, [self.segments_dir / s for s in segments], kind) as target,
        ):
            yield target

    def drop_rollup(self, kind: str, name: str) -> None:
        with self.writer(f"derived {kind}"):
            drop_rollup(self.root, kind, name)

    def quarantine_files(self) -> list[str]:
        return [str(p) for seg in self.segments() for p in sorted(seg.glob("quarantine.parquet"))]

    def connect(
        self,
        sandbox: bool = False,
        scratch: str | None = None,
        segments: Iterable[str] | None = None,
        days: tuple[date, date] | None = None,
        sources: Iterable[str] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the views ``events``, ``quarantine`` and ``files``.

        ``segments``: ``events`` holds only the events of these segments (by folder name), e.g. those
        a detection has not judged yet. ``days`` (first, last; UTC), ``sources``: ``events`` holds exactly
        the events of those days and sources, read from the files that can hold them (``event_files``).

        ``sandbox``: the connection may read the store's files and nothing else (no other files, no
        writes, no extensions, no network); for SQL that comes from a user. ``scratch``: a private folder for
        DuckDB's spill files (without one, a sandboxed connection does not spill).
        """
        wanted = None if sources is None else list(sources)
        con = duckdb.connect()
        con.execute("SET GLOBAL TimeZone = 'UTC'")  # GLOBAL: its cursors too
        # DuckDB prints a progress bar on stdout for any query over 2 s, into --json output too; the
        # faces show progress themselves. (Cursors of the connection take the setting.)
        con.execute("SET enable_progress_bar = false")
        create_store_views(
            con,
            self.event_files(segments, days, wanted),
            self.quarantine_files(),
            self.files(),
            self.tables(),
        )
        if days is not None or wanted is not None:
            narrow_events(con, days, wanted)
        if sandbox:
            # Only the folders holding the store's data (not the store's root, where a case database or
            # the lock live); DuckDB's spill files in a private folder, not the working directory.
            sandbox_connection(con, [self.segments_dir, self.root / "tables"], scratch)
        return con

    def sql(
        self,
        query: str,
        sandbox: bool = True,
        days: tuple[date, date] | None = None,
        sources: Iterable[str] | None = None,
    ) -> pa.Table:
        """Run one query over the store's views. ``sandbox`` (the default; always for SQL from a user): the
        query must be one SELECT over the views (see :mod:`sekimori.store.readonly`) and runs on a
        connection that can read the store's data and write nothing. ``days``, ``sources``: ``events``
        holds only those (see ``connect``), read from the files that can hold them."""
        with tempfile.TemporaryDirectory(prefix="sekimori-query-") as scratch:  # mode 0700: this user only
            con = self.connect(sandbox=sandbox, scratch=scratch, days=days, sources=sources)
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
        return view_names(con)

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


def part_wanted(part: dict[str, Any], days: tuple[date, date] | None, sources: set[str] | None) -> bool:
    """Whether an indexed events file can hold events of ``days`` and ``sources``."""
    if sources is not None and part.get("source") not in sources:
        return False
    if days is None or part.get("day") is None:  # no time: any day's query may want them
        return True
    first = date.fromisoformat(part["day"])
    last = date.fromisoformat(part["last_day"]) if part.get("last_day") else first
    return first <= days[1] and days[0] <= last
