"""Hypothesis properties of schedules: split-invariant due lists, bounds, basis invariants."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from dhispatch.runtime.periods import PERIOD_TYPES
from dhispatch.runtime.plan import Interval
from dhispatch.runtime.schedule import WEEKDAYS
from dhispatch.runtime.schedule import due_instants
from dhispatch.runtime.schedule import slot_for
from dhispatch.runtime.schedule import start_of_day
from tests.plans import typed_step

# Zones with DST at 01:00/02:00, at midnight (Santiago), by 30 minutes (Lord Howe), none.
ZONES = ["UTC", "Europe/London", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
         "Asia/Kathmandu", "Pacific/Tarawa"]  # fmt: skip

intervals = st.one_of(
    st.sampled_from([{"kind": k} for k in ("daily", "first_day_of_month", "last_day_of_month")]),
    st.builds(lambda d: {"kind": "weekly", "weekday": d}, st.sampled_from(WEEKDAYS)),
    st.builds(lambda n: {"kind": "monthly", "day": n}, st.integers(1, 31)),
    st.sampled_from(
        [{"kind": "cron", "expression": e}
         for e in ("30 1 * * *", "0 0 * * 1", "0 2 1 * *", "15 */6 * * *", "0 0 L * *")]
    ),
)  # fmt: skip
instants = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2025, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@given(
    interval=intervals,
    tz=st.sampled_from(ZONES),
    after=instants,
    span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=75)),
    cut=st.floats(0, 1),
)
def test_due_lists_are_ascending_bounded_and_split_invariant(
    interval: dict[str, Any], tz: str, after: datetime, span: timedelta, cut: float
) -> None:
    until = after + span
    split = after + span * cut
    typed = Interval.from_json(interval)
    whole = list(due_instants(typed, tz, after, until))
    assert whole == list(due_instants(typed, tz, after, split)) + list(
        due_instants(typed, tz, split, until)
    )
    assert all(after < d <= until for d in whole)
    assert all(a < b for a, b in zip(whole, whole[1:], strict=False))
    assert all(d.tzinfo == ZoneInfo(tz) for d in whole)
    if interval["kind"] != "cron":
        # built-in intervals are due at the first instant of the due day
        assert all(d == start_of_day(d.date(), ZoneInfo(tz)) for d in whole)
    if interval["kind"] == "daily":
        assert len(whole) in range(span.days - 1, span.days + 2)


@given(
    interval=intervals,
    tz=st.sampled_from(ZONES),
    after=instants,
    basis=st.sampled_from(["previous_month", "previous_period", "current_day"]),
    ptype=st.sampled_from(PERIOD_TYPES),
)
def test_basis_invariants(
    interval: dict[str, Any], tz: str, after: datetime, basis: str, ptype: str
) -> None:
    if basis == "previous_month":
        ptype = "Monthly"
    step = typed_step({"id": "s", "interval": interval, "basis": basis, "paused": False})
    for due in due_instants(step.interval, tz, after, after + timedelta(days=40)):
        slot = slot_for(step, ptype, tz, due)
        day = slot.due.date()
        if basis == "current_day":
            assert slot.reference == slot.due and day in slot.period
        else:
            # the last period complete before the due day; R = the end of its last day
            assert slot.period.end < day <= slot.period.next().end
            # (aware datetimes sharing a tzinfo compare by wall time: compare in UTC)
            reference = slot.reference.astimezone(UTC)
            assert reference < slot.due.astimezone(UTC)
            assert slot.reference.date() == slot.period.end
            next_day = start_of_day(slot.period.end + timedelta(days=1), ZoneInfo(tz))
            assert reference + timedelta(microseconds=1) >= next_day.astimezone(UTC)
