"""What ingesting gives, file by file: the results recorded in a segment's manifest, how a grown file is
resumed, and what reading one file produced before it is written into a segment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from sekimori.ingest import safe_str


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
    workers: int = 1  # processes that read the files (1: this one; see Store.ingest)

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


# One file to read: (path, digest, decompressed size estimate, what of it is already stored).
ReadTask = tuple[str, str, int, "Resume | None"]


@dataclass
class FileOutcome:
    """What reading one file gave: events in memory, events spilled to Parquet, quarantine rows."""

    result: FileResult
    batches: list[pa.RecordBatch] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # each batch's nbytes, measured where it was made
    spilled: list[str] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    # A file read in slices (``sekimori.store.slices``) comes as pieces in order: each but the last has
    # ``more``; ``earlier_events`` are the file's events in the pieces before this one. The last piece
    # carries the file's result and all its quarantine rows.
    more: bool = False
    earlier_events: int = 0
    # A slice's events written by a worker to an Arrow IPC file, read back by memory map: through the
    # pipe they were pickled, sent and unpickled, a third of the reading's own cost. See ``take_events``.
    arrow_file: str | None = None
    # A slice's records numbered by count (-1, -2, …: ``Reader.counted``), numbered on by the parent.
    counted: int = 0


class FileReading(Protocol):
    """Reads the files of an ingest somewhere else than this process's worker pool (e.g. in Spark tasks:
    ``sekimori.spark.SparkFileReading``): each task with :func:`sekimori.store.read_file`, the outcomes
    yielded in the tasks' order. ``spill_dir``: where large files' events may be written as Parquet
    parts; it must be visible to whatever reads them (the parts are moved into the segment)."""

    def __call__(
        self, tasks: list[ReadTask], reader: str | None, spill_dir: Path
    ) -> Iterator[FileOutcome]: ...


UIDS_BY_ROW = 256  # fewer uids are formatted one by one: the Arrow calls cost more than that


def uids(prefix: str, start: int, n: int) -> pa.Array:
    """``prefix:start`` … ``prefix:start+n-1``, made by Arrow (one join of the numbers as text) for a
    large batch."""
    if n < UIDS_BY_ROW:
        return pa.array([f"{prefix}:{i}" for i in range(start, start + n)], pa.string())
    numbers = pc.cast(pa.arange(start, start + n), pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix, pa.string()), numbers, ":")
