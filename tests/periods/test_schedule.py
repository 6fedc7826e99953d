"""Schedules: interval x basis on edge dates, DST, midnight runs, catch-up, manual pushes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dhispatch.runtime.periods import PeriodError
from dhispatch.runtime.plan import Interval
from dhispatch.runtime.schedule import ScheduleError
from dhispatch.runtime.schedule import Slot
from dhispatch.runtime.schedule import dropped_slots
from dhispatch.runtime.schedule import due_instants
from dhispatch.runtime.schedule import due_slots
from dhispatch.runtime.schedule import end_of_day
from dhispatch.runtime.schedule import localize
from dhispatch.runtime.schedule import manual_slot
from dhispatch.runtime.schedule import slot_for
from tests.plans import typed_plan
from tests.plans import typed_step

NAIROBI = "Africa/Nairobi"  # UTC+3 all year: the calendar edges without DST noise
LONDON = "Europe/London"
NEW_YORK = "America/New_York"
END = "23:59:59.999999"


def at(text: str, tz: str) -> datetime:
    """A local wall time in ``tz`` ("2024-01-31 00:00"), fold=0."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def step(interval: Mapping[str, Any], basis: str, step_id: str = "soh") -> dict[str, Any]:
    return {"id": step_id, "interval": dict(interval), "basis": basis, "paused": False}


def run(
    interval: Mapping[str, Any], basis: str, ptype: str, tz: str, after: str, until: str
) -> list[tuple[str, str, str]]:
    """(due, R, period) for every run in (after, until], as local wall-clock strings."""
    out = []
    for due in due_instants(Interval.from_json(interval), tz, at(after, tz), at(until, tz)):
        slot = slot_for(typed_step(step(interval, basis)), ptype, tz, due)
        assert slot.due == due and slot.due.tzinfo is not None
        out.append((_wall(slot.due), _wall(slot.reference), slot.period.id))
    return out


def _wall(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="auto").replace(".999999", ".9")


E = END.replace(".999999", ".9")

