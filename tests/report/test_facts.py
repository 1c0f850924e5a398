"""The typed facts: texts in Japanese and English, dated facts filtered by a report's date, the file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from sekimori.report.deadlines import JST
from sekimori.report.facts import IncidentFacts, Measure, Text, TimelineEntry, load_facts


def jst(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=JST)


def test_a_string_in_japanese_script_is_japanese_only_any_other_is_both() -> None:
    assert Text.of("委託先のPC") == Text(ja="委託先のPC")
    assert Text.of("0120-000-000") == Text("0120-000-000", "0120-000-000")
    assert Text.of({"ja": "原因", "en": "cause"}) == Text("原因", "cause")
    assert Text.of({"en": "cause"}) == Text(None, "cause")
    assert Text.written("unauthorized access began") == Text(en="unauthorized access began")
    assert not Text(" ", "") and Text(" ", "x") == Text(None, "x")  # blank is no text
    with pytest.raises(ValueError, match="ja and en"):
        Text.of({"fr": "cause"})


def test_free_texts_become_texts_and_former_extra_keys_become_fields() -> None:
    facts = IncidentFacts(
        case_id="C",
        title="件名",  # type: ignore[arg-type]  # a plain string, as callers and files give it
        summary="概要です",  # type: ignore[arg-type]
        timeline=[{"time": jst(2023, 10, 1), "text_ja": "検知", "text_en": "detected"}],  # type: ignore[list-item]
        extra={"high_risk": True, "dpo": "dpo@example.com", "detected_source": "first alert"},
    )
    assert facts.title == Text(ja="件名") and facts.summary == Text(ja="概要です")
    assert facts.timeline == [TimelineEntry(jst(2023, 10, 1), Text("検知", "detected"))]
    assert facts.high_risk is True and facts.dpo == Text("dpo@example.com", "dpo@example.com")
    assert facts.extra == {"detected_source": "first alert"}  # only where facts came from stays


def test_facts_as_of_a_date_drop_what_came_later() -> None:
    facts = IncidentFacts(
        case_id="C",
        title=Text("件名", "title"),
        publication=Text("公表した", "announced"),
        published_at=jst(2023, 11, 27),
        timeline=[
            TimelineEntry(jst(2023, 10, 17), Text("検知", "detected")),
            TimelineEntry(jst(2023, 11, 27), Text("公表", "announced")),
            TimelineEntry(None, Text("日付不明", "undated")),
        ],
        measures=[
            Measure("M1", "多要素認証", "IT", jst(2024, 1, 31), status="done", updated=jst(2024, 2, 1)),
            Measure("M2", "分離", "IT", jst(2024, 3, 31), status="in_progress"),  # status undated
            Measure("M3", "監査", "IT", jst(2024, 6, 30), decided=jst(2023, 12, 1)),
        ],
        submitted={"ppc_preliminary": jst(2023, 10, 29), "ppc_final": jst(2023, 12, 20)},
    )
    then = facts.as_of(jst(2023, 10, 30))
    assert [e.text.en for e in then.timeline] == ["detected", "undated"]
    assert then.publication is None and then.published_at is None
    assert [(m.id, m.status, m.updated) for m in then.measures] == [
        ("M1", "unknown", None),  # set on 2024-02-01: not known on 2023-10-30
        ("M2", "in_progress", None),  # undated: nothing says it came later
    ]  # M3 was decided on 2023-12-01
    assert then.submitted == {"ppc_preliminary": jst(2023, 10, 29)}
    later = facts.as_of(jst(2024, 3, 1))
    assert later.publication == Text("公表した", "announced") and len(later.timeline) == 3
    assert [m.status for m in later.measures] == ["done", "in_progress", "planned"]
    assert facts.as_of(jst(2023, 10, 30)) is not facts and len(facts.timeline) == 3  # a copy


def test_the_file_gives_texts_in_both_languages_and_names_a_bad_one(tmp_path: Path) -> None:
    good = tmp_path / "facts.yaml"
    good.write_text(
        "case_id: X\ntitle: {ja: 件名, en: Title}\ncause: 原因\n"
        "timeline:\n- {time: 2023-10-17T09:00:00+09:00, text: {ja: 検知, en: detected}}\n"
        "affected:\n  items: {user: [name]}\n  item_names: {name: {ja: 氏名, en: name}}\n",
        encoding="utf-8",
    )
    facts = load_facts(good)
    assert facts.title == Text("件名", "Title") and facts.cause == Text(ja="原因")
    assert facts.timeline[0].text == Text("検知", "detected")
    assert facts.affected.item_text("name") == Text("氏名", "name")
    assert facts.affected.item_text("email") == Text("email", "email")  # no translation given: as named
    bad = tmp_path / "bad.yaml"
    bad.write_text("case_id: X\ntitle: T\nsummary: {ja: 概要, de: Zusammenfassung}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yaml: summary: a text has keys ja and en"):
        load_facts(bad)
