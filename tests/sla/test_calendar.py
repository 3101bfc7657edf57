"""Working-day calendar and deadlines: expected dates below were worked out by hand from the
State Council notices for 2025 and 2026 (the package data is checked against them first)."""

from __future__ import annotations

import csv
import statistics
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.calendar.workdays import (
    DayOverride,
    WorkCalendar,
    deadline,
    deadline_may_move,
    due_soon_at,
    next_working_time,
    recompute_window,
    working_days_between,
    working_hours_between,
)

SH = ZoneInfo("Asia/Shanghai")
OFFICIAL = WorkCalendar()
DATA = Path(__file__).resolve().parents[2] / "data"


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    """An instant given in Beijing time, as aware UTC (how the database stores it)."""
    return datetime(y, m, d, hh, mm, ss, us, tzinfo=SH).astimezone(UTC)


def utc(y: int, m: int, d: int, hh: int, mm: int, ss: int) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


def test_package_has_the_published_2025_and_2026_arrangements() -> None:
    # 国办发明电〔2024〕12号 and the notice of 2025-11-04: working weekends (调休上班) ...
    for day in [
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]:
        info = OFFICIAL.day_info(day)
        assert day.weekday() >= 5 and info.workday and info.source == "official", day
    # ... and weekdays off.
    for day in [
        date(2025, 2, 4),
        date(2025, 5, 5),
        date(2025, 6, 2),
        date(2025, 10, 8),
        date(2026, 1, 2),
        date(2026, 2, 23),
        date(2026, 4, 6),
        date(2026, 5, 5),
        date(2026, 6, 19),
        date(2026, 9, 25),
        date(2026, 10, 7),
    ]:
        info = OFFICIAL.day_info(day)
        assert day.weekday() < 5 and not info.workday and info.source == "official", day
    assert OFFICIAL.day_info(date(2026, 2, 14)).label == "调休上班（春节）"
    assert OFFICIAL.day_info(date(2025, 10, 6)).name == "中秋"


# (received, Beijing time) -> due date; due_at is 23:59:59 Beijing = 15:59:59 UTC that day.
FIVE_DAY_CASES = [
    # 2025 Spring Festival: 1/28–2/4 off, 1/26 (Sun) and 2/8 (Sat) worked.
    ("2025 春节前周五", local(2025, 1, 24), utc(2025, 2, 7, 15, 59, 59)),
    ("2025 春节前周一", local(2025, 1, 27), utc(2025, 2, 10, 15, 59, 59)),
    ("2025 春节假期中收到", local(2025, 1, 30), utc(2025, 2, 10, 15, 59, 59)),
    # 2025 Qingming 4/4–4/6.
    ("2025 清明", local(2025, 4, 2), utc(2025, 4, 10, 15, 59, 59)),
    # 2025 Labour Day 5/1–5/5, 4/27 (Sun) worked.
    ("2025 劳动节", local(2025, 4, 25), utc(2025, 5, 6, 15, 59, 59)),
    # 2025 Dragon Boat 5/31–6/2.
    ("2025 端午", local(2025, 5, 29), utc(2025, 6, 6, 15, 59, 59)),
    # 2025 National Day + Mid-Autumn 10/1–10/8, 9/28 (Sun) and 10/11 (Sat) worked.
    ("2025 国庆前周五", local(2025, 9, 26), utc(2025, 10, 10, 15, 59, 59)),
    ("2025 国庆前一天", local(2025, 9, 30), utc(2025, 10, 14, 15, 59, 59)),
    ("2025 中秋当天收到", local(2025, 10, 6), utc(2025, 10, 14, 15, 59, 59)),
    # 2026 New Year 1/1–1/3, 1/4 (Sun) worked.
    ("2026 元旦", local(2025, 12, 31), utc(2026, 1, 8, 15, 59, 59)),
    # 2026 Spring Festival 2/15–2/23, 2/14 (Sat) and 2/28 (Sat) worked.
    ("2026 春节前周四", local(2026, 2, 12), utc(2026, 2, 26, 15, 59, 59)),
    ("2026 春节前周五", local(2026, 2, 13), utc(2026, 2, 27, 15, 59, 59)),
    ("2026 节后第一天", local(2026, 2, 24), utc(2026, 3, 2, 15, 59, 59)),
    ("2026 春节假期中收到，截止在调休周六", local(2026, 2, 17), utc(2026, 2, 28, 15, 59, 59)),
    # 2026 Qingming 4/4–4/6.
    ("2026 清明", local(2026, 4, 2), utc(2026, 4, 10, 15, 59, 59)),
    # 2026 Labour Day 5/1–5/5, 5/9 (Sat) worked: the deadline falls on that Saturday.
    ("2026 劳动节", local(2026, 4, 29), utc(2026, 5, 9, 15, 59, 59)),
    # 2026 Dragon Boat 6/19–6/21.
    ("2026 端午", local(2026, 6, 17), utc(2026, 6, 25, 15, 59, 59)),
    # 2026 9/20 (Sun) worked; Mid-Autumn 9/25–9/27; National Day 10/1–10/7, 10/10 (Sat) worked.
    ("2026 9月20日调休", local(2026, 9, 18), utc(2026, 9, 24, 15, 59, 59)),
    ("2026 中秋+国庆", local(2026, 9, 23), utc(2026, 10, 8, 15, 59, 59)),
    ("2026 国庆 10月10日调休", local(2026, 9, 30), utc(2026, 10, 13, 15, 59, 59)),
    # 00:30 Beijing is still the previous day in UTC: the local date is what counts.
    ("00:30 调休周六（UTC 仍为周五）", local(2026, 2, 14, 0, 30), utc(2026, 2, 28, 15, 59, 59)),
    ("00:30 周一（UTC 仍为调休周日）", local(2026, 1, 5, 0, 30), utc(2026, 1, 12, 15, 59, 59)),
    # Last second of a day still belongs to that day.
    ("23:59:59 收到", local(2026, 2, 13, 23, 59, 59), utc(2026, 2, 27, 15, 59, 59)),
]


