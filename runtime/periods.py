"""DHIS2 period types: date → period ID, ID → period, previous/next, exactly as dhis2-core does.

Pure standard library. Three families cover all 23 types:

* Daily (``yyyyMMdd``);
* weeks (``WeekFields.of(startDay, 4)``: week 1 is the first week starting on the type's weekday
  with at least four days in the new year; the ID carries the week-based year), and BiWeekly =
  ISO week pairs (BiW k = ISO weeks 2k−1 and 2k);
* month-based types: a period of L months starting at the type's "numbering month" F (January for
  calendar types, April/November/… for the others), labelled by the year the numbering starts in,
  plus one for the November types whose labels name the year they end in (core semantics;
  ``@dhis2/multi-calendar-dates`` disagrees for FinancialNov, QuarterlyNov and SixMonthlyNov).

BiWeekly follows core to the letter: in a year with 53 ISO weeks, ``BiW27`` starts on W53's Monday
and lasts 14 days, so it overlaps the next year's ``BiW1`` by one week
(``BiWeeklyAbstractPeriodType.createPeriod`` always adds 13 days). ``period_for`` assigns that
shared week to next year's BiW1, as core does; every other type tiles the calendar exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from functools import lru_cache
from functools import partial

from dhispatch.errors import DhispatchError
from dhispatch.runtime.plan.catalogue import PERIOD_TYPES

_ONE_DAY = timedelta(days=1)
_MIN_YEAR = 1
_MAX_YEAR = 9999


class PeriodError(DhispatchError):
    """An unknown period type, an unparsable or nonexistent period ID, or a date out of range."""


@dataclass(frozen=True, slots=True)
class Period:
    """One DHIS2 period: its type, canonical ID and first/last day (``end`` inclusive)."""

    type: str
    id: str
    start: date
    end: date

    def next(self) -> Period:
        """The period that follows (for BiWeekly after a 53-week year: next year's BiW1)."""
        try:
            return period_for(self.type, self.end + _ONE_DAY)
        except OverflowError:
            raise PeriodError(f"no period after {self.id}: beyond year {_MAX_YEAR}") from None

    def previous(self) -> Period:
        """The period that precedes this one."""
        try:
            return period_for(self.type, self.start - _ONE_DAY)
        except OverflowError:
            raise PeriodError(f"no period before {self.id}: before year {_MIN_YEAR}") from None

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1


# --- weeks --------------------------------------------------------------------------------------

# type -> (ID infix, first weekday as Python's date.weekday(): Monday = 0)
_WEEKLY: dict[str, tuple[str, int]] = {
    "Weekly": ("W", 0),
    "WeeklyWednesday": ("WedW", 2),
    "WeeklyThursday": ("ThuW", 3),
    "WeeklyFriday": ("FriW", 4),
    "WeeklySaturday": ("SatW", 5),
    "WeeklySunday": ("SunW", 6),
}


@lru_cache(maxsize=4096)
def _week1_start(year: int, first_weekday: int) -> int:
    """Ordinal of the first day of week 1 of ``year``: the week that contains 4 January."""
    jan4 = date(year, 1, 4).toordinal()
    return jan4 - (date(year, 1, 4).weekday() - first_weekday) % 7


def weeks_in_year(year: int, first_weekday: int = 0) -> int:
    """52 or 53: the number of weeks of a week-based year for weeks starting on that weekday."""
    return (_week1_start(year + 1, first_weekday) - _week1_start(year, first_weekday)) // 7


def _week_of(day: date, first_weekday: int) -> tuple[int, int, int]:
    """(week-based year, week number, ordinal of the week's first day) for ``day``."""
    ordinal = day.toordinal()
    start = ordinal - (day.weekday() - first_weekday) % 7
    # The week belongs to the year holding its 4th day (>= 4 days in that year).
    year = date.fromordinal(start + 3).year
    week = (start - _week1_start(year, first_weekday)) // 7 + 1
    return year, week, start


def _weekly_for(ptype: str, day: date) -> Period:
    infix, first = _WEEKLY[ptype]
    year, week, start = _week_of(day, first)
    return Period(
        ptype, f"{year:04d}{infix}{week}", date.fromordinal(start), date.fromordinal(start + 6)
    )


def _biweekly_for(day: date) -> Period:
    year, week, start = _week_of(day, 0)
    if week % 2 == 0:
        start -= 7
    return Period(
        "BiWeekly",
        f"{year:04d}BiW{(week + 1) // 2}",
        date.fromordinal(start),
        date.fromordinal(start + 13),
    )


# --- month-based types --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _MonthRule:
    """Periods of ``length`` months, numbered from ``first_month``, labelled year + ``shift``."""

    length: int
    first_month: int
    shift: int
    fmt: str  # str.format pattern with {y} and {n}
    pattern: str  # regex of the ID with groups (year, number)


_MONTHLY: dict[str, _MonthRule] = {
    "Monthly": _MonthRule(1, 1, 0, "{y:04d}{n:02d}", r"(\d{4})-?(\d{2})"),
    "BiMonthly": _MonthRule(2, 1, 0, "{y:04d}{n:02d}B", r"(\d{4})(\d{2})B"),
    "Quarterly": _MonthRule(3, 1, 0, "{y:04d}Q{n}", r"(\d{4})Q(\d)"),
    "QuarterlyNov": _MonthRule(3, 11, 1, "{y:04d}NovQ{n}", r"(\d{4})NovQ(\d)"),
    "SixMonthly": _MonthRule(6, 1, 0, "{y:04d}S{n}", r"(\d{4})S(\d)"),
    "SixMonthlyApril": _MonthRule(6, 4, 0, "{y:04d}AprilS{n}", r"(\d{4})AprilS(\d)"),
    "SixMonthlyNov": _MonthRule(6, 11, 1, "{y:04d}NovS{n}", r"(\d{4})NovS(\d)"),
    "Yearly": _MonthRule(12, 1, 0, "{y:04d}", r"(\d{4})()"),
    "FinancialFeb": _MonthRule(12, 2, 0, "{y:04d}Feb", r"(\d{4})Feb()"),
    "FinancialApril": _MonthRule(12, 4, 0, "{y:04d}April", r"(\d{4})April()"),
    "FinancialJuly": _MonthRule(12, 7, 0, "{y:04d}July", r"(\d{4})July()"),
    "FinancialAug": _MonthRule(12, 8, 0, "{y:04d}Aug", r"(\d{4})Aug()"),
    "FinancialSep": _MonthRule(12, 9, 0, "{y:04d}Sep", r"(\d{4})Sep()"),
    "FinancialOct": _MonthRule(12, 10, 0, "{y:04d}Oct", r"(\d{4})Oct()"),
    # End-year label: 2010Nov = 2009-11-01..2010-10-31 (FinancialNovemberPeriodTypeTest).
    "FinancialNov": _MonthRule(12, 11, 1, "{y:04d}Nov", r"(\d{4})Nov()"),
}


def _month_start(month_index: int) -> date:
    return date(month_index // 12, month_index % 12 + 1, 1)


def _monthly_period(ptype: str, rule: _MonthRule, start_index: int) -> Period:
    """The period of ``ptype`` starting at month index ``start_index`` (year * 12 + month - 1)."""
    year, month0 = divmod(start_index, 12)
    numbering_year = year if month0 + 1 >= rule.first_month else year - 1
    number = ((month0 + 1 - rule.first_month) % 12) // rule.length + 1
    end_index = start_index + rule.length
    end = (
        date(_MAX_YEAR, 12, 31)
        if end_index // 12 > _MAX_YEAR
        else _month_start(end_index) - _ONE_DAY
    )
    if numbering_year + rule.shift > _MAX_YEAR:
        raise OverflowError("label year beyond 9999")  # reported by period_for as PeriodError
    pid = rule.fmt.format(y=numbering_year + rule.shift, n=number)
    return Period(ptype, pid, _month_start(start_index), end)


def _monthly_for(ptype: str, day: date) -> Period:
    rule = _MONTHLY[ptype]
    index = day.year * 12 + day.month - 1
    anchor = rule.first_month - 1
    start_index = (index - anchor) // rule.length * rule.length + anchor
    return _monthly_period(ptype, rule, start_index)


# --- public API ---------------------------------------------------------------------------------


def check_type(period_type: str) -> str:
    """``period_type`` itself if DHIS2 core knows it, else PeriodError with a suggestion."""
    if period_type in _FOR:
        return period_type
    import difflib

    folded = {t.lower(): t for t in PERIOD_TYPES}
    close = folded.get(period_type.lower()) or next(
        iter(difflib.get_close_matches(period_type, PERIOD_TYPES, n=1)), None
    )
    hint = f" (did you mean {close}?)" if close else ""
    raise PeriodError(f"unknown period type {period_type!r}{hint}")


def period_for(period_type: str, day: date) -> Period:
    """The period of ``period_type`` that DHIS2 assigns ``day`` to."""
    try:
        return _FOR[period_type](day)
    except KeyError:
        check_type(period_type)
        raise
    except (ValueError, OverflowError):
        # date(10000, …) or fromordinal(0): only at the edges of the proleptic calendar
        raise PeriodError(f"{day} has no {period_type} period within years 1-9999") from None


def _daily_for(day: date) -> Period:
    return Period("Daily", f"{day.year:04d}{day.month:02d}{day.day:02d}", day, day)


_FOR: dict[str, Callable[[date], Period]] = {
    "Daily": _daily_for,
    **{t: partial(_weekly_for, t) for t in _WEEKLY},
    "BiWeekly": _biweekly_for,
    **{t: partial(_monthly_for, t) for t in _MONTHLY},
}

# ID patterns DHIS2's parser accepts (2.40 DateUnitType regexes, anchored to the whole string).
_DAILY_RE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_WEEK_RE = re.compile(r"(\d{4})(W|WedW|ThuW|FriW|SatW|SunW|BiW)(\d{1,2})")
_WEEK_INFIX = {infix: t for t, (infix, _) in _WEEKLY.items()} | {"BiW": "BiWeekly"}
_MONTH_RES = {t: re.compile(rule.pattern) for t, rule in _MONTHLY.items()}


def _parse_any(period_id: str) -> Period:
    m = _DAILY_RE.fullmatch(period_id)
    if m and (len(period_id) == 8 or (period_id[4] == "-" and period_id[7] == "-")):
        year, month, day = (int(g) for g in m.groups())
        try:
            return period_for("Daily", date(year, month, day))
        except ValueError:
            raise PeriodError(f"{period_id!r} is not a day that exists") from None
    m = _WEEK_RE.fullmatch(period_id)
    if m:
        ptype = _WEEK_INFIX[m.group(2)]
        year, number = int(m.group(1)), int(m.group(3))
        return _week_period(period_id, ptype, year, number)
    for ptype, regex in _MONTH_RES.items():
        m = regex.fullmatch(period_id)
        if m:
            if ptype == "Monthly" and len(period_id) == 7 and period_id[4] != "-":
                continue
            return _month_period(period_id, ptype, int(m.group(1)), int(m.group(2) or 1))
    raise PeriodError(f"{period_id!r} is not a DHIS2 period ID")


def _week_period(period_id: str, ptype: str, year: int, number: int) -> Period:
    first = 0 if ptype == "BiWeekly" else _WEEKLY[ptype][1]
    if year < _MIN_YEAR + 1 or year > _MAX_YEAR - 1:
        raise PeriodError(f"{period_id!r}: year {year} is out of range")
    weeks = weeks_in_year(year, first)
    count = (weeks + 1) // 2 if ptype == "BiWeekly" else weeks
    if not 1 <= number <= count:
        unit = "bi-weeks" if ptype == "BiWeekly" else "weeks"
        raise PeriodError(f"{period_id!r} does not exist: {year} has only {count} {ptype} {unit}")
    week = 2 * number - 1 if ptype == "BiWeekly" else number
    start = date.fromordinal(_week1_start(year, first) + 7 * (week - 1))
    return period_for(ptype, start)


def _month_period(period_id: str, ptype: str, year: int, number: int) -> Period:
    rule = _MONTHLY[ptype]
    count = 12 // rule.length
    if not 1 <= number <= count:
        what = "month" if ptype == "Monthly" else f"{ptype} number"
        raise PeriodError(f"{period_id!r} does not exist: {what} {number} is not within 1-{count}")
    start_index = (year - rule.shift) * 12 + rule.first_month - 1 + (number - 1) * rule.length
    if not _MIN_YEAR <= start_index // 12 <= _MAX_YEAR or year < _MIN_YEAR:
        raise PeriodError(f"{period_id!r}: year {year} is out of range")
    return _monthly_period(ptype, rule, start_index)


def parse_period(period_id: str, period_type: str | None = None) -> Period:
    """The period an ID denotes (canonical ID on output); infers the type when none is given.

    Accepts what DHIS2 accepts (``2024-01-31``, ``2024-01``, ``2024W01``) and refuses IDs that do
    not exist (``2015W54``, ``202413``, ``20230229``, ``2024Q5``).
    """
    if period_type is not None:
        check_type(period_type)
    period = _parse_any(period_id.strip())
    if period_type is not None and period.type != period_type:
        raise PeriodError(f"{period_id!r} is a {period.type} period, not {period_type}")
    return period


def period_type_of(period_id: str) -> str:
    """The period type an ID denotes (PeriodError if it is no DHIS2 period ID)."""
    return parse_period(period_id).type


def id_key(period: Period) -> tuple[int, int]:
    """(label year, number within that year): the order DHIS2's IDs of one type sort in."""
    if period.type == "Daily":
        return (period.start.year, period.start.timetuple().tm_yday)
    m = _WEEK_RE.fullmatch(period.id)
    if m:
        return (int(m.group(1)), int(m.group(3)))
    m = _MONTH_RES[period.type].fullmatch(period.id)
    assert m is not None
    return (int(m.group(1)), int(m.group(2) or 1))


def periods_between(period_type: str, first: date, last: date) -> list[Period]:
    """The periods that ``period_for`` assigns the days ``first``..``last`` to, in order."""
    result: list[Period] = []
    if last < first:
        return result
    period = period_for(period_type, first)
    while True:
        result.append(period)
        if period.end >= last:
            return result
        period = period.next()
