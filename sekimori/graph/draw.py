"""Write a :class:`~sekimori.graph.view.GraphView` to a file: a picture (SVG or PNG, drawn by
:mod:`sekimori.graph.figure`) or Cytoscape.js JSON (:mod:`sekimori.graph.cytoscape`). The same view
always gives the same bytes."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib
from matplotlib.font_manager import fontManager

from sekimori.graph.cytoscape import to_cytoscape
from sekimori.graph.figure import figure
from sekimori.graph.view import GraphView

__all__ = ["draw"]

PNG_DPI = 150
MAX_PIXELS = 30000  # Agg refuses images wider or taller than 2**16 px; stay well below

_CJK_FALLBACKS = ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "TakaoGothic", "Yu Gothic", "MS Gothic")


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
        fig = figure(view)
        if fmt == "svg":
            fig.savefig(path, format="svg", metadata={"Date": None})
        else:
            dpi = min(PNG_DPI, MAX_PIXELS / max(fig.get_figwidth(), fig.get_figheight()))
            fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    return path
