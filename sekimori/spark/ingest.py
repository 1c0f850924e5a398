"""Ingest with the readers running inside Spark tasks: ``sekimori ingest --engine spark``.

The store stays the one writer (``Store.ingest(reading=SparkFileReading(spark))``): it decides which
files are new (digests, grown files), and it writes and commits the segments, so an ingest on Spark
keeps every guarantee of one on this machine (a crash leaves nothing half-visible; a second writer
waits for the lock). Only the reading is distributed: the files are cut into chunks of about
``CHUNK_BYTES`` of input, one Spark partition each, and each task runs the store's own
:func:`sekimori.store.read_file` on its files: the same readers, the same quarantine, the same event
uids as a local ingest. A file whose events outgrow ``WORKER_SPILL_BYTES`` is written by the task as a
Parquet part into the store's staging folder (moved into the segment, not rewritten); smaller files'
events come back to the driver with the task's result.

Jobs run a window of partitions at a time (``window`` per core of the cluster), so the driver holds
at most a window's results, and outcomes come back in the order of the input files.

The executors must see the input files and the store's folder at the same paths (local mode, or a
shared file system), and have sekimori installed (the same version as the driver).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sekimori.store import StoreError, file_chunks

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from sekimori.store import FileOutcome, ReadTask

CHUNK_BYTES = 16 * 1024 * 1024  # input (decompressed estimate) per Spark partition
CHUNK_FILES = 256


def _read_chunks(reader: str | None, spill_dir: str) -> Any:
    def read(partition: Iterator[list[ReadTask]]) -> Iterator[FileOutcome]:
        # Runs on an executor: imports there, not in the closure Spark ships.
        from sekimori.store import WORKER_SPILL_BYTES, read_file

        for chunk in partition:
            for path, digest, size, resume in chunk:
                yield read_file(path, digest, size, reader, spill_dir, WORKER_SPILL_BYTES, resume)

    return read


class SparkFileReading:
    """A :class:`sekimori.store.FileReading` that reads the files in Spark tasks (classic Spark: a local
    or cluster master; Spark Connect has no RDDs to run Python readers in)."""

    def __init__(
        self,
        spark: SparkSession,
        window: int = 2,
        chunk_bytes: int = CHUNK_BYTES,
        chunk_files: int = CHUNK_FILES,
    ) -> None:
        self.spark = spark
        self.window = window
        self.chunk_bytes = chunk_bytes
        self.chunk_files = chunk_files
        self.partitions = 0  # of the last run, for reports and tests

    def __call__(self, tasks: list[ReadTask], reader: str | None, spill_dir: Path) -> Iterator[FileOutcome]:
        try:
            context = self.spark.sparkContext
        except Exception as exc:  # Spark Connect sessions have no SparkContext
            raise StoreError(
                "ingest on Spark needs a classic Spark session (a local or cluster master), not Spark Connect"
            ) from exc
        chunks = list(file_chunks(tasks, self.chunk_bytes, self.chunk_files))
        self.partitions = len(chunks)
        if not chunks:
            return
        rdd = context.parallelize(chunks, len(chunks))
        read = _read_chunks(reader, str(spill_dir))
        step = max(1, self.window * context.defaultParallelism)
        for first in range(0, len(chunks), step):
            # One job per window: its partitions run in parallel, their outcomes return in order.
            yield from context.runJob(rdd, read, list(range(first, min(first + step, len(chunks)))))
