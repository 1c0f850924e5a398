"""Reading input files into events: one file with the reader its content calls for (bad records to the
quarantine, large outputs spilled to Parquet parts), and many files by a pool of worker processes."""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sekimori.ingest import (
    EVENT_SCHEMA,
    Quarantine,
    Reader,
    Source,
    SourceError,
    batch_nbytes,
    column_nbytes,
    detect,
    expand,
    fits_int64,
    get_reader,
    safe_str,
    text_safe,
)
from sekimori.store.results import FileOutcome, FileResult, ReadTask, Resume, uids
from sekimori.store.segments import COMPRESSION, COMPRESSION_LEVEL, ROW_GROUP_ROWS
from sekimori.store.slices import (
    SlicedFile,
    SliceTask,
    large_enough,
    line_slices,
    slice_count,
    split_reader,
)

SPILL_BYTES = 64 * 1024 * 1024  # a file's events beyond this go to Parquet parts, not memory
# In a worker, a file's events beyond this are written to its own part by the worker: shipping them
# through a pipe (pickle both ends) would cost more than the parse.
WORKER_SPILL_BYTES = 4 * 1024 * 1024
PARALLEL_MIN_BYTES = 64 * 1024 * 1024  # of decompressed input: smaller runs end before workers start
CHUNK_BYTES = 8 * 1024 * 1024  # files are handed to workers in chunks of about this much input
CHUNK_FILES = 64

Todo = tuple[str, str, int]  # (path, digest, decompressed size estimate)
Task = ReadTask


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


def auto_workers(todo: list[Todo]) -> int:
    env = os.environ.get("SEKIMORI_WORKERS")
    if env:
        return max(1, int(env))
    largest = max((size for _, _, size in todo), default=0)
    if not large_enough(largest) and (len(todo) < 2 or sum(size for _, _, size in todo) < PARALLEL_MIN_BYTES):
        return 1  # (a large file may be read in slices: ``read_all`` decides, and reads it here if not)
    return max(1, min(os.cpu_count() or 1, max(len(todo), slice_count(largest))))


def file_chunks(
    tasks: Sequence[Task], chunk_bytes: int = CHUNK_BYTES, chunk_files: int = CHUNK_FILES
) -> Iterator[list[Task]]:
    """``tasks`` cut, in order, into chunks of about ``chunk_bytes`` of input or ``chunk_files`` files
    (what one worker reads at a time: here a process, in ``sekimori.spark`` a Spark task)."""
    chunk: list[Task] = []
    size = 0
    for item in tasks:
        chunk.append(item)
        size += item[2]
        if size >= chunk_bytes or len(chunk) >= chunk_files:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _read_chunk(chunk: list[Task], reader: str | None, spill_dir: str) -> list[FileOutcome]:
    return [
        read_file(path, digest, size, reader, spill_dir, WORKER_SPILL_BYTES, resume)
        for path, digest, size, resume in chunk
    ]


def reading_plan(todo: list[Task], reader: str | None, workers: int) -> tuple[int, dict[str, str]]:
    """How ``read_all`` reads ``todo`` with up to ``workers`` processes: the processes to start (1: read
    here, when there is one unit of work in all: a file read whole, or a chunk of small files), and the
    files read in slices (``sekimori.store.slices``), each with its reader's name."""
    if workers <= 1:
        return 1, {}
    split = {task[0]: name for task in todo if (name := split_reader(task, reader))}
    units = sum(slice_count(task[2]) if task[0] in split else 1 for task in todo)
    return (workers, split) if units >= 2 else (1, {})


