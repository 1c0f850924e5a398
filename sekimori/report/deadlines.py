"""Reporting deadlines: calendar and business-day arithmetic on real calendars, and the clocks of each rule.

Two calendars: ``"JP"`` (Asia/Tokyo; Saturdays, Sundays and the public holidays of the 国民の祝日に関する法律,
with substitute holidays 振替休日 and citizens' holidays 国民の休日, from the maintained ``holidays`` package)
and ``"US"`` (America/New_York; Saturdays, Sundays and US federal holidays with their observed days: the SEC's
"business day", Rule 0-3). The year-end closure of Japanese offices (12/29–1/3) is *not* a public holiday
and is deliberately not added: a deadline may fall on 12/29 or 1/2.

Naive datetimes are read as Asia/Tokyo (the group's home clock); every datetime returned is timezone-aware.

How the clocks run (each :class:`Deadline` carries the rule it cites in ``basis``):

* APPI 速報 (Rule 8(1)): "promptly" (速やかに). The PPC guidelines say roughly 3–5 days, so sekimori flags it
  ``due_soon`` from the start of the 3rd calendar day after learning and ``overdue`` after the end of the 5th.
  Calendar days, no roll-over: "promptly" has no last day for art. 142 to move.
* APPI 確報 (Rule 8(2)): 30 days, 60 for an unauthorized purpose (Rule 7 no. 3), counted "from the day it
  learned". The PPC counts calendar days (weekends and holidays included). The Civil Code's period rules
  apply: the day of learning is not counted (art. 140), the period ends at the end of the 30th/60th day
  (art. 141), and when that day is a Sunday, a public holiday or another day offices are closed (Saturday)
  it ends on the next business day (art. 142). So learning on 2024-04-03 gives 2024-05-03 (憲法記念日) →
  rolled over the whole of Golden Week to 2024-05-07.
* MIC 電気通信事業法 28条 / Rule 57: first report promptly after learning of a leak of secrecy of
  communications (same 3/5-day flags as the APPI 速報: the MIC gives no number); detailed report (様式第50の2)
  within 30 days of the day it learned, counted like the APPI 確報 (arts. 140–142).
* GDPR Art. 33: 72 hours from awareness, by the clock (weekends and holidays run).
* SEC Form 8-K Item 1.05: within 4 business days after the materiality determination; the determination's
  day (in New York) is day 0, and EDGAR accepts filings for the day until 17:30 ET (Reg. S-T Rule 13(a)(4)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo

import holidays as holidays_lib

Country = Literal["JP", "US"]
Status = Literal["ok", "due_soon", "overdue", "done", "unknown"]

JST = ZoneInfo("Asia/Tokyo")
ET = ZoneInfo("America/New_York")
ZONES: dict[str, ZoneInfo] = {"JP": JST, "US": ET}
END_OF_DAY = time(23, 59, 59)
EDGAR_CUTOFF = time(17, 30)  # filings after 17:30 ET are dated the next business day

# "Promptly" turned into flags (PPC guidelines: 概ね3〜5日).
PROMPT_WARN_DAYS = 3
PROMPT_OVERDUE_DAYS = 5


@cache
def _holidays(country: str) -> holidays_lib.HolidayBase:
    if country not in ZONES:
        raise ValueError(f"unknown calendar {country!r}; expected one of {', '.join(ZONES)}")
    # One object per country: it adds the years it is asked about as they come.
    return holidays_lib.country_holidays(country)


def aware(moment: datetime, country: str = "JP") -> datetime:
    """``moment`` with a timezone: naive datetimes are local to the country's calendar (Asia/Tokyo for JP)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZONES[country])


def holiday_name(day: date, country: Country = "JP") -> str | None:
    """The public (JP) or federal (US) holiday on ``day``, or None."""
    return _holidays(country).get(day)


def is_business_day(day: date, country: Country = "JP") -> bool:
    if isinstance(day, datetime):
        day = aware(day, country).astimezone(ZONES[country]).date()
    return day.weekday() < 5 and day not in _holidays(country)


