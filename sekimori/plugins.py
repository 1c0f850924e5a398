"""Plugin registries: classes registered by name, found in a package of modules and entry points.

Readers (``sekimori.ingest``) and detectors (``sekimori.detect``) are plugins: a new one is one new
module in the stage's plugin package, whose class is decorated with the registry's ``register``. Every
module of that package is imported on first use, and other distributions can add plugins through the
registry's entry-point group.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str, entry_point_group: str) -> None:
        self.kind = kind  # "reader", "detector": for messages
        self.package = package
        self.entry_point_group = entry_point_group
        self._classes: dict[str, T] = {}
        self._loaded = False
        # Threads may ask at once (the Sigma engine's groups): one loads, the others wait for it.
        self._lock = threading.RLock()

    def register(self, cls: T) -> T:
        """Class decorator: make ``cls`` available by its ``name`` attribute."""
        name = getattr(cls, "name", None)
        if not name:
            raise TypeError(f"{cls.__qualname__} has no {self.kind} name")
        existing = self._classes.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"{self.kind} name {name!r} is taken by {existing.__qualname__}")
        self._classes[name] = cls
        return cls

    def all(self) -> dict[str, T]:
        """Every registered class by name, sorted; plugins are loaded on the first call."""
        with self._lock:
            if not self._loaded:
                self._loaded = True  # set first: a plugin module may itself ask for the registry
                package = importlib.import_module(self.package)
                for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
                    importlib.import_module(module.name)
                for entry in entry_points(group=self.entry_point_group):
                    self.register(entry.load())
            return dict(sorted(self._classes.items()))

    def get(self, name: str) -> T:
        available = self.all()
        try:
            return available[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(available)}") from None
