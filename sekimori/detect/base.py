"""Detector plugins: the interface, the context they run in, and the registry.

A detector is one module in ``sekimori/detect/detectors/`` defining a ``Detector`` subclass decorated
with ``@register``; modules there are imported automatically (and third-party packages can add
detectors through the ``sekimori.detectors`` entry-point group). ``Detector.run`` returns an Arrow
table in ``ALERT_SCHEMA``; detectors work in SQL over the store (no per-event Python).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from sekimori.model import GroupModel, register_model
from sekimori.plugins import Registry
from sekimori.store import Store

# DuckDB's memory for a detection run unless told otherwise: what it holds beyond spills to a private
# folder, so a run's peak stays near this whatever the store's size.
DEFAULT_MEMORY_LIMIT = "1GB"


@dataclass(frozen=True)
class DetectProgress:
    """What a running detector reports: ``start``/``end`` of a detector, each ``pass`` of one (a log
    source read once and its rules evaluated), and each ``batch`` of a pass (``done`` of ``total``
    batches of all its passes, so a long run shows how far it is)."""

    detector: str
    step: str  # start | batch | pass | end
    logsource: str | None = None
    rules: int = 0
    events: int = 0
    seconds: float = 0.0
    alerts: int = 0
    done: int = 0
    total: int = 0


@dataclass
class DetectContext:
    """What a detector may use: the store (views ``events``…), the group model, its configuration."""

    store: Store
    model: GroupModel | None = None
    config: dict[str, Any] = field(default_factory=dict)  # per-detector settings, by detector name
    progress: Callable[[DetectProgress], None] | None = None
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT
    save: bool = True  # whether the run keeps its results (a detector may keep state for the next run)
    full: bool = False  # judge every segment again, even where a detector could judge only new ones
    _con: duckdb.DuckDBPyConnection | None = None
    _scratch: str | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection over the store, with the model registered as schema ``model``; its memory
        capped at ``memory_limit``, spilling to a private folder removed at ``close``."""
        if self._con is None:
            self._con = self._capped(self.store.connect())
            if self.model is not None:
                register_model(self._con, self.model)
        return self._con

    def connect_segments(self, segments: list[str]) -> duckdb.DuckDBPyConnection:
        """Another connection, whose ``events`` holds only these segments (the caller closes it)."""
        return self._capped(self.store.connect(segments=segments))

    def _capped(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        if self.memory_limit:
            if self._scratch is None:
                self._scratch = tempfile.mkdtemp(prefix="sekimori-detect-")  # mode 0700
            con.execute(f"SET memory_limit = '{_limit(self.memory_limit)}'")
            con.execute(f"SET temp_directory = '{self._scratch}'")
            con.execute("SET preserve_insertion_order = false")
        return con

    def scratch(self) -> str:
        """A private folder for a detector's temporary files, removed at ``close``."""
        if self._scratch is None:
            self._scratch = tempfile.mkdtemp(prefix="sekimori-detect-")  # mode 0700
        return self._scratch

    def notify(self, event: DetectProgress) -> None:
        if self.progress is not None:
            self.progress(event)

    def settings(self, detector: str) -> dict[str, Any]:
        value = self.config.get(detector, {})
        return value if isinstance(value, dict) else {}

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def _limit(text: str) -> str:
    """A memory size as DuckDB reads it (``1GB``, ``512MB``, ``2.5GiB``); anything else is refused."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", text.strip(), re.IGNORECASE):
        raise ValueError(f"not a memory size: {text!r} (e.g. 1GB, 512MB)")
    return text.strip()


_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_bytes(text: str | None) -> int | None:
    """A memory size (``1GB``, ``512MB``, ``2.5GiB``) in bytes, as DuckDB reads it; ``None`` for none."""
    if not text:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]+)", _limit(text).lower())
    assert m is not None  # _limit refused anything else
    return int(float(m.group(1)) * _UNITS[m.group(2)])


class Detector(ABC):
    name: ClassVar[str]
    source: ClassVar[str]  # sigma | boundary | behaviour
    description: ClassVar[str] = ""
    needs_model: ClassVar[bool] = False

    @abstractmethod
    def run(self, ctx: DetectContext) -> pa.Table: ...


DETECTORS: Registry[type[Detector]] = Registry("detector", "sekimori.detect.detectors", "sekimori.detectors")
register = DETECTORS.register  # the decorator detector modules use
detectors = DETECTORS.all
