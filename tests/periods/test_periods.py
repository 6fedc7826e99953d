"""Period IDs: exhaustive tiling over 1990-2040, hypothesis properties, every confirmed example."""

from __future__ import annotations

import re
import string
from datetime import date
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dhispatch.runtime.periods import PERIOD_TYPES
from dhispatch.runtime.periods import Period
from dhispatch.runtime.periods import PeriodError
from dhispatch.runtime.periods import id_key
from dhispatch.runtime.periods import parse_period
from dhispatch.runtime.periods import period_for
from dhispatch.runtime.periods import period_type_of
from dhispatch.runtime.periods import periods_between
from dhispatch.runtime.periods import weeks_in_year

FIRST = date(1990, 1, 1)
LAST = date(2040, 12, 31)
DAY = timedelta(days=1)
dates = st.dates(min_value=FIRST, max_value=LAST)
types = st.sampled_from(PERIOD_TYPES)


def test_there_are_the_23_core_types() -> None:
    assert len(PERIOD_TYPES) == 23 == len(set(PERIOD_TYPES))


def _is_biweek_27(period: Period) -> bool:
    return period.type == "BiWeekly" and period.id.endswith("BiW27")


@pytest.mark.parametrize("ptype", PERIOD_TYPES)
def test_every_day_1990_2040_falls_in_exactly_one_period_and_periods_tile(ptype: str) -> None:
    """Exhaustive, not sampled: walk every period of the type across 51 years.

    The one documented exception is core's BiWeekly: BiW27 of a 53-ISO-week year lasts 14 days
    and so overlaps the next year's BiW1 by exactly that year's ISO week 1; ``period_for``
    assigns those days to BiW1 (as core does), so each day still has exactly one period.
    """
    walked = periods_between(ptype, FIRST, LAST)
    assert walked[0].start <= FIRST and walked[-1].end >= LAST
    ids = [p.id for p in walked]
    assert len(ids) == len(set(ids))
    overlaps = 0
    for before, after in zip(walked, walked[1:], strict=False):
        if _is_biweek_27(before):
            # the overlap is exactly next year's ISO week 1
            assert after.start == before.start + timedelta(days=7)
            assert after.id == f"{int(before.id[:4]) + 1}BiW1"
            overlaps += 1
        else:
            assert after.start == before.end + DAY, (before, after)  # no gap, no overlap
        assert after.previous() == before
        assert before.next() == after
    if ptype == "BiWeekly":
        # 1992, 1998, 2004, 2009, 2015, 2020, 2026, 2032, 2037 have 53 ISO weeks
        assert overlaps == sum(1 for y in range(1990, 2041) if weeks_in_year(y) == 53) == 9
    else:
        assert overlaps == 0
    # every day is assigned to exactly one of the walked periods, and it contains the day
    index = 0
    day = FIRST
    while day <= LAST:
        while day not in walked[index] or (
            _is_biweek_27(walked[index]) and day > walked[index].start + timedelta(days=6)
        ):
            index += 1
        assert period_for(ptype, day) == walked[index]
        day += DAY


@given(ptype=types, day=dates)
def test_period_contains_its_day_and_id_round_trips(ptype: str, day: date) -> None:
    period = period_for(ptype, day)
    assert day in period
    assert period.type == ptype
    assert period.start <= period.end
    assert parse_period(period.id) == period
    assert parse_period(period.id, ptype) == period
    assert period_type_of(period.id) == ptype


@given(ptype=types, day=dates)
def test_ids_of_adjacent_periods_are_ordered(ptype: str, day: date) -> None:
    period = period_for(ptype, day)
    following = period.next()
    assert id_key(period) < id_key(following)
    assert id_key(period.previous()) < id_key(period)
    assert period.start < following.start
    assert following.previous() == period


ID_LIKE = st.one_of(
    st.text(alphabet=string.digits + "WBQSNovAprilJulyFebAugSepOct-", max_size=12),
    st.from_regex(
        r"\d{4}-?(W|WedW|SunW|BiW|Q|S|NovQ|NovS|AprilS|April|Nov)?\d{0,3}B?", fullmatch=True
    ),
)


@given(text=ID_LIKE)
def test_any_text_parses_to_a_canonical_period_or_is_refused(text: str) -> None:
    try:
        period = parse_period(text)
    except PeriodError:
        return
    assert parse_period(period.id) == period
    assert period_for(period.type, period.start) == period


