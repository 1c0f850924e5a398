"""Recurrence-prevention measures: the per-case YAML file, and the public progress pages."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from pydantic import ValidationError

from sekimori.report.facts import Measure
from sekimori.report.measures import JST, MeasureBook
from sekimori.report.progress import build_progress_page

T0 = datetime(2024, 7, 1, 9, 0, tzinfo=JST)


def _book() -> MeasureBook:
    book = MeasureBook(case_id="CASE-2024-001")
    book.add(
        "M1",
        "委託先アカウントの多要素認証を必須化",
        "情報システム部",
        date(2024, 9, 30),
        what_en="Require MFA for contractor accounts",
        owner_role_en="IT Department",
        owner_name="山田 太郎",
        at=T0,
    )
    book.add(
        "M2",
        "グループ共通ドメインの分離 <script>alert(1)</script>",
        "CISO室",
        date(2024, 8, 31),
        owner_name="佐藤 花子",
        owner_private=False,
        at=T0,
    )
    book.add(
        "M3", "委託先監査の年次化", "監査部", date(2024, 7, 31), what_en="Annual audits & reviews", at=T0
    )
    return book


def test_measures_round_trip_with_timestamped_changes(tmp_path):
    book = _book()
    t1, t2, t3 = T0 + timedelta(days=3), T0 + timedelta(days=10), T0 + timedelta(days=20)
    book.update_status("M1", "in_progress", percent=40, note="pilot on two subsidiaries", at=t1)
    book.add_evidence("M1", "設定変更記録 CHG-1234", at=t2)
    book.update_status("M3", "done", at=t3)
    path = book.save(tmp_path / "case")  # a case directory: measures.yaml in it
    assert path.name == "measures.yaml"
    assert not list(path.parent.glob(".measures-*"))  # the temporary file is gone

    loaded = MeasureBook.load(tmp_path / "case", case_id="CASE-2024-001")
    assert loaded == book
    m1 = loaded.get("M1")
    assert (m1.status, m1.percent, m1.updated) == ("in_progress", 40, t2)
    assert [(c.field, c.old, c.new, c.at) for c in m1.history] == [
        ("created", None, "M1", T0),
        ("percent", 0, 40, t1),
        ("status", "planned", "in_progress", t1),
        ("evidence", None, "設定変更記録 CHG-1234", t2),
    ]
    m3 = loaded.get("M3")
    assert (m3.status, m3.percent, m3.updated) == ("done", 100, t3)  # done is 100 %
    facts = loaded.facts()
    assert isinstance(facts[0], Measure) and facts[0].owner == "情報システム部"
    assert facts[0].evidence == "設定変更記録 CHG-1234" and facts[0].due.date() == date(2024, 9, 30)

    # a change without a time takes the current one (aware)
    before = datetime.now(JST)
    assert loaded.update_status("M2", "in_progress").updated >= before


def test_measures_are_validated(tmp_path):
    book = _book()
    with pytest.raises(ValueError, match="already exists"):
        book.add("M1", "x", "y", date(2024, 1, 1))
    with pytest.raises(KeyError):
        book.update_status("M9", "done")
    with pytest.raises(ValidationError):
        book.set_progress("M1", 120)
    assert book.get("M1").percent == 0  # the refused change left nothing behind
    with pytest.raises(ValidationError):
        book.add("M4", "x", "y", date(2024, 1, 1), at=datetime(2024, 1, 1))  # naive time
    (tmp_path / "measures.yaml").write_text(
        "version: 1\ncase_id: C\nmeasures:\n- {id: A, what: x, owner_role: y, due: 2024-01-01, status: done, "
        "percent: 50, created: 2024-01-01T00:00:00Z, updated: 2024-01-01T00:00:00Z}\n"
    )
    with pytest.raises(ValidationError, match="100 % done"):
        MeasureBook.load(tmp_path / "measures.yaml")
    with pytest.raises(FileNotFoundError):
        MeasureBook.load(tmp_path / "nothing")
    assert MeasureBook.load(tmp_path / "nothing", case_id="C2").measures == []


def test_progress_pages_in_japanese_and_english(tmp_path):
    book = _book()
    book.update_status("M1", "in_progress", percent=40, at=T0 + timedelta(days=3))
    book.add_evidence("M1", "internal ticket CHG-1234", at=T0 + timedelta(days=4))
    book.update_status("M3", "done", at=T0 + timedelta(days=5))
    as_of = datetime(2024, 9, 1, 12, 0, tzinfo=JST)  # M2 (due 8/31) is overdue; M3 (due 7/31) is done
    first = build_progress_page(book, "不正アクセスに関するお知らせ", tmp_path / "site", as_of=as_of,
                                title_en="Notice of unauthorized access")  # fmt: skip
    ja = (tmp_path / "site" / "progress.ja.html").read_text()
    en = (tmp_path / "site" / "progress.en.html").read_text()
    assert first == tmp_path / "site" / "progress.ja.html"
    assert (tmp_path / "site" / "progress.css").exists()
    assert '<html lang="ja">' in ja and '<html lang="en">' in en
    assert 'href="progress.en.html"' in ja and 'href="progress.ja.html"' in en
    assert "再発防止策の実施状況" in ja and "Progress of recurrence-prevention measures" in en
    assert "Notice of unauthorized access" in en and "不正アクセスに関するお知らせ" in ja
    assert "実施中" in ja and "In progress" in en and "完了" in ja and "Done" in en
    assert "Require MFA for contractor accounts" in en and "IT Department" in en
    assert "Annual audits &amp; reviews" in en
    # no English text: the Japanese, marked as such
    assert re.search(r'<span lang="ja">グループ共通ドメインの分離', en) and "(in Japanese only)" in en
    # escaped, and no script at all
    for html in (ja, en):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script" not in html
    # overdue: the row and a label in words; done past due is not overdue
    for html, label in ((ja, "期限超過"), (en, "Overdue")):
        rows = {
            m.group(1): m.group(0)
            for m in re.finditer(r"<tr class=[^>]*>\s*<td>(M\d)</td>.*?</tr>", html, re.S)
        }
        assert "overdue" in rows["M2"] and label in rows["M2"]
        assert "overdue" not in rows["M1"] and "overdue" not in rows["M3"]
        assert 'value="40"' in rows["M1"] and "40%" in rows["M1"]
        assert "2024-07-04" in rows["M1"] or "2024-07-05" in rows["M1"]  # last update (JST day)
    assert "全3件中 完了1件、期限超過1件" in ja and "1 of 3 done, 1 overdue" in en
    # the private owner's name never appears; the one who agreed to be named does
    for html in (ja, en):
        assert "山田" not in html and "情報システム部" in ja
        assert "CISO室 (佐藤 花子)" in html
        assert "CHG-1234" not in html  # evidence stays internal


def test_progress_page_from_report_measures_and_one_language(tmp_path):
    due = datetime(2024, 6, 30, 23, 59, tzinfo=JST)
    measures = [
        Measure(
            id="R1",
            what="パスワードの一斉変更",
            owner="情報システム部",
            due=due,
            status="done",
            what_en="Reset",
        ),
        Measure(id="R2", what="ログ保管期間の延長", owner="CISO室", due=due, status="in_progress"),
    ]
    path = build_progress_page(
        measures, "件名", tmp_path, lang=("en",), as_of=datetime(2024, 7, 2, tzinfo=JST)
    )
    html = path.read_text()
    assert path.name == "progress.en.html" and not (tmp_path / "progress.ja.html").exists()
    assert 'value="100"' in html and "Overdue" in html  # R2: past due, unfinished
    assert "hreflang" not in html  # one language: no switch
    with pytest.raises(ValueError, match="languages"):
        build_progress_page(measures, "件名", tmp_path, lang=("fr",))


def test_progress_page_as_of_an_earlier_day_shows_the_state_of_that_day(tmp_path):
    book = _book()
    book.update_status("M1", "in_progress", percent=40, at=T0 + timedelta(days=3))
    book.update_status("M3", "done", at=T0 + timedelta(days=5))
    book.add("M9", "後から追加した対策", "監査部", date(2024, 12, 31), at=T0 + timedelta(days=30))
    as_of = T0 + timedelta(days=4)  # M1 in progress at 40 %, M3 not done yet, M9 not there
    build_progress_page(book, "件名", tmp_path, lang=("ja",), as_of=as_of)
    ja = (tmp_path / "progress.ja.html").read_text()
    rows = {
        m.group(1): m.group(0) for m in re.finditer(r"<tr class=[^>]*>\s*<td>(M\d)</td>.*?</tr>", ja, re.S)
    }
    assert sorted(rows) == ["M1", "M2", "M3"]
    assert 'value="40"' in rows["M1"] and "実施中" in rows["M1"]
    assert "完了" not in rows["M3"] and "未着手" in rows["M3"]
    for row in rows.values():  # the last column: the last update, none after the page's day
        last_update = re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})">', row)[-1]
        assert last_update <= as_of.date().isoformat()
