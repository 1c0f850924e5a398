"""The report builders: when each report is due, the seed case's figures, the nine items, nothing invented."""

from __future__ import annotations

from datetime import datetime

import pytest

from sekimori.report import appi_items, kind
from sekimori.report.deadlines import ET, JST
from sekimori.report.facts import AffectedCount, IncidentFacts, Measure, Text
from sekimori.report.kinds import notices

APPI_ITEMS_JA = [
    "概要",
    "漏えい等が発生し、又は発生したおそれがある個人データの項目",
    "漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数",
    "原因",
    "二次被害又はそのおそれの有無及びその内容",
    "本人への対応の実施状況",
    "公表の実施状況",
    "再発防止のための措置",
    "その他参考となる事項",
]


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=JST)


def seed_facts(**changes: object) -> IncidentFacts:
    """The seed case (LINE Yahoo, 2023) as the reference gives it."""
    facts = IncidentFacts(
        case_id="CASE-2023-001",
        title="委託先経由の不正アクセス",
        company="LINEヤフー株式会社",
        learned_at=jst(2023, 10, 27, 18, 0),
        detected=jst(2023, 10, 17, 9, 0),
        first_activity=jst(2023, 9, 14, 0, 0),
        summary="委託先従業員のPCがマルウェアに感染し、共通の認証基盤を経由して社内システムに不正アクセスされた。",
        cause="委託先と共通の従業員認証基盤及びネットワークアクセスの許可",
        unauthorized_purpose=True,
        financial_damage_risk=False,
        telecom_carrier=True,
        affected=AffectedCount(
            confirmed={"user": 302_980, "business_partner": 86_211, "employee": 130_315},
            secrecy_of_communications={"user": 22_239},
            items={
                "user": ["国", "性別", "年代", "通話回数", "購入履歴", "社内ID"],
                "business_partner": ["メールアドレス", "氏名", "所属"],
                "employee": ["氏名", "社員番号", "メールアドレス", "所属部署"],
                "secrecy_of_communications": ["送受信者の社内ID", "メッセージ種別", "通話種別・時刻"],
            },
            item_names={
                "氏名": Text("氏名", "name"),
                "社員番号": Text("社員番号", "employee number"),
                "メールアドレス": Text("メールアドレス", "email address"),
                "所属部署": Text("所属部署", "department"),
            },
        ),
        measures=[
            Measure(
                "M1",
                "多要素認証の導入",
                "情報セキュリティ部",
                jst(2024, 3, 31),
                status="in_progress",
                what_en="Multi-factor authentication",
            )
        ],
    )
    for name, value in changes.items():
        setattr(facts, name, value)
    return facts


def small_facts(people: int, **flags: object) -> IncidentFacts:
    facts = IncidentFacts(
        case_id="C",
        title="t",
        unauthorized_purpose=False,
        financial_damage_risk=False,
        affected=AffectedCount(confirmed={"user": people}),
    )
    for name, value in flags.items():
        setattr(facts, name, value)
    return facts


# --- when the APPI report is mandatory ---


def test_999_people_without_flags_are_not_reportable() -> None:
    mandatory, reasons = appi_items.appi_assessment(small_facts(999))
    assert mandatory is False
    assert "規則7条各号のいずれにも該当しない" in reasons[0]
    assert kind.applicable(small_facts(999)) == []


def test_1000_people_are_not_more_than_1000() -> None:
    assert appi_items.appi_assessment(small_facts(1000))[0] is False


def test_1001_people_are_reportable() -> None:
    mandatory, reasons = appi_items.appi_assessment(small_facts(1001))
    assert mandatory is True
    assert any("1,001人" in r and "規則7条4号" in r for r in reasons)
    assert kind.applicable(small_facts(1001)) == ["ppc_preliminary", "ppc_final", "individual_notice"]


def test_possible_leaks_count_toward_the_threshold() -> None:
    facts = small_facts(600)
    facts.affected.possible = {"user": 401}
    assert appi_items.appi_assessment(facts)[0] is True


def test_one_person_with_sensitive_data_is_reportable() -> None:
    facts = small_facts(1)
    facts.affected.sensitive = {"user": 1}
    mandatory, reasons = appi_items.appi_assessment(facts, "en")
    assert mandatory is True and "Rule 7 no. 1" in reasons[0]


def test_unauthorized_purpose_and_financial_damage_are_reportable_for_one_person() -> None:
    assert appi_items.appi_assessment(small_facts(1, unauthorized_purpose=True))[0] is True
    assert appi_items.appi_assessment(small_facts(1, financial_damage_risk=True))[0] is True


def test_unknown_flags_leave_the_duty_undecided() -> None:
    mandatory, reasons = appi_items.appi_assessment(small_facts(10, unauthorized_purpose=None))
    assert mandatory is None
    assert any("未判断" in r for r in reasons)
    assert appi_items.appi_assessment(IncidentFacts(case_id="C", title="t"))[0] is None


def test_strong_encryption_exempts() -> None:
    facts = small_facts(5000, strongly_encrypted=True)
    assert appi_items.appi_assessment(facts)[0] is False


# --- the seed case ---