@pytest.mark.parametrize(
    ("case", "received_at", "due_at"), FIVE_DAY_CASES, ids=[c[0] for c in FIVE_DAY_CASES]
)
def test_five_working_day_deadline(case: str, received_at: datetime, due_at: datetime) -> None:
    result = deadline(received_at, working_days=5, calendar=OFFICIAL, tz=SH)
    assert result.due_at == due_at
    assert result.due_at.tzinfo is not None and result.due_at.utcoffset() == timedelta(0)
    assert not result.provisional
    assert len(result.counted) == 5 and all(d.workday for d in result.counted)
    assert all(not d.workday for d in result.skipped)
    assert result.counted[-1].day == result.due_on == due_at.astimezone(SH).date()


def test_midnight_receipt_uses_the_local_date() -> None:
    received_at = local(2026, 2, 14, 0, 30)
    assert received_at == utc(2026, 2, 13, 16, 30, 0)
    result = deadline(received_at, calendar=OFFICIAL, tz=SH)
    assert result.received_on == date(2026, 2, 14)
    # The working Saturday of receipt is not counted; the next five are 2/24–2/28.
    assert [d.day for d in result.counted] == [date(2026, 2, d) for d in (24, 25, 26, 27, 28)]
    assert [d.day for d in result.skipped] == [date(2026, 2, d) for d in range(15, 24)]


def test_explanation_lists_counted_and_skipped_days_with_sources() -> None:
    result = deadline(local(2026, 2, 12), calendar=OFFICIAL, tz=SH).to_dict()
    assert result["due_at"] == "2026-02-26T15:59:59Z"
    assert result["due_at_local"] == "2026-02-26T23:59:59+08:00"
    assert result["received_on"] == "2026-02-12"
    assert [(d["n"], d["date"]) for d in result["counted"]] == [
        (1, "2026-02-13"),
        (2, "2026-02-14"),
        (3, "2026-02-24"),
        (4, "2026-02-25"),
        (5, "2026-02-26"),
    ]
    assert result["counted"][1]["label"] == "调休上班（春节）"
    assert result["counted"][1]["source_label"] == "国务院放假安排"
    assert len(result["skipped"]) == 9 and result["skipped"][0]["name"] == "春节"
    assert "2月14日周六 调休上班（春节）" in result["explanation"]
    assert "2月15日周日至2月23日周一 放假（春节）" in result["explanation"]


