"""Deadlines on the real Japanese and US calendars: Golden Week, New Year, Fridays, holidays at the end."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from sekimori.report import deadlines as dl
from sekimori.report.deadlines import (
    ET,
    JST,
    Deadline,
    add_business_days,
    add_calendar_days,
    business_days_between,
    is_business_day,
)


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=JST)


# --- calendars ---


def test_japanese_holidays_come_from_the_maintained_calendar() -> None:
    assert not is_business_day(date(2024, 5, 6), "JP")  # 振替休日 (Children's Day on a Sunday)
    assert not is_business_day(date(2026, 9, 22), "JP")  # 国民の休日 between two holidays
    assert not is_business_day(date(2024, 4, 29), "JP")  # 昭和の日
    assert is_business_day(date(2024, 5, 2), "JP")


def test_year_end_closure_is_not_a_public_holiday() -> None:
    assert is_business_day(date(2023, 12, 29), "JP")
    assert is_business_day(date(2024, 1, 2), "JP")
    assert not is_business_day(date(2024, 1, 1), "JP")


def test_business_days_across_golden_week() -> None:
    friday = date(2024, 4, 26)
    # 4/27–29: weekend and 昭和の日; 5/3–6: 憲法記念日, みどりの日 (Sat), こどもの日 (Sun), 振替休日.
    assert [add_business_days(friday, n, "JP") for n in (1, 2, 3, 4, 5)] == [
        date(2024, 4, 30),
        date(2024, 5, 1),
        date(2024, 5, 2),
        date(2024, 5, 7),
        date(2024, 5, 8),
    ]
    assert business_days_between(friday, date(2024, 5, 7), "JP") == 4
    assert business_days_between(date(2024, 5, 7), friday, "JP") == -4
    assert add_business_days(date(2024, 5, 7), -4, "JP") == friday


def test_business_days_across_new_year() -> None:
    assert add_business_days(date(2023, 12, 28), 1, "JP") == date(2023, 12, 29)
    assert add_business_days(date(2023, 12, 28), 2, "JP") == date(2024, 1, 2)  # 12/30–31 weekend, 1/1
    assert add_business_days(date(2024, 12, 27), 1, "JP") == date(2024, 12, 30)
    assert add_business_days(date(2024, 12, 31), 1, "JP") == date(2025, 1, 2)


def test_business_days_from_a_friday_keep_the_time_and_zone() -> None:
    friday = jst(2024, 3, 15, 17, 30)
    assert add_business_days(friday, 1, "JP") == jst(2024, 3, 18, 17, 30)
    assert add_business_days(friday, 4, "JP") == jst(2024, 3, 22, 17, 30)  # 3/20 春分の日
    assert add_calendar_days(friday, 3) == jst(2024, 3, 18, 17, 30)
    # Naive datetimes are Tokyo time.
    assert add_calendar_days(datetime(2024, 3, 15, 9), 1) == jst(2024, 3, 16, 9)


def test_us_federal_calendar_with_observed_days() -> None:
    assert add_business_days(date(2024, 6, 14), 4, "US") == date(2024, 6, 21)  # 6/19 Juneteenth
    assert add_business_days(date(2026, 7, 2), 1, "US") == date(2026, 7, 6)  # 7/3 observed Independence Day
    assert is_business_day(date(2024, 3, 29), "US")  # Good Friday: NYSE closes, the SEC does not
    assert business_days_between(date(2024, 11, 27), date(2024, 12, 2), "US") == 2  # Thanksgiving


@pytest.mark.parametrize("n", [0, 1, 3, 4, 10, 30])
def test_business_days_between_inverts_add(n: int) -> None:
    for start in (date(2024, 4, 26), date(2023, 12, 28), date(2024, 6, 14)):
        for country in ("JP", "US"):
            assert business_days_between(start, add_business_days(start, n, country), country) == n


# --- APPI ---


def test_appi_preliminary_flags_at_3_days_and_overdue_after_5_calendar_days() -> None:
    d = dl.appi_preliminary(jst(2024, 4, 26, 15, 0))  # a Friday before Golden Week: no roll-over
    assert d.warn_at == jst(2024, 4, 29, 0, 0)
    assert d.due == jst(2024, 5, 1, 23, 59, 59)
    assert d.status(jst(2024, 4, 28, 23, 0)) == "ok"
    assert d.status(jst(2024, 4, 29, 9, 0)) == "due_soon"
    assert d.status(jst(2024, 5, 1, 23, 0)) == "due_soon"
    assert d.status(jst(2024, 5, 2, 0, 0)) == "overdue"


def test_appi_final_30_days_not_counting_the_day_learned() -> None:
    d = dl.appi_final(jst(2024, 6, 3, 10, 0), unauthorized_purpose=False)
    assert d.due == jst(2024, 7, 3, 23, 59, 59)  # 6/4 is day 1; 7/3 (Wed) is day 30
    assert d.note is None


def test_appi_final_60_days_for_an_unauthorized_purpose() -> None:
    d = dl.appi_final(jst(2023, 10, 27, 18, 0), unauthorized_purpose=True)
    assert d.due == jst(2023, 12, 26, 23, 59, 59)
    assert "60日" in d.basis and "規則7条3号" in d.basis


def test_appi_final_last_day_on_golden_week_rolls_to_the_next_business_day() -> None:
    d = dl.appi_final(jst(2024, 4, 3, 11, 0), unauthorized_purpose=False)
    # Day 30 = 5/3 憲法記念日; 5/4 Sat, 5/5 Sun, 5/6 振替休日 → 5/7 (Civil Code art. 142).
    assert d.due == jst(2024, 5, 7, 23, 59, 59)
    assert d.note is not None and "2024-05-03" in d.note and "142" in d.note


def test_appi_final_last_day_on_new_years_day_rolls_to_january_2() -> None:
    d = dl.appi_final(jst(2023, 12, 2, 9, 0), unauthorized_purpose=False)
    assert d.due == jst(2024, 1, 2, 23, 59, 59)  # the year-end closure is not a holiday


def test_appi_final_last_day_on_a_sunday() -> None:
    d = dl.appi_final(jst(2023, 10, 27), unauthorized_purpose=False)  # day 30 = 11/26 (Sun)
    assert d.due == jst(2023, 11, 27, 23, 59, 59)


def test_appi_final_unknown_purpose_takes_the_earlier_30_days() -> None:
    assert dl.appi_final(jst(2024, 6, 3), None).due == jst(2024, 7, 3, 23, 59, 59)


def test_clock_counts_the_day_in_tokyo() -> None:
    # 2024-04-02 20:00 UTC is 4/3 05:00 in Tokyo: day 30 is 5/3, rolled to 5/7.
    learned = datetime(2024, 4, 2, 20, 0, tzinfo=dl.ZoneInfo("UTC"))
    assert dl.appi_final(learned, False).due == jst(2024, 5, 7, 23, 59, 59)


# --- MIC, GDPR, SEC ---


def test_mic_detailed_within_30_days_of_learning() -> None:
    d = dl.mic_detailed(jst(2023, 10, 27, 18, 0))
    assert d.due == jst(2023, 11, 27, 23, 59, 59)  # 11/26 is a Sunday
    first = dl.mic_first(jst(2023, 10, 27, 18, 0))
    assert first.due == jst(2023, 11, 1, 23, 59, 59)


def test_gdpr_72_hours_run_through_weekends_and_holidays() -> None:
    d = dl.gdpr_art33(jst(2024, 5, 3, 10, 0))  # a Friday in Golden Week
    assert d.due == jst(2024, 5, 6, 10, 0)
    assert d.status(jst(2024, 5, 5, 9, 0)) == "ok"
    assert d.status(jst(2024, 5, 5, 11, 0)) == "due_soon"
    assert d.status(jst(2024, 5, 6, 10, 1)) == "overdue"


def test_sec_four_business_days_from_a_friday_skip_juneteenth() -> None:
    d = dl.sec_8k(datetime(2024, 6, 14, 15, 0, tzinfo=ET))
    assert d.due == datetime(2024, 6, 21, 17, 30, tzinfo=ET)


def test_sec_determination_day_is_taken_in_new_york() -> None:
    # Friday 09:00 in Tokyo is Thursday 20:00 in New York: Thursday is day 0.
    d = dl.sec_8k(jst(2024, 6, 14, 9, 0))
    assert d.due == datetime(2024, 6, 20, 17, 30, tzinfo=ET)


def test_sec_thanksgiving_and_new_year() -> None:
    # Wed 11/27 → Fri 11/29 (1; Thanksgiving skipped), Mon 12/2, Tue 12/3, Wed 12/4.
    assert dl.sec_8k(datetime(2024, 11, 27, 10, tzinfo=ET)).due == datetime(2024, 12, 4, 17, 30, tzinfo=ET)
    assert dl.sec_8k(datetime(2024, 12, 27, 10, tzinfo=ET)).due == datetime(2025, 1, 3, 17, 30, tzinfo=ET)


# --- status ---


def test_status_done_and_unknown() -> None:
    d = dl.appi_final(None, True)
    assert d.status(jst(2024, 1, 1)) == "unknown"
    assert d.due is None and d.clock_start is None
    d = dl.appi_final(jst(2024, 1, 10), True)
    d.submitted = jst(2024, 5, 1)
    assert d.status(jst(2024, 6, 1)) == "done"  # even when late: it was submitted


def test_default_warning_window() -> None:
    start = jst(2024, 1, 1)
    d = Deadline("x", "x", "start", start, start + timedelta(days=40), "basis")
    assert d.status(start + timedelta(days=32)) == "ok"
    assert d.status(start + timedelta(days=34)) == "due_soon"
    assert d.to_dict(start)["status"] == "ok"


def test_unknown_calendar_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown calendar"):
        add_business_days(date(2024, 1, 1), 1, "FR")  # type: ignore[call-overload]
