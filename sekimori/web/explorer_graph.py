"""The explorer's group graph, one per app: built when first asked for (once, under a lock), with each
zone's hosts and the entries' reaches kept beside it, and rebuilt in the background after an ingest
(:class:`Explorers`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from sekimori.graph import Protection, build_graph, graph_from_store

if TYPE_CHECKING:
    from sekimori.graph import Entry, GroupGraph
    from sekimori.web.state import WebState


class ExplorerError(Exception):
    """A question the explorer refuses: ``status`` (400 bad input, 404 unknown or not the reader's)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Explorer:
    """The graph of one app's store and model, built when first asked for, and the entries' reaches."""

    web: WebState
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _graph: GroupGraph | None = None
    _hosts_by_zone: dict[str, np.ndarray] = field(default_factory=dict)
    _protections: OrderedDict[str, tuple[Protection, threading.Lock]] = field(default_factory=OrderedDict)

    def graph(self) -> GroupGraph:
        with self._lock:
            if self._graph is None:
                model = self.web.model
                if model is None:
                    raise ExplorerError(404, "no group model")
                store = self.web.alerts.store
                # The logons the store observed make the graph; a store without events has the model alone.
                built = graph_from_store(store, model) if store.event_files() else build_graph(model)
                host_nodes = built.nodes_of_kind("host")
                zones = np.asarray(built.zones.take(pa.array(host_nodes)).fill_null("").to_pylist(), object)
                order = np.argsort(zones, kind="stable")
                names, starts = np.unique(zones[order], return_index=True)
                for i, name in enumerate(names):
                    end = starts[i + 1] if i + 1 < len(starts) else len(order)
                    self._hosts_by_zone[str(name)] = host_nodes[order[starts[i] : end]]
                self._graph = built
            return self._graph

    def hosts_in_zone(self, zone: str) -> np.ndarray:
        self.graph()
        return self._hosts_by_zone.get(zone, np.zeros(0, np.int64))

    def protection(self, entry: Entry) -> tuple[Protection, threading.Lock]:
        """The entry's reach, kept for the last 32 entries asked (a few bits per node each)."""
        graph = self.graph()
        with self._lock:
            found = self._protections.get(entry.spec)
            if found is not None:
                self._protections.move_to_end(entry.spec)
                return found
        made = (Protection(graph, entry), threading.Lock())
        with self._lock:
            self._protections[entry.spec] = made
            while len(self._protections) > 32:
                self._protections.popitem(last=False)
        return made


_EXPLORERS_LOCK = threading.Lock()


@dataclass
class Explorers:
    """An app's explorer, kept in step with the store: the explorer of the store's event files as they
    were when it was made, and, once the files change (an ingest), a new one built in the background
    while requests go on with the old one (a request takes one explorer and keeps it, so it never mixes
    two graphs' node numbers)."""

    web: WebState
    current: Explorer | None = None
    files: tuple[str, ...] = ()
    building: threading.Thread | None = None
    failed: str = ""  # why the last rebuild failed (the old explorer is kept)

    def get(self) -> Explorer:
        files = tuple(self.web.alerts.store.event_files())
        with _EXPLORERS_LOCK:
            if self.current is None:
                self.current, self.files = Explorer(self.web), files  # built by its first graph()
            elif files != self.files and self.building is None:
                self.building = threading.Thread(
                    target=self._rebuild, args=(files,), name="sekimori-graph-rebuild", daemon=True
                )
                self.building.start()
            return self.current

    def _rebuild(self, files: tuple[str, ...]) -> None:
        fresh = Explorer(self.web)
        try:
            fresh.graph()
        except Exception as exc:  # kept to be shown; the old explorer goes on serving
            with _EXPLORERS_LOCK:
                self.failed, self.files, self.building = str(exc)[:200], files, None
            return
        with _EXPLORERS_LOCK:
            self.current, self.files, self.failed, self.building = fresh, files, "", None

    def join(self, timeout: float | None = None) -> None:
        """Wait for a rebuild in progress (tests, and a server shutting down)."""
        thread = self.building
        if thread is not None:
            thread.join(timeout)


def explorer_of(app_state: Any, web: WebState) -> Explorer:
    """The current explorer of the app whose ``app.state`` is ``app_state`` (see :class:`Explorers`)."""
    return explorers_of(app_state, web).get()


def explorers_of(app_state: Any, web: WebState) -> Explorers:
    with _EXPLORERS_LOCK:
        explorers = getattr(app_state, "graph_explorers", None)
        if explorers is None:
            explorers = app_state.graph_explorers = Explorers(web)
        return explorers
