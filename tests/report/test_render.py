"""Rendering: escaped HTML from replaceable templates, JSON, and a PDF whose Japanese text can be read back.

The PDF cases need WeasyPrint (with pango) and a Japanese font; without them they skip, or fail when
SEKIMORI_REQUIRE_SERVERS=1 (CI), which must install `fonts-ipaexfont-gothic` (or `fonts-noto-cjk`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from sekimori.report import kind, render
from sekimori.report.kinds import notices
from sekimori.report.render import FontNotFoundError, RenderError, render_html, render_json, render_pdf
from tests.report.test_kinds import jst, seed_facts


def _missing(message: str) -> None:
    if os.environ.get("SEKIMORI_REQUIRE_SERVERS") == "1":
        pytest.fail(message + " (SEKIMORI_REQUIRE_SERVERS=1)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def pdf_ready() -> Path:
    """The Japanese font the PDF will embed; skips (or fails in CI) when the machine cannot make PDFs."""
    try:
        font = render.find_japanese_font()
    except FontNotFoundError as error:
        _missing(str(error))
        raise
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as error:
        _missing(f"WeasyPrint unavailable ({error}): pip install weasyprint; apt-get install libpango-1.0-0")
        raise
    return font


# --- HTML ---


def test_html_escapes_user_text() -> None:
    facts = seed_facts(summary='<script>alert("x")</script> & <b>bold</b>', cause="a < b")
    html = render_html(kind.build("ppc_final", facts, "ja", jst(2023, 11, 1)))
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html and "&amp; &lt;b&gt;" in html and "a &lt; b" in html


def test_html_has_every_item_and_marks_missing_values() -> None:
    html = render_html(kind.build("ppc_final", seed_facts(), "ja", jst(2023, 11, 1)))
    assert "本人の数" in html and "302,980人" in html and "再発防止のための措置" in html
    assert 'class="missing">【未記入: 公表の実施状況】' in html
    assert "size: A4" in html
    assert "2023年12月26日 23:59（日本時間）" in html  # the 60-day deadline


def test_company_templates_replace_the_packages(tmp_path: Path) -> None:
    (tmp_path / "ppc_final.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block body %}<h1>社内様式</h1>{{ doc.fields["原因"] }}{% endblock %}',
        encoding="utf-8",
    )
    doc = kind.build("ppc_final", seed_facts(cause="<x>"), "ja", jst(2023, 11, 1))
    html = render_html(doc, tmp_path)
    assert "<h1>社内様式</h1>" in html and "&lt;x&gt;" in html
    # Other kinds still come from the package.
    assert "報告事項" in render_html(kind.build("mic_first", seed_facts(), "ja", jst(2023, 11, 1)), tmp_path)


def test_english_html_and_letter_template() -> None:
    (notice,) = notices.individual_notices(seed_facts(), [{"name": "Jane <Doe>", "category": "user"}], "en")
    html = render_html(notice)
    assert "Dear Jane &lt;Doe&gt;" in html and "Your personal data concerned" in html


def test_json_round_trips() -> None:
    doc = kind.build("ppc_preliminary", seed_facts(), "ja", jst(2023, 10, 30))
    data = json.loads(render_json(doc))
    assert data["kind"] == "ppc_preliminary" and data["mandatory"] is True
    assert data["deadlines"][0]["status"] == "due_soon"
    assert "302,980人" in json.dumps(data, ensure_ascii=False)


# --- PDF ---


def _font_files(pdf: Path) -> list[str]:
    """The embedded font programs (FontFile, FontFile2, FontFile3) of every font descriptor in the PDF."""
    from pypdf import PdfReader

    found = []
    for page in PdfReader(str(pdf)).pages:
        resources: Any = page["/Resources"].get_object()
        fonts = resources.get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            for f in [d.get_object() for d in descendants] if descendants else [font]:
                descriptor = f.get("/FontDescriptor")
                if descriptor is None:
                    continue
                descriptor = descriptor.get_object()
                found += [
                    f"{f.get('/BaseFont')}:{key}"
                    for key in ("/FontFile", "/FontFile2", "/FontFile3")
                    if key in descriptor
                ]
    return found


def test_pdf_has_the_japanese_text_and_embeds_the_font(pdf_ready: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    doc = kind.build("ppc_final", seed_facts(), "ja", jst(2023, 11, 1))
    out = render_pdf(doc, tmp_path / "ppc_final.pdf")
    assert out.read_bytes().startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(str(out)).pages)
    compact = "".join(text.split())  # the layout may break a line inside a label
    for expected in ("個人情報", "本人の数", "302,980", "22,239", "【未記入:公表の実施状況】"):
        assert expected in compact, expected
    embedded = _font_files(out)
    assert any(entry.endswith(("/FontFile2", "/FontFile3")) for entry in embedded), embedded


def test_pdf_in_english(pdf_ready: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    doc = kind.build("mic_detailed", seed_facts(), "en", jst(2023, 11, 1))
    out = render_pdf(doc, tmp_path / "mic.pdf")
    text = "".join("".join(page.extract_text() for page in PdfReader(str(out)).pages).split())
    # Japanese still renders in an English PDF (the form's name); the facts given only in Japanese are
    # marked untranslated, never shown
    assert "22,239" in text and "様式第50の2" in text
    assert "送受信者の社内ID" not in text and "[missing:Englishtranslation]" in text


def test_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(render.FONT_ENV, raising=False)
    monkeypatch.setattr(render, "bundled_font", lambda: None)  # as if matplotlib-fontja were not installed
    monkeypatch.setattr(render, "_fontconfig_candidates", list)
    monkeypatch.setattr(render, "KNOWN_FONTS", (str(tmp_path / "none.ttf"),))
    with pytest.raises(FontNotFoundError, match="matplotlib-fontja"):
        render.find_japanese_font()
    with pytest.raises(RenderError, match="no Japanese font"):
        render_pdf(kind.build("ppc_final", seed_facts(), "ja", jst(2023, 11, 1)), tmp_path / "x.pdf")


def test_font_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(render.FONT_ENV, str(tmp_path / "absent.ttf"))
    with pytest.raises(FontNotFoundError, match="no such font file"):
        render.find_japanese_font()
    not_a_font = tmp_path / "fake.ttf"
    not_a_font.write_bytes(b"not a font")
    monkeypatch.setenv(render.FONT_ENV, str(not_a_font))
    with pytest.raises(FontNotFoundError, match="no Japanese glyphs"):
        render.find_japanese_font()
