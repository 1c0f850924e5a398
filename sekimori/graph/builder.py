"""Collecting the nodes and edges of the group graph as Arrow chunks, then resolving them to columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.graph.group_graph import EDGE_KIND, KIND, GroupGraph

if TYPE_CHECKING:
    from sekimori.model import GroupModel


_NO_KEYS = pa.array([], pa.string())


@dataclass
class _EdgeChunk:
    kind: int
    src: pa.Array  # node keys
    dst: pa.Array
    gate: pa.Array
    c1: np.ndarray
    c2: np.ndarray
    allowed: np.ndarray
    row: np.ndarray


class GraphBuilder:
    """Collects nodes and edges as Arrow chunks; resolves keys to indices in one vectorised pass."""

    def __init__(self) -> None:
        self.node_chunks: list[tuple[pa.Array, int, pa.Array, pa.Array, pa.Array]] = []
        self.edge_chunks: list[_EdgeChunk] = []
        self.controls: dict[str, int] = {}

    def nodes(
        self,
        kind: str,
        keys: Sequence[str] | pa.Array,
        labels: Sequence[str] | pa.Array,
        orgs: Sequence[str | None] | pa.Array,
        zones: Sequence[str | None] | pa.Array | None = None,
    ) -> None:
        key_array = pc.binary_join_element_wise(kind, pa.array(keys, pa.string()), ":")
        n = len(key_array)
        zone_array = pa.nulls(n, pa.string()) if zones is None else pa.array(zones, pa.string())
        self.node_chunks.append(
            (key_array, KIND[kind], pa.array(labels, pa.string()), pa.array(orgs, pa.string()), zone_array)
        )

    def control(self, name: str | None) -> int:
        if name is None:
            return -1
        return self.controls.setdefault(name, len(self.controls))

    def edges(
        self,
        kind: str,
        src: Sequence[str] | pa.Array,
        dst: Sequence[str] | pa.Array,
        *,
        gate: Sequence[str | None] | pa.Array | None = None,
        control1: Sequence[str | None] | pa.Array | None = None,
        control2: Sequence[str | None] | pa.Array | None = None,
        allowed: Sequence[bool] | np.ndarray | None = None,
        logon_row: np.ndarray | None = None,
    ) -> None:
        src_array = pa.array(src, pa.string())
        n = len(src_array)
        if n == 0:
            return
        self.edge_chunks.append(
            _EdgeChunk(
                kind=EDGE_KIND[kind],
                src=src_array,
                dst=pa.array(dst, pa.string()),
                gate=pa.nulls(n, pa.string()) if gate is None else pa.array(gate, pa.string()),
                c1=self._controls(control1, n),
                c2=self._controls(control2, n),
                allowed=np.ones(n, bool) if allowed is None else np.asarray(allowed, bool),
                row=np.full(n, -1, np.int32) if logon_row is None else logon_row.astype(np.int32),
            )
        )

    def _controls(self, names: Sequence[str | None] | pa.Array | None, n: int) -> np.ndarray:
        if names is None:
            return np.full(n, -1, np.int32)
        # Map the distinct names, not every row (millions of observed logons share a few controls).
        values = pa.array(names, pa.string())
        distinct = pc.unique(values).drop_null()
        ids = pa.array([self.control(name) for name in distinct.to_pylist()], pa.int32())
        found = pc.take(ids, pc.index_in(values, value_set=distinct))
        return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False)).astype(np.int32)

    def finish(
        self, model: GroupModel, logons: pa.Table, hosts: pa.Table, signins: pa.Table | None = None
    ) -> GroupGraph:
        keys = pa.concat_arrays([c[0] for c in self.node_chunks]).cast(pa.string())
        kinds = np.concatenate([np.full(len(c[0]), c[1], np.int8) for c in self.node_chunks])
        labels = pa.concat_arrays([c[2] for c in self.node_chunks])
        orgs = pa.concat_arrays([c[3] for c in self.node_chunks])
        zones = pa.concat_arrays([c[4] for c in self.node_chunks])
        # One node per key: the first definition wins (model nodes come first).
        unique_keys = pc.unique(keys)
        first = pc.index_in(unique_keys, value_set=keys).to_numpy(zero_copy_only=False)
        if len(unique_keys) != len(keys):
            first = np.sort(first)
            keys, labels, orgs, zones = (a.take(pa.array(first)) for a in (keys, labels, orgs, zones))
            kinds = kinds[first]
        chunks = self.edge_chunks

        def resolve(column: str) -> np.ndarray:
            # Looked up chunk by chunk (no concatenated copy of the keys), and each key column let go
            # once resolved (the builder is spent): all three held at once set the build's peak memory.
            found = pc.index_in(
                pa.chunked_array([getattr(c, column) for c in chunks], pa.string()), value_set=keys
            )
            for c in chunks:
                setattr(c, column, _NO_KEYS)
            return np.asarray(found.fill_null(-1).to_numpy()).astype(np.int32)

        src = resolve("src")
        dst = resolve("dst")
        gate = resolve("gate")
        kind = np.concatenate([np.full(len(c.c1), c.kind, np.int8) for c in chunks])
        c1 = np.concatenate([c.c1 for c in chunks])
        c2 = np.concatenate([c.c2 for c in chunks])
        allowed = np.concatenate([c.allowed for c in chunks])
        row = np.concatenate([c.row for c in chunks])
        # An edge whose end is not a node (a glob that matched nothing) is dropped; so are self-loops.
        keep = (src >= 0) & (dst >= 0) & (src != dst)
        return GroupGraph(
            model=model,
            keys=keys,
            kinds=kinds,
            labels=labels,
            orgs=orgs,
            zones=zones,
            src=src[keep],
            dst=dst[keep],
            kind=kind[keep],
            gate=gate[keep],
            control1=c1[keep],
            control2=c2[keep],
            logon_row=row[keep],
            allowed=allowed[keep],
            controls=list(self.controls),
            logons=logons,
            hosts=hosts,
            signins=signins,
        )