CONFIRMED = [
    # reference §8, core tests
    ("Weekly", "2011-01-03", "2011W1"),
    ("Weekly", "2012-12-30", "2012W52"),
    ("Weekly", "2012-12-31", "2013W1"),
    ("Weekly", "2009-12-29", "2009W53"),
    ("Weekly", "2010-01-04", "2010W1"),
    ("WeeklyWednesday", "2017-05-02", "2017WedW17"),
    ("WeeklyWednesday", "2017-05-03", "2017WedW18"),
    ("WeeklyWednesday", "2017-05-04", "2017WedW18"),
    ("WeeklyThursday", "2017-05-03", "2017ThuW18"),
    ("WeeklyThursday", "2017-05-04", "2017ThuW19"),
    ("WeeklySaturday", "2017-05-05", "2017SatW18"),
    ("WeeklySaturday", "2017-05-06", "2017SatW19"),
    ("WeeklySunday", "2017-05-06", "2017SunW18"),
    ("WeeklySunday", "2017-05-07", "2017SunW19"),
    ("WeeklySunday", "2017-01-01", "2017SunW1"),
    ("WeeklySunday", "2017-01-08", "2017SunW2"),
    ("BiWeekly", "2018-01-08", "2018BiW1"),
    # reference §8, multi-calendar-dates examples where it agrees with core
    ("Weekly", "2022-01-01", "2021W52"),
    ("Weekly", "2022-01-03", "2022W1"),
    ("Weekly", "2024-12-31", "2025W1"),
    ("WeeklyWednesday", "2019-01-01", "2018WedW52"),
    ("WeeklyWednesday", "2022-01-01", "2022WedW1"),
    ("WeeklySaturday", "2021-01-01", "2020SatW52"),
    ("WeeklySunday", "2021-01-01", "2020SunW53"),
    ("WeeklySunday", "2023-01-01", "2023SunW1"),
    ("BiWeekly", "2020-01-01", "2020BiW1"),
    ("BiWeekly", "2024-12-31", "2025BiW1"),
    ("BiMonthly", "2022-03-01", "202202B"),
    ("SixMonthlyApril", "2022-01-01", "2021AprilS2"),
    # reference §8, the library-vs-core table: core's side
    ("FinancialNov", "2023-01-01", "2023Nov"),
    ("SixMonthlyNov", "2022-01-01", "2022NovS1"),
    ("QuarterlyNov", "2022-11-01", "2023NovQ1"),
    ("BiWeekly", "2021-01-01", "2020BiW27"),
    # the basic forms of the type table
    ("Daily", "2004-03-15", "20040315"),
    ("Monthly", "2024-01-31", "202401"),
    ("Quarterly", "2024-05-15", "2024Q2"),
    ("SixMonthly", "2024-07-01", "2024S2"),
    ("Yearly", "2024-12-31", "2024"),
    ("FinancialApril", "2005-03-31", "2004April"),
]


@pytest.mark.parametrize(("ptype", "day", "expected"), CONFIRMED)
def test_confirmed_examples(ptype: str, day: str, expected: str) -> None:
    assert period_for(ptype, date.fromisoformat(day)).id == expected


PARSED = [
    ("2009W1", "2008-12-29", "2009-01-04"),
    ("2011W11", "2011-03-14", "2011-03-20"),
    ("2018BiW1", "2018-01-01", "2018-01-14"),
    ("2020BiW27", "2020-12-28", "2021-01-10"),  # core: 14 days, overlapping 2021BiW1
    ("2021BiW1", "2021-01-04", "2021-01-17"),
    ("202202B", "2022-03-01", "2022-04-30"),
    ("202206B", "2022-11-01", "2022-12-31"),
    ("2023NovQ1", "2022-11-01", "2023-01-31"),
    ("2023NovQ4", "2023-08-01", "2023-10-31"),
    ("2015NovS1", "2014-11-01", "2015-04-30"),
    ("2015NovS2", "2015-05-01", "2015-10-31"),
    ("2021AprilS1", "2021-04-01", "2021-09-30"),
    ("2021AprilS2", "2021-10-01", "2022-03-31"),
    ("2004April", "2004-04-01", "2005-03-31"),
    ("2004July", "2004-07-01", "2005-06-30"),
    ("2004Oct", "2004-10-01", "2005-09-30"),
    ("2004Feb", "2004-02-01", "2005-01-31"),
    ("2004Aug", "2004-08-01", "2005-07-31"),
    ("2004Sep", "2004-09-01", "2005-08-31"),
    ("2010Nov", "2009-11-01", "2010-10-31"),  # FinancialNovemberPeriodTypeTest: end-year label
    ("2017WedW18", "2017-05-03", "2017-05-09"),
    ("2017FriW1", "2016-12-30", "2017-01-05"),
    ("2020SunW53", "2020-12-27", "2021-01-02"),
    ("2024Q1", "2024-01-01", "2024-03-31"),
    ("2024S1", "2024-01-01", "2024-06-30"),
    ("2024", "2024-01-01", "2024-12-31"),
    ("20240229", "2024-02-29", "2024-02-29"),
]