def next_business_day(day: date, country: Country = "JP") -> date:
    """``day`` itself when it is a business day, else the first business day after it (Civil Code
    art. 142)."""
    while not is_business_day(day, country):
        day += timedelta(days=1)
    return day


def add_calendar_days(start: datetime, n: int) -> datetime:
    """``start`` plus ``n`` calendar days, same wall-clock time in its zone (naive: Asia/Tokyo)."""
    start = aware(start)
    # Add on the wall clock, not in UTC: a day is a day even across a DST change (New York).
    return (start.replace(tzinfo=None) + timedelta(days=n)).replace(tzinfo=start.tzinfo)


@overload
def add_business_days(start: datetime, n: int, country: Country = "JP") -> datetime: ...
@overload
def add_business_days(start: date, n: int, country: Country = "JP") -> date: ...
def add_business_days(start: date | datetime, n: int, country: Country = "JP") -> date | datetime:
    """The ``n``-th business day after ``start`` (``start`` itself is day 0, business day or not).

    A datetime is first put in the country's zone (a determination at 09:00 in Tokyo is the previous
    evening in New York) and keeps its wall-clock time; a date gives a date. ``n`` may be negative.
    """
    if isinstance(start, datetime):
        local = aware(start, country).astimezone(ZONES[country])
        day = _step_business_days(local.date(), n, country)
        return datetime.combine(day, local.timetz())
    return _step_business_days(start, n, country)


def _step_business_days(day: date, n: int, country: Country) -> date:
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    while remaining:
        day += timedelta(days=step)
        if is_business_day(day, country):
            remaining -= 1
    return day


def business_days_between(start: date | datetime, end: date | datetime, country: Country = "JP") -> int:
    """Business days after ``start`` up to and including ``end`` (negative when ``end`` is earlier), so that
    ``business_days_between(d, add_business_days(d, n)) == n``."""
    first, last = (_local_date(start, country), _local_date(end, country))
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    count = sum(
        1 for i in range(1, (last - first).days + 1) if is_business_day(first + timedelta(days=i), country)
    )
    return sign * count


def _local_date(moment: date | datetime, country: Country) -> date:
    if isinstance(moment, datetime):
        return aware(moment, country).astimezone(ZONES[country]).date()
    return moment


def period_end(start: datetime, days: int, *, roll: bool = True) -> tuple[datetime, date | None]:
    """End of a period of ``days`` days counted from the day of ``start`` (Civil Code arts. 140–142), in JST.

    The first day is not counted (art. 140), the period ends at the end of its last day (art. 141), and when
    ``roll`` is set and the last day is not a business day it ends on the next one (art. 142). Returns the
    end and the unrolled last day when it was moved (else None).
    """
    last = aware(start).astimezone(JST).date() + timedelta(days=days)
    rolled = next_business_day(last, "JP") if roll else last
    return datetime.combine(rolled, END_OF_DAY, JST), (last if rolled != last else None)


@dataclass
class Deadline:
    """One report's clock. ``due`` is the hard limit; from ``warn_at`` the report is ``due_soon``."""

    key: str  # the report kind it belongs to, e.g. 'ppc_final'
    name: str
    clock_start_label: str  # what starts the clock, in words
    clock_start: datetime | None
    due: datetime | None
    basis: str  # the rule, cited
    warn_at: datetime | None = None
    submitted: datetime | None = None
    note: str | None = None  # e.g. the roll-over of a last day that fell on a holiday

    def status(self, now: datetime) -> Status:
        if self.submitted is not None:
            return "done"
        if self.clock_start is None or self.due is None:
            return "unknown"
        now = aware(now)
        if now > self.due:
            return "overdue"
        warn_at = self.warn_at
        if warn_at is None:
            # Without a rule-specific flag: the last quarter of the period, at most 7 days.
            warn_at = self.due - min((self.due - self.clock_start) / 4, timedelta(days=7))
        return "due_soon" if now >= warn_at else "ok"

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "name": self.name,
            "clock_start_label": self.clock_start_label,
            "clock_start": _iso(self.clock_start),
            "due": _iso(self.due),
            "warn_at": _iso(self.warn_at),
            "basis": self.basis,
            "submitted": _iso(self.submitted),
            "note": self.note,
        }
        if now is not None:
            out["status"] = self.status(now)
        return out


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# --- the rules' clocks ---

