"""Segments: a folder of Parquet event parts, its quarantine and its manifest, written under ``.staging``
and published by one atomic directory rename (the commit point)."""

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

from sekimori.ingest import EVENT_SCHEMA, QUARANTINE_SCHEMA
from sekimori.store.results import FileOutcome, FileResult

SEGMENT_ROWS = 1_000_000  # commit a segment once it holds this many events (at a file boundary)
ROW_GROUP_ROWS = 128 * 1024
# Raw records run to kilobytes each: bound the buffered bytes too, so memory stays flat.
ROW_GROUP_BYTES = 48 * 1024 * 1024
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1


class SegmentWriter:
    """Writes one segment under .staging; ``commit`` publishes it atomically."""

    def __init__(self, staging_dir: Path, segments_dir: Path) -> None:
        self.segments_dir = segments_dir
        self.name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
        self.dir = staging_dir / self.name
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
