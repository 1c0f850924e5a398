"""Segments: a folder of Parquet event parts, its quarantine and its manifest, written under ``.staging``
and published by one atomic directory rename (the commit point).

The events are partitioned by (log source, UTC day) as they are written (:mod:`sekimori.store.partition`):
``events-<source>-<yyyymmdd>-NNNNN.parquet``, and ``events-spill-<source>-<yyyymmdd>-NNNNN.parquet`` for
the parts of large files that reader processes wrote (moved in as they are when they hold one day of one
source, else re-read and split). The manifest's ``parts`` lists each file's source, day and rows."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sekimori.ingest import QUARANTINE_SCHEMA
from sekimori.store.partition import (
    COMPRESSION,
    COMPRESSION_LEVEL,
    Part,
    PartitionedWriter,
    day_text,
    file_partition,
    row_groups_in_time_order,
)
from sekimori.store.results import FileOutcome, FileResult

__all__ = ["COMPRESSION", "COMPRESSION_LEVEL", "ROW_GROUP_ROWS", "SEGMENT_ROWS", "SegmentWriter"]

SEGMENT_ROWS = 1_000_000  # commit a segment once it holds this many events (at a file boundary)
ROW_GROUP_ROWS = 128 * 1024
# Raw records run to kilobytes each: bound the buffered bytes too (all partitions together), so memory
# stays flat.
ROW_GROUP_BYTES = 48 * 1024 * 1024
SPILL_PREFIX = "events-spill"
SPLIT_BATCH_ROWS = 8192


class SegmentWriter:
    """Writes one segment under .staging; ``commit`` publishes it atomically."""

    def __init__(self, staging_dir: Path, segments_dir: Path) -> None:
        self.segments_dir = segments_dir
        self.name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
        self.dir = staging_dir / self.name
        self.dir.mkdir(parents=True)
        self.rows = 0
        self._events = PartitionedWriter(
            self.dir, row_group_rows=ROW_GROUP_ROWS, pending_bytes=ROW_GROUP_BYTES
        )
        self._quarantine: list[dict[str, Any]] = []
        self._moved: list[Part] = []
        self.files: list[FileResult] = []

    def write(self, batch: pa.RecordBatch, size: int | None = None) -> None:
        """``size``: the batch's ``nbytes``, when known."""
        self._events.write(batch, size=size)
        self.rows += batch.num_rows

    def quarantine(self, rows: list[dict[str, Any]]) -> None:
        self._quarantine.extend(rows)

    def add(self, outcome: FileOutcome) -> None:
        """Take one file's outcome, or a piece of it (``outcome.more``): its batches, its spilled parts
        (moved in), its quarantine rows."""
        for batch, size in zip(outcome.batches, outcome.sizes, strict=True):
            self.write(batch, size)
        for part in outcome.spilled:
            self._add_spilled(Path(part))
        written = outcome.earlier_events + sum(b.num_rows for b in outcome.batches)
        self.rows += outcome.result.events - written
        self.quarantine(outcome.quarantine)
        if not outcome.more:
            self.files.append(outcome.result)

    def _add_spilled(self, part: Path) -> None:
        """A large file's part, already Parquet: moved in as it is when it holds one (source, day), else
        re-read in row groups and split (a worker wrote it in arrival order, which may cross days)."""
        single = file_partition(part)
        if single is not None:
            source, day = single
            moved = Part(self._events.name(SPILL_PREFIX, source, day), source, day_text(day))
            moved.rows = pq.read_metadata(part).num_rows
            # Left in arrival order: sorting would mean rewriting the part; its statistics prune as well.
            moved.ordered = day is None or row_groups_in_time_order(part)
            os.rename(part, self.dir / moved.file)
            self._moved.append(moved)
            return
        # Small batches: each is copied out partition by partition while the row group it comes from is
        # still decoded in memory.
        for batch in pq.ParquetFile(part).iter_batches(batch_size=SPLIT_BATCH_ROWS):
            self._events.write(batch, prefix=SPILL_PREFIX)
        part.unlink()

    def commit(self) -> None:
        parts = self._events.close() + self._moved
        if self._quarantine:
            pq.write_table(
                pa.Table.from_pylist(self._quarantine, QUARANTINE_SCHEMA), self.dir / "quarantine.parquet"
            )
        manifest = {
            "segment": self.name,
            "created": time.time(),
            "files": [asdict(f) for f in self.files],
            "parts": [asdict(p) for p in sorted(parts, key=lambda p: p.file)],
        }
        (self.dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
        os.rename(self.dir, self.segments_dir / self.name)  # the commit point
        _fsync_dir(self.segments_dir)


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
