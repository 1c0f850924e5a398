"""The group as a graph: attack paths, blast radius in personal records, choke points and what-if.

>>> graph = graph_from_store(store, model)          # or build_graph(model, logons, hosts)
>>> blast_radius(graph, "org:contractor-kr").exposure.people
>>> attack_paths(graph, "host:PC02", k=5)
>>> choke_points(graph, "org:contractor-kr").cut
>>> what_if(graph, "org:contractor-kr", ["separate realm corp", "block flows affiliate -> parent"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.lazy import lazy_exports

if TYPE_CHECKING:
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
    from sekimori.graph.cloud_signins import SIGNIN_SCHEMA, observed_signins
    from sekimori.graph.draw import draw as draw_graph
    from sekimori.graph.edges import glob_like
    from sekimori.graph.entry import Entry, GraphError, resolve_entry
    from sekimori.graph.group_graph import GraphSummary, GroupGraph
    from sekimori.graph.logon_edges import CACHING_LOGON_TYPES
    from sekimori.graph.observed import (
        HOST_SCHEMA,
        LOGON_SCHEMA,
        logon_events_sql,
        observed_logons,
        register_data_access_keys,
    )
    from sekimori.graph.paths import AttackPath, Hop, attack_paths
    from sekimori.graph.views import paths_view
    from sekimori.graph.whatif import Protection, WhatIf, protections, what_if

__all__ = [
    "CACHING_LOGON_TYPES",
    "HOST_SCHEMA",
    "LOGON_SCHEMA",
    "SIGNIN_SCHEMA",
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
    "Protection",
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
    "observed_signins",
    "parse_change",
    "paths_view",
    "protections",
    "register_data_access_keys",
    "resolve_entry",
    "what_if",
]


# Every name is imported when first asked for: the stage stays light to import (the respond stage and
# the command line start without scipy, the solver and the graph engine until they need them).
_LAZY = {
    "BlastRadius": "sekimori.graph.blast",
    "Exposure": "sekimori.graph.blast",
    "ReachedDataStore": "sekimori.graph.blast",
    "ReachedSystem": "sekimori.graph.blast",
    "blast_radius": "sekimori.graph.blast",
    "exposure": "sekimori.graph.blast",
    "build_graph": "sekimori.graph.build",
    "graph_from_store": "sekimori.graph.build",
    "Change": "sekimori.graph.changes",
    "parse_change": "sekimori.graph.changes",
    "ChokePoint": "sekimori.graph.choke",
    "ChokeReport": "sekimori.graph.choke",
    "choke_points": "sekimori.graph.choke",
    "SIGNIN_SCHEMA": "sekimori.graph.cloud_signins",
    "observed_signins": "sekimori.graph.cloud_signins",
    "Entry": "sekimori.graph.entry",
    "GraphError": "sekimori.graph.entry",
    "resolve_entry": "sekimori.graph.entry",
    "GraphSummary": "sekimori.graph.group_graph",
    "GroupGraph": "sekimori.graph.group_graph",
    "HOST_SCHEMA": "sekimori.graph.observed",
    "LOGON_SCHEMA": "sekimori.graph.observed",
    "observed_logons": "sekimori.graph.observed",
    "AttackPath": "sekimori.graph.paths",
    "Hop": "sekimori.graph.paths",
    "attack_paths": "sekimori.graph.paths",
    "Protection": "sekimori.graph.whatif",
    "protections": "sekimori.graph.whatif",
    "WhatIf": "sekimori.graph.whatif",
    "what_if": "sekimori.graph.whatif",
    "CACHING_LOGON_TYPES": "sekimori.graph.logon_edges",
    "glob_like": "sekimori.graph.edges",
    "draw_graph": "sekimori.graph.draw:draw",
    "logon_events_sql": "sekimori.graph.observed",
    "register_data_access_keys": "sekimori.graph.observed",
    "paths_view": "sekimori.graph.views",
}


__getattr__ = lazy_exports(__name__, _LAZY)
