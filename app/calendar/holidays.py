"""Statutory public holidays of a year (《全国年节及纪念日放假办法》, 2025 revision) for years whose State
Council arrangement is not yet known: the fixed-date ones and the lunar ones (除夕 and 春节 初一–初三, 清明,
端午, 中秋) computed with `lunar-python`, plus the make-up weekdays (补休) the statute grants when a holiday
falls on a weekend. The real arrangement (调休 and all) replaces this once entered."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

from lunar_python import Lunar

MAKE_UP_SUFFIX = "（补休）"


def _lunar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _festivals(year: int) -> list[tuple[str, list[date]]]:
    """Each holiday of `year` with its statutory days, in date order."""
    new_year = _lunar(year, 1, 1)
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    return sorted(
        [
            ("元旦", [date(year, 1, 1)]),
            ("春节", [new_year + timedelta(days=n) for n in range(-1, 3)]),  # 除夕, 初一–初三
            ("清明节", [date(year, qingming.getMonth(), qingming.getDay())]),
            ("劳动节", [date(year, 5, 1), date(year, 5, 2)]),
            ("端午节", [_lunar(year, 5, 5)]),
            ("中秋节", [_lunar(year, 8, 15)]),
            ("国庆节", [date(year, 10, n) for n in (1, 2, 3)]),
        ],
        key=lambda item: item[1][0],
    )


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> Mapping[date, str]:
    """Rest days of `year` by the statute alone: date → holiday name ("春节", "春节（补休）", …).

    A holiday on a Saturday or Sunday is made up on the next weekday after that holiday that is not
    itself a holiday (第六条：适逢周六、周日，应当在工作日补假)."""
    days: dict[date, str] = {}
    for name, group in _festivals(year):
        for day in group:
            # 2028: 中秋 falls on 3 October, inside 国庆.
            days[day] = f"{days[day]}、{name}" if day in days else name
    for name, group in _festivals(year):
        owed = sum(1 for day in group if day.weekday() >= 5)
        day = group[-1]
        while owed:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in days:
                days[day] = name + MAKE_UP_SUFFIX
                owed -= 1
    # A New Year's Day make-up may spill into the next year only in theory (1 Jan on a weekend → 2/3 Jan).
    return MappingProxyType({d: n for d, n in sorted(days.items()) if d.year == year})
