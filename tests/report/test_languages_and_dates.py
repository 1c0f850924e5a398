"""Two defects a reader saw in the seed case's reports, checked on the rendered HTML:

* an English report carried the Japanese overview and cause, a Japanese one English data items, timeline
  entries and owners: now each language shows only its own text, and a missing translation is listed;
* the 速報 dated 2023-10-30 stated the publication of 2023-11-27 and MFA "完了" (set in 2024), and the
  progress page "as of 2023-10-30" showed "last update 2024-03-31": now a report as of a date shows only
  what was known by then.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime
from pathlib import Path

import pytest

import sekimori
from sekimori.report.deadlines import JST
from sekimori.report.facts import IncidentFacts, Text, load_facts
from sekimori.report.kind import build, report_kinds
from sekimori.report.kinds.notices import category_notices
from sekimori.report.produce import produce_reports
from sekimori.report.render import render_html

SEED = Path(sekimori.__file__).parent / "demo" / "data" / "seed-case.yaml"
AS_OF = datetime(2023, 10, 30, 9, 0, tzinfo=JST)  # the demo's date: three days after learning
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def seed(**changes: object) -> IncidentFacts:
    facts = load_facts(SEED)
    for name, value in changes.items():
        setattr(facts, name, value)
    return facts


def field_values(page: str) -> list[str]:
    """The text of every field's value in a rendered report (the free text of the facts lives there)."""
    (table,) = re.findall(r'<table class="fields">(.*?)</table>', page, re.S)
    return [
        html_lib.unescape(re.sub(r"<[^>]+>", "", v)) for v in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)
    ]


def every_document(facts: IncidentFacts, lang: str, now: datetime) -> list[str]:
    pages = [render_html(build(name, facts, lang, now)) for name in report_kinds()]
    return pages + [render_html(doc) for doc in category_notices(facts, lang, now)]


@pytest.mark.parametrize("now", [AS_OF, datetime(2024, 5, 1, tzinfo=JST)])
def test_english_reports_have_no_japanese_in_their_fields(now: datetime) -> None:
    facts = seed(eu_residents=True, sec_registrant=True, materiality_at=AS_OF)
    for page in every_document(facts, "en", now):
        for value in field_values(page):
            assert not JAPANESE.search(value), value


def test_japanese_reports_show_the_japanese_text_where_there_is_one() -> None:
    facts = seed()
    final = render_html(build("ppc_final", facts, "ja", datetime(2024, 5, 1, tzinfo=JST)))
    values = "\n".join(field_values(final))
    # the seed's English texts whose Japanese is given: items, timeline entries, measures, owners
    for english in (
        "country",
        "employee number",
        "unauthorized access began",
        "forced re-login of all employees",
        "Multi-factor authentication for all employees",
        "CISO office",
        "Procurement and legal",
    ):
        assert english not in values
    for japanese in ("国、性別、年代", "社員番号", "不正アクセス開始", "多要素認証の導入", "担当: CISO室"):
        assert japanese in values
    # a name is the same in both languages
    assert "Parent Corp" in final
    for page in every_document(facts, "ja", datetime(2024, 5, 1, tzinfo=JST)):
        for english in ("unauthorized access began", "call type and time", "IT infrastructure"):
            assert english not in "\n".join(field_values(page))


def test_a_missing_translation_is_listed_as_missing_not_filled() -> None:
    facts = seed(cause=Text(ja="委託先PCのマルウェア感染"), contact=Text(en="Inquiry desk"))
    en = build("ppc_final", facts, "en", datetime(2024, 5, 1, tzinfo=JST))
    assert en.fields["Cause"] == "[missing: English translation]" and "Cause" in en.missing
    ja = build("ppc_final", facts, "ja", datetime(2024, 5, 1, tzinfo=JST))
    assert "原因" not in ja.missing and ja.fields["原因"] == "委託先PCのマルウェア感染"
    response = ja.fields["本人への対応の実施状況"]
    assert "問合せ窓口: 【未記入: 日本語訳】" in response and "Inquiry desk" not in response
    assert "本人への対応の実施状況" in ja.missing
    # a preliminary report says "under investigation" for what is unknown, never for what is untranslated
    pre = build("ppc_preliminary", facts, "en", AS_OF)
    assert pre.fields["Cause"] == "[missing: English translation]"


def test_a_report_as_of_a_date_has_no_entry_after_it() -> None:
    facts = seed()
    for lang in ("ja", "en"):
        document = build("ppc_preliminary", facts, lang, AS_OF)
        values = "\n".join(document.fields.values())
        # the timeline up to 10-28, not the announcement of 11-27
        assert "2023-11-27" not in values and "2023年11月27日" not in values
        stamps = re.findall(r"(\d{4})年(\d{1,2})月(\d{1,2})日|(\d{4})-(\d{2})-(\d{2}) \d{2}:\d{2}", values)
        days = [tuple(int(x) for x in (s[:3] if s[0] else s[3:])) for s in stamps]
        assert days and max(days) == (2023, 10, 28)
        # the statuses were set in 2024: not known on 2023-10-30
        prevention = document.fields[
            "再発防止のための措置" if lang == "ja" else "Measures to prevent recurrence"
        ]
        assert (
            ("完了" not in prevention and "未確認" in prevention)
            if lang == "ja"
            else ("done" not in prevention and "not recorded" in prevention)
        )
    publication = build("ppc_preliminary", facts, "ja", AS_OF)
    assert "公表の実施状況" in publication.missing
    later = build("ppc_final", facts, "ja", datetime(2024, 5, 1, tzinfo=JST))
    assert later.fields["公表の実施状況"] == "2023-11-27 に当社ウェブサイトで公表。"
    assert "状況: 完了" in later.fields["再発防止のための措置"]


def test_the_progress_page_as_of_a_date_shows_no_later_update(tmp_path: Path) -> None:
    produce_reports(seed(), tmp_path, kinds=[], now=AS_OF, pdf=False)
    ja = (tmp_path / "progress" / "progress.ja.html").read_text(encoding="utf-8")
    en = (tmp_path / "progress" / "progress.en.html").read_text(encoding="utf-8")
    assert '<time datetime="2023-10-30T09:00:00+09:00">2023-10-30</time>' in ja
    for page in (ja, en):
        assert "2024-04-01" not in page and "2024-03-31T" not in page
        dates = re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})', page)
        assert dates and all(
            d <= "2023-10-30" or d in ("2024-01-31", "2024-03-31", "2024-06-30") for d in dates
        )
    assert "未確認" in ja and "完了" not in ja.split("<main>")[1]
    assert "Not recorded" in en and "Done" not in en.split("<main>")[1]
    assert "Unauthorized access through a contractor&#39;s PC" in en
