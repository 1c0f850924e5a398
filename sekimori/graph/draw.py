"""Turn a :class:`~sekimori.graph.view.GraphView` into a picture (SVG/PNG) or Cytoscape.js JSON.

The picture is laid out here, deterministically and without graphviz: every organisation is a column
(a lightly coloured, labelled box) in the order of ``view.organisations``; nodes of an unnamed
organisation follow, then an "unknown / outside" column for nodes without one. Rows are shared by all
columns and hold one node kind each (organisation, zone, host, account, …), so a kind sits at the same
height everywhere; a row wraps when a column has more nodes of that kind than fit side by side.
The same view always gives the same bytes.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import fontManager
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from sekimori.graph.view import GraphView, NodeKind, ViewEdge, ViewNode

__all__ = ["draw", "to_cytoscape", "truncate"]

MAX_LABEL = 28
EDGE_LABEL_LIMIT = 40  # above this many edges, only on-path edges are labelled
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


@dataclass(frozen=True)
class _KindStyle:
    marker: str
    color: str
    name: str


_KIND_STYLE: dict[str, _KindStyle] = {
    "organisation": _KindStyle("H", "#5b6f8a", "organisation"),
    "zone": _KindStyle("h", "#8e7cc3", "network zone"),
    "host": _KindStyle("s", "#3d85c6", "host"),
    "account": _KindStyle("o", "#6aa84f", "account"),
    "credential": _KindStyle("^", "#bf9000", "credential"),
    "realm": _KindStyle("D", "#a64d79", "realm"),
    "system": _KindStyle("p", "#45818e", "system"),
    "data_store": _KindStyle("8", "#7f6000", "data store"),
}
_OTHER_STYLE = _KindStyle("o", "#888888", "other")

# Pastel fill / stronger border per organisation column, cycled.
_GROUP_COLORS: tuple[tuple[str, str], ...] = (
    ("#e8f0fe", "#8ab4f8"),
    ("#e6f4ea", "#81c995"),
    ("#fef7e0", "#f2c94c"),
    ("#fce8e6", "#f28b82"),
    ("#f3e8fd", "#c58af9"),
    ("#e4f7fb", "#78d9ec"),
)
_UNKNOWN_COLORS = ("#f1f3f4", "#9aa0a6")

CROWN_COLOR = "#d50000"
ENTRY_COLOR = "#ff6f00"
PATH_COLOR = "#ff6f00"
NOT_ALLOWED_COLOR = "#d50000"
REMOVED_COLOR = "#9e9e9e"
EDGE_COLOR = "#7b8794"
UNREACHED_FACE = "#d6d6d6"
UNREACHED_TEXT = "#9e9e9e"
TEXT_COLOR = "#202124"
_TEXT_BACKING = {"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.65}
CROWN_MARK = "★"  # U+2605, present in DejaVu Sans

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
PNG_DPI = 150
MAX_PIXELS = 30000  # Agg refuses images wider or taller than 2**16 px; stay well below

_CJK_FALLBACKS = ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "TakaoGothic", "Yu Gothic", "MS Gothic")


def truncate(text: str, limit: int = MAX_LABEL) -> str:
    """One line of at most ``limit`` characters, ending in "…" when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)].rstrip() + "…"


def _unique_nodes(view: GraphView) -> list[ViewNode]:
    # A repeated id would break Cytoscape and the layout; the first occurrence wins.
    seen: set[str] = set()
    out: list[ViewNode] = []
    for node in view.nodes:
        if node.id not in seen:
            seen.add(node.id)
            out.append(node)
    return out


def _group_id(org: str) -> str:
    return f"org-group:{org}"


def _class_token(text: str) -> str:
    return "-".join(text.split()) or "unknown"


def _ordered_orgs(view: GraphView, nodes: list[ViewNode]) -> list[str]:
    """Organisations that have nodes: those named in the view first (its order), then the rest sorted."""
    used = {n.org for n in nodes if n.org is not None}
    named = [org for org in view.organisations if org in used]
    return named + sorted(used - set(named))


