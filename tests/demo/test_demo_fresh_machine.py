"""The README's first command on a machine with no fonts of its own: the demo must finish, every PDF with
the Japanese font that comes with the Python install embedded.

The machine's fonts are hidden by pointing fontconfig (used by pango, hence WeasyPrint, and by fc-list)
at a configuration that lists no font folder; matplotlib falls back to the DejaVu it ships.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from fontTools.ttLib import TTFont
from pypdf import PdfReader

EMPTY_FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><cachedir>{cache}</cachedir></fontconfig>
"""


def _embedded_families(pdf: Path) -> set[str]:
    """The family name inside each font program embedded in a PDF's pages (read by pypdf and fontTools,
    not by our renderer); a font used but not embedded fails the test."""
    families: set[str] = set()
    for page in PdfReader(pdf).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            fonts = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for part in fonts:
                descriptor = part["/FontDescriptor"].get_object()
                stream = next(
                    (descriptor[k] for k in ("/FontFile2", "/FontFile3", "/FontFile") if k in descriptor),
                    None,
                )
                assert stream is not None, (pdf.name, font["/BaseFont"], "not embedded")
                program = TTFont(io.BytesIO(stream.get_object().get_data()))
                families.add(program["name"].getDebugName(1))
    return families


def test_demo_on_a_machine_without_fonts_writes_every_pdf_with_the_japanese_font(tmp_path):
    config = tmp_path / "fonts.conf"
    config.write_text(EMPTY_FONTCONFIG.format(cache=tmp_path / "fc-cache"))
    env = {k: v for k, v in os.environ.items() if k != "SEKIMORI_PDF_FONT"}
    env |= {"FONTCONFIG_FILE": str(config), "FONTCONFIG_PATH": str(tmp_path), "HOME": str(tmp_path)}
    env["MPLCONFIGDIR"] = str(tmp_path / "mpl")  # a font cache built from the machine's fonts is not reused
    # fontconfig really sees no font under this configuration (else the test would prove nothing)
    listed = subprocess.run(["fc-list"], env=env, capture_output=True, text=True, check=False)
    assert listed.stdout.strip() == "", listed.stdout[:200]

    store = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, "-m", "sekimori.cli", "demo", "--store", str(store)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=tmp_path,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "Traceback" not in output and "not produced" not in output and "PDF not written" not in output
    assert "Warning" not in output, output[-3000:]  # a tidy output: no library warning for the reader

    reports = store / "reports"
    htmls = sorted(reports.glob("*.html"))
    pdfs = sorted(reports.glob("*.pdf"))
    # one PDF beside every report's HTML (the progress page is a folder of its own)
    assert htmls and [p.with_suffix("").name for p in pdfs] == [h.with_suffix("").name for h in htmls]
    for pdf in pdfs:
        # the subset embedded is IPAexGothic's; no other font stands in for any of the text
        assert _embedded_families(pdf) == {"IPAexGothic"}, pdf.name
    ja = PdfReader(reports / "ppc_preliminary.ja.pdf").pages[0].extract_text()
    assert "個人情報" in ja