@pytest.mark.parametrize(("pid", "start", "end"), PARSED)
def test_parse_gives_core_dates(pid: str, start: str, end: str) -> None:
    period = parse_period(pid)
    assert (period.id, period.start.isoformat(), period.end.isoformat()) == (pid, start, end)


@pytest.mark.parametrize(
    ("given_id", "canonical"),
    [("2024-01-31", "20240131"), ("2024-01", "202401"), ("2024W01", "2024W1"),
     ("2024BiW02", "2024BiW2"), ("2017SunW07", "2017SunW7")],
)  # fmt: skip
def test_parse_accepts_dhis2_alternative_forms_and_emits_canonical(
    given_id: str, canonical: str
) -> None:
    assert parse_period(given_id).id == canonical


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        # PeriodTypeTest's invalid strings
        ("201", "not a DHIS2 period ID"),
        ("20111", "not a DHIS2 period ID"),
        ("201W2", "not a DHIS2 period ID"),
        ("2011Q12", "not a DHIS2 period ID"),
        ("2011W234", "not a DHIS2 period ID"),
        ("2011Q10", "not a DHIS2 period ID"),
        # periods that do not exist
        ("2014W53", "2014 has only 52 Weekly weeks"),
        ("2015W54", "2015 has only 53"),
        ("2024W0", "has only 52"),
        ("2021BiW27", "2021 has only 26 BiWeekly bi-weeks"),
        ("202413", "month 13"),
        ("202400", "month 0"),
        ("20230229", "not a day that exists"),
        ("20240230", "not a day that exists"),
        ("2024Q5", "Quarterly number 5"),
        ("202207B", "BiMonthly number 7"),
        ("2024NovS3", "SixMonthlyNov number 3"),
        ("2024-1-01", "not a DHIS2 period ID"),
        ("2024W001", "not a DHIS2 period ID"),
        ("2024November", "not a DHIS2 period ID"),
        ("2024NovemberS1", "not a DHIS2 period ID"),
        ("", "not a DHIS2 period ID"),
    ],
)
def test_invalid_ids_are_refused(bad: str, message: str) -> None:
    with pytest.raises(PeriodError, match=re.escape(message)):
        parse_period(bad)


def test_parse_checks_the_expected_type() -> None:
    with pytest.raises(PeriodError, match="is a Weekly period, not Monthly"):
        parse_period("2024W1", "Monthly")
    with pytest.raises(PeriodError, match=r"type 'weekly' \(did you mean Weekly\?\)"):
        parse_period("2024W1", "weekly")
    with pytest.raises(PeriodError, match="unknown period type 'Fortnightly'"):
        period_for("Fortnightly", date(2024, 1, 1))


def test_weeks_in_year_matches_iso_calendar() -> None:
    for year in range(1990, 2041):
        assert weeks_in_year(year) == date(year, 12, 28).isocalendar().week


def test_weekly_ids_agree_with_python_iso_calendar() -> None:
    day = FIRST
    while day <= LAST:
        iso = day.isocalendar()
        assert period_for("Weekly", day).id == f"{iso.year}W{iso.week}"
        assert period_for("BiWeekly", day).id == f"{iso.year}BiW{(iso.week + 1) // 2}"
        day += DAY


def test_edges_of_the_calendar_are_clear_errors() -> None:
    with pytest.raises(PeriodError, match="no period after"):
        parse_period("9999").next()
    with pytest.raises(PeriodError, match="no WeeklySunday period"):
        period_for("WeeklySunday", date(1, 1, 1))


@given(ptype=types, day=st.dates())
def test_any_date_gets_its_period_or_a_period_error(ptype: str, day: date) -> None:
    try:
        period = period_for(ptype, day)
    except PeriodError:
        return
    assert day in period
