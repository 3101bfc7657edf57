"""Provisional years rest the statutory holidays, the lunar ones computed from the lunar calendar:
2027 and 2028 (neither in the installed official data), checked against a printed lunar calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.calendar.holidays import statutory_holidays
from app.calendar.workdays import WorkCalendar, deadline

SH = ZoneInfo("Asia/Shanghai")
OFFICIAL = WorkCalendar()


def test_2027_statutory_holidays():
    days = statutory_holidays(2027)
    # 除夕 Fri 5 Feb 2027, 初一 Sat 6 Feb; two weekend days made up on Tue 9 and Wed 10 Feb.
    assert {d: n for d, n in days.items() if d.month == 2} == {
        date(2027, 2, 5): "春节",
        date(2027, 2, 6): "春节",
        date(2027, 2, 7): "春节",
        date(2027, 2, 8): "春节",
        date(2027, 2, 9): "春节（补休）",
        date(2027, 2, 10): "春节（补休）",
    }
    assert days[date(2027, 4, 5)] == "清明节"  # 清明 solar term, 5 April 2027
    assert days[date(2027, 6, 9)] == "端午节"  # 五月初五
    assert days[date(2027, 9, 15)] == "中秋节"  # 八月十五
    assert days[date(2027, 1, 1)] == "元旦"
    assert [days[date(2027, 5, n)] for n in (1, 2, 3, 4)] == [
        "劳动节",
        "劳动节",
        "劳动节（补休）",
        "劳动节（补休）",
    ]


def test_2028_statutory_holidays():
    days = statutory_holidays(2028)
    assert [d for d, n in days.items() if n.startswith("春节")] == [
        date(2028, 1, n) for n in (25, 26, 27, 28)
    ]
    assert days[date(2028, 1, 3)] == "元旦（补休）"  # 1 Jan 2028 is a Saturday
    assert days[date(2028, 4, 4)] == "清明节"
    assert (days[date(2028, 5, 28)], days[date(2028, 5, 29)]) == ("端午节", "端午节（补休）")
    # Mid-Autumn falls on 3 October 2028, inside the National Day holiday.
    assert days[date(2028, 10, 3)] == "国庆节、中秋节"
    assert date(2028, 10, 4) in days  # 1 Oct is a Sunday: made up after the holiday


@pytest.mark.skipif(WorkCalendar.covers_officially(2027), reason="installed chinesecalendar has 2027")
def test_a_message_in_the_2027_spring_festival_is_not_due_inside_it():
    # Received Wed 3 Feb 2027: 4 Feb, (5–10 Feb rest), 11, 12, 15, 16 → due Tue 16 Feb, provisional.
    result = deadline(datetime(2027, 2, 3, 10, tzinfo=SH), calendar=OFFICIAL, tz=SH)
    assert result.due_at == datetime(2027, 2, 16, 15, 59, 59, tzinfo=UTC)
    assert result.provisional
    assert {d.name for d in result.skipped if d.name} == {"春节", "春节（补休）"}


@pytest.mark.skipif(WorkCalendar.covers_officially(2028), reason="installed chinesecalendar has 2028")
def test_2028_dragon_boat_and_make_up_day_rest():
    cal = OFFICIAL
    assert not cal.is_workday(date(2028, 5, 29))
    info = cal.day_info(date(2028, 5, 29))
    assert (info.source, info.name) == ("provisional", "端午节（补休）")
    # An entered arrangement wins over the statutory guess.
    entered = WorkCalendar.from_overrides([], complete_years={2028})
    assert entered.is_workday(date(2028, 5, 29))
