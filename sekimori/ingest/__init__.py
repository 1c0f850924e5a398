"""Readers (one plugin per log format) and the one normalized event schema."""

from sekimori.ingest.base import Quarantine, Reader, detect, get_reader, readers, register
from sekimori.ingest.schema import EVENT_SCHEMA, QUARANTINE_SCHEMA, make_batch
from sekimori.ingest.source import Source, SourceError, expand

__all__ = [
    "EVENT_SCHEMA",
    "QUARANTINE_SCHEMA",
    "Quarantine",
    "Reader",
    "Source",
    "SourceError",
    "detect",
    "expand",
    "get_reader",
    "make_batch",
    "readers",
    "register",
]
