"""The group posture: counts and a score whose parts are checked by hand, snapshots in the audit chain
(a history), the report in HTML (hostile names escaped) and PDF (the bundled font), and the finding kinds
on the report stage's public progress page."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pypdf import PdfReader

from sekimori.govern import (
    Finding,
    FindingKind,
    Register,
    Severity,
    group_posture,
    posture_history,
    posture_html,
    posture_measures,
    posture_pdf,
    save_snapshot,
)
from sekimori.report import build_progress_page
from tests.govern.conftest import ALICE

HOSTILE = '<script>alert("x")</script>'


def finding(kind: str, severity: str, org: str, subject: str, people: int = 0) -> Finding:
    return Finding(FindingKind(kind), Severity(severity), org, subject, {}, people, {}, {"ja": "", "en": ""})


FOUND = [
    finding("no_entrustment_contract", "critical", "aff", "party aff", 1000),
    finding("shared_authentication", "high", "aff", "realm corp", 1000),
    *[finding("grant_never_used", "medium", "ctr", f"grant G{i}", 200) for i in range(14)],
    finding("grant_expired", "low", "ctr", "grant G-OLD", 200),
    finding("reentrustment_not_approved", "high", HOSTILE, f"party {HOSTILE}"),
]


def test_score_parts_by_hand():
    p = group_posture(FOUND, date(2025, 6, 30), ["quiet"])
    aff, ctr, hostile, quiet = (
        next(o for o in p.organisations if o.organisation == x) for x in ("aff", "ctr", HOSTILE, "quiet")
    )
    # aff: critical 10 + high 5 → 100 − 10 − 5 = 85
    assert [(x.kind, x.points) for x in aff.parts] == [
        ("no_entrustment_contract", 10),
        ("shared_authentication", 5),
    ]
    assert aff.score == 85 and aff.people == 1000 and aff.by_severity == {"critical": 1, "high": 1}
    # ctr: 14 medium × 2 = 28, capped at 25; 1 low = 1 → 100 − 25 − 1 = 74
    assert [(x.kind, x.findings, x.points, x.capped) for x in ctr.parts] == [
        ("grant_expired", 1, 1, False),
        ("grant_never_used", 14, 25, True),
    ]
    assert ctr.score == 74 and ctr.findings == 15
    assert hostile.score == 95 and quiet.score == 100 and quiet.parts == []
    # group: 10 + 5 + 25 (never used, capped) + 1 + 5 (re-entrustment) = 46 → 54
    assert p.group.score == 54 and p.group.findings == 18
    assert p.group.by_kind == {
        "no_entrustment_contract": 1,
        "shared_authentication": 1,
        "grant_never_used": 14,
        "grant_expired": 1,
        "reentrustment_not_approved": 1,
    }


def test_snapshots_make_a_history_in_the_audit_chain(register: Register):
    first = group_posture(FOUND, date(2025, 6, 30))
    assert save_snapshot(register, first, ALICE) == "2025-06-30#1"
    later = group_posture(FOUND[:2], date(2025, 9, 30))
    assert save_snapshot(register, later, ALICE) == "2025-09-30#1"
    assert save_snapshot(register, later, ALICE) == "2025-09-30#2"
    history = posture_history(register)
    assert [(h["id"], h["score"]) for h in history] == [
        ("2025-06-30#1", 54),
        ("2025-09-30#1", 85),
        ("2025-09-30#2", 85),
    ]
    assert history[1]["organisations"] == {"aff": 85}
    report = register.verify()
    assert report.ok, report.problems


def test_html_escapes_hostile_names_in_both_languages():
    p = group_posture(FOUND, date(2025, 6, 30))
    for lang, heading in (("ja", "グループのセキュリティ態勢"), ("en", "Group security posture")):
        html = posture_html(p, lang, "Small <b>Group</b>")
        assert heading in html
        assert HOSTILE not in html and "<b>Group</b>" not in html
        assert "&lt;script&gt;" in html and "Small &lt;b&gt;Group&lt;/b&gt;" in html
        assert "54 / 100 = 100 - 10 - 5 - 1 - 25 - 5" in html  # kinds in FindingKind order


def test_pdf_with_the_bundled_font(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SEKIMORI_PDF_FONT", raising=False)
    # no fontconfig: only the font installed with sekimori can be found
    monkeypatch.setattr("sekimori.report.render._fontconfig_candidates", lambda: [])
    monkeypatch.setattr("sekimori.report.render.KNOWN_FONTS", ())
    path = posture_pdf(group_posture(FOUND, date(2025, 6, 30)), tmp_path / "posture.pdf", "ja")
    assert path.read_bytes().startswith(b"%PDF")
    reader = PdfReader(str(path))
    text = "".join("".join(page.extract_text() for page in reader.pages).split())
    assert "グループのセキュリティ態勢" in text and "54/100" in text
    fonts = [
        str(f.get_object().get("/BaseFont"))
        for page in reader.pages
        for f in page["/Resources"].get_object().get("/Font", {}).values()
    ]
    # the font installed with sekimori (IPAexGothic, declared as SekimoriJP), no other
    assert fonts and all("SekimoriJP" in name for name in fonts), fonts


def test_the_finding_kinds_on_the_public_progress_page(tmp_path: Path):
    first = {"no_entrustment_contract": 2, "grant_never_used": 5, "grant_expired": 1}
    latest = {"grant_never_used": 3, "grant_expired": 1}
    measures = posture_measures(first, latest, date(2025, 6, 30))
    # by hand, in FindingKind order: none left → done; as many → planned; fewer → in progress
    assert [(m.id, m.status) for m in measures] == [("G1", "done"), ("G2", "planned"), ("G3", "in_progress")]
    page = build_progress_page(
        measures, "グループのセキュリティ態勢", tmp_path, title_en="Group security posture"
    )
    ja = page.read_text(encoding="utf-8")
    en = (tmp_path / "progress.en.html").read_text(encoding="utf-8")
    assert "委託契約のない個人データへのアクセスの解消（2件 → 0件）" in ja
    assert "Resolve: grant never used (5 → 3)" in en