def read_all(
    todo: list[Task],
    reader: str | None,
    spill_dir: Path,
    workers: int,
    split: dict[str, str] | None = None,
) -> Iterator[FileOutcome]:
    """Outcomes in input order; with ``workers`` > 1 chunks of files, and slices of the files ``split``
    names (see ``reading_plan``; their outcomes come as pieces), are read by a pool of processes."""
    split = split or {}
    if workers <= 1:
        for path, digest, size, resume in todo:
            yield read_file(path, digest, size, reader, str(spill_dir), resume=resume)
        return
    # spawn, not fork: this process may hold Arrow/DuckDB threads, which fork would copy mid-lock.
    ctx = multiprocessing.get_context("spawn")
    window = 2 * workers  # bounded read-ahead keeps memory flat
    work = _work(todo, split)
    sliced: SlicedFile | None = None  # the file whose slices are being read

    def read_here(unit: Unit) -> Any:
        if isinstance(unit, SliceTask):
            return read_slice(unit, str(spill_dir))
        return _read_chunk(unit, reader, str(spill_dir))

    def emit(unit: Unit, read: Any) -> Iterator[FileOutcome]:
        nonlocal sliced
        if not isinstance(unit, SliceTask):
            yield from read
            return
        if sliced is None:
            sliced = SlicedFile(unit.path, unit.digest, unit.file_size)
        yield sliced.piece(read, unit.last)
        if unit.last:
            sliced = None

    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_end_with_parent, initargs=(os.getpid(),)
    ) as pool:
        pending: deque[tuple[Unit, Future[Any]]] = deque()

        def submit() -> None:
            unit = next(work, None)
            if isinstance(unit, SliceTask):
                pending.append((unit, pool.submit(_read_slice_in_worker, unit, str(spill_dir))))
            elif unit is not None:
                pending.append((unit, pool.submit(_read_chunk, unit, reader, str(spill_dir))))

        for _ in range(window):
            submit()
        while pending:
            unit, future = pending.popleft()
            try:
                read = future.result()
            except BrokenProcessPool:  # a worker died (out of memory, killed): read the rest here
                yield from emit(unit, read_here(unit))
                for rest, _ in pending:
                    yield from emit(rest, read_here(rest))
                pending.clear()
                for rest in work:
                    yield from emit(rest, read_here(rest))
                return
            yield from emit(unit, read)
            submit()


Unit = list[Task] | SliceTask  # what one worker reads at a time


def read_slice(task: SliceTask, spill_dir: str) -> FileOutcome:
    """One slice read as ``read_file`` reads a file, its events all in memory; uids numbered from 0."""
    source = Source(
        task.path, Path(task.path), offset=task.offset, size=task.size, first_line=task.first_line
    )
    return read_file(
        task.path, task.digest, task.file_size, task.reader, spill_dir, sys.maxsize, sources=[source]
    )


