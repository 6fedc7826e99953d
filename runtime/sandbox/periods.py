"""DHIS2 period ids as dhis2-core parses them: id -> (type, dates), current and shifted periods.

The sandbox mirrors core semantics (reference §8), not the front-end calendar library, and keeps
its own small parser so that it never depends on the client side of the project it is testing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Period:
    """One fixed period: its ISO id, DHIS2 period type name and inclusive date range."""

    iso: str
    type: str
    start: date
    end: date


# Month-based types: (length in months, first month of the cycle - 1).
_MONTHLY: dict[str, tuple[int, int]] = {
    "Monthly": (1, 0),
    "BiMonthly": (2, 0),
    "Quarterly": (3, 0),
    "QuarterlyNov": (3, 10),
    "SixMonthly": (6, 0),
    "SixMonthlyApril": (6, 3),
    "SixMonthlyNov": (6, 10),
    "Yearly": (12, 0),
    "FinancialFeb": (12, 1),
    "FinancialApril": (12, 3),
    "FinancialJuly": (12, 6),
    "FinancialAug": (12, 7),
    "FinancialSep": (12, 8),
    "FinancialOct": (12, 9),
    "FinancialNov": (12, 10),
}
# Weekly types: the weekday a week starts on (Monday = 0) and the id infix.
_WEEKLY: dict[str, tuple[int, str]] = {
    "Weekly": (0, "W"),
    "WeeklyWednesday": (2, "WedW"),
    "WeeklyThursday": (3, "ThuW"),
    "WeeklyFriday": (4, "FriW"),
    "WeeklySaturday": (5, "SatW"),
    "WeeklySunday": (6, "SunW"),
}
PERIOD_TYPES = ("Daily", *_WEEKLY, "BiWeekly", *_MONTHLY)
# Types younger than the oldest emulated version: the first minor version that knows them.
SINCE = {
    "QuarterlyNov": 38,
    "FinancialSep": 42,
    "WeeklyFriday": 43,
    "FinancialFeb": 43,
    "FinancialAug": 43,
}


def _month_add(year: int, month0: int, months: int) -> tuple[int, int]:
    total = year * 12 + month0 + months
    return total // 12, total % 12


def _month_period(ptype: str, year: int, month0: int) -> Period:
    length, _ = _MONTHLY[ptype]
    end_y, end_m0 = _month_add(year, month0, length)
    start = date(year, month0 + 1, 1)
    end = date(end_y, end_m0 + 1, 1) - timedelta(days=1)
    return Period(_month_iso(ptype, start, end), ptype, start, end)


def _month_iso(ptype: str, start: date, end: date) -> str:
    y, m = start.year, start.month
    if ptype == "Monthly":
        return f"{y}{m:02d}"
    if ptype == "BiMonthly":
        return f"{y}{(m - 1) // 2 + 1:02d}B"
    if ptype == "Quarterly":
        return f"{y}Q{(m - 1) // 3 + 1}"
    if ptype == "QuarterlyNov":
        # Q1 = Nov (year-1) .. Jan (year): labelled like SixMonthlyNov, by the following year.
        return f"{y + 1 if m == 11 else y}NovQ{((m - 11) % 12) // 3 + 1}"
    if ptype == "SixMonthly":
        return f"{y}S{(m - 1) // 6 + 1}"
    if ptype == "SixMonthlyApril":
        return f"{y}AprilS{1 if m == 4 else 2}"
    if ptype == "SixMonthlyNov":
        # S1 = Nov (year-1) .. Apr (year); S2 = May .. Oct (year): labelled by the end year.
        return f"{end.year}NovS{1 if m == 11 else 2}"
    if ptype == "Yearly":
        return str(y)
    if ptype == "FinancialNov":
        return f"{end.year}Nov"  # end-year label (core's FinancialNovemberPeriodType)
    return f"{y}{ptype.removeprefix('Financial')}"


def _week1_start(year: int, weekday: int) -> date:
    # Week 1 is the first week starting on `weekday` with at least 4 days in the year, i.e. the
    # week that contains 4 January (java WeekFields.of(day, 4)).
    jan4 = date(year, 1, 4)
    return jan4 - timedelta(days=(jan4.weekday() - weekday) % 7)


def _week_of(d: date, weekday: int) -> tuple[int, int]:
    """(week-based year, week number) of a date."""
    for year in (d.year + 1, d.year, d.year - 1):
        first = _week1_start(year, weekday)
        if d >= first:
            return year, (d - first).days // 7 + 1
    raise AssertionError("unreachable")


def _weeks_in_year(year: int, weekday: int) -> int:
    return (_week1_start(year + 1, weekday) - _week1_start(year, weekday)).days // 7


def _week_period(ptype: str, year: int, week: int) -> Period:
    weekday, infix = _WEEKLY[ptype]
    start = _week1_start(year, weekday) + timedelta(weeks=week - 1)
    return Period(f"{year}{infix}{week}", ptype, start, start + timedelta(days=6))


def _biweek_period(year: int, biweek: int) -> Period:
    start = _week1_start(year, 0) + timedelta(weeks=2 * (biweek - 1))
    return Period(f"{year}BiW{biweek}", "BiWeekly", start, start + timedelta(days=13))


_DAILY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-?(\d{2})$")
_WEEK = re.compile(r"^(\d{4})(W|WedW|ThuW|FriW|SatW|SunW)(\d{1,2})$")
_BIWEEK = re.compile(r"^(\d{4})BiW(\d{1,2})$")
_BIMONTH = re.compile(r"^(\d{4})(\d{2})B$")
_QUARTER = re.compile(r"^(\d{4})(Nov)?Q([1-4])$")
_SIX = re.compile(r"^(\d{4})(April|Nov)?S([12])$")
_YEAR = re.compile(r"^(\d{4})(Feb|April|July|Aug|Sep|Oct|Nov)?$")


@lru_cache(maxsize=4096)
def parse_period(text: str, minor: int | None = None) -> Period | None:
    """The period an id names, or None when core's parser (of version 2.<minor>) rejects it."""
    try:
        period = _parse(text)
    except ValueError:  # e.g. 20240230: the regex matches, the calendar does not
        return None
    if period is not None and minor is not None and minor < SINCE.get(period.type, 0):
        return None
    return period


