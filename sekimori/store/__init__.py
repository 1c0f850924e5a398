"""The event store: Parquet segments with DuckDB views (``events``, ``quarantine``, ``files``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sekimori.store.errors import StoreBusyError, StoreError
from sekimori.store.readonly import QueryRefused
from sekimori.store.results import FileResult, IngestReport
from sekimori.store.store import Store

if TYPE_CHECKING:
    from sekimori.store.inputs import iter_input_files

__all__ = [
    "FileResult",
    "IngestReport",
    "QueryRefused",
    "Store",
    "StoreBusyError",
    "StoreError",
    "iter_input_files",
]


# Names other stages use, imported when first asked for (a stage stays light to import).
_LAZY = {
    "iter_input_files": "sekimori.store.inputs",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
