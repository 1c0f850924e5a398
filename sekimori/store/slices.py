"""A large file of independent lines read by several processes at once.

One large file used to be read by one process, the other cores idle (a 1 GB NDJSON export, a month of
Okta or Entra sign-ins). A plain (uncompressed) file of at least ``SPLIT_MIN_BYTES`` whose reader reads
it one line at a time, each line on its own (``Reader.reads_lines``), is cut at newlines into slices of
about ``SLICE_BYTES``, each read by a worker as a ``Source`` slice. Its lines keep their numbers and byte
offsets in the whole file: the parent counts the newlines before each cut (reading the file a slice at
a time while the workers parse) and hands each slice its first line's number.

What the store holds is what reading the file whole gives: the same events with the same ``record_id``
and ``uid`` (a uid numbers the file's events in order: a slice's are numbered in the parent, once the
slices before it are counted), and the same quarantine rows. One difference: a reader that fails inside
a slice loses the rest of that slice only, not the rest of the file.

A slice's events come back in an Arrow IPC file that the parent memory-maps (through the pipe they were
pickled, sent and unpickled, which cost more than the second core saved), never as a Parquet part the
worker wrote: a part would carry uids numbered before the slices before it were counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from sekimori.ingest import EVENT_SCHEMA, detect, expand, get_reader
from sekimori.store.results import FileOutcome, FileResult, ReadTask, uids

# Smaller files are read whole: below, starting workers costs more than slices save (a 40 MB Okta file:
# 1.03-1.60 s whole, 1.41-1.55 s in slices; 160 MB: 3.57-4.77 s whole, 2.55-3.08 s in slices).
SPLIT_MIN_BYTES = 128 * 1024 * 1024
SLICE_BYTES = 8 * 1024 * 1024

_UID = EVENT_SCHEMA.get_field_index("uid")
_RECORD = EVENT_SCHEMA.get_field_index("record_id")


@dataclass(frozen=True)
class SliceTask:
    """Bytes ``offset`` to ``offset + size`` of a file (of ``file_size`` bytes), starting at line
    ``first_line``, to be read by the reader named ``reader``."""

    path: str
    digest: str
    file_size: int
    reader: str
    offset: int
    size: int
    first_line: int
    last: bool  # the file's last slice


def split_reader(task: ReadTask, reader: str | None) -> str | None:
    """The reader that reads ``task``'s file in slices, or None when it is read whole: a file smaller
    than ``SPLIT_MIN_BYTES``, one that grew since it was ingested (read from where it was), compressed,
    an archive, or whose reader does not read it one independent line at a time."""
    path, _, size, resume = task
    if resume is not None or not large_enough(size):
        return None
    try:
        sources = list(expand(path))
        if len(sources) != 1 or not sources[0].is_plain_file():
            return None
        source = sources[0]
        head = source.head()
        cls = get_reader(reader) if reader else detect(head, source)
        if cls is None or not cls.reads_lines(source, head):
            return None
    except Exception:
        return None
    return cls.name


def large_enough(size: int) -> bool:
    """Whether a file of ``size`` bytes is large enough to be read in slices (if its reader allows)."""
    return size >= SPLIT_MIN_BYTES


def slice_count(size: int) -> int:
    """About how many slices a file of ``size`` bytes is cut into (at least)."""
    return -(-size // SLICE_BYTES)


def line_slices(path: str, size: int, slice_bytes: int | None = None) -> Iterator[tuple[int, int, int]]:
    """(offset, size, first line number) of consecutive slices of the file's first ``size`` bytes (its
    size when its digest was taken), each cut just after a newline once it holds ``slice_bytes``.

    Read a block at a time (not memory-mapped: the mapped pages of the whole file stayed counted in
    this process's memory)."""
    slice_bytes = slice_bytes or SLICE_BYTES
    start, line, carry = 0, 1, b""
    with open(path, "rb") as fh:
        while start < size:
            want = min(slice_bytes, size - start)
            block = carry + fh.read(max(0, want - len(carry)))
            cut = block.find(b"\n", want - 1)
            while cut < 0 and start + len(block) < size:  # a line longer than what is read so far
                more = fh.read(min(1 << 20, size - start - len(block)))
                if not more:
                    break
                searched = len(block)
                block += more
                cut = block.find(b"\n", max(want - 1, searched))
            if not block:
                return  # the file is shorter than it was: the slices read so far end it
            end = len(block) if cut < 0 else cut + 1
            yield start, end, line
            line += block.count(b"\n", 0, end)
            carry = block[end:]
            start += end


@dataclass
class SlicedFile:
    """The slices of one file read so far, in order: their results summed, their quarantine rows kept
    for the file's last piece, their events numbered on."""

    path: str
    digest: str
    size: int
    events: int = 0
    readers: set[str] = field(default_factory=set)
    quarantine: list[dict[str, object]] = field(default_factory=list)
    status: str = "ingested"
    note: str | None = None
    counted: int = 0  # records numbered by count so far (``Reader.counted``)

    def piece(self, outcome: FileOutcome, last: bool) -> FileOutcome:
        """``outcome`` of the next slice as a piece of the file's outcome: its uids numbered after the
        slices before it; the last piece carries the file's result and all its quarantine rows."""
        prefix, earlier = self.digest[:16], self.events
        batches, sizes, start = [], [], earlier
        for batch, size in zip(take_events(outcome), outcome.sizes, strict=True):
            ids = uids(prefix, start, batch.num_rows)
            sizes.append(size + ids.nbytes - batch.column(_UID).nbytes)
            batch = batch.set_column(_UID, EVENT_SCHEMA.field(_UID), ids)
            if outcome.counted:
                batch = _counted_on(batch, self.counted)
            batches.append(batch)
            start += batch.num_rows
        part = outcome.result
        self.events += part.events
        self.readers.update(part.readers)
        for row in outcome.quarantine if outcome.counted else []:  # as ``_counted_on`` for the events
            record = row.get("record")
            if isinstance(record, int) and record < 0:
                row["record"] = self.counted - record
        self.quarantine += outcome.quarantine
        self.counted += outcome.counted
        if part.status == "partial":
            self.status = "partial"
            self.note = self.note or part.note
        result = FileResult(self.path, self.digest, self.size, events=self.events)
        if last:
            result.quarantined = len(self.quarantine)
            result.readers = sorted(self.readers)
            result.status, result.note = self.status, self.note
        return FileOutcome(
            result,
            batches=batches,
            sizes=sizes,
            quarantine=self.quarantine if last else [],
            more=not last,
            earlier_events=earlier,
        )


def _counted_on(batch: pa.RecordBatch, before: int) -> pa.RecordBatch:
    """``batch`` with its records numbered by count in their slice (-1, -2, …) numbered on after the
    ``before`` counted in the slices before it (``Reader.counted``); line numbers are left as they are."""
    ids = batch.column(_RECORD)
    negative = pc.fill_null(pc.less(ids, 0), False)
    if not pc.any(negative).as_py():
        return batch
    numbered = pc.if_else(negative, pc.subtract(pa.scalar(before, ids.type), ids), ids)
    return batch.set_column(_RECORD, EVENT_SCHEMA.field(_RECORD), numbered)


def take_events(outcome: FileOutcome) -> list[pa.RecordBatch]:
    """``outcome``'s batches, or those of its Arrow IPC file, memory-mapped (zero copy) and the file
    removed: the mapping outlives the name, and holds page cache rather than memory of its own."""
    if outcome.arrow_file is None:
        return outcome.batches
    reader = pa.ipc.open_file(pa.memory_map(outcome.arrow_file))  # the batches hold the map open
    batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
    os.unlink(outcome.arrow_file)
    return batches
