"""The event store: Parquet segments with DuckDB views (``events``, ``quarantine``, ``files``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.lazy import lazy_exports
from sekimori.store.derived import ROLLUP_GRACE, Rollup
from sekimori.store.errors import StoreBusyError, StoreError
from sekimori.store.results import FileOutcome, FileReading, FileResult, IngestReport, ReadTask

if TYPE_CHECKING:
    from sekimori.store.bounded import QueryTimeout, bounded_sql
    from sekimori.store.inputs import iter_input_files
    from sekimori.store.pool import ReaderPool, store_version
    from sekimori.store.reading import WORKER_SPILL_BYTES, file_chunks, read_file
    from sekimori.store.readonly import QueryRefused
    from sekimori.store.store import Store

__all__ = [
    "ROLLUP_GRACE",
    "WORKER_SPILL_BYTES",
    "FileOutcome",
    "FileReading",
    "FileResult",
    "IngestReport",
    "QueryRefused",
    "QueryTimeout",
    "ReadTask",
    "ReaderPool",
    "Rollup",
    "Store",
    "StoreBusyError",
    "StoreError",
    "bounded_sql",
    "file_chunks",
    "iter_input_files",
    "read_file",
    "store_version",
]


# Names other stages use, imported when first asked for (a stage stays light to import: a reader
# process imports ``reading`` only, not DuckDB).
_LAZY = {
    "Store": "sekimori.store.store",
    "QueryRefused": "sekimori.store.readonly",
    "bounded_sql": "sekimori.store.bounded",
    "QueryTimeout": "sekimori.store.bounded",
    "iter_input_files": "sekimori.store.inputs",
    "ReaderPool": "sekimori.store.pool",
    "store_version": "sekimori.store.pool",
    "read_file": "sekimori.store.reading",
    "file_chunks": "sekimori.store.reading",
    "WORKER_SPILL_BYTES": "sekimori.store.reading",
}


__getattr__ = lazy_exports(__name__, _LAZY)