# --- Cytoscape ---------------------------------------------------------------------------------------


def to_cytoscape(view: GraphView) -> dict[str, Any]:
    """Cytoscape.js JSON for the view; organisations are compound parents of their nodes.

    Labels are kept whole (the web view can shorten them with its style). Edges whose ends are not in
    the view are left out, as Cytoscape.js refuses them.
    """
    nodes = _unique_nodes(view)
    ids = {n.id for n in nodes}
    elements_nodes: list[dict[str, Any]] = [
        {
            "data": {
                "id": _group_id(org),
                "kind": "org_group",
                "label": view.organisations.get(org, org),
                "org": org,
            },
            "classes": "org-group",
        }
        for org in _ordered_orgs(view, nodes)
    ]
    for node in nodes:
        data: dict[str, Any] = {
            "id": node.id,
            "kind": node.kind,
            "label": node.label,
            "org": node.org,
            "crown_jewel": node.crown_jewel,
            "records": node.records,
            "entry": node.entry,
            "reached": node.reached,
        }
        if node.org is not None:
            data["parent"] = _group_id(node.org)
        classes = [_class_token(node.kind)]
        if node.crown_jewel:
            classes.append("crown-jewel")
        if node.entry:
            classes.append("entry")
        if not node.reached:
            classes.append("unreached")
        elements_nodes.append({"data": data, "classes": " ".join(classes)})

    elements_edges: list[dict[str, Any]] = []
    for i, edge in enumerate(view.edges):
        if edge.source not in ids or edge.target not in ids:
            continue
        classes = [_class_token(edge.kind)]
        if not edge.allowed:
            classes.append("not-allowed")
        if edge.on_path:
            classes.append("on-path")
        if edge.removed:
            classes.append("removed")
        elements_edges.append(
            {
                "data": {
                    "id": f"e{i}",
                    "source": edge.source,
                    "target": edge.target,
                    "kind": edge.kind,
                    "label": edge.label,
                    "text": edge.text,
                    "allowed": edge.allowed,
                    "on_path": edge.on_path,
                    "removed": edge.removed,
                },
                "classes": " ".join(classes),
            }
        )
    return {
        "data": {"title": view.title, "organisations": dict(view.organisations)},
        "elements": {"nodes": elements_nodes, "edges": elements_edges},
    }


# --- Layout ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float
    name: str
    known: bool  # False for the "unknown / outside" box
    index: int


@dataclass(frozen=True)
class _Layout:
    width: float
    height: float
    positions: dict[str, tuple[float, float]]
    boxes: list[_Box]
    box_of: dict[str, int]  # node id → index into boxes


def _kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def _legend_height(entries: int) -> float:
    return 0.45 + 0.2 * entries


def _layout(view: GraphView, nodes: list[ViewNode], legend_entries: int) -> _Layout:
    orgs = _ordered_orgs(view, nodes)
    columns: list[tuple[str | None, str]] = [(org, view.organisations.get(org, org)) for org in orgs]
    if any(n.org is None for n in nodes):
        columns.append((None, UNKNOWN_GROUP))
    col_index = {org: i for i, (org, _) in enumerate(columns)}

    # members[column][layer] = nodes, sorted by label so the picture does not depend on input order.
    layers = sorted({_kind_rank(n.kind) for n in nodes})
    layer_index = {rank: i for i, rank in enumerate(layers)}
    members: list[list[list[ViewNode]]] = [[[] for _ in layers] for _ in columns]
    for node in nodes:
        members[col_index[node.org]][layer_index[_kind_rank(node.kind)]].append(node)
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
        height = MARGIN + TITLE_H + max(content_h, _legend_height(legend_entries), 1.0) + MARGIN
        return widths, rows, content_h, width, height

    busiest = max((len(cell) for col in members for cell in col), default=1)
    fits = {cap: fit(cap) for cap in range(1, min(busiest, MAX_SUBCOLUMNS) + 1)}
    best = min(fits, key=lambda c: (abs(math.log(fits[c][3] / fits[c][4] / TARGET_ASPECT)), -c))
    widths, rows_per_layer, content_h, width, height = fits[best]

    top = height - MARGIN - TITLE_H  # top edge of the boxes
    positions: dict[str, tuple[float, float]] = {}
    boxes: list[_Box] = []
    box_of: dict[str, int] = {}
    x = MARGIN
    for c, (org, name) in enumerate(columns):
        col_w = widths[c] * CELL_W
        boxes.append(_Box(x, top - content_h, x + col_w, top, name, org is not None, c))
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
    return _Layout(width, height, positions, boxes, box_of)