MATRIX = [
    # month ends and 29 February
    pytest.param(
        {"kind": "monthly", "day": 31}, "previous_month", "Monthly", NAIROBI,
        "2024-01-30 12:00", "2024-03-31 00:00",
        [("2024-01-31 00:00:00", f"2023-12-31 {E}", "202312"),
         ("2024-02-29 00:00:00", f"2024-01-31 {E}", "202401"),
         ("2024-03-31 00:00:00", f"2024-02-29 {E}", "202402")],
        id="monthly-31-previous_month-runs-on-29-feb",
    ),
    pytest.param(
        {"kind": "monthly", "day": 30}, "current_day", "Daily", NAIROBI,
        "2023-01-31 00:00", "2023-03-30 00:00",
        [("2023-02-28 00:00:00", "2023-02-28 00:00:00", "20230228"),
         ("2023-03-30 00:00:00", "2023-03-30 00:00:00", "20230330")],
        id="monthly-30-in-a-28-day-february",
    ),
    pytest.param(
        {"kind": "last_day_of_month"}, "current_day", "Monthly", NAIROBI,
        "2024-01-31 00:00", "2024-03-01 00:00",  # (after, until]: 31 Jan itself excluded
        [("2024-02-29 00:00:00", "2024-02-29 00:00:00", "202402")],
        id="last_day_of_month-current_day-29-feb",
    ),
    pytest.param(
        {"kind": "last_day_of_month"}, "previous_period", "Daily", NAIROBI,
        "2024-12-30 00:00", "2024-12-31 00:00",
        [("2024-12-31 00:00:00", f"2024-12-30 {E}", "20241230")],
        id="last_day_of_month-previous_period-daily-year-end",
    ),
    pytest.param(
        {"kind": "first_day_of_month"}, "previous_period", "Monthly", NAIROBI,
        "2023-12-31 00:00", "2024-03-01 00:00",
        [("2024-01-01 00:00:00", f"2023-12-31 {E}", "202312"),
         ("2024-02-01 00:00:00", f"2024-01-31 {E}", "202401"),
         ("2024-03-01 00:00:00", f"2024-02-29 {E}", "202402")],
        id="first_day_of_month-previous_period-across-new-year",
    ),
    pytest.param(
        {"kind": "first_day_of_month"}, "previous_period", "Quarterly", NAIROBI,
        "2023-12-01 00:00", "2024-04-01 00:00",
        [("2024-01-01 00:00:00", f"2023-12-31 {E}", "2023Q4"),
         ("2024-02-01 00:00:00", f"2023-12-31 {E}", "2023Q4"),
         ("2024-03-01 00:00:00", f"2023-12-31 {E}", "2023Q4"),
         ("2024-04-01 00:00:00", f"2024-03-31 {E}", "2024Q1")],
        id="first_day_of_month-previous_period-quarterly",
    ),
    pytest.param(
        {"kind": "first_day_of_month"}, "previous_period", "FinancialNov", NAIROBI,
        "2024-10-15 00:00", "2024-12-01 00:00",
        [("2024-11-01 00:00:00", f"2024-10-31 {E}", "2024Nov"),
         ("2024-12-01 00:00:00", f"2024-10-31 {E}", "2024Nov")],
        id="first_day_of_month-previous_period-financial-nov-end-year-label",
    ),
    # year ends: 2023-12-31 (Sunday) -> 2024-01-01 (Monday, first day of 2024W1)
    pytest.param(
        {"kind": "daily"}, "current_day", "Weekly", NAIROBI,
        "2023-12-30 00:00", "2024-01-01 00:00",
        [("2023-12-31 00:00:00", "2023-12-31 00:00:00", "2023W52"),
         ("2024-01-01 00:00:00", "2024-01-01 00:00:00", "2024W1")],
        id="daily-current_day-weekly-year-end",
    ),
    pytest.param(
        {"kind": "daily"}, "previous_period", "Weekly", NAIROBI,
        "2023-12-30 00:00", "2024-01-01 00:00",
        [("2023-12-31 00:00:00", f"2023-12-24 {E}", "2023W51"),
         ("2024-01-01 00:00:00", f"2023-12-31 {E}", "2023W52")],
        id="daily-previous_period-weekly-year-end",
    ),
    pytest.param(
        {"kind": "daily"}, "previous_month", "Monthly", NAIROBI,
        "2023-12-30 00:00", "2024-01-01 00:00",
        [("2023-12-31 00:00:00", f"2023-11-30 {E}", "202311"),
         ("2024-01-01 00:00:00", f"2023-12-31 {E}", "202312")],
        id="daily-previous_month-year-end",
    ),
    pytest.param(
        {"kind": "weekly", "weekday": "monday"}, "previous_period", "BiWeekly", NAIROBI,
        "2021-01-01 00:00", "2021-01-18 00:00",
        [("2021-01-04 00:00:00", f"2020-12-27 {E}", "2020BiW26"),
         ("2021-01-11 00:00:00", f"2021-01-10 {E}", "2020BiW27"),
         ("2021-01-18 00:00:00", f"2021-01-17 {E}", "2021BiW1")],
        id="weekly-previous_period-biweekly-after-53-week-year",
    ),
    pytest.param(
        {"kind": "weekly", "weekday": "wednesday"}, "previous_period", "WeeklyWednesday",
        NAIROBI, "2018-12-25 00:00", "2019-01-09 00:00",
        [("2018-12-26 00:00:00", f"2018-12-25 {E}", "2018WedW51"),
         ("2019-01-02 00:00:00", f"2019-01-01 {E}", "2018WedW52"),
         ("2019-01-09 00:00:00", f"2019-01-08 {E}", "2019WedW1")],
        id="weekly-wednesday-previous_period-offset-weeks",
    ),
    # a run at exactly midnight: R = that midnight (stock at the start of the day) goes to the
    # period holding the due day, so R always lies inside the period it fills
    pytest.param(
        {"kind": "cron", "expression": "0 0 * * *"}, "current_day", "Monthly", NAIROBI,
        "2024-02-28 12:00", "2024-03-01 00:00",
        [("2024-02-29 00:00:00", "2024-02-29 00:00:00", "202402"),
         ("2024-03-01 00:00:00", "2024-03-01 00:00:00", "202403")],
        id="cron-midnight-current_day-fills-the-new-day",
    ),
    pytest.param(
        {"kind": "cron", "expression": "0 0 * * *"}, "previous_period", "Daily", NAIROBI,
        "2024-02-29 12:00", "2024-03-01 00:00",
        [("2024-03-01 00:00:00", f"2024-02-29 {E}", "20240229")],
        id="cron-midnight-previous_period-fills-the-day-that-ended",
    ),
    # daylight saving: Europe/London springs forward 2024-03-31 01:00->02:00, falls back
    # 2024-10-27 02:00->01:00; New York springs forward 2024-03-10 02:00->03:00
    pytest.param(
        {"kind": "cron", "expression": "30 1 * * *"}, "current_day", "Daily", LONDON,
        "2024-03-30 00:00", "2024-04-01 12:00",
        [("2024-03-30 01:30:00", "2024-03-30 01:30:00", "20240330"),
         ("2024-03-31 02:00:00", "2024-03-31 02:00:00", "20240331"),  # 01:30 does not exist
         ("2024-04-01 01:30:00", "2024-04-01 01:30:00", "20240401")],
        id="cron-in-spring-forward-gap-runs-at-end-of-gap",
    ),
    pytest.param(
        {"kind": "cron", "expression": "30 1 * * *"}, "previous_period", "Daily", LONDON,
        "2024-10-26 12:00", "2024-10-28 12:00",
        [("2024-10-27 01:30:00", f"2024-10-26 {E}", "20241026"),  # once, not twice
         ("2024-10-28 01:30:00", f"2024-10-27 {E}", "20241027")],
        id="cron-in-fall-back-fold-runs-once",
    ),
    pytest.param(
        {"kind": "cron", "expression": "30 2 * * *"}, "previous_period", "Daily", NEW_YORK,
        "2024-03-09 12:00", "2024-03-11 12:00",
        [("2024-03-10 03:00:00", f"2024-03-09 {E}", "20240309"),
         ("2024-03-11 02:30:00", f"2024-03-10 {E}", "20240310")],
        id="cron-new-york-spring-forward",
    ),
    pytest.param(
        {"kind": "daily"}, "current_day", "Weekly", LONDON,
        "2024-03-30 12:00", "2024-04-01 00:00",
        [("2024-03-31 00:00:00", "2024-03-31 00:00:00", "2024W13"),
         ("2024-04-01 00:00:00", "2024-04-01 00:00:00", "2024W14")],
        id="daily-midnight-across-dst-change",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("interval", "basis", "ptype", "tz", "after", "until", "expected"), MATRIX)
def test_interval_basis_matrix(
    interval: dict[str, Any],
    basis: str,
    ptype: str,
    tz: str,
    after: str,
    until: str,
    expected: list[tuple[str, str, str]],
) -> None:
    assert run(interval, basis, ptype, tz, after, until) == expected


def test_dst_instants_have_the_right_offsets() -> None:
    london = ZoneInfo(LONDON)
    gap = localize(datetime(2024, 3, 31, 1, 30), london)
    assert gap.astimezone(UTC) == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)  # first instant after
    fold = localize(datetime(2024, 10, 27, 1, 30), london)
    assert fold.astimezone(UTC) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # first occurrence
    dues = list(
        due_instants(
            Interval("daily"),
            LONDON,
            at("2024-03-30 12:00", LONDON),
            at("2024-04-01 00:00", LONDON),
        )
    )
    assert [d.utcoffset() for d in dues] == [timedelta(0), timedelta(hours=1)]
    # Santiago springs forward at midnight: 2024-09-08 00:00 does not exist, the run is at 01:00
    santiago = list(
        due_instants(
            Interval("daily"),
            "America/Santiago",
            datetime(2024, 9, 7, 12, tzinfo=UTC),
            datetime(2024, 9, 8, 12, tzinfo=UTC),
        )
    )
    assert [_wall(d) for d in santiago] == ["2024-09-08 01:00:00"]


