"""Events written partitioned by (log source, UTC day of ``time``): each Parquet file holds one day of one
``source_format`` (events without a time: the ``nodate`` bucket), so the files' and row groups' min/max
statistics let DuckDB and Spark skip what a time- or source-filtered query does not need. Rows keep their
arrival order (a batch mixing partitions is split sorted by time).

File names: ``<prefix>-<source>-<yyyymmdd|nodate>-NNNNN.parquet`` (NNNNN counts the segment's files).

Small days are gathered: at the close, the days of one source that hold fewer than ``small_rows`` events
each and were never written out go together into one file in day order, named by its first and last
day (``<prefix>-<source>-<yyyymmdd>_<yyyymmdd>-NNNNN.parquet``; the index gives both days). A file costs
every scan that opens it: the 277 EVTX attack samples, over 210 days, made 210 files of 39 events on
average, and a scan of them took 12 times as long as of one file (4 times with a row group per day).
The file's row groups are whole days cut once they hold ``small_rows`` events, so their statistics
still prune by day.

What Arrow allocates stays flat in the input's size. The rows waiting to become a row group are bounded
in total (``pending_bytes``), not per partition: past the bound, the partition holding the most is written
out as a row group, so a run touching many days gets smaller row groups, not more memory. At most ``max_open``
files are open at once (each holds a descriptor and its footer so far, about 40 KB of heap outside Arrow's
pool per row group written); the least recently written is closed, and its partition's later rows start
a new file. After each row group, Arrow's pool is asked to hand freed pages back (see ``_flush``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sekimori.ingest import EVENT_SCHEMA

NODATE = "nodate"
EPOCH = dt.date(1970, 1, 1)
MAX_OPEN = 64  # a descriptor and a footer so far each (~40 KB of heap a row group); fewer files to open
SMALL_ROWS = 8192  # a day of one source with fewer events is gathered with others (see above)
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1

Key = tuple[str, str | None, int | None]  # (file prefix, source_format, days since 1970 or None)


@dataclass
class Part:
    """One events file written (or moved in): what the manifest's index says of it."""

    file: str
    source: str | None
    day: str | None  # ISO date (UTC); None: the events have no time
    rows: int = 0
    last_day: str | None = None  # a file of gathered small days: the last of them (``day`` the first)
    ordered: bool = True  # each row group's rows in time order (a part moved in may not be)


@dataclass
class _Partition:
    pending: list[pa.RecordBatch] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    writer: pq.ParquetWriter | None = None
    part: Part | None = None


def day_text(day: int | None) -> str | None:
    return None if day is None else (EPOCH + dt.timedelta(days=day)).isoformat()


def _slug(source: str | None) -> str:
    # Reader names are identifiers already; anything else must not make a path or break the glob.
    return re.sub(r"[^A-Za-z0-9_]", "_", source) if source else "none"


def batch_days(batch: pa.RecordBatch | pa.Table) -> pa.Array | pa.ChunkedArray:
    """Days since 1970-01-01 (UTC) of each event's time; null where there is no time."""
    return pc.cast(pc.cast(batch.column("time"), pa.date32()), pa.int32())


def one_partition(batch: pa.RecordBatch) -> tuple[str | None, int | None] | None:
    """The one (source_format, day) of every row of ``batch``, from two min/max; None if it has several
    (or a null source, or a time zone other than UTC: left to ``split``)."""
    sources = batch.column("source_format")
    if sources.null_count:
        return None
    src_range = pc.min_max(sources)
    first = src_range["min"].as_py()
    if first != src_range["max"].as_py():
        return None
    times = batch.column("time")
    if times.null_count == len(times):
        return first, None
    per_day = _PER_DAY.get(getattr(times.type, "unit", ""))
    if times.null_count or per_day is None or getattr(times.type, "tz", None) not in (None, "UTC"):
        return None
    extremes = pc.min_max(times)
    low, high = extremes["min"].value, extremes["max"].value
    if low // per_day != high // per_day:  # floor, as Arrow's cast to a date (days before 1970 too)
        return None
    return first, low // per_day


_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400 * 10**9}