# --- Drawing -----------------------------------------------------------------------------------------


def _style(kind: str) -> _KindStyle:
    return _KIND_STYLE.get(kind, _OTHER_STYLE)


def _edge_look(edge: ViewEdge) -> tuple[str, float, str]:
    """(colour, line width, line style); removal wins over "not allowed", which wins over "on path"."""
    width = 2.4 if edge.on_path else 0.9
    if edge.removed:
        return REMOVED_COLOR, width, "--"
    if not edge.allowed:
        return NOT_ALLOWED_COLOR, max(width, 1.3), "-"
    if edge.on_path:
        return PATH_COLOR, width, "-"
    return EDGE_COLOR, width, "-"


def _legend_handles(nodes: list[ViewNode], edges: list[ViewEdge]) -> list[Line2D]:
    handles: list[Line2D] = []
    kinds = {n.kind for n in nodes}
    for kind in sorted(kinds, key=lambda k: (_kind_rank(k), k)):
        st = _style(kind)
        label = st.name if kind in _KIND_STYLE else kind
        handles.append(
            Line2D(
                [],
                [],
                linestyle="",
                marker=st.marker,
                markersize=8,
                markerfacecolor=st.color,
                markeredgecolor="white",
                label=label,
            )
        )

    def ring(face: str, edge: str, width: float, label: str) -> Line2D:
        return Line2D(
            [],
            [],
            linestyle="",
            marker="o",
            markersize=8,
            markerfacecolor=face,
            markeredgecolor=edge,
            markeredgewidth=width,
            label=label,
        )

    if any(n.crown_jewel for n in nodes):
        handles.append(ring("white", CROWN_COLOR, 2.2, f"{CROWN_MARK} crown jewel"))
    if any(n.entry for n in nodes):
        handles.append(ring("white", ENTRY_COLOR, 2.2, "ENTRY (attacker start)"))
    if any(not n.reached for n in nodes):
        handles.append(ring(UNREACHED_FACE, UNREACHED_TEXT, 1.0, "not reached (context)"))
    if edges:
        handles.append(Line2D([], [], color=EDGE_COLOR, linewidth=0.9, label="edge"))
    if any(e.on_path and not e.removed and e.allowed for e in edges):
        handles.append(Line2D([], [], color=PATH_COLOR, linewidth=2.4, label="attack path"))
    if any(not e.allowed and not e.removed for e in edges):
        handles.append(
            Line2D([], [], color=NOT_ALLOWED_COLOR, linewidth=1.3, label="not allowed by the model")
        )
    if any(e.removed for e in edges):
        handles.append(
            Line2D([], [], color=REMOVED_COLOR, linewidth=0.9, linestyle="--", label="removed (what-if)")
        )
    return handles


def _draw_boxes(ax: Axes, boxes: list[_Box]) -> None:
    for box in boxes:
        face, border = _GROUP_COLORS[box.index % len(_GROUP_COLORS)] if box.known else _UNKNOWN_COLORS
        ax.add_patch(
            FancyBboxPatch(
                (box.x0, box.y0),
                box.x1 - box.x0,
                box.y1 - box.y0,
                boxstyle="round,pad=0,rounding_size=0.15",
                facecolor=face,
                edgecolor=border,
                linewidth=1.2,
                linestyle="-" if box.known else "--",
                zorder=0,
            )
        )
        fits = max(int((box.x1 - box.x0 - 0.2) * 72 / (9 * 0.62)), 8)  # ~0.62 em per character at 9 pt
        ax.text(
            box.x0 + 0.12,
            box.y1 - 0.1,
            truncate(box.name, fits),
            fontsize=9,
            fontweight="bold",
            ha="left",
            va="top",
            color=TEXT_COLOR,
            style="normal" if box.known else "italic",
            parse_math=False,
            zorder=4,
        )


