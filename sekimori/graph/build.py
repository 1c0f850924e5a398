"""Build the group graph: the model's trust relations plus the logons the store observed.

The nodes come from :mod:`sekimori.graph.nodes`, the model's edges from :mod:`sekimori.graph.edges`, the
logons' edges from :mod:`sekimori.graph.logon_edges`; :class:`~sekimori.graph.builder.GraphBuilder`
turns them into the columns of a :class:`~sekimori.graph.group_graph.GroupGraph`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa

from sekimori.graph.builder import GraphBuilder
from sekimori.graph.edges import HostIndex, access_edges, host_edges, model_edges
from sekimori.graph.group_graph import GroupGraph
from sekimori.graph.logon_edges import account_edges, observed_edges
from sekimori.graph.nodes import account_nodes, host_nodes, model_nodes
from sekimori.graph.observed import HOST_SCHEMA, LOGON_SCHEMA, observed_logons

if TYPE_CHECKING:
    from sekimori.model import GroupModel
    from sekimori.store import Store


def build_graph(
    model: GroupModel,
    logons: pa.Table | None = None,
    hosts: pa.Table | None = None,
    *,
    as_of: date | None = None,
) -> GroupGraph:
    """The group graph of ``model`` and the observed ``logons`` (:data:`LOGON_SCHEMA`; ``hosts`` in
    :data:`HOST_SCHEMA` adds hosts the logons name only by key, and hosts the store saw that a model
    host glob matches). ``as_of``: grants that expired before that day give nothing (default: all
    grants, as the model states them). See :func:`graph_from_store`."""
    logons = pa.table({n: [] for n in LOGON_SCHEMA.names}, schema=LOGON_SCHEMA) if logons is None else logons
    logons = logons.select(LOGON_SCHEMA.names).cast(LOGON_SCHEMA)
    hosts = pa.table({n: [] for n in HOST_SCHEMA.names}, schema=HOST_SCHEMA) if hosts is None else hosts
    b = GraphBuilder()
    model_nodes(b, model)
    host_table = host_nodes(b, model, logons, hosts)
    accounts = account_nodes(b, logons)
    model_edges(b, model)
    index = HostIndex(host_table)
    systems_of = host_edges(b, model, host_table, index)
    access_edges(b, model, host_table, as_of, index)
    account_edges(b, model, accounts)
    observed_edges(b, model, logons, systems_of)
    return b.finish(model, logons, host_table)


def graph_from_store(store: Store, model: GroupModel, *, as_of: date | None = None) -> GroupGraph:
    """The graph of ``model`` with the logons observed in ``store`` (a :class:`sekimori.store.Store`)."""
    logons, hosts = observed_logons(store, model)
    return build_graph(model, logons, hosts, as_of=as_of)
