"""Documents out: HTML from replaceable Jinja2 templates, PDF (A4, Japanese font embedded), JSON.

The templates are looked up in the company's ``template_dir`` first, then in the package's
(``<kind>.html.j2``, else the generic ``document.html.j2``; both extend ``base.html.j2``), with autoescape on:
every value from the facts is escaped.

The PDF is WeasyPrint's (it lays out the same HTML and CSS with pango and embeds a subset of each font
used). The Japanese font comes with the Python install: IPAexGothic, carried (with the IPA Font License) by
the ``matplotlib-fontja`` dependency, so a machine with only Python renders the same PDF as any other.
``SEKIMORI_PDF_FONT`` overrides it; if that package were missing, a font fontconfig lists for ``:lang=ja``
or a known system path is used. The font is declared with ``@font-face`` from its file, so the PDF never
silently falls back to a font without the glyphs (blank boxes); without one, :class:`FontNotFoundError`
says what to do.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from sekimori.report.document import Document
from sekimori.report.text import fmt_dt

TEMPLATES = Path(__file__).resolve().parent / "templates"
FONT_ENV = "SEKIMORI_PDF_FONT"
SAMPLE = "個人情報本人の数"  # glyphs a usable font must have

# Searched when fontconfig is not there or finds nothing; gothic (sans) first, as the templates' style.
KNOWN_FONTS = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/takao-gothic/TakaoGothic.ttf",
    "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf",
    "/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc",
)
_PREFERRED = ("IPAexGothic", "Noto Sans CJK JP", "IPAGothic", "TakaoGothic", "Noto Sans JP", "Gothic", "Sans")
_STATUS_TEXT = {
    "ok": ("期限内", "on time"),
    "due_soon": ("期限間近", "due soon"),
    "overdue": ("期限超過", "overdue"),
    "done": ("提出済", "submitted"),
    "unknown": ("起算点不明", "clock start unknown"),
}


class RenderError(RuntimeError):
    """A document cannot be rendered on this machine (a missing library or font)."""


class FontNotFoundError(RenderError):
    pass


def environment(template_dir: Path | None = None) -> Environment:
    loaders = [FileSystemLoader(str(template_dir))] if template_dir is not None else []
    loaders.append(FileSystemLoader(str(TEMPLATES)))
    # StrictUndefined: a company template that asks for a name we do not give fails loudly, not blank.
    return Environment(
        loader=ChoiceLoader(loaders), autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )


def _context(document: Document, font_url: str | None) -> dict[str, Any]:
    lang = document.lang
    deadlines = []
    for d in document.deadlines:
        zone = "US" if d.key == "sec_8k_105" else "JP"
        status = d.status(document.as_of)
        deadlines.append(
            {
                "name": d.name,
                "basis": d.basis,
                "note": d.note,
                "clock_start_label": d.clock_start_label,
                "clock_start": fmt_dt(d.clock_start, lang, zone),
                "due": fmt_dt(d.due, lang, zone),
                "status": status,
                "status_text": _STATUS_TEXT[status][0 if lang == "ja" else 1],
                "submitted": fmt_dt(d.submitted, lang),
            }
        )
    as_of = document.as_of
    return {
        "doc": document,
        "deadlines": deadlines,
        "as_of": fmt_dt(as_of, lang),
        "as_of_date": f"{as_of.year}年{as_of.month}月{as_of.day}日" if lang == "ja" else f"{as_of:%Y-%m-%d}",
        "font_url": font_url,
    }


def render_html(document: Document, template_dir: Path | None = None, *, font_url: str | None = None) -> str:
    """The document as HTML: ``<kind>.html.j2`` or ``document.html.j2``, from ``template_dir`` first."""
    env = environment(template_dir)
    template = env.select_template([f"{document.kind}.html.j2", "document.html.j2"])
    return template.render(**_context(document, font_url))


def render_json(document: Document) -> str:
    return json.dumps(document.to_dict(), ensure_ascii=False, indent=2)


# --- PDF ---


def _has_glyphs(path: Path) -> bool:
    """Whether the font file maps the sample characters (True when fontTools cannot tell)."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        return True
    try:
        font = TTFont(str(path), fontNumber=0, lazy=True)
        cmap = font.getBestCmap() or {}
        return all(ord(ch) in cmap for ch in SAMPLE)
    except Exception:  # an unreadable file is not a usable font
        return False


def bundled_font() -> Path | None:
    """IPAexGothic as installed from PyPI with ``matplotlib-fontja`` (found without importing it: its
    import would reconfigure matplotlib for the whole process)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "fonts" / "ipaexg.ttf"
        if path.is_file():
            return path
    return None


def _fontconfig_candidates() -> list[Path]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run(
            [fc_list, "--format", "%{file}\t%{family}\n", ":lang=ja"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found: list[tuple[int, str, Path]] = []
    for line in out.splitlines():
        file, _, family = line.partition("\t")
        if not file.lower().endswith((".ttf", ".otf", ".ttc")):
            continue
        rank = next(
            (i for i, name in enumerate(_PREFERRED) if name.lower() in family.lower()), len(_PREFERRED)
        )
        found.append((rank, file, Path(file)))
    return [p for _, _, p in sorted(found)]


def find_japanese_font() -> Path:
    """A font file with Japanese glyphs: ``$SEKIMORI_PDF_FONT``, else the one installed with sekimori, else
    fontconfig's ``:lang=ja`` list, else the known paths."""
    override = os.environ.get(FONT_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise FontNotFoundError(f"{FONT_ENV}={override}: no such font file")
        if not _has_glyphs(path):
            raise FontNotFoundError(f"{FONT_ENV}={override}: the font has no Japanese glyphs ({SAMPLE})")
        return path
    seen: set[Path] = set()
    bundled = bundled_font()
    if bundled is not None and _has_glyphs(bundled):
        return bundled
    for path in [*_fontconfig_candidates(), *map(Path, KNOWN_FONTS)]:
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        if _has_glyphs(path):
            return path
    raise FontNotFoundError(
        "no Japanese font found for the PDF: the font installed with sekimori (package matplotlib-fontja) "
        "is missing, fontconfig lists none for :lang=ja and none of the known paths exists. Reinstall "
        f"sekimori (`pip install -e .`), or set {FONT_ENV}=/path/to/font.ttf"
    )


def render_pdf(document: Document, path: Path | str, template_dir: Path | None = None) -> Path:
    """Write the document as an A4 PDF with the Japanese font embedded (a subset); returns the path."""
    font = find_japanese_font()
    try:
        with warnings.catch_warnings():
            # Said by WeasyPrint, at import, where fontconfig lists no font (a fresh machine): the
            # document names its font by file (@font-face), so nothing is missing; not for the reader.
            warnings.filterwarnings("ignore", message="No fonts configured in FontConfig")
            import weasyprint
    except (ImportError, OSError) as error:  # OSError: pango is missing
        raise RenderError(
            f"PDF output needs WeasyPrint and pango ({error}): `pip install weasyprint` and "
            "`apt-get install libpango-1.0-0 libpangoft2-1.0-0`"
        ) from error
    html = render_html(document, template_dir, font_url=font.as_uri())
    out = Path(path)
    base = str(template_dir) if template_dir is not None else str(TEMPLATES)
    weasyprint.HTML(string=html, base_url=base).write_pdf(out)
    return out