def _draw_edges(
    ax: Axes, edges: list[ViewEdge], pos: dict[str, tuple[float, float]], label_all: bool
) -> None:
    pair_seen: Counter[frozenset[str]] = Counter()
    # Highlighted edges go on top of the plain ones.
    for edge in sorted(edges, key=lambda e: (e.on_path, not e.allowed)):
        if edge.source not in pos or edge.target not in pos or edge.source == edge.target:
            continue
        (x1, y1), (x2, y2) = pos[edge.source], pos[edge.target]
        pair = frozenset((edge.source, edge.target))
        # A slight bend keeps an edge off the nodes between its ends; parallel edges bend further apart.
        rad = 0.12 + 0.14 * pair_seen[pair]
        pair_seen[pair] += 1
        color, width, style = _edge_look(edge)
        ax.add_patch(
            FancyArrowPatch(
                (x1, y1),
                (x2, y2),
                arrowstyle="-|>",
                mutation_scale=9 if edge.on_path else 7,
                connectionstyle=f"arc3,rad={rad}",
                color=color,
                linewidth=width,
                linestyle=style,
                shrinkA=9,
                shrinkB=9,
                alpha=0.95 if edge.on_path else 0.75,
                zorder=2 if edge.on_path else 1,
            )
        )
        if edge.label and (edge.on_path or label_all):
            # Midpoint of the quadratic Bézier that arc3 draws (control point = mid + rad·(dy, −dx)).
            mx = (x1 + x2) / 2 + rad / 2 * (y2 - y1)
            my = (y1 + y2) / 2 - rad / 2 * (x2 - x1)
            ax.text(
                mx,
                my,
                truncate(edge.label),
                fontsize=5.5,
                ha="center",
                va="center",
                color=color if edge.on_path else "#5f6368",
                fontweight="bold" if edge.on_path else "normal",
                parse_math=False,
                zorder=2.5,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
            )


def _draw_nodes(ax: Axes, nodes: list[ViewNode], pos: dict[str, tuple[float, float]]) -> None:
    for node in nodes:
        x, y = pos[node.id]
        st = _style(node.kind)
        face = st.color if node.reached else UNREACHED_FACE
        edge_color, edge_width = "white", 1.0
        if node.entry:
            edge_color, edge_width = ENTRY_COLOR, 2.6
        if node.crown_jewel:
            edge_color, edge_width = CROWN_COLOR, 2.8
        ax.plot(
            [x],
            [y],
            linestyle="",
            marker=st.marker,
            markersize=13,
            markerfacecolor=face,
            markeredgecolor=edge_color,
            markeredgewidth=edge_width,
            zorder=3,
        )
        if node.crown_jewel and node.entry:  # both: an orange halo outside the red border
            ax.plot(
                [x],
                [y],
                linestyle="",
                marker="o",
                markersize=21,
                markerfacecolor="none",
                markeredgecolor=ENTRY_COLOR,
                markeredgewidth=1.8,
                zorder=3,
            )
        text_color = TEXT_COLOR if node.reached else UNREACHED_TEXT
        # A faint backing keeps labels legible where edges pass under them.
        ax.text(
            x,
            y - 0.15,
            truncate(node.label),
            fontsize=7,
            ha="center",
            va="top",
            color=text_color,
            parse_math=False,
            zorder=4,
            bbox=_TEXT_BACKING,
        )
        detail: list[str] = []
        if node.crown_jewel:
            detail.append(f"{CROWN_MARK} crown jewel")
        if node.records > 0:
            detail.append(f"{node.records:,} records")
        if detail:
            ax.text(
                x,
                y - 0.31,
                " · ".join(detail),
                fontsize=6,
                ha="center",
                va="top",
                color=CROWN_COLOR if node.crown_jewel else text_color,
                fontweight="bold" if node.crown_jewel else "normal",
                parse_math=False,
                zorder=4,
                bbox=_TEXT_BACKING,
            )
        if node.entry:
            ax.text(
                x,
                y + 0.15,
                "ENTRY",
                fontsize=6,
                fontweight="bold",
                ha="center",
                va="bottom",
                color="white",
                zorder=4,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": ENTRY_COLOR, "edgecolor": "none"},
            )