def split(batch: pa.RecordBatch) -> Iterator[tuple[str | None, int | None, pa.RecordBatch]]:
    """``batch`` cut into its (source_format, day) partitions, each sorted by time."""
    single = one_partition(batch)
    if single is not None:  # the common case (a reader's batch is one file): no copy
        yield single[0], single[1], batch
        return
    sources = batch.column("source_format")
    days = batch_days(batch)
    # One int64 per row: source code in the high half, day (null as the lowest value) in the low half.
    codes = pc.dictionary_encode(pc.fill_null(sources, ""))
    dictionary = codes.dictionary.to_pylist()
    null_day = -(2**31)
    key = np.left_shift(codes.indices.to_numpy().astype(np.int64), 32) + (
        pc.fill_null(days, null_day).to_numpy().astype(np.int64) - null_day
    )
    order = pc.sort_indices(
        pa.table({"key": key, "time": batch.column("time")}),
        sort_keys=[("key", "ascending"), ("time", "ascending")],
    )
    ordered = key[order.to_numpy()]
    bounds = [0, *(np.flatnonzero(np.diff(ordered)) + 1).tolist(), len(ordered)]
    for lo, hi in pairwise(bounds):
        if lo == hi:
            continue
        code = int(ordered[lo])
        source = dictionary[code >> 32] or None  # "" stood for a null source_format
        day = (code & 0xFFFFFFFF) + null_day
        # take, not slice: a partition's rows must not keep the whole batch alive in its buffer.
        rows = batch.take(order.slice(lo, hi - lo))
        yield source, (None if day == null_day else day), rows


def in_time_order(times: pa.Array | pa.ChunkedArray) -> bool:
    return len(times) < 2 or bool(pc.all(pc.less_equal(times[:-1], times[1:])).as_py())


def row_groups_in_time_order(path: Path) -> bool:
    """Whether each row group of ``path`` is in time order (reads the ``time`` column only)."""
    parquet = pq.ParquetFile(path)
    return all(
        in_time_order(parquet.read_row_group(g, columns=["time"]).column("time"))
        for g in range(parquet.num_row_groups)
    )


class PartitionedWriter:
    """Writes events into ``folder``, one file per (prefix, source, day) at a time; see the module."""

    def __init__(
        self,
        folder: Path,
        *,
        row_group_rows: int,
        pending_bytes: int,
        max_open: int = MAX_OPEN,
        small_rows: int | None = None,
    ) -> None:
        self.folder = folder
        self.small_rows = SMALL_ROWS if small_rows is None else small_rows
        self.row_group_rows = row_group_rows
        self.pending_bytes = pending_bytes
        self.max_open = max_open
        self.parts: list[Part] = []
        self._partitions: dict[Key, _Partition] = {}
        self._open: OrderedDict[Key, _Partition] = OrderedDict()  # least recently written first
        self._bytes = 0
        self._files = 0

    @property
    def pending(self) -> int:
        """Bytes of events waiting to be written, all partitions together."""
        return self._bytes

    @property
    def open_files(self) -> list[str]:
        return [p.part.file for p in self._open.values() if p.part is not None]

    def name(self, prefix: str, source: str | None, day: int | None, last_day: int | None = None) -> str:
        """A new file name in the folder, unique in it."""
        self._files += 1
        day_part = NODATE if day is None else day_text(day).replace("-", "")  # type: ignore[union-attr]
        if day is not None and last_day is not None and last_day != day:
            day_part += "_" + day_text(last_day).replace("-", "")  # type: ignore[union-attr]
        return f"{prefix}-{_slug(source)}-{day_part}-{self._files:05d}.parquet"

    def write(self, batch: pa.RecordBatch, prefix: str = "events", size: int | None = None) -> None:
        """``size``: the batch's ``nbytes`` when the caller knows it (measuring costs microseconds a
        column)."""
        known = size
        for source, day, rows in split(batch):
            key = (prefix, source, day)
            partition = self._partitions.get(key)
            if partition is None:
                partition = self._partitions[key] = _Partition()
            size = known if rows is batch and known is not None else rows.nbytes
            partition.pending.append(rows)
            partition.rows += rows.num_rows
            partition.bytes += size
            self._bytes += size
            if partition.rows >= self.row_group_rows:
                self._flush(key, partition)
        while self._bytes and self._bytes >= self.pending_bytes:  # a bound of 0: write at once
            key, partition = max(self._partitions.items(), key=lambda kv: kv[1].bytes)
            self._flush(key, partition)

    def _flush(self, key: Key, partition: _Partition) -> None:
        if not partition.pending:
            return
        self._write_row_group(key, partition)
        # Arrow's mimalloc keeps the pages of freed buffers committed (160 MB of CloudTrail: 303 MiB
        # committed for a 95 MB peak allocated), so RSS grew with the days a run touched; handing them
        # back once a row group is out (its table freed on return) costs one heap walk per row group.
        pa.default_memory_pool().release_unused()

    def _write_row_group(self, key: Key, partition: _Partition) -> None:
        table = pa.Table.from_batches(partition.pending, EVENT_SCHEMA)
        self._bytes -= partition.bytes
        partition.pending, partition.rows, partition.bytes = [], 0, 0
        if partition.writer is None:
            if len(self._open) >= self.max_open:
                oldest_key, oldest = self._open.popitem(last=False)
                self._close(oldest)
                if not oldest.pending:  # forgotten until its partition has rows again
                    del self._partitions[oldest_key]
            prefix, source, day = key
            partition.part = Part(self.name(prefix, source, day), source, day_text(day))
            partition.writer = pq.ParquetWriter(
                self.folder / partition.part.file,
                EVENT_SCHEMA,
                compression=COMPRESSION,
                compression_level=COMPRESSION_LEVEL,
            )
            self.parts.append(partition.part)
        partition.writer.write_table(table, row_group_size=self.row_group_rows)
        assert partition.part is not None
        partition.part.rows += table.num_rows
        # Not sorted here: on wide rows the take costs a quarter of an ingest's CPU (Zeek), and a row
        # group's min/max, which pruning reads, do not depend on the order inside it.
        if partition.part.ordered:
            times = table.column("time")
            partition.part.ordered = times.null_count == len(times) or in_time_order(times)
        self._open[key] = partition
        self._open.move_to_end(key)

    def _gather_small_days(self) -> None:
        """The small days of each (prefix, source) never written out, written together (see the module)."""
        small: dict[tuple[str, str | None], list[Key]] = {}
        for key, partition in self._partitions.items():
            prefix, source, day = key
            if day is not None and partition.writer is None and 0 < partition.rows < self.small_rows:
                small.setdefault((prefix, source), []).append(key)
        for (prefix, source), keys in small.items():
            if len(keys) < 2:
                continue
            keys.sort(key=lambda k: k[2])  # type: ignore[arg-type,return-value]
            gathered = [self._partitions.pop(k) for k in keys]
            # In day order, each day's rows in arrival order, like every other file: sorting by time
            # copied every row (a tenth of a JSON ingest), and a row group's statistics do not depend on
            # the order inside it.
            table = pa.Table.from_batches([b for p in gathered for b in p.pending], EVENT_SCHEMA)
            self._bytes -= sum(p.bytes for p in gathered)  # their pending batches' bytes
            days = batch_days(table).to_numpy(zero_copy_only=False)
            first, last = int(days[0]), int(days[-1])
            part = Part(self.name(prefix, source, first, last), source, day_text(first), table.num_rows)
            part.last_day = day_text(last)
            part.ordered = in_time_order(table.column("time"))
            with pq.ParquetWriter(
                self.folder / part.file,
                EVENT_SCHEMA,
                compression=COMPRESSION,
                compression_level=COMPRESSION_LEVEL,
            ) as writer:
                for lo, hi in _day_groups(days, self.small_rows):
                    writer.write_table(table.slice(lo, hi - lo))
            self.parts.append(part)

    @staticmethod
    def _close(partition: _Partition) -> None:
        if partition.writer is not None:
            partition.writer.close()
        partition.writer, partition.part = None, None

    def close(self) -> list[Part]:
        """Write what is pending (small days gathered), close every file; the files written."""
        self._gather_small_days()
        for key, partition in list(self._partitions.items()):
            self._flush(key, partition)
        for partition in self._open.values():
            self._close(partition)
        self._open.clear()
        self._partitions.clear()
        return self.parts


