"""Where every node of a :class:`~sekimori.graph.view.GraphView` goes in its picture, deterministically
and without graphviz.

Every organisation is a column (a lightly coloured, labelled box) in the order of ``view.organisations``;
nodes of an unnamed organisation follow, then an "unknown / outside" column for nodes without one. Rows
are shared by all columns and hold one node kind each (organisation, zone, host, account, …), so a kind
sits at the same height everywhere; a row wraps when a column has more nodes of that kind than fit side
by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sekimori.graph.view import GraphView, NodeKind, ViewNode, ordered_orgs

UNKNOWN_GROUP = "unknown / outside"

KIND_ORDER: tuple[NodeKind, ...] = (
    "organisation",
    "zone",
    "host",
    "account",
    "credential",
    "realm",
    "system",
    "data_store",
)

# Geometry, in inches (the axes map one data unit to one inch, so arcs and spacing are isotropic).
CELL_W = 1.95  # fits a 28-character label at 7 pt
CELL_H = 0.95  # marker, entry tag, label and one line of detail
COL_GAP = 0.35
HEADER_H = 0.42
TITLE_H = 0.65
MARGIN = 0.3
LEGEND_W = 2.4
MAX_SUBCOLUMNS = 8  # nodes of one kind side by side in one organisation before the row wraps
TARGET_ASPECT = 16 / 9


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    name: str
    known: bool  # False for the "unknown / outside" box
    index: int


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    positions: dict[str, tuple[float, float]]
    boxes: list[Box]
    box_of: dict[str, int]  # node id → index into boxes


def kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def legend_height(entries: int) -> float:
    return 0.45 + 0.2 * entries


def layout(view: GraphView, nodes: list[ViewNode], legend_entries: int) -> Layout:
    orgs = ordered_orgs(view, nodes)
    columns: list[tuple[str | None, str]] = [(org, view.organisations.get(org, org)) for org in orgs]
    if any(n.org is None for n in nodes):
        columns.append((None, UNKNOWN_GROUP))
    col_index = {org: i for i, (org, _) in enumerate(columns)}

    # members[column][layer] = nodes, sorted by label so the picture does not depend on input order.
    layers = sorted({kind_rank(n.kind) for n in nodes})
    layer_index = {rank: i for i, rank in enumerate(layers)}
    members: list[list[list[ViewNode]]] = [[[] for _ in layers] for _ in columns]
    for node in nodes:
        members[col_index[node.org]][layer_index[kind_rank(node.kind)]].append(node)
    for col in members:
        for cell in col:
            cell.sort(key=lambda n: (n.label.casefold(), n.id))

    # A column is as wide as its busiest layer, up to a cap shared by all columns; rows wrap beyond it.
    # The cap is the one that brings the whole picture closest to a screen's shape.
    def fit(cap: int) -> tuple[list[int], list[int], float, float, float]:
        widths = [max(1, min(cap, max((len(cell) for cell in col), default=1))) for col in members]
        rows = [
            max((math.ceil(len(members[c][li]) / widths[c]) for c in range(len(columns))), default=0)
            for li in range(len(layers))
        ]
        content_h = HEADER_H + sum(rows) * CELL_H + 0.1
        content_w = sum(w * CELL_W for w in widths) + COL_GAP * max(len(columns) - 1, 0)
        width = MARGIN + max(content_w, 3.0) + COL_GAP + LEGEND_W + MARGIN
        height = MARGIN + TITLE_H + max(content_h, legend_height(legend_entries), 1.0) + MARGIN
        return widths, rows, content_h, width, height

    busiest = max((len(cell) for col in members for cell in col), default=1)
    fits = {cap: fit(cap) for cap in range(1, min(busiest, MAX_SUBCOLUMNS) + 1)}
    best = min(fits, key=lambda c: (abs(math.log(fits[c][3] / fits[c][4] / TARGET_ASPECT)), -c))
    widths, rows_per_layer, content_h, width, height = fits[best]

    top = height - MARGIN - TITLE_H  # top edge of the boxes
    positions: dict[str, tuple[float, float]] = {}
    boxes: list[Box] = []
    box_of: dict[str, int] = {}
    x = MARGIN
    for c, (org, name) in enumerate(columns):
        col_w = widths[c] * CELL_W
        boxes.append(Box(x, top - content_h, x + col_w, top, name, org is not None, c))
        row_top = top - HEADER_H
        for li, cell in enumerate(members[c]):
            for start in range(0, len(cell), widths[c]):
                row = cell[start : start + widths[c]]
                offset = (widths[c] - len(row)) / 2  # centre a short row
                y = row_top - (start // widths[c] + 0.45) * CELL_H
                for j, node in enumerate(row):
                    positions[node.id] = (x + (offset + j + 0.5) * CELL_W, y)
                    box_of[node.id] = c
            row_top -= rows_per_layer[li] * CELL_H
        x += col_w + COL_GAP
    return Layout(width, height, positions, boxes, box_of)
