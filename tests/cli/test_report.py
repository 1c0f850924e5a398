"""``sekimori report …`` on the seed case's facts and the demo's case: the documents due, with deadlines."""

import json

from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.demo import build_demo_store, demo_model, demo_model_path, detect, seed_facts_path

runner = CliRunner()


def test_build_the_seed_case_reports(tmp_path):
    out = tmp_path / "reports"
    result = runner.invoke(
        app,
        [
            "report",
            "build",
            "-f",
            str(seed_facts_path()),
            "-o",
            str(out),
            "--now",
            "2023-10-30T09:00+09:00",
            "--lang",
            "ja",
            "--no-pdf",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    produced = json.loads(result.stdout)
    kinds = {p["kind"] for p in produced}
    # unauthorized access, > 1,000 people, secrecy of communications at a telecom carrier
    assert {"ppc_preliminary", "ppc_final", "mic_first", "mic_detailed", "individual_notice"} <= kinds
    final = next(p for p in produced if p["kind"] == "ppc_final")
    assert final["mandatory"] is True
    # 60 days for an unauthorized purpose, from 2023-10-27 (the day of learning not counted)
    assert final["deadlines"][0]["due"].startswith("2023-12-26") and final["deadlines"][0]["status"] == "ok"
    preliminary = next(p for p in produced if p["kind"] == "ppc_preliminary")
    assert preliminary["deadlines"][0]["status"] == "due_soon"  # day 3 after learning
    html = (out / "ppc_final.ja.html").read_text(encoding="utf-8")
    for text in ("本人の数", "302,980", "86,211", "130,315", "22,239", "再発防止のための措置"):
        assert text in html
    page = (out / "progress" / "progress.ja.html").read_text(encoding="utf-8")
    assert "多要素認証の導入" in page and "302,980" not in page  # measures, and no personal data


def test_affected_from_the_demo_case(tmp_path):
    store, _ = build_demo_store(tmp_path / "store")
    detect(store, demo_model())
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    result = runner.invoke(
        app, ["case", "open", "--store", str(store.root), "--db", db, "--source", "boundary", "--json"]
    )
    case_id = json.loads(result.stdout)[0]["id"]
    runner.invoke(
        app, ["case", "scope", case_id, "--store", str(store.root), "-m", str(demo_model_path()), "--db", db]
    )
    result = runner.invoke(
        app,
        [
            "report",
            "affected",
            case_id,
            "--store",
            str(store.root),
            "-m",
            str(demo_model_path()),
            "--db",
            db,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    count = json.loads(result.stdout)
    assert set(count) >= {"confirmed", "possible", "total_confirmed", "total_possible"}
    # the demo's logs show 5145 share accesses with ReadData (%%4416) on \\*\IPC$\samr, the pipe the model
    # names for the employee directory (group.yaml), by EXAMPLE\admin01 and EXAMPLE\user01 on
    # 2019-01-20, the accounts the boundary case scopes: the parent's 130,315 employees are confirmed read
    assert count["confirmed"] == {"employee": 130_315} and count["total_confirmed"] == 130_315
    # no other store of personal data was reached: nothing stays merely possible
    assert count["total_possible"] == 0 and not any(count["possible"].values())


def test_errors(tmp_path):
    result = runner.invoke(app, ["report", "build", "-f", str(tmp_path / "none.yaml"), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "none.yaml" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("case_id: X\ntitle: T\nlearned_at: yesterday\n")
    result = runner.invoke(app, ["report", "build", "-f", str(bad), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "learned_at" in result.output
    result = runner.invoke(
        app, ["report", "build", "-f", str(seed_facts_path()), "-o", str(tmp_path), "--kind", "nope"]
    )
    assert result.exit_code == 2 and "unknown report kind" in result.output


def test_measures_and_the_progress_page(tmp_path):
    book = tmp_path / "case" / "measures.yaml"
    result = runner.invoke(
        app,
        [
            "report",
            "measure",
            "add",
            "--file",
            str(book),
            "--case",
            "CASE-1",
            "--id",
            "M1",
            "--what",
            "認証基盤の分離",
            "--owner",
            "CISO室",
            "--due",
            "2024-03-31",
            "--what-en",
            "Separate the authentication platform",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "report",
            "measure",
            "status",
            "--file",
            str(book),
            "--id",
            "M1",
            "--status",
            "in_progress",
            "--percent",
            "40",
        ],
    )
    assert result.exit_code == 0 and "40 %" in result.output
    result = runner.invoke(
        app, ["report", "measure", "status", "--file", str(book), "--id", "M9", "--status", "done"]
    )
    assert result.exit_code == 2 and "M9" in result.output
    result = runner.invoke(
        app, ["report", "measure", "evidence", "--file", str(book), "--id", "M1", "design document v1"]
    )
    assert result.exit_code == 0
    result = runner.invoke(
        app,
        [
            "report",
            "progress",
            "--file",
            str(book),
            "--title",
            "不正アクセス事案",
            "-o",
            str(tmp_path / "pub"),
        ],
    )
    assert result.exit_code == 0, result.output
    ja = (tmp_path / "pub" / "progress.ja.html").read_text(encoding="utf-8")
    en = (tmp_path / "pub" / "progress.en.html").read_text(encoding="utf-8")
    assert "認証基盤の分離" in ja and "40" in ja and "Separate the authentication platform" in en


def test_build_from_a_case_lists_what_is_missing(tmp_path):
    store, _ = build_demo_store(tmp_path / "store")
    detect(store, demo_model())
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    result = runner.invoke(
        app, ["case", "open", "--store", str(store.root), "--db", db, "--source", "boundary", "--json"]
    )
    case_id = json.loads(result.stdout)[0]["id"]
    runner.invoke(
        app, ["case", "scope", case_id, "--store", str(store.root), "-m", str(demo_model_path()), "--db", db]
    )
    out = tmp_path / "reports"
    result = runner.invoke(
        app,
        [
            "report",
            "build",
            "--case",
            case_id,
            "--db",
            db,
            "--store",
            str(store.root),
            "-m",
            str(demo_model_path()),
            "-o",
            str(out),
            "--kind",
            "ppc_preliminary",
            "--lang",
            "ja",
            "--no-pdf",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    # the case knows its id, title and milestones, not when the company learned of the leak, nor the cause
    assert report["missing"] and report["deadlines"][0]["status"] == "unknown"
    html = (out / "ppc_preliminary.ja.html").read_text(encoding="utf-8")
    assert case_id in html and "未記入" in html