OUT_OF_SCOPE_CASES = [
    ("工作日当天", local(2026, 3, 3, 16), utc(2026, 3, 3, 15, 59, 59)),
    ("调休周六当天", local(2026, 2, 14, 9), utc(2026, 2, 14, 15, 59, 59)),
    ("2025 调休周六当天", local(2025, 10, 11, 9), utc(2025, 10, 11, 15, 59, 59)),
    ("春节假期顺延至节后", local(2026, 2, 15, 9), utc(2026, 2, 24, 15, 59, 59)),
    ("周日顺延至周一", local(2026, 3, 1, 9), utc(2026, 3, 2, 15, 59, 59)),
    ("00:30 北京时间，UTC 前一天为工作日", local(2026, 3, 7, 0, 30), utc(2026, 3, 9, 15, 59, 59)),
]


@pytest.mark.parametrize(
    ("case", "received_at", "due_at"), OUT_OF_SCOPE_CASES, ids=[c[0] for c in OUT_OF_SCOPE_CASES]
)
def test_out_of_scope_same_working_day(case: str, received_at: datetime, due_at: datetime) -> None:
    result = deadline(received_at, working_days=0, calendar=OFFICIAL, tz=SH)
    assert result.due_at == due_at
    assert len(result.counted) == 1 and not result.provisional


# A 2027 arrangement for the test. The State Council had not published 2027's when this was
# written, so this one is plausible, not real: 元旦 1/1–1/3; 春节 2/5–2/13 off, 1/31 (Sun) and
# 2/20 (Sat) worked; 清明 4/3–4/5; 劳动节 5/1–5/5, 4/25 (Sun) and 5/8 (Sat) worked; 端午 6/9;
# 中秋 9/15; 国庆 10/1–10/7, 9/26 (Sun) and 10/9 (Sat) worked.
def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


HOLIDAYS_2027 = [
    *_days(date(2027, 1, 1), date(2027, 1, 3)),
    *_days(date(2027, 2, 5), date(2027, 2, 13)),
    *_days(date(2027, 4, 3), date(2027, 4, 5)),
    *_days(date(2027, 5, 1), date(2027, 5, 5)),
    date(2027, 6, 9),
    date(2027, 9, 15),
    *_days(date(2027, 10, 1), date(2027, 10, 7)),
]
WORKDAYS_2027 = [
    date(2027, 1, 31),
    date(2027, 2, 20),
    date(2027, 4, 25),
    date(2027, 5, 8),
    date(2027, 9, 26),
    date(2027, 10, 9),
]
ARRANGEMENT_2027 = [DayOverride(d, "holiday", "2027年放假安排") for d in HOLIDAYS_2027] + [
    DayOverride(d, "workday", "2027年调休上班") for d in WORKDAYS_2027
]

needs_uncovered_2027 = pytest.mark.skipif(
    WorkCalendar.covers_officially(2027), reason="installed chinesecalendar already has 2027 data"
)


@needs_uncovered_2027
def test_year_after_the_data_is_provisional_then_exact_once_entered() -> None:
    received_at = local(2026, 12, 28)
    # Provisional: 12/29, 12/30, 12/31, (1/1 New Year, weekend), 1/4, 1/5.
    before = deadline(received_at, calendar=OFFICIAL, tz=SH)
    assert before.due_at == utc(2027, 1, 5, 15, 59, 59)
    assert before.provisional
    assert [d.source for d in before.skipped] == ["provisional"] * 3
    assert before.skipped[0].name == "元旦"
    assert "2027年放假安排尚未录入" in before.explanation()

    entered = WorkCalendar.from_overrides(ARRANGEMENT_2027, complete_years={2027})
    after = deadline(received_at, calendar=entered, tz=SH)
    assert after.due_at == utc(2027, 1, 5, 15, 59, 59)
    assert not after.provisional
    assert {d.source for d in after.counted} == {"official", "standard"}
    assert {d.source for d in after.skipped} == {"override"}