def test_seed_case_applicable_reports() -> None:
    assert kind.applicable(seed_facts()) == [
        "ppc_preliminary",
        "ppc_final",
        "individual_notice",
        "mic_first",
        "mic_detailed",
    ]


def test_seed_case_ppc_deadlines() -> None:
    now = jst(2023, 10, 30, 12, 0)
    pre = kind.build("ppc_preliminary", seed_facts(), "ja", now)
    (d,) = pre.deadlines
    assert d.clock_start == jst(2023, 10, 27, 18, 0)
    assert d.due == jst(2023, 11, 1, 23, 59, 59)
    assert d.status(now) == "due_soon"
    final = kind.build("ppc_final", seed_facts(), "ja", now)
    (f,) = final.deadlines
    assert f.due == jst(2023, 12, 26, 23, 59, 59)  # 60 days: unauthorized purpose
    assert "60日" in f.basis
    assert f.status(now) == "ok"
    assert final.to_dict()["deadlines"][0]["status"] == "ok"


def test_seed_case_mic_reports() -> None:
    now = jst(2023, 11, 2)
    first = kind.build("mic_first", seed_facts(), "ja", now)
    assert first.mandatory is True
    assert first.deadlines[0].status(now) == "overdue"
    people = first.fields["漏えい等した情報に係る本人の数"]
    assert "22,239人" in people
    assert "送受信者の社内ID" in first.fields["漏えい等をした情報の内容"]
    assert "登録又は届出番号" in first.missing  # not in the facts: never invented
    detailed = kind.build("mic_detailed", seed_facts(), "ja", now)
    assert detailed.deadlines[0].due == jst(2023, 11, 27, 23, 59, 59)
    assert "様式第50の2" in " ".join(detailed.notes)


def test_seed_case_final_report_has_all_nine_items_with_the_figures() -> None:
    doc = kind.build("ppc_final", seed_facts(), "ja", jst(2023, 11, 10))
    labels = list(doc.fields)
    positions = [labels.index(item) for item in APPI_ITEMS_JA]
    assert positions == sorted(positions)  # in the rule's order
    people = doc.fields["漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数"]
    for figure in ("519,506人", "302,980人", "22,239人", "86,211人", "130,315人"):
        assert figure in people
    assert doc.mandatory is True
    assert any("規則7条3号" in r for r in doc.reasons) and any("規則7条4号" in r for r in doc.reasons)
    assert "多要素認証の導入" in doc.fields["再発防止のための措置"]


def test_missing_fields_are_listed_and_marked_not_invented() -> None:
    doc = kind.build("ppc_final", seed_facts(), "ja", jst(2023, 11, 10))
    for label in (
        "二次被害又はそのおそれの有無及びその内容",
        "本人への対応の実施状況",
        "公表の実施状況",
        "その他参考となる事項",
    ):
        assert label in doc.missing
        assert doc.fields[label] == f"【未記入: {label}】"
    assert "原因" not in doc.missing and "概要" not in doc.missing
    en = kind.build("ppc_final", seed_facts(), "en", jst(2023, 11, 10))
    assert en.fields["Public announcement"] == "[missing: Public announcement]"
    assert "Public announcement" in en.missing


def test_preliminary_report_leaves_unknown_items_under_investigation() -> None:
    doc = kind.build("ppc_preliminary", seed_facts(cause=None), "ja", jst(2023, 10, 28))
    assert doc.fields["原因"].startswith("調査中")
    assert "原因" in doc.missing
    assert set(APPI_ITEMS_JA) <= set(doc.fields)
    assert any("把握している事項に限る" in n for n in doc.notes)


def test_missing_learned_at_makes_the_deadline_unknown() -> None:
    doc = kind.build("ppc_final", seed_facts(learned_at=None), "en", jst(2023, 11, 10))
    assert doc.deadlines[0].status(doc.as_of) == "unknown"
    assert "When the business learned of it" in doc.missing


def test_submitted_reports_are_done() -> None:
    facts = seed_facts(submitted={"ppc_preliminary": jst(2023, 10, 30, 10, 0)})
    doc = kind.build("ppc_preliminary", facts, "ja", jst(2023, 11, 5))
    assert doc.deadlines[0].status(doc.as_of) == "done"


# --- the other kinds ---


def test_every_kind_builds_in_both_languages() -> None:
    facts = seed_facts(
        eu_residents=True, sec_registrant=True, materiality_at=datetime(2023, 11, 1, 9, tzinfo=ET)
    )
    for name in kind.report_kinds():
        for lang in ("ja", "en"):
            doc = kind.build(name, facts, lang, jst(2023, 11, 1))
            assert doc.kind == name and doc.lang == lang and doc.title and doc.fields
            assert set(doc.missing) <= set(doc.fields) | {"氏名", "name"}
            assert doc.to_dict()["fields"][0]["label"] == next(iter(doc.fields))


def test_english_labels_are_english() -> None:
    doc = kind.build("ppc_final", seed_facts(), "en", jst(2023, 11, 1))
    assert "Number of people whose personal data is affected" in doc.fields
    assert "Total 519,506 people" in doc.fields["Number of people whose personal data is affected"]
    assert doc.addressee.startswith("Personal Information Protection Commission")