def _read_slice_in_worker(task: SliceTask, spill_dir: str) -> FileOutcome:
    """``read_slice`` in a worker: its events go back in an Arrow IPC file (see ``FileOutcome``)."""
    outcome = read_slice(task, spill_dir)
    if outcome.batches:
        Path(spill_dir).mkdir(parents=True, exist_ok=True)
        path = os.path.join(spill_dir, f"{task.digest[:16]}-{task.offset}-{uuid.uuid4().hex[:8]}.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, EVENT_SCHEMA) as writer:
            for batch in outcome.batches:
                writer.write_batch(batch)
        outcome.batches, outcome.arrow_file = [], path
    return outcome


def _work(todo: list[Task], split: dict[str, str]) -> Iterator[Unit]:
    """The units of work in input order: chunks of files read whole, and the slices of each file read in
    slices (cut as they are handed out: the newlines are counted while the workers parse)."""
    whole: list[Task] = []
    for task in todo:
        name = split.get(task[0])
        if name is None:
            whole.append(task)
            continue
        yield from file_chunks(whole)
        whole = []
        yield from _slices(task, name)
    yield from file_chunks(whole)


def _slices(task: Task, reader: str) -> Iterator[Unit]:
    """The slices of ``task``'s file, the last one marked (one slice ahead: a file shorter than when
    it was hashed still ends with a last slice); the file whole when it cannot be cut (gone since:
    ``read_file`` reports it)."""
    path, digest, size, _ = task
    ahead: tuple[int, int, int] | None = None
    try:
        for cut in line_slices(path, size):
            if ahead is not None:
                yield SliceTask(path, digest, size, reader, *ahead, last=False)
            ahead = cut
    except OSError:
        pass
    if ahead is None:
        yield [task]
    else:
        yield SliceTask(path, digest, size, reader, *ahead, last=True)


def _end_with_parent(parent: int) -> None:
    """A reader process ends when the ingest that started it is gone (killed, say): left alone it
    waited on its task queue for good, holding memory and a process slot."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="sekimori-parent-watch", daemon=True).start()


def read_file(
    path: str,
    digest: str,
    size: int,
    reader: str | None,
    spill_dir: str,
    spill_bytes: int | None = None,
    resume: Resume | None = None,
    sources: list[Source] | None = None,
) -> FileOutcome:
    """Read one file with the reader its content calls for; never raises for bad content.

    ``resume``: the file grew since it was ingested; what the store already holds is left out.
    ``sources``: the streams to read instead of the file's own (a slice of it: ``sekimori.store.slices``).
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
        outcome.batches, outcome.sizes = [], []
        pending_bytes = 0

    try:
        sources = list(expand(path)) if sources is None else sources
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
                instance: Reader | None = None
                try:
                    instance = cls()
                    with _gc_paused():
                        for batch in instance.read(source, quarantine):
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
                            size = batch_nbytes(batch)  # costly on a wide batch: once, the rest derived
                            batch, with_size = _with_provenance(
                                batch, size, source, cls.name, uid_prefix, start
                            )
                            outcome.batches.append(batch)
                            outcome.sizes.append(with_size)
                            result.events += n
                            pending_bytes += size
                            if pending_bytes >= (spill_bytes or SPILL_BYTES):
                                spill()
                except SourceError as exc:
                    quarantine.add(str(exc))
                except Exception as exc:  # a reader bug must not lose the run: keep what was read
                    quarantine.add(f"reader {cls.name} failed: {type(exc).__name__}: {exc}")
                    result.status = "partial"
                if instance is not None:
                    outcome.counted += instance.counted
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


def _with_provenance(
    batch: pa.RecordBatch, size: int, source: Source, reader: str, uid_prefix: str, start: int
) -> tuple[pa.RecordBatch, int]:
    """``batch`` (of ``size`` bytes, its ``nbytes``) with its provenance columns, and that batch's
    ``nbytes``: a batch's is the sum of its columns' (a buffer shared is counted each time), so only
    the columns replaced are measured."""
    n = batch.num_rows
    given = {
        "uid": uids(uid_prefix, start, n),
        "source_format": _same_text(reader, n),
        "source_file": _same_text(safe_str(source.path), n),
        "source_member": _same_text(text_safe(source.member), n),
    }
    if batch.schema.equals(EVENT_SCHEMA):  # a reader's batch of make_batch: four columns replaced
        made = batch  # whose columns' sizes make_batch knows (column_nbytes), unlike the copies
        for name, arr in given.items():
            i = _PROVENANCE_INDEX[name]
            size += arr.nbytes - column_nbytes(made, i)
            batch = batch.set_column(i, EVENT_SCHEMA.field(i), arr)
        return batch, size
    cols = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
    cols.update(given)
    batch = pa.RecordBatch.from_arrays([cols[f.name] for f in EVENT_SCHEMA], schema=EVENT_SCHEMA)
    return batch, batch.nbytes


_PROVENANCE = ("uid", "source_format", "source_file", "source_member")
_PROVENANCE_INDEX = {name: EVENT_SCHEMA.get_field_index(name) for name in _PROVENANCE}


def _same_text(value: str | None, n: int) -> pa.Array:
    """``value`` (text or None) ``n`` times, without a Python list of it."""
    if value is None:
        return pa.nulls(n, pa.string())
    return pa.repeat(pa.scalar(value, pa.string()), n)


def failed_outcome(path: str, note: str) -> FileOutcome:
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