@needs_uncovered_2027
@pytest.mark.parametrize(
    ("received_at", "provisional_due", "exact_due"),
    [
        # Fallback rests the statutory Spring Festival (除夕 2/5 – 初三 2/8, made up 2/9, 2/10):
        # 2/2, 2/3, 2/4, 2/11, 2/12. Entered: 2/2, 2/3, 2/4, (2/5–2/14 off), 2/15, 2/16.
        (local(2027, 2, 1), utc(2027, 2, 12, 15, 59, 59), utc(2027, 2, 16, 15, 59, 59)),
        # Fallback: 2/1–2/4, 2/11. Entered: 1/31 (Sun) is worked, so 1/31, 2/1, 2/2, 2/3, 2/4.
        (local(2027, 1, 29), utc(2027, 2, 11, 15, 59, 59), utc(2027, 2, 4, 15, 59, 59)),
    ],
)
def test_entering_the_arrangement_moves_provisional_deadlines(
    received_at: datetime, provisional_due: datetime, exact_due: datetime
) -> None:
    before = deadline(received_at, calendar=OFFICIAL, tz=SH)
    assert (before.due_at, before.provisional) == (provisional_due, True)
    entered = WorkCalendar.from_overrides(ARRANGEMENT_2027, complete_years={2027})
    after = deadline(received_at, calendar=entered, tz=SH)
    assert (after.due_at, after.provisional) == (exact_due, False)
    # Entered but not marked complete: the days without an override are still guesses.
    partial = WorkCalendar.from_overrides(ARRANGEMENT_2027)
    assert deadline(received_at, calendar=partial, tz=SH).provisional


@needs_uncovered_2027
def test_out_of_scope_into_provisional_year() -> None:
    # 2027-01-01 (provisional New Year), 1/2–1/3 weekend: due Monday 1/4, provisional.
    result = deadline(local(2027, 1, 1), working_days=0, calendar=OFFICIAL, tz=SH)
    assert (result.due_at, result.provisional) == (utc(2027, 1, 4, 15, 59, 59), True)
    # Only official days consulted: not provisional.
    result = deadline(local(2026, 12, 31, 23, 30), working_days=0, calendar=OFFICIAL, tz=SH)
    assert (result.due_at, result.provisional) == (utc(2026, 12, 31, 15, 59, 59), False)


def test_override_wins_over_official_data() -> None:
    received_at = local(2026, 2, 12)
    extra_holiday = WorkCalendar({date(2026, 2, 25): DayOverride(date(2026, 2, 25), "holiday", "防汛停工")})
    result = deadline(received_at, calendar=extra_holiday, tz=SH)
    # 2/13, 2/14, 2/24, (2/25 override off), 2/26, 2/27.
    assert result.due_at == utc(2026, 2, 27, 15, 59, 59)
    assert [(d.day, d.source, d.name) for d in result.skipped if d.source == "override"] == [
        (date(2026, 2, 25), "override", "防汛停工")
    ]
    extra_workday = WorkCalendar.from_overrides([DayOverride(date(2026, 2, 16), "workday", "本地安排上班")])
    # 2/13, 2/14, 2/16 (override worked), 2/24, 2/25.
    assert deadline(received_at, calendar=extra_workday, tz=SH).due_at == utc(2026, 2, 25, 15, 59, 59)


def test_override_key_must_match_its_day() -> None:
    with pytest.raises(ValueError):
        WorkCalendar({date(2026, 1, 5): DayOverride(date(2026, 1, 6), "holiday", "")})


def test_nonstandard_days_2026() -> None:
    days = OFFICIAL.nonstandard_days(2026)
    off = {d.day for d in days if not d.workday}
    worked = {d.day for d in days if d.workday}
    assert off == {
        date(2026, 1, 1),
        date(2026, 1, 2),
        *[date(2026, 2, d) for d in (16, 17, 18, 19, 20, 23)],
        date(2026, 4, 6),
        date(2026, 5, 1),
        date(2026, 5, 4),
        date(2026, 5, 5),
        date(2026, 6, 19),
        date(2026, 9, 25),
        *[date(2026, 10, d) for d in (1, 2, 5, 6, 7)],
    }
    assert worked == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
    assert {d.source for d in days} == {"official"}
    assert [d.day for d in days] == sorted(d.day for d in days)


@needs_uncovered_2027
def test_nonstandard_days_provisional_and_overridden() -> None:
    # The statutory holidays that fall on weekdays, make-up days (补休) included.
    days = OFFICIAL.nonstandard_days(2027)
    assert [(d.day, d.source) for d in days] == [
        (day, "provisional")
        for day in (
            date(2027, 1, 1),
            *[date(2027, 2, n) for n in (5, 8, 9, 10)],
            date(2027, 4, 5),
            date(2027, 5, 3),
            date(2027, 5, 4),
            date(2027, 6, 9),
            date(2027, 9, 15),
            *[date(2027, 10, n) for n in (1, 4, 5)],
        )
    ]
    # A redundant override (a Monday marked as a working day) is listed so that it can be deleted.
    cal = WorkCalendar.from_overrides([DayOverride(date(2027, 3, 1), "workday", "")], complete_years={2027})
    assert [(d.day, d.source) for d in cal.nonstandard_days(2027)] == [(date(2027, 3, 1), "override")]
    assert cal.day_info(date(2027, 1, 1)).source == "standard"
    assert cal.day_info(date(2027, 1, 1)).workday  # complete year, no override: a plain Friday


