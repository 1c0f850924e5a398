"""Whether reading workers can be started from here: ``spawn`` runs the caller's main module again.

A worker started by ``multiprocessing``'s ``spawn`` (the only start method the readers use: fork would
copy Arrow's and DuckDB's threads mid-lock) first runs the parent's main script again, as
``__mp_main__``. A script that calls :meth:`Store.ingest` at its top level, not under
``if __name__ == "__main__":``, would ingest again in every worker: the worker waits for the store's
writer lock that its parent holds while the parent waits for the worker (a run that never ends), or, on
another store, starts workers of its own while still starting (``RuntimeError``: "bootstrapping phase").

:func:`spawn_problem` says, before any worker is started, whether the main module would reach the
running call again: it finds the main module's top-level frame on the main thread's stack and checks
with Python's parser that the statement it is running sits inside an ``if __name__ == "__main__":``
block. A console script (``sekimori``), ``python -m``, ``python -c``, a notebook or a guarded script pass;
an unguarded script, or a main module that cannot be read back (``python -`` reading stdin), does not,
and the caller then reads in its own process.
"""

from __future__ import annotations

import ast
import os
import sys
import threading
from types import FrameType, ModuleType


def _rerun_file(main: ModuleType) -> str | None:
    """The file each spawned worker runs again (as ``multiprocessing.spawn.get_preparation_data``
    chooses it), or None when none is: a package's ``__main__`` run by ``-m``, ``python -c``, a REPL."""
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None and (name == "__main__" or name.endswith(".__main__")):
        return None
    file = getattr(main, "__file__", None)
    return file if isinstance(file, str) else None


def _module_frame(main: ModuleType) -> FrameType | None:
    """The frame running the main module's top-level code on the main thread, if it is running."""
    frame: FrameType | None = sys._current_frames().get(threading.main_thread().ident or -1)
    found = None
    while frame is not None:
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            found = frame
        frame = frame.f_back
    return found


def _is_main_test(node: ast.expr) -> bool:
    """``__name__ == "__main__"``, either way round."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)):
        return False
    sides = (node.left, node.comparators[0])
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )


def _guarded(source: str, line: int) -> bool:
    """Whether ``line`` of the module ``source`` is in the body of a top-level ``__main__`` test."""
    return any(
        isinstance(node, ast.If)
        and _is_main_test(node.test)
        and node.body[0].lineno <= line <= (node.body[-1].end_lineno or node.body[-1].lineno)
        for node in ast.parse(source).body
    )


def spawn_problem() -> str | None:
    """Why workers started by ``spawn`` now would run the caller's call again (None: they would not)."""
    main = sys.modules.get("__main__")
    path = _rerun_file(main) if main is not None else None
    if main is None or path is None:
        return None
    if not os.path.isfile(path):
        return f"the main module {path} is not a file that workers could run again"
    frame = _module_frame(main)
    if frame is None:
        return f"{path} is not running its top-level code, which workers would run again"
    try:
        with open(path, encoding="utf-8") as fh:
            guarded = _guarded(fh.read(), frame.f_lineno)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return f"{path} cannot be read back to tell whether workers would run this call again"
    if not guarded:
        return (
            f'{path}, line {frame.f_lineno}, is not under `if __name__ == "__main__":`, '
            "so each worker would run it again"
        )
    return None
