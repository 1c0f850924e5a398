"""Lazy exports for a stage's ``__init__`` (PEP 562): names other stages need rarely are imported when
first asked for, so importing a stage stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: ``names`` maps an exported name to the module that
    defines it, or to ``"module:attr"`` when the exported name differs from the module's (a name that
    is also a submodule would otherwise be shadowed by it)."""

    def __getattr__(name: str) -> Any:
        target = names.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr or name)

    return __getattr__