def test_due_soon_policies() -> None:
    due_at = utc(2026, 2, 26, 15, 59, 59)
    assert due_soon_at(due_at, calendar=OFFICIAL, tz=SH) == utc(2026, 2, 25, 16, 0, 0)
    assert due_soon_at(due_at, calendar=OFFICIAL, tz=SH, policy="hours_before", hours=24) == utc(
        2026, 2, 25, 15, 59, 59
    )
    # Due Tuesday 2/24: the working day before it is Saturday 2/14 (the holiday is skipped).
    due_at = utc(2026, 2, 24, 15, 59, 59)
    assert due_soon_at(due_at, calendar=OFFICIAL, tz=SH, policy="working_days_before", working_days=1) == utc(
        2026, 2, 13, 16, 0, 0
    )
    with pytest.raises(ValueError):
        due_soon_at(due_at, calendar=OFFICIAL, tz=SH, policy="hours_before")


WORKING_DAYS_BETWEEN_CASES = [
    # Received Thursday 2026-02-12 10:00.
    (local(2026, 2, 12), local(2026, 2, 12, 18), 0),  # same day
    (local(2026, 2, 12), local(2026, 2, 13, 9), 1),
    (local(2026, 2, 12), local(2026, 2, 14, 9), 2),  # working Saturday
    (local(2026, 2, 12), local(2026, 2, 16, 9), 3),  # holiday after the 2nd working day: late for 2
    (local(2026, 2, 12), local(2026, 2, 26, 23), 5),  # 5th working day: on time
    (local(2026, 2, 12), local(2026, 2, 27, 0, 0, 1), 6),
    (local(2026, 2, 12), local(2026, 2, 13, 23, 59, 59, 500_000), 2),  # after 23:59:59 of day 1
    (local(2026, 2, 12), local(2026, 2, 11), 0),  # reply stamped before the message
    # Received on a holiday: a reply on the first working day is "same day".
    (local(2026, 2, 15), local(2026, 2, 24, 12), 0),
    (local(2026, 2, 15), local(2026, 2, 25, 12), 2),
]


@pytest.mark.parametrize(("start", "end", "expected"), WORKING_DAYS_BETWEEN_CASES)
def test_working_days_between(start: datetime, end: datetime, expected: int) -> None:
    assert working_days_between(start, end, calendar=OFFICIAL, tz=SH) == expected


def test_working_days_between_agrees_with_deadline() -> None:
    starts = [local(2026, 2, 12), local(2026, 2, 15, 3), local(2025, 9, 30, 23, 59), local(2026, 9, 19)]
    for start in starts:
        for hours in range(0, 24 * 24, 7):
            end = start + timedelta(hours=hours, minutes=13)
            n = working_days_between(start, end, calendar=OFFICIAL, tz=SH)
            for limit in range(7):
                on_time = end <= deadline(start, working_days=limit, calendar=OFFICIAL, tz=SH).due_at
                assert on_time == (n <= limit), (start, end, n, limit)


def _parse_board_time(text: str) -> datetime:
    # The board exports both 2019/4/25 9:32:09 and 2019-04-08 08:37:20.
    return datetime.strptime(text.strip().replace("-", "/"), "%Y/%m/%d %H:%M:%S").replace(tzinfo=SH)


@pytest.mark.skipif(not (DATA / "wenzheng-2020").is_dir(), reason="shared data not present")
def test_reply_times_on_the_real_message_board() -> None:
    # DESIGN: 75 of 120 answered later than 5 working days (median 7 working days, p90 27).
    with (DATA / "wenzheng-2020" / "messages_with_replies.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    days = sorted(
        working_days_between(
            _parse_board_time(r["posted_at"]), _parse_board_time(r["replied_at"]), calendar=OFFICIAL, tz=SH
        )
        for r in rows
    )
    assert len(days) == 120
    assert sum(d > 5 for d in days) == 75
    assert statistics.median(days) == 7
    assert round(statistics.quantiles(days, n=10)[-1]) == 27  # 26.9 with the default method