def test_due_instants_window_is_half_open() -> None:
    interval = {"kind": "first_day_of_month"}
    dues = list(
        due_instants(
            Interval.from_json(interval),
            NAIROBI,
            at("2024-01-01", NAIROBI),
            at("2024-03-01", NAIROBI),
        )
    )
    assert [_wall(d) for d in dues] == ["2024-02-01 00:00:00", "2024-03-01 00:00:00"]


def test_previous_month_on_a_non_monthly_data_set_is_refused() -> None:
    with pytest.raises(PeriodError, match="previous_month fills a month.*Weekly"):
        slot_for(
            typed_step(step({"kind": "daily"}, "previous_month")),
            "Weekly",
            NAIROBI,
            at("2024-01-01", NAIROBI),
        )


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        ({"kind": "hourly"}, "unknown interval kind 'hourly'"),
        ({"kind": "weekly", "weekday": "funday"}, "unknown weekday 'funday'"),
        ({"kind": "monthly", "day": 32}, "monthly interval needs a day 1-31"),
        ({"kind": "cron", "expression": "61 * * * *"}, "invalid cron expression"),
        ({"kind": "cron", "expression": "0 0 30 2 *"}, "never due"),
    ],
)
def test_bad_intervals_are_clear_errors(interval: dict[str, Any], message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        interval_ = Interval.from_json(interval)
        list(due_instants(interval_, NAIROBI, at("2024-01-01", NAIROBI), at("2024-12-31", NAIROBI)))


def test_bad_zone_and_naive_datetimes_are_clear_errors() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        list(
            due_instants(
                Interval("daily"),
                "Mars/Olympus",
                at("2024-01-01", NAIROBI),
                at("2024-01-02", NAIROBI),
            )
        )
    with pytest.raises(ScheduleError, match="after must be a time-zone-aware datetime"):
        list(
            due_instants(
                Interval("daily"), NAIROBI, datetime(2024, 1, 1), at("2024-01-02", NAIROBI)
            )
        )
    with pytest.raises(ScheduleError, match="unknown basis 'yesterday'"):
        slot_for(
            typed_step(step({"kind": "daily"}, "yesterday")),
            "Daily",
            NAIROBI,
            at("2024-01-02", NAIROBI),
        )


# --- catch-up --------------------------------------------------------------------------------

CATCH_UP_PLAN = typed_plan(
    {
        "target": {"timezone": LONDON, "period_type": "Monthly"},
        "steps": [
            step({"kind": "first_day_of_month"}, "previous_month", "soh"),
            step({"kind": "monthly", "day": 31}, "previous_period", "amc"),
            step({"kind": "weekly", "weekday": "sunday"}, "current_day", "dos"),
            step({"kind": "last_day_of_month"}, "current_day", "exp"),
            {**step({"kind": "daily"}, "current_day", "paused"), "paused": True},
            step({"kind": "cron", "expression": "0 6 15 * *"}, "previous_month", "val"),
        ],
    }
)
LAST_RUN = at("2024-07-15 06:00", LONDON)  # the run of 15 July 06:00 itself was done
WAKE = at("2024-11-03 08:00", LONDON)
D = "due"  # R = the due instant (current_day)

# Written out by hand: every slot due in (2024-07-15 06:00, 2024-11-03 08:00] Europe/London,
# oldest first, same-instant slots in plan step order. BST ends 2024-10-27.
CATCH_UP_EXPECTED = [
    ("2024-07-21 00:00:00", "dos", D, "202407"),
    ("2024-07-28 00:00:00", "dos", D, "202407"),
    ("2024-07-31 00:00:00", "amc", f"2024-06-30 {E}", "202406"),
    ("2024-07-31 00:00:00", "exp", D, "202407"),
    ("2024-08-01 00:00:00", "soh", f"2024-07-31 {E}", "202407"),
    ("2024-08-04 00:00:00", "dos", D, "202408"),
    ("2024-08-11 00:00:00", "dos", D, "202408"),
    ("2024-08-15 06:00:00", "val", f"2024-07-31 {E}", "202407"),
    ("2024-08-18 00:00:00", "dos", D, "202408"),
    ("2024-08-25 00:00:00", "dos", D, "202408"),
    ("2024-08-31 00:00:00", "amc", f"2024-07-31 {E}", "202407"),
    ("2024-08-31 00:00:00", "exp", D, "202408"),
    ("2024-09-01 00:00:00", "soh", f"2024-08-31 {E}", "202408"),
    ("2024-09-01 00:00:00", "dos", D, "202409"),
    ("2024-09-08 00:00:00", "dos", D, "202409"),
    ("2024-09-15 00:00:00", "dos", D, "202409"),
    ("2024-09-15 06:00:00", "val", f"2024-08-31 {E}", "202408"),
    ("2024-09-22 00:00:00", "dos", D, "202409"),
    ("2024-09-29 00:00:00", "dos", D, "202409"),
    ("2024-09-30 00:00:00", "amc", f"2024-08-31 {E}", "202408"),
    ("2024-09-30 00:00:00", "exp", D, "202409"),
    ("2024-10-01 00:00:00", "soh", f"2024-09-30 {E}", "202409"),
    ("2024-10-06 00:00:00", "dos", D, "202410"),
    ("2024-10-13 00:00:00", "dos", D, "202410"),
    ("2024-10-15 06:00:00", "val", f"2024-09-30 {E}", "202409"),
    ("2024-10-20 00:00:00", "dos", D, "202410"),
    ("2024-10-27 00:00:00", "dos", D, "202410"),
    ("2024-10-31 00:00:00", "amc", f"2024-09-30 {E}", "202409"),
    ("2024-10-31 00:00:00", "exp", D, "202410"),
    ("2024-11-01 00:00:00", "soh", f"2024-10-31 {E}", "202410"),
    ("2024-11-03 00:00:00", "dos", D, "202411"),
]


def _row(slot: Slot) -> tuple[str, str, str, str]:
    reference = D if slot.reference == slot.due else _wall(slot.reference)
    return (_wall(slot.due), slot.step_id, reference, slot.period.id)


def test_catch_up_lists_exactly_the_missed_slots_oldest_first() -> None:
    slots = due_slots(CATCH_UP_PLAN, LAST_RUN, WAKE, window=timedelta(days=120))
    assert [_row(s) for s in slots] == CATCH_UP_EXPECTED
    assert all(s.due.tzinfo == ZoneInfo(LONDON) for s in slots)
    assert [s.due.utcoffset() for s in slots][-4:] == [timedelta(0)] * 4  # GMT after 27 Oct
    assert dropped_slots(CATCH_UP_PLAN, LAST_RUN, WAKE, window=timedelta(days=120)) == 0


def test_catch_up_window_drops_older_slots() -> None:
    # default window 92 days: from 2024-08-03 08:00 UTC (09:00 BST)
    slots = due_slots(CATCH_UP_PLAN, LAST_RUN, WAKE)
    assert [_row(s) for s in slots] == CATCH_UP_EXPECTED[5:]
    assert dropped_slots(CATCH_UP_PLAN, LAST_RUN, WAKE) == 5
    short = due_slots(CATCH_UP_PLAN, LAST_RUN, WAKE, window=timedelta(days=3))
    assert [_row(s) for s in short] == CATCH_UP_EXPECTED[-2:]  # from 31 Oct 08:00


def test_catch_up_is_the_same_when_woken_in_another_zone() -> None:
    utc_slots = due_slots(
        CATCH_UP_PLAN, LAST_RUN.astimezone(UTC), WAKE.astimezone(UTC), window=timedelta(days=120)
    )
    assert [_row(s) for s in utc_slots] == CATCH_UP_EXPECTED


def test_nothing_is_due_twice_across_consecutive_wakes() -> None:
    wakes = [LAST_RUN + timedelta(hours=h) for h in range(0, 24 * 112, 37)] + [WAKE]
    collected = []
    for after, until in zip(wakes, wakes[1:], strict=False):
        collected += due_slots(CATCH_UP_PLAN, after, until, window=timedelta(days=120))
    assert [_row(s) for s in collected] == CATCH_UP_EXPECTED


# --- manual pushes ---------------------------------------------------------------------------

NOW = at("2024-03-10 14:30", NAIROBI)


@pytest.mark.parametrize(
    ("basis", "kwargs", "expected_reference", "expected_period"),
    [
        ("current_day", {"at": date(2024, 2, 29)}, f"2024-02-29 {E}", "202402"),
        ("previous_month", {"at": date(2024, 2, 29)}, f"2024-02-29 {E}", "202402"),
        ("previous_month", {"at": date(2024, 2, 28)}, f"2024-01-31 {E}", "202401"),
        ("previous_period", {"at": date(2023, 12, 31)}, f"2023-12-31 {E}", "202312"),
        ("current_day", {"period": "202401"}, f"2024-01-31 {E}", "202401"),
        ("current_day", {"period": "2024-03"}, "2024-03-10 14:30:00", "202403"),  # still running
        ("previous_month", {}, "2024-03-10 14:30:00", "202403"),  # no option: current_day, now
    ],
)
def test_manual_slots(
    basis: str, kwargs: dict[str, Any], expected_reference: str, expected_period: str
) -> None:
    push = typed_step(step({"kind": "daily"}, basis))
    slot = manual_slot(push, "Monthly", NAIROBI, now=NOW, **kwargs)
    assert (_wall(slot.reference), slot.period.id) == (expected_reference, expected_period)
    assert slot.due == NOW


def test_manual_slot_refusals() -> None:
    push = typed_step(step({"kind": "daily"}, "current_day"))
    with pytest.raises(PeriodError, match="'2024W1' is a Weekly period, not Monthly"):
        manual_slot(push, "Monthly", NAIROBI, period="2024W1", now=NOW)
    with pytest.raises(PeriodError, match="202404 has not started yet"):
        manual_slot(push, "Monthly", NAIROBI, period="202404", now=NOW)
    with pytest.raises(ScheduleError, match="not both"):
        manual_slot(push, "Monthly", NAIROBI, period="202401", at=date(2024, 1, 1), now=NOW)


def test_instants_in_a_fold_compare_as_instants_not_wall_times() -> None:
    # 01:30 EST (the second 01:30 of 2024-11-03) is after 01:45 EDT, although its wall time is
    # earlier; the 01:45 run (fold=0, EDT) was therefore already due before `after`.
    after = datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=ZoneInfo(NEW_YORK))
    until = datetime(2024, 11, 4, 12, tzinfo=ZoneInfo(NEW_YORK))
    cron = Interval("cron", expression="45 1 * * *")
    dues = list(due_instants(cron, NEW_YORK, after, until))
    assert [d.astimezone(UTC).isoformat() for d in dues] == ["2024-11-04T06:45:00+00:00"]
    # the catch-up window is absolute time: 92 days before a GMT instant, not the same wall time
    daily_8 = step({"kind": "cron", "expression": "0 8 * * *"}, "current_day")
    plan = {"target": {"timezone": LONDON, "period_type": "Daily"}, "steps": [daily_8]}
    wake = at("2024-11-03 07:30", LONDON)  # GMT; 92 days earlier is 2024-08-03 08:30 BST
    slots = due_slots(typed_plan(plan), wake - timedelta(days=200), wake)
    assert _wall(slots[0].due) == "2024-08-04 08:00:00"  # 3 Aug 08:00 BST is before the window
    assert _wall(slots[-1].due) == "2024-11-02 08:00:00" and len(slots) == 91


