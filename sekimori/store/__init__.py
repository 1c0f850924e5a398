"""The event store: Parquet segments with DuckDB views (``events``, ``quarantine``, ``files``)."""

from sekimori.store.errors import StoreBusyError, StoreError
from sekimori.store.readonly import QueryRefused
from sekimori.store.store import FileResult, IngestReport, Store

__all__ = ["FileResult", "IngestReport", "QueryRefused", "Store", "StoreBusyError", "StoreError"]
