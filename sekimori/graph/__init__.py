"""The group as a graph: attack paths, blast radius in personal records, choke points and what-if.

>>> graph = graph_from_store(store, model)          # or build_graph(model, logons, hosts)
>>> blast_radius(graph, "org:contractor-kr").exposure.people
>>> attack_paths(graph, "host:PC02", k=5)
>>> choke_points(graph, "org:contractor-kr").cut
>>> what_if(graph, "org:contractor-kr", ["separate realm corp", "block flows affiliate -> parent"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.graph.blast import (
    BlastRadius,
    Exposure,
    ReachedDataStore,
    ReachedSystem,
    blast_radius,
    exposure,
)
from sekimori.graph.build import build_graph, graph_from_store
from sekimori.graph.changes import Change, parse_change
from sekimori.graph.choke import ChokePoint, ChokeReport, choke_points
from sekimori.graph.entry import Entry, GraphError, resolve_entry
from sekimori.graph.group_graph import GraphSummary, GroupGraph
from sekimori.graph.observed import HOST_SCHEMA, LOGON_SCHEMA, observed_logons
from sekimori.graph.paths import AttackPath, Hop, attack_paths
from sekimori.graph.whatif import WhatIf, what_if
from sekimori.lazy import lazy_exports

if TYPE_CHECKING:
    from sekimori.graph.draw import draw as draw_graph
    from sekimori.graph.edges import glob_like
    from sekimori.graph.logon_edges import CACHING_LOGON_TYPES
    from sekimori.graph.observed import logon_events_sql, register_data_access_keys
    from sekimori.graph.views import paths_view

__all__ = [
    "CACHING_LOGON_TYPES",
    "HOST_SCHEMA",
    "LOGON_SCHEMA",
    "AttackPath",
    "BlastRadius",
    "Change",
    "ChokePoint",
    "ChokeReport",
    "Entry",
    "Exposure",
    "GraphError",
    "GraphSummary",
    "GroupGraph",
    "Hop",
    "ReachedDataStore",
    "ReachedSystem",
    "WhatIf",
    "attack_paths",
    "blast_radius",
    "build_graph",
    "choke_points",
    "draw_graph",
    "exposure",
    "glob_like",
    "graph_from_store",
    "logon_events_sql",
    "observed_logons",
    "parse_change",
    "paths_view",
    "register_data_access_keys",
    "resolve_entry",
    "what_if",
]


# Names other stages use, imported when first asked for (a stage stays light to import).
_LAZY = {
    "CACHING_LOGON_TYPES": "sekimori.graph.logon_edges",
    "glob_like": "sekimori.graph.edges",
    "draw_graph": "sekimori.graph.draw:draw",
    "logon_events_sql": "sekimori.graph.observed",
    "register_data_access_keys": "sekimori.graph.observed",
    "paths_view": "sekimori.graph.views",
}


__getattr__ = lazy_exports(__name__, _LAZY)