def test_end_of_a_day_that_repeats_its_last_hour() -> None:
    # America/Santiago fell back at 2023-04-02 00:00 -03 to 2023-04-01 23:00 -04: the day
    # 2023-04-01 ends at the second 23:59:59.999999
    end = end_of_day(date(2023, 4, 1), ZoneInfo("America/Santiago"))
    assert end.astimezone(UTC) == datetime(2023, 4, 2, 3, 59, 59, 999999, tzinfo=UTC)
    assert (_wall(end), end.fold) == (f"2023-04-01 {E}", 1)


def test_catch_up_daily_interval_each_run_fills_the_day_before() -> None:
    # the daily kind of the catch-up case: 111 runs (16 Jul .. 3 Nov), each its own period
    plan = typed_plan({"target": {"timezone": LONDON, "period_type": "Daily"},
                       "steps": [step({"kind": "daily"}, "previous_period", "daily")]})  # fmt: skip
    slots = due_slots(plan, LAST_RUN, WAKE, window=timedelta(days=120))
    assert len(slots) == 111
    assert _row(slots[0]) == ("2024-07-16 00:00:00", "daily", f"2024-07-15 {E}", "20240715")
    assert _row(slots[-1]) == ("2024-11-03 00:00:00", "daily", f"2024-11-02 {E}", "20241102")
    assert [s.period.next() for s in slots[:-1]] == [s.period for s in slots[1:]]
    assert all(s.period.end == s.due.date() - timedelta(days=1) for s in slots)
    assert dropped_slots(plan, LAST_RUN, WAKE) == 111 - 92  # default window keeps 92 days
