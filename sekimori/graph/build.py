"""Build the group graph: the model's trust relations plus the logons and sign-ins the store observed.

The nodes come from :mod:`sekimori.graph.nodes`, the model's edges from :mod:`sekimori.graph.edges` and
:mod:`sekimori.graph.tenant_edges` (the applications tenants serve), the logons' edges from
:mod:`sekimori.graph.logon_edges`, the sign-ins' from :mod:`sekimori.graph.signin_edges`;
:class:`~sekimori.graph.builder.GraphBuilder` turns them into the columns of a
:class:`~sekimori.graph.group_graph.GroupGraph`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa

from sekimori.graph.builder import GraphBuilder
from sekimori.graph.cloud_signins import SIGNIN_SCHEMA, empty_signins, observed_signins
from sekimori.graph.edges import HostIndex, access_edges, host_edges, model_edges
from sekimori.graph.group_graph import GroupGraph
from sekimori.graph.logon_edges import account_edges, observed_edges
from sekimori.graph.nodes import account_nodes, host_nodes, model_nodes
from sekimori.graph.observed import HOST_SCHEMA, LOGON_SCHEMA, observed_logons
from sekimori.graph.signin_edges import signin_account_nodes, signin_edges
from sekimori.graph.tenant_edges import tenant_edges

if TYPE_CHECKING:
    from sekimori.model import GroupModel
    from sekimori.store import Store


def build_graph(
    model: GroupModel,
    logons: pa.Table | None = None,
    hosts: pa.Table | None = None,
    *,
    as_of: date | None = None,
    signins: pa.Table | None = None,
) -> GroupGraph:
    """The group graph of ``model`` and the observed ``logons`` (:data:`LOGON_SCHEMA`; ``hosts`` in
    :data:`HOST_SCHEMA` adds hosts the logons name only by key, and hosts the store saw that a model
    host glob matches) and ``signins`` (:data:`SIGNIN_SCHEMA`). ``as_of``: grants that expired before
    that day give nothing (default: all grants, as the model states them). See
    :func:`graph_from_store`."""
    logons = pa.table({n: [] for n in LOGON_SCHEMA.names}, schema=LOGON_SCHEMA) if logons is None else logons
    logons = logons.select(LOGON_SCHEMA.names).cast(LOGON_SCHEMA)
    hosts = pa.table({n: [] for n in HOST_SCHEMA.names}, schema=HOST_SCHEMA) if hosts is None else hosts
    signins = empty_signins() if signins is None else signins.select(SIGNIN_SCHEMA.names).cast(SIGNIN_SCHEMA)
    b = GraphBuilder()
    model_nodes(b, model)
    host_table = host_nodes(b, model, logons, hosts)
    accounts = account_nodes(b, logons)
    signin_account_nodes(b, model, signins)
    model_edges(b, model)
    index = HostIndex(host_table)
    systems_of = host_edges(b, model, host_table, index)
    gates = access_edges(b, model, host_table, as_of, index)
    tenant_edges(b, model, gates, as_of)
    account_edges(b, model, accounts)
    observed_edges(b, model, logons, systems_of)
    signin_edges(b, model, signins)
    return b.finish(model, logons, host_table, signins)


def graph_from_store(store: Store, model: GroupModel, *, as_of: date | None = None) -> GroupGraph:
    """The graph of ``model`` with the logons and sign-ins observed in ``store`` (a
    :class:`sekimori.store.Store`)."""
    logons, hosts = observed_logons(store, model)
    return build_graph(model, logons, hosts, as_of=as_of, signins=observed_signins(store, model))
