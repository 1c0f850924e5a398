"""The event store: Parquet segments with DuckDB views (``events``, ``quarantine``, ``files``)."""

from sekimori.store.store import FileResult, IngestReport, Store, StoreError

__all__ = ["FileResult", "IngestReport", "Store", "StoreError"]