_LEARNED = {"ja": "漏えい等の事態を知った時点", "en": "when the company learned of the incident"}
_AWARE = {"ja": "個人データ侵害を認識した時点", "en": "awareness of the personal data breach"}
_MATERIAL = {"ja": "重要性（materiality）を判断した時点", "en": "determination that the incident is material"}


def _text(lang: str, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def _prompt(key: str, name: str, start: datetime | None, basis: str, lang: str) -> Deadline:
    if start is None:
        return Deadline(key, name, _LEARNED[lang], None, None, basis)
    start = aware(start)
    day = start.astimezone(JST).date()
    warn = datetime.combine(day + timedelta(days=PROMPT_WARN_DAYS), time(0), JST)
    due = datetime.combine(day + timedelta(days=PROMPT_OVERDUE_DAYS), END_OF_DAY, JST)
    note = _text(
        lang,
        f"「速やかに」: {PROMPT_WARN_DAYS}日目から要注意、{PROMPT_OVERDUE_DAYS}日を過ぎたら超過として扱う"
        "（暦日、休日の繰延べなし）",
        f"'promptly': flagged from day {PROMPT_WARN_DAYS}, overdue after day {PROMPT_OVERDUE_DAYS} "
        "(calendar days, no holiday roll-over)",
    )
    return Deadline(key, name, _LEARNED[lang], start, due, basis, warn_at=warn, note=note)


def _period(key: str, name: str, start: datetime | None, days: int, basis: str, lang: str) -> Deadline:
    if start is None:
        return Deadline(key, name, _LEARNED[lang], None, None, basis)
    start = aware(start)
    due, unrolled = period_end(start, days)
    note = None
    if unrolled is not None:
        why = holiday_name(unrolled, "JP") or _text(lang, "土曜日・日曜日", "weekend")
        note = _text(
            lang,
            f"末日 {unrolled.isoformat()}（{why}）が休日のため翌営業日に満了（民法142条）",
            f"the last day {unrolled.isoformat()} ({why}) is a holiday: the period ends on the next "
            "business day (Civil Code art. 142)",
        )
    warn = due - timedelta(days=7)
    return Deadline(key, name, _LEARNED[lang], start, due, basis, warn_at=warn, note=note)


def appi_preliminary(learned_at: datetime | None, lang: str = "ja", key: str = "ppc_preliminary") -> Deadline:
    return _prompt(
        key,
        _text(lang, "個人情報保護委員会への速報", "Preliminary report to the PPC"),
        learned_at,
        _text(
            lang,
            "個人情報保護法26条1項・施行規則8条1項（知った後、速やかに。ガイドライン: 概ね3〜5日以内）",
            "APPI Art. 26(1), Enforcement Rules Art. 8(1): promptly after learning "
            "(guidelines: about 3–5 days)",
        ),
        lang,
    )


def appi_final(
    learned_at: datetime | None, unauthorized_purpose: bool | None, lang: str = "ja", key: str = "ppc_final"
) -> Deadline:
    """30 days from the day of learning, 60 when an unauthorized purpose is involved; calendar days, the last
    day rolled to the next business day when it is a weekend or public holiday (Civil Code arts. 140–142).
    An unknown ``unauthorized_purpose`` takes the 30 days: the earlier, safe limit."""
    days = 60 if unauthorized_purpose else 30
    basis = _text(
        lang,
        f"個人情報保護法26条1項・施行規則8条2項（知った日から{days}日以内"
        + ("。不正の目的によるおそれ: 規則7条3号" if days == 60 else "")
        + "。土日・祝日を含む暦日で計算、末日が休日のときは翌日満了: 民法140条〜142条）",
        f"APPI Art. 26(1), Enforcement Rules Art. 8(2): within {days} days of the day it learned"
        + (" (unauthorized purpose, Rule 7 no. 3)" if days == 60 else "")
        + "; calendar days, a last day on a holiday rolls to the next business day "
        "(Civil Code arts. 140–142)",
    )
    name = _text(lang, "個人情報保護委員会への確報", "Final report to the PPC")
    return _period(key, name, learned_at, days, basis, lang)


def entrusted_notice(learned_at: datetime | None, lang: str = "ja") -> Deadline:
    return _prompt(
        "entrusted_notice",
        _text(lang, "委託元への通知", "Notice to the entrusting business"),
        learned_at,
        _text(
            lang,
            "個人情報保護法26条1項ただし書・施行規則9条（速やかに。ガイドライン: 概ね3〜5日以内）",
            "APPI Art. 26(1) proviso, Enforcement Rules Art. 9: promptly (guidelines: about 3–5 days)",
        ),
        lang,
    )


def mic_first(learned_at: datetime | None, lang: str = "ja") -> Deadline:
    return _prompt(
        "mic_first",
        _text(lang, "総務省（総合通信局）への第一報", "First report to the MIC regional bureau"),
        learned_at,
        _text(
            lang,
            "電気通信事業法28条1項・施行規則57条（通信の秘密の漏えいを知った後、速やかに）",
            "Telecommunications Business Act Art. 28(1), Rule 57: promptly after learning of the leak of "
            "secrecy of communications",
        ),
        lang,
    )


def mic_detailed(learned_at: datetime | None, lang: str = "ja") -> Deadline:
    return _period(
        "mic_detailed",
        _text(lang, "総務省（総合通信局）への詳報（様式第50の2）", "Detailed report to the MIC (form 50-2)"),
        learned_at,
        30,
        _text(
            lang,
            "電気通信事業法28条1項・施行規則57条（通信の秘密の漏えいを知った日から30日以内。民法140条〜142条）",
            "Telecommunications Business Act Art. 28(1), Rule 57: within 30 days of the day it learned of "
            "the leak (Civil Code arts. 140–142)",
        ),
        lang,
    )


def gdpr_art33(aware_at: datetime | None, lang: str = "ja") -> Deadline:
    name = _text(
        lang, "監督機関への通知（GDPR 33条）", "Notification to the supervisory authority (GDPR Art. 33)"
    )
    basis = _text(
        lang,
        "GDPR 33条1項（不当な遅滞なく、可能な場合は認識から72時間以内。超過時は遅延の理由を付す）",
        "GDPR Art. 33(1): without undue delay and, where feasible, not later than 72 hours after becoming "
        "aware; reasons for any delay",
    )
    if aware_at is None:
        return Deadline("gdpr_art33", name, _AWARE[lang], None, None, basis)
    start = aware(aware_at)
    due = start + timedelta(hours=72)
    return Deadline("gdpr_art33", name, _AWARE[lang], start, due, basis, warn_at=due - timedelta(hours=24))


def sec_8k(determined_at: datetime | None, lang: str = "ja") -> Deadline:
    """Four business days (weekends and US federal holidays skipped) after the day of the determination in
    New York; due at the EDGAR cut-off, 17:30 ET, of the fourth."""
    name = _text(lang, "Form 8-K Item 1.05 の提出（SEC）", "Form 8-K Item 1.05 filing (SEC)")
    basis = _text(
        lang,
        "SEC Form 8-K Item 1.05・一般指示B.1（重要と判断した後4営業日以内。営業日: 土日・米連邦祝日を除く）",
        "SEC Form 8-K Item 1.05, General Instruction B.1: within four business days after the materiality "
        "determination (business days exclude weekends and US federal holidays)",
    )
    if determined_at is None:
        return Deadline("sec_8k_105", name, _MATERIAL[lang], None, None, basis)
    start = aware(determined_at)
    day = add_business_days(start.astimezone(ET).date(), 4, "US")
    due = datetime.combine(day, EDGAR_CUTOFF, ET)
    warn = datetime.combine(add_business_days(day, -1, "US"), time(0), ET)
    return Deadline("sec_8k_105", name, _MATERIAL[lang], start, due, basis, warn_at=warn)
