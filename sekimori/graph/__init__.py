"""The group as a graph: attack paths, blast radius in personal records, choke points and what-if.

>>> graph = graph_from_store(store, model)          # or build_graph(model, logons, hosts)
>>> blast_radius(graph, "org:contractor-kr").exposure.people
>>> attack_paths(graph, "host:PC02", k=5)
>>> choke_points(graph, "org:contractor-kr").cut
>>> what_if(graph, "org:contractor-kr", ["separate realm corp", "block flows affiliate -> parent"])
"""

from sekimori.graph.analysis import (
    BlastRadius,
    Change,
    Entry,
    Exposure,
    GraphError,
    WhatIf,
    blast_radius,
    exposure,
    parse_change,
    resolve_entry,
    what_if,
)
from sekimori.graph.build import GroupGraph, build_graph, graph_from_store
from sekimori.graph.choke import ChokePoint, ChokeReport, choke_points
from sekimori.graph.observed import HOST_SCHEMA, LOGON_SCHEMA, observed_logons
from sekimori.graph.paths import AttackPath, Hop, attack_paths

__all__ = [
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
    "GroupGraph",
    "Hop",
    "WhatIf",
    "attack_paths",
    "blast_radius",
    "build_graph",
    "choke_points",
    "exposure",
    "graph_from_store",
    "observed_logons",
    "parse_change",
    "resolve_entry",
    "what_if",
]
