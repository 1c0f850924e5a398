"""Readers (one plugin per log format) and the one normalized event schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.ingest.base import Quarantine, Reader, detect, get_reader, register

# Public under another name: `sekimori.ingest.readers` is the plugin folder, which would shadow it.
from sekimori.ingest.base import readers as registered_readers
from sekimori.ingest.schema import (
    EVENT_SCHEMA,
    QUARANTINE_SCHEMA,
    batch_nbytes,
    column_nbytes,
    make_batch,
)
from sekimori.ingest.source import Source, SourceError, expand
from sekimori.lazy import lazy_exports

if TYPE_CHECKING:
    from sekimori.ingest.fit import fits_int64, safe_str, text_safe
    from sekimori.ingest.walk import input_paths

__all__ = [
    "EVENT_SCHEMA",
    "QUARANTINE_SCHEMA",
    "Quarantine",
    "Reader",
    "Source",
    "SourceError",
    "batch_nbytes",
    "column_nbytes",
    "detect",
    "expand",
    "fits_int64",
    "get_reader",
    "input_paths",
    "make_batch",
    "register",
    "registered_readers",
    "safe_str",
    "text_safe",
]


# Names other stages use, imported when first asked for (a stage stays light to import).
_LAZY = {
    "fits_int64": "sekimori.ingest.fit",
    "safe_str": "sekimori.ingest.fit",
    "text_safe": "sekimori.ingest.fit",
    "input_paths": "sekimori.ingest.walk",
}


__getattr__ = lazy_exports(__name__, _LAZY)