def _day_groups(days: np.ndarray, least: int) -> list[tuple[int, int]]:
    """Row ranges of sorted ``days`` cut at day boundaries once a range holds ``least`` rows: row groups
    of whole days, so that their statistics still prune by day, and not one per tiny day."""
    bounds = [0, *(np.flatnonzero(np.diff(days)) + 1).tolist(), len(days)]
    groups: list[tuple[int, int]] = []
    start = 0
    for end in bounds[1:]:
        if end - start >= least or end == len(days):
            groups.append((start, end))
            start = end
    return groups


_UNIT_PER_DAY = {"milliseconds": 86_400_000, "microseconds": 86_400_000_000, "nanoseconds": 86_400 * 10**9}


def file_partition(path: Path) -> tuple[str | None, int | None] | None:
    """The one (source_format, day) every event of the Parquet file ``path`` has, read from its row
    groups' statistics without reading the events; None when it holds several or cannot tell."""
    meta = pq.read_metadata(path)
    columns = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
    time_type = meta.schema.column(columns["time"]).logical_type.to_json()
    per_day = next((n for unit, n in _UNIT_PER_DAY.items() if unit in time_type), None)
    found: set[tuple[str | None, int | None]] = set()
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        times = group.column(columns["time"]).statistics
        sources = group.column(columns["source_format"]).statistics
        if times is None or sources is None or per_day is None:
            return None
        if not (sources.has_min_max and sources.null_count == 0 and sources.min == sources.max):
            return None
        if times.null_count == group.num_rows:
            day = None
        elif times.null_count == 0 and times.has_min_max:
            first, last = times.min_raw // per_day, times.max_raw // per_day  # floor: days before 1970
            if first != last:
                return None
            day = int(first)
        else:
            return None
        found.add((sources.min, day))
    return found.pop() if len(found) == 1 else None