def _figure(view: GraphView) -> Figure:
    nodes = _unique_nodes(view)
    handles = _legend_handles(nodes, view.edges)
    lay = _layout(view, nodes, len(handles))
    # Figure + an explicit Agg canvas rather than pyplot: no global backend switch, no figure registry.
    fig = Figure(figsize=(lay.width, lay.height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(0, lay.height)
    ax.set_axis_off()

    ax.text(
        MARGIN,
        lay.height - MARGIN,
        view.title,
        fontsize=13,
        fontweight="bold",
        ha="left",
        va="top",
        color=TEXT_COLOR,
        parse_math=False,
    )
    summary = f"{len(nodes)} nodes · {len(view.edges)} edges · {len(lay.boxes)} groups"
    ax.text(MARGIN, lay.height - MARGIN - 0.3, summary, fontsize=7, ha="left", va="top", color="#5f6368")
    if not nodes:
        ax.text(
            MARGIN + 1.5,
            lay.height / 2 - 0.2,
            "(nothing to show)",
            fontsize=9,
            ha="center",
            va="center",
            color=UNREACHED_TEXT,
            style="italic",
        )

    _draw_boxes(ax, lay.boxes)
    _draw_edges(ax, view.edges, lay.positions, label_all=len(view.edges) <= EDGE_LABEL_LIMIT)
    _draw_nodes(ax, nodes, lay.positions)
    if handles:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(lay.width - MARGIN - LEGEND_W, lay.height - MARGIN - TITLE_H),
            bbox_transform=ax.transData,
            fontsize=7,
            title="Legend",
            title_fontsize=8,
            frameon=True,
            framealpha=1.0,
            edgecolor="#dadce0",
            borderaxespad=0.0,
        )
    return fig


def _font_families() -> list[str]:
    # A Japanese font is used as a fallback where one is installed; without one, CJK shows as boxes.
    installed = {f.name for f in fontManager.ttflist}
    return ["DejaVu Sans", *(name for name in _CJK_FALLBACKS if name in installed)]


_FORMATS = {"svg": "svg", "png": "png", "json": "json", "cyjs": "json"}


def _resolve_format(path: Path, format: str | None) -> str:
    given = (format if format is not None else path.suffix).lower().lstrip(".")
    if given not in _FORMATS:
        shown = (format or path.suffix) or "(no suffix)"
        raise ValueError(f"cannot draw to {shown!r} ({path.name}): use .svg, .png, .json or .cyjs")
    return _FORMATS[given]


def draw(view: GraphView, path: str | Path, *, format: str | None = None) -> Path:
    """Write the view to ``path`` as SVG, PNG or Cytoscape JSON (chosen by ``format`` or the suffix)."""
    path = Path(path)
    fmt = _resolve_format(path, format)
    if fmt == "json":
        text = json.dumps(to_cytoscape(view), ensure_ascii=False, indent=2)
        path.write_text(text + "\n", encoding="utf-8")
        return path

    rc = matplotlib.rc_context(
        {
            "font.family": _font_families(),
            "svg.fonttype": "none",  # real <text>: searchable, smaller, and no glyph paths to hash
            "svg.hashsalt": "sekimori",  # fixed ids for clip paths etc. → identical bytes for identical input
        }
    )
    with rc, warnings.catch_warnings():
        # Labels may hold glyphs (e.g. Japanese) that the font lacks: draw boxes, do not warn.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        fig = _figure(view)
        if fmt == "svg":
            fig.savefig(path, format="svg", metadata={"Date": None})
        else:
            dpi = min(PNG_DPI, MAX_PIXELS / max(fig.get_figwidth(), fig.get_figheight()))
            fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    return path
