"""The picture of a :class:`~sekimori.graph.view.GraphView` as a matplotlib figure: organisation boxes,
edges (on-path, not allowed, removed), node markers with their labels, the title and a legend, placed
by :mod:`sekimori.graph.layout`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from sekimori.graph.layout import LEGEND_W, MARGIN, TITLE_H, Box, kind_rank, layout
from sekimori.graph.view import GraphView, ViewEdge, ViewNode, unique_nodes

MAX_LABEL = 28
EDGE_LABEL_LIMIT = 40  # above this many edges, only on-path edges are labelled


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


def truncate(text: str, limit: int = MAX_LABEL) -> str:
    """One line of at most ``limit`` characters, ending in "…" when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)].rstrip() + "…"


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
    for kind in sorted(kinds, key=lambda k: (kind_rank(k), k)):
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


def _draw_boxes(ax: Axes, boxes: list[Box]) -> None:
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


def figure(view: GraphView) -> Figure:
    nodes = unique_nodes(view)
    handles = _legend_handles(nodes, view.edges)
    lay = layout(view, nodes, len(handles))
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
