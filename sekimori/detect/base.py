"""Detector plugins: the interface, the context they run in, and the registry.

A detector is one module in ``sekimori/detect/detectors/`` defining a ``Detector`` subclass decorated
with ``@register``; modules there are imported automatically (and third-party packages can add
detectors through the ``sekimori.detectors`` entry-point group). ``Detector.run`` returns an Arrow
table in ``ALERT_SCHEMA``; detectors work in SQL over the store (no per-event Python).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from sekimori.model import GroupModel, register_model
from sekimori.plugins import Registry
from sekimori.store import Store


@dataclass
class DetectContext:
    """What a detector may use: the store (views ``events``…), the group model, its configuration."""

    store: Store
    model: GroupModel | None = None
    config: dict[str, Any] = field(default_factory=dict)  # per-detector settings, by detector name
    _con: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection over the store, with the model registered as schema ``model``."""
        if self._con is None:
            self._con = self.store.connect()
            if self.model is not None:
                register_model(self._con, self.model)
        return self._con

    def settings(self, detector: str) -> dict[str, Any]:
        value = self.config.get(detector, {})
        return value if isinstance(value, dict) else {}

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


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
