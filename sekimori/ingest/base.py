"""Reader plugins: the interface, the quarantine they report bad records to, and the registry.

A log format is one module in ``sekimori/ingest/readers/`` defining a ``Reader`` subclass decorated
with ``@register``. Modules there are imported automatically, and third-party packages can add readers
through the ``sekimori.readers`` entry-point group, so adding a format edits nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import pyarrow as pa

from sekimori.ingest.source import Source
from sekimori.plugins import Registry

EXCERPT_CHARS = 160


def excerpt(data: bytes | str | None, limit: int = EXCERPT_CHARS) -> str | None:
    """A short, escaped excerpt of bad input for the quarantine table (never printed to logs)."""
    if data is None:
        return None
    if not isinstance(data, bytes | str):
        data = str(data)
    if isinstance(data, bytes):
        data = data[: limit * 4].decode("utf-8", errors="backslashreplace")
    text = data[:limit].encode("unicode_escape").decode("ascii")
    return text[:limit] + ("…" if len(data) > limit else "")


def _fits_int64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


@dataclass
class BadRecord:
    reason: str
    record: int | None = None  # record / line number
    offset: int | None = None  # byte offset
    field: str | None = None
    excerpt: str | None = None


@dataclass
class Quarantine:
    """Collects the records of one source that could not be normalized; the run goes on."""

    source: Source
    records: list[BadRecord] = field(default_factory=list)

    def add(
        self,
        reason: str,
        *,
        record: int | None = None,
        offset: int | None = None,
        field: str | None = None,
        data: bytes | str | None = None,
    ) -> None:
        # The quarantine's record/offset columns are int64: a position beyond that (a corrupt EVTX
        # record number) is kept in the reason instead of failing the quarantine write.
        if record is not None and not _fits_int64(record):
            reason, record = f"{reason} (record number {record!r} does not fit int64)", None
        if offset is not None and not _fits_int64(offset):
            reason, offset = f"{reason} (offset {offset!r} does not fit int64)", None
        self.records.append(BadRecord(reason, record, offset, field, excerpt(data)))

    def __len__(self) -> int:
        return len(self.records)


class Reader(ABC):
    """Turns one source into batches of normalized events (``sekimori.ingest.schema.EVENT_SCHEMA``).

    ``sniff`` looks at the first decompressed bytes (never the file name alone) and says how sure it
    is (0 = not mine, 1 = certainly mine). ``read`` yields record batches; records it cannot parse go
    to ``quarantine`` with the record number, offset, field and reason, and reading goes on.
    Readers leave the provenance columns (``uid``, ``source_*``) to the store.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    batch_size: ClassVar[int] = 16_384
    # Sniffing order: readers that recognise a magic number go first (lower), and a certain answer
    # (1.0) ends the search, so text sniffers never scan binary files that are already recognised.
    sniff_order: ClassVar[int] = 50

    @classmethod
    @abstractmethod
    def sniff(cls, head: bytes, source: Source) -> float: ...

    @abstractmethod
    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]: ...

    # Records numbered by their count in the file, not by their line (CloudTrail's S3 objects on lines:
    # their records number on from line to line). A slice cannot know how many came before it: its
    # reader numbers them -1, -2, … from the slice's start and counts them here, and the parent numbers
    # them on after the slices before (``sekimori.store.slices``).
    counted: int = 0

    @classmethod
    def reads_lines(cls, source: Source, head: bytes) -> bool:
        """Whether ``read`` reads this content (``head``: its first bytes) one line at a time, each line
        on its own: numbered by its line, with nothing carried from one line to the next. Then a large
        plain file may be cut at newlines into slices (``Source.is_slice``) read by several processes,
        and ``read`` must read a slice as lines (numbering records by count as ``counted`` says). No
        reader does unless it says so."""
        return False


READERS: Registry[type[Reader]] = Registry("reader", "sekimori.ingest.readers", "sekimori.readers")
register = READERS.register  # the decorator reader modules use
readers = READERS.all
get_reader = READERS.get


def detect(head: bytes, source: Source) -> type[Reader] | None:
    """The reader most sure of ``head``; None when no reader recognises it."""
    best: tuple[float, str] | None = None
    for name, cls in sorted(readers().items(), key=lambda item: (item[1].sniff_order, item[0])):
        try:
            score = cls.sniff(head, source)
        except Exception:  # a sniffer must never break ingestion of other formats
            score = 0.0
        if score > 0 and (best is None or score > best[0]):
            best = (score, name)
            if score >= 1.0:
                break
    return readers()[best[1]] if best else None