def test_working_hours_between() -> None:
    # Fri 2/13 16:30–17:30 (1 h) + working Sat 2/14 (9 h) + Tue 2/24 08:30–09:30 (1 h).
    hours = working_hours_between(
        local(2026, 2, 13, 16, 30), local(2026, 2, 24, 9, 30), calendar=OFFICIAL, tz=SH
    )
    assert hours == pytest.approx(11.0)


NEXT_WORKING_TIME_CASES = [
    ("工作时间内不变", local(2026, 2, 14, 12), local(2026, 2, 14, 12)),
    ("上班前等到 08:30", local(2026, 2, 14, 7), local(2026, 2, 14, 8, 30)),
    ("周五晚上到调休周六", local(2026, 2, 13, 18), local(2026, 2, 14, 8, 30)),
    ("17:30 整已下班，跨春节", local(2026, 2, 14, 17, 30), local(2026, 2, 24, 8, 30)),
    ("国庆假期中", local(2026, 10, 3, 11), local(2026, 10, 8, 8, 30)),
    ("跨年进入暂定年份", local(2026, 12, 31, 18), local(2027, 1, 4, 8, 30)),
]


@pytest.mark.parametrize(
    ("case", "at", "expected"), NEXT_WORKING_TIME_CASES, ids=[c[0] for c in NEXT_WORKING_TIME_CASES]
)
def test_next_working_time(case: str, at: datetime, expected: datetime) -> None:
    result = next_working_time(at, calendar=OFFICIAL, tz=SH)
    assert result == expected and result.utcoffset() == timedelta(0)


def test_next_working_time_custom_hours() -> None:
    at = local(2026, 3, 2, 17, 45)
    assert next_working_time(at, calendar=OFFICIAL, tz=SH, start=time(9), end=time(18)) == at
    assert next_working_time(at, calendar=OFFICIAL, tz=SH) == local(2026, 3, 3, 8, 30)


def test_recompute_window_selects_deadlines_a_change_can_move() -> None:
    received_at, due_at = local(2026, 12, 28), utc(2027, 1, 5, 15, 59, 59)
    for changed, moves in [
        (date(2026, 12, 27), False),  # before receipt
        (date(2026, 12, 28), True),  # receipt day (matters for the out-of-scope rule)
        (date(2027, 1, 1), True),
        (date(2027, 1, 5), True),  # due day
        (date(2027, 1, 6), False),  # after the due day
    ]:
        assert deadline_may_move(received_at=received_at, due_at=due_at, changed=changed, tz=SH) is moves, (
            changed
        )
    year = recompute_window(date(2027, 1, 1), date(2027, 12, 31), tz=SH)
    assert year.received_before == utc(2027, 12, 31, 16, 0, 0)
    assert year.due_from == utc(2026, 12, 31, 16, 0, 0)
    assert year.contains(received_at=received_at, due_at=due_at)
    assert not year.contains(received_at=local(2026, 12, 1), due_at=utc(2026, 12, 8, 15, 59, 59))


def test_recompute_window_is_exact_for_a_real_change() -> None:
    # Property: a deadline outside the window of the changed day is unchanged by the change.
    changed = date(2026, 3, 4)
    cal = WorkCalendar.from_overrides([DayOverride(changed, "holiday", "临时放假")])
    for offset in range(-12, 3):
        received_at = local(2026, 3, 4) + timedelta(days=offset)
        old = deadline(received_at, calendar=OFFICIAL, tz=SH)
        new = deadline(received_at, calendar=cal, tz=SH)
        if not deadline_may_move(received_at=received_at, due_at=old.due_at, changed=changed, tz=SH):
            assert new.due_at == old.due_at, received_at


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        deadline(datetime(2026, 3, 2, 10), calendar=OFFICIAL, tz=SH)  # naive
    with pytest.raises(ValueError):
        deadline(local(2026, 3, 2), working_days=-1, calendar=OFFICIAL, tz=SH)
    no_work = WorkCalendar.from_overrides(
        DayOverride(date(2030, 1, 1) + timedelta(days=i), "holiday", "") for i in range(400)
    )
    with pytest.raises(ValueError):
        deadline(local(2029, 12, 31), calendar=no_work, tz=SH)
