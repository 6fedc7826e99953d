"""The sandbox's own period parser, cross-checked against the runtime's (both mirror core)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from dhispatch.runtime import periods as runtime_periods
from dhispatch.runtime.sandbox.periods import PERIOD_TYPES
from dhispatch.runtime.sandbox.periods import latest_open_period
from dhispatch.runtime.sandbox.periods import parse_period
from dhispatch.runtime.sandbox.periods import period_containing
from dhispatch.runtime.sandbox.periods import shift

DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


@given(st.sampled_from(PERIOD_TYPES), DAYS)
def test_agrees_with_the_runtime_period_module(ptype: str, day: date) -> None:
    # two independent implementations of core's rules: a disagreement is a bug in one of them
    mine = period_containing(ptype, day)
    theirs = runtime_periods.period_for(ptype, day)
    assert (mine.iso, mine.start, mine.end) == (theirs.id, theirs.start, theirs.end)
    again = parse_period(mine.iso)
    assert again is not None and (again.type, again.start, again.end) == (
        ptype,
        mine.start,
        mine.end,
    )


@given(st.sampled_from(PERIOD_TYPES), DAYS, st.integers(-30, 30))
def test_shift_moves_whole_periods(ptype: str, day: date, n: int) -> None:
    base = period_containing(ptype, day)
    moved = shift(base, n)
    assert moved.type == ptype
    assert shift(moved, -n) == base or ptype == "BiWeekly"  # BiW27 overlaps the next BiW1
    assert (moved.start > base.start) == (n > 0) or n == 0


def test_core_examples_and_refusals() -> None:
    examples = {
        "2012W52": date(2012, 12, 30),
        "2013W1": date(2012, 12, 31),
        "2009W53": date(2009, 12, 29),
        "2017WedW18": date(2017, 5, 3),
        "2017SunW1": date(2017, 1, 1),
        "2020BiW27": date(2021, 1, 1),
        "202202B": date(2022, 3, 1),
        "2021AprilS2": date(2022, 1, 1),
        "2022NovS1": date(2022, 1, 1),
        "2023NovQ1": date(2022, 11, 1),
        "2010Nov": date(2010, 1, 1),
    }
    for iso, day in examples.items():
        parsed = parse_period(iso)
        assert parsed is not None and parsed.start <= day <= parsed.end, iso
    for bad in (
        "201",
        "20111",
        "201W2",
        "2011Q12",
        "2011W234",
        "2011Q10",
        "202413",
        "20240230",
        "2010W53",
    ):
        assert parse_period(bad) is None, bad
    # types younger than a version are refused by that version's parser
    assert parse_period("2024FriW3", minor=42) is None
    assert parse_period("2024FriW3", minor=43) is not None
    assert parse_period("2024NovQ1", minor=37) is None


def test_open_future_periods_rewind_one_period_first() -> None:
    today = date(2025, 6, 15)
    assert latest_open_period("Monthly", 0, today).iso == "202505"  # current month locked
    assert latest_open_period("Monthly", 1, today).iso == "202506"
    assert latest_open_period("Daily", 1, today).iso == "20250615"
    assert latest_open_period("Weekly", 3, today).iso == "2025W26"