def _parse(text: str) -> Period | None:
    if m := _DAILY.match(text):
        d = date(int(m[1]), int(m[2]), int(m[3]))
        return Period(d.strftime("%Y%m%d"), "Daily", d, d)
    if m := _MONTH.match(text):
        month = int(m[2])
        return _month_period("Monthly", int(m[1]), month - 1) if 1 <= month <= 12 else None
    if m := _WEEK.match(text):
        ptype = next(t for t, (_, infix) in _WEEKLY.items() if infix == m[2])
        year, week = int(m[1]), int(m[3])
        ok = 1 <= week <= _weeks_in_year(year, _WEEKLY[ptype][0])
        return _week_period(ptype, year, week) if ok else None
    if m := _BIWEEK.match(text):
        year, biweek = int(m[1]), int(m[2])
        ok = 1 <= biweek <= (_weeks_in_year(year, 0) + 1) // 2
        return _biweek_period(year, biweek) if ok else None
    if m := _BIMONTH.match(text):
        n = int(m[2])
        return _month_period("BiMonthly", int(m[1]), 2 * (n - 1)) if 1 <= n <= 6 else None
    if m := _QUARTER.match(text):
        if m[2] is None:
            return _month_period("Quarterly", int(m[1]), 3 * (int(m[3]) - 1))
        y, m0 = _month_add(int(m[1]) - 1, 10, 3 * (int(m[3]) - 1))
        return _month_period("QuarterlyNov", y, m0)
    if m := _SIX.match(text):
        year, half = int(m[1]), int(m[3])
        if m[2] is None:
            return _month_period("SixMonthly", year, 6 * (half - 1))
        if m[2] == "April":
            return _month_period("SixMonthlyApril", year, 3 + 6 * (half - 1))
        y, m0 = _month_add(year - 1, 10, 6 * (half - 1))
        return _month_period("SixMonthlyNov", y, m0)
    if m := _YEAR.match(text):
        year = int(m[1])
        if m[2] is None:
            return _month_period("Yearly", year, 0)
        ptype = f"Financial{m[2]}"
        return _month_period(ptype, year - 1 if m[2] == "Nov" else year, _MONTHLY[ptype][1])
    return None


def period_containing(ptype: str, day: date) -> Period:
    """The period of a type that contains a day (the *current* period when day is today)."""
    if ptype == "Daily":
        return Period(day.strftime("%Y%m%d"), "Daily", day, day)
    if ptype in _WEEKLY:
        return _week_period(ptype, *_week_of(day, _WEEKLY[ptype][0]))
    if ptype == "BiWeekly":
        year, week = _week_of(day, 0)
        return _biweek_period(year, (week + 1) // 2)
    if ptype not in _MONTHLY:
        raise ValueError(f"unknown period type {ptype!r}")
    length, offset = _MONTHLY[ptype]
    month0 = day.month - 1
    start_m0 = offset + ((month0 - offset) // length) * length
    year, start_m0 = _month_add(day.year, start_m0, 0)
    return _month_period(ptype, year, start_m0)


def shift(period: Period, n: int) -> Period:
    """The period n periods after (n < 0: before) a period of the same type."""
    if n == 0:
        return period
    if period.type in _MONTHLY:
        length, _ = _MONTHLY[period.type]
        year, m0 = _month_add(period.start.year, period.start.month - 1, n * length)
        return _month_period(period.type, year, m0)
    days = (period.end - period.start).days + 1
    return period_containing(period.type, period.start + timedelta(days=n * days))


@lru_cache(maxsize=256)
def latest_open_period(ptype: str, open_future_periods: int, today: date) -> Period:
    """Core's ``getFuturePeriod(n)``: rewind one period first, so 0 locks the current period."""
    return shift(period_containing(ptype, today), open_future_periods - 1)


def _add_months(day: date, months: int) -> date:
    year, m0 = _month_add(day.year, day.month - 1, months)
    last = (date(year + (m0 == 11), (m0 + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, m0 + 1, min(day.day, last))


def shift_date(ptype: str, day: date, n: int) -> date:
    """``PeriodType.getRewindedDate(day, -n)``: a date moved n periods of a type (n < 0: back)."""
    if ptype in _MONTHLY:
        return _add_months(day, n * _MONTHLY[ptype][0])
    step = 1 if ptype == "Daily" else 14 if ptype == "BiWeekly" else 7
    return day + timedelta(days=n * step)


def frequency_order(ptype: str) -> int:
    """``PeriodType.getFrequencyOrder``: the type's length in days (Daily 1 … Yearly 365)."""
    if ptype in _MONTHLY:
        return {1: 30, 2: 61, 3: 91, 6: 182, 12: 365}[_MONTHLY[ptype][0]]
    return 1 if ptype == "Daily" else 14 if ptype == "BiWeekly" else 7