def test_entrusted_notice() -> None:
    facts = seed_facts(entrusting_company="委託元株式会社", telecom_carrier=False)
    assert kind.applicable(facts) == ["entrusted_notice"]
    doc = kind.build("entrusted_notice", facts, "ja", jst(2023, 10, 28))
    assert doc.addressee == "委託元株式会社"
    assert doc.fields["委託元"] == "委託元株式会社"
    assert set(APPI_ITEMS_JA) <= set(doc.fields)
    assert "26条1項ただし書" in doc.notes[0]


def test_gdpr_counts_eea_residents_and_asks_for_delay_reasons_when_late() -> None:
    facts = seed_facts(eu_residents=True)
    facts.affected.countries = {"JP": 500_000, "DE": 120, "FR": 30, "US": 10}
    assert "gdpr_art33" in kind.applicable(facts)
    on_time = kind.build("gdpr_art33", facts, "en", jst(2023, 10, 28))
    assert (
        "About 150 people resident in the EEA"
        in on_time.fields["Categories and approximate number of data subjects"]
    )
    assert on_time.deadlines[0].due == jst(2023, 10, 30, 18, 0)
    assert "Reasons for the delay" not in on_time.fields
    late = kind.build("gdpr_art33", facts, "en", jst(2023, 11, 1))
    assert "Reasons for the delay" in late.missing


def test_gdpr_art34_needs_the_high_risk_judgment() -> None:
    doc = kind.build("gdpr_art34", seed_facts(eu_residents=True), "en", jst(2023, 11, 1))
    assert doc.mandatory is None
    assert "gdpr_art34" in kind.applicable(seed_facts(eu_residents=True, high_risk=True))


def test_sec_8k_due_four_business_days_after_materiality() -> None:
    facts = seed_facts(sec_registrant=True, materiality_at=datetime(2023, 11, 22, 11, 0, tzinfo=ET))
    assert "sec_8k_105" in kind.applicable(facts)
    doc = kind.build("sec_8k_105", facts, "en", jst(2023, 11, 23))
    # Wed 11/22 → Fri 11/24 (Thanksgiving skipped), Mon 27, Tue 28, Wed 29.
    assert doc.deadlines[0].due == datetime(2023, 11, 29, 17, 30, tzinfo=ET)
    assert "Material impact or reasonably likely material impact" in doc.missing
    undecided = kind.build("sec_8k_105", seed_facts(sec_registrant=True), "en", jst(2023, 11, 23))
    assert undecided.mandatory is None and undecided.deadlines[0].status(undecided.as_of) == "unknown"


def test_individual_notices_mail_merge_uses_each_persons_items() -> None:
    people: list[dict[str, object]] = [
        {"name": "山田太郎", "category": "user", "email": "taro@example.jp"},
        {"name": "Jane Doe", "items": ["email address"], "email": "jane@example.com"},
        {"category": "employee"},
    ]
    docs = list(
        notices.individual_notices(seed_facts(contact="0120-000-000"), people, "ja", jst(2023, 11, 27))
    )
    assert [d.recipient for d in docs] == ["山田太郎 様", "Jane Doe 様", "【未記入: 氏名】"]
    item_label = "漏えい等が発生し、又は発生したおそれがある個人データの項目"
    assert docs[0].fields[item_label] == "国、性別、年代、通話回数、購入履歴、社内ID"
    assert docs[1].fields[item_label] == "email address"
    assert docs[2].fields[item_label] == "氏名、社員番号、メールアドレス、所属部署"
    assert docs[0].meta["email"] == "taro@example.jp"
    assert "氏名" in docs[2].missing
    assert list(docs[0].fields)[:5] == [
        "概要",
        item_label,
        "原因",
        "二次被害又はそのおそれの有無及びその内容",
        "その他参考となる事項",
    ]
    assert docs[0].fields["お問合せ窓口"] == "0120-000-000"


def test_category_notices() -> None:
    docs = notices.category_notices(seed_facts(), "en", jst(2023, 11, 27))
    assert [d.recipient for d in docs] == ["To our users", "To our business partners", "To our employees"]
    assert "employee number" not in docs[0].fields["Your personal data concerned"]
    # the items in English (the Japanese names are never shown in an English notice)
    assert "employee number" in docs[2].fields["Your personal data concerned"]
    assert "社員番号" not in docs[2].fields["Your personal data concerned"]


def test_public_notice_when_individual_notice_is_difficult() -> None:
    facts = seed_facts(individual_notice_difficult=True)
    assert "public_notice" in kind.applicable(facts)
    doc = kind.build("public_notice", facts, "ja", jst(2023, 11, 27))
    assert doc.mandatory is True
    assert "お問合せ窓口" in doc.missing


def test_unknown_kind_and_language() -> None:
    with pytest.raises(KeyError, match="unknown report kind"):
        kind.build("nope", seed_facts())
    with pytest.raises(ValueError, match="expected 'ja' or 'en'"):
        kind.build("ppc_final", seed_facts(), "fr")
