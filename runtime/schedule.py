"""Push schedules: when each step is due, which instant R it computes at, which period it fills.

Due instants are wall-clock times in the spec's time zone. The built-in intervals fall due at
00:00 local of the due day: at that instant every earlier day is over, so a ``previous_*`` run
reports complete periods the moment they end, and the due *day* is never ambiguous. ``cron``
expressions bring their own time of day. A local time that does not exist (spring forward) runs
at the first instant after the gap; an ambiguous one (fall back) runs once, at its first
occurrence (fold=0).

"End of a day" (R of ``previous_*`` and of ``push --at``) is 23:59:59.999999 local of that day
(its last occurrence), so R's local date is the last day counted, which is what a date-granular
stock ledger needs. Instants are compared in UTC: aware datetimes sharing a tzinfo compare by
wall time, which is wrong inside a fall-back fold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import tzinfo
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from dhispatch.errors import DhispatchError
from dhispatch.runtime.periods import Period
from dhispatch.runtime.periods import PeriodError
from dhispatch.runtime.periods import check_type
from dhispatch.runtime.periods import parse_period
from dhispatch.runtime.periods import period_for
from dhispatch.runtime.plan import Interval
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import Step
from dhispatch.runtime.plan.catalogue import BASES
from dhispatch.runtime.plan.catalogue import WEEKDAYS

DEFAULT_WINDOW = timedelta(days=92)
DUE_TIME = time(0, 0)

_ONE_DAY = timedelta(days=1)


class ScheduleError(DhispatchError):
    """An interval, basis, time zone or cron expression the scheduler cannot use."""


@dataclass(frozen=True, slots=True)
class Slot:
    """One run of one step: when it is due, the instant R it computes at, the period it fills."""

    step_id: str
    due: datetime  # tz-aware, in the spec's time zone
    reference: datetime  # tz-aware instant R the indicators are computed at
    period: Period  # the DHIS2 period the values go to


def zone(tz: str) -> ZoneInfo:
    """The IANA zone ``tz`` (ScheduleError if unknown)."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {tz!r} (expected an IANA name such as "
                            "'Pacific/Tarawa')") from None  # fmt: skip


def localize(wall: datetime, tz: tzinfo) -> datetime:
    """The instant a naive local wall time denotes in ``tz``.

    Nonexistent times (a spring-forward gap) move to the first instant after the gap; ambiguous
    ones (fall back) take their first occurrence (fold=0).
    """
    first = wall.replace(tzinfo=tz, fold=0)
    if _roundtrips(first):
        return first
    # In a gap: fold=1 applies the offset after the transition, fold=0 the one before; the
    # transition lies between the two readings. Bisect to the second, then step onto it.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    if low > high:
        low, high = high, low
    offset_before = low.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() == offset_before:
            low = mid
        else:
            high = mid
    return high.astimezone(tz)


def _roundtrips(aware: datetime) -> bool:
    back = aware.astimezone(UTC).astimezone(aware.tzinfo)
    return back.replace(tzinfo=None) == aware.replace(tzinfo=None)


def start_of_day(day: date, tz: tzinfo) -> datetime:
    """The first instant of ``day`` in ``tz`` (after the gap if midnight does not exist)."""
    return localize(datetime.combine(day, time(0, 0)), tz)


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """The last instant of ``day`` in ``tz``: 23:59:59.999999 local, at its *last* occurrence.

    Taken as one microsecond before the next day starts, in absolute time: where clocks fall back
    at midnight (America/Santiago) 23:xx happens twice and the day ends at the second one.
    """
    following = start_of_day(day + _ONE_DAY, tz).astimezone(UTC)
    return (following - timedelta(microseconds=1)).astimezone(tz)


# --- due instants -------------------------------------------------------------------------------


def _last_day(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - _ONE_DAY).day


def _due_days(interval: Interval, first: date) -> Iterator[date]:
    """The due days of a calendar interval, from ``first`` on, ascending, forever."""
    kind = interval.kind
    if kind == "daily":
        day = first
        while True:
            yield day
            day += _ONE_DAY
    elif kind == "weekly":
        weekday = (interval.weekday or "monday").lower()
        if weekday not in WEEKDAYS:
            raise ScheduleError(f"unknown weekday {weekday!r} in a weekly interval")
        day = first + timedelta(days=(WEEKDAYS.index(weekday) - first.weekday()) % 7)
        while True:
            yield day
            day += timedelta(days=7)
    elif kind in ("monthly", "first_day_of_month", "last_day_of_month"):
        wanted = {"first_day_of_month": 1, "last_day_of_month": 31}.get(kind, interval.day)
        if not isinstance(wanted, int) or not 1 <= wanted <= 31:
            raise ScheduleError(f"monthly interval needs a day 1-31, got {wanted!r}")
        year, month = first.year, first.month
        while True:
            # `monthly on day 31` in a 30-day month runs on the month's last day
            day = date(year, month, min(wanted, _last_day(year, month)))
            if day >= first:
                yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    else:
        raise ScheduleError(f"unknown interval kind {kind!r}")


def _wall_times(interval: Interval, after_wall: datetime) -> Iterator[datetime]:
    """Naive local wall times of the interval strictly after ``after_wall``, ascending."""
    if interval.kind == "cron":
        from croniter import CroniterError
        from croniter import croniter

        expression = interval.expression or ""
        try:
            # croniter iterates naive wall times; localizing them ourselves gives one rule for
            # gaps and folds across all interval kinds (croniter's own DST handling differs).
            it = croniter(expression, after_wall)
        except (CroniterError, ValueError, KeyError) as exc:
            raise ScheduleError(f"invalid cron expression {expression!r}: {exc}") from None
        while True:
            try:
                yield it.get_next(datetime)
            except CroniterError as exc:  # e.g. "0 0 30 2 *": never due
                raise ScheduleError(f"cron expression {expression!r} is never due: {exc}") from None
    else:
        for day in _due_days(interval, after_wall.date()):
            wall = datetime.combine(day, DUE_TIME)
            if wall > after_wall:
                yield wall


def due_instants(
    interval: Interval, tz: str, after: datetime, until: datetime
) -> Iterator[datetime]:
    """The instants the interval is due in ``(after, until]``, ascending, in zone ``tz``."""
    zone_info = zone(tz)
    _require_aware(after, "after")
    _require_aware(until, "until")
    # Aware datetimes sharing a tzinfo compare by wall time (folds ignored), so every
    # comparison of instants here is made in UTC.
    after_utc, until_utc = after.astimezone(UTC), until.astimezone(UTC)
    # Start a day early in wall time: around a fall-back fold a later instant can have an
    # earlier wall time; the instant filter below keeps the result exact.
    after_wall = after.astimezone(zone_info).replace(tzinfo=None) - _ONE_DAY
    previous: datetime | None = None
    for wall in _wall_times(interval, after_wall):
        instant = localize(wall, zone_info)
        instant_utc = instant.astimezone(UTC)
        if instant_utc > until_utc:
            return  # localize() is monotonic in wall time, so nothing later can be due
        if instant_utc <= after_utc or instant_utc == previous:
            continue  # already due before, or a second wall time inside one DST gap
        previous = instant_utc
        yield instant


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ScheduleError(f"{name} must be a time-zone-aware datetime")


# --- basis --------------------------------------------------------------------------------------


def slot_for(step: Step, period_type: str, tz: str, due: datetime) -> Slot:
    """The slot of a run of ``step`` due at ``due``: its reference instant and period."""
    zone_info = zone(tz)
    check_type(period_type)
    _require_aware(due, "due")
    due_local = due.astimezone(zone_info)
    basis = step.basis
    day = due_local.date()
    if basis == "current_day":
        # R is the run's instant; the period is the one holding the due day. A run at exactly
        # 00:00 therefore reports the stock as at the *start* of that day into that day's period:
        # R always lies inside the period it fills.
        return Slot(step.id, due_local, due_local, period_for(period_type, day))
    period = _completed_period(basis, period_type, day)
    return Slot(step.id, due_local, end_of_day(period.end, zone_info), period)


def _completed_period(basis: str, period_type: str, day: date) -> Period:
    """The period a ``previous_*`` basis fills for a run due on ``day``."""
    if basis == "previous_month":
        if period_type != "Monthly":
            raise PeriodError(
                f"basis previous_month fills a month, but the data set's period type is "
                f"{period_type}; use previous_period"
            )
        return period_for("Monthly", day.replace(day=1) - _ONE_DAY)
    if basis == "previous_period":
        # The last period that ended before the due day (a BiWeekly BiW27 overlapping the next
        # BiW1 is handled by walking back until the period is complete).
        period = period_for(period_type, day - _ONE_DAY)
        while period.end >= day:
            period = period.previous()
        return period
    raise ScheduleError(f"unknown basis {basis!r} (expected one of {', '.join(BASES)})")


def due_slots(
    plan: Plan,
    after: datetime,
    until: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
) -> list[Slot]:
    """Every non-paused step's slots due in ``(max(after, until - window), until]``.

    Oldest first; slots due at the same instant keep the plan's step order. Slots older than the
    window are dropped (the caller logs that); ``dropped_slots`` counts them.
    """
    tz, period_type = plan.target.timezone, plan.target.period_type
    _require_aware(after, "after")
    _require_aware(until, "until")
    start = max(after.astimezone(UTC), until.astimezone(UTC) - window)  # absolute time
    keyed: list[tuple[datetime, int, Slot]] = []
    for index, step in enumerate(plan.steps):
        if step.paused:
            continue
        for due in due_instants(step.interval, tz, start, until):
            keyed.append((due.astimezone(UTC), index, slot_for(step, period_type, tz, due)))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [slot for _, _, slot in keyed]


def dropped_slots(
    plan: Plan,
    after: datetime,
    until: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
) -> int:
    """How many slots due in ``(after, until]`` fall outside the catch-up window (for the log)."""
    _require_aware(after, "after")
    _require_aware(until, "until")
    start = max(after.astimezone(UTC), until.astimezone(UTC) - window)
    if start <= after.astimezone(UTC):
        return 0
    return sum(
        1
        for step in plan.active_steps
        for _ in due_instants(step.interval, plan.target.timezone, after, start)
    )


def manual_slot(
    step: Step,
    period_type: str,
    tz: str,
    *,
    at: date | None = None,
    period: str | None = None,
    now: datetime | None = None,
) -> Slot:
    """The slot of a manual ``push``.

    * ``--at DATE``: computed as of the end of DATE. ``current_day``: R = end of DATE, period =
      the one holding DATE. ``previous_*``: as a scheduled run due right after DATE ends (00:00
      of the next day): the last period complete by then, R = end of its last day (= end of DATE
      when DATE closes a period).
    * ``--period P``: P (validated against the data set's type), R = end of its last day, or
      ``now`` while P is still running; a period that has not started is refused.
    * neither: ``current_day`` at ``now`` (DESIGN §5).
    """
    zone_info = zone(tz)
    check_type(period_type)
    if at is not None and period is not None:
        raise ScheduleError("give either a date (--at) or a period (--period), not both")
    moment = (now or datetime.now(zone_info)).astimezone(zone_info)
    step_id = step.id
    if at is not None:
        if step.basis == "current_day":
            return Slot(step_id, moment, end_of_day(at, zone_info), period_for(period_type, at))
        filled = _completed_period(step.basis, period_type, at + _ONE_DAY)
        return Slot(step_id, moment, end_of_day(filled.end, zone_info), filled)
    if period is not None:
        chosen = parse_period(period, period_type)
        if moment.astimezone(UTC) < start_of_day(chosen.start, zone_info).astimezone(UTC):
            raise PeriodError(f"period {chosen.id} has not started yet (it starts {chosen.start})")
        last = end_of_day(chosen.end, zone_info)
        reference = last if last.astimezone(UTC) <= moment.astimezone(UTC) else moment
        return Slot(step_id, moment, reference, chosen)
    return Slot(step_id, moment, moment, period_for(period_type, moment.date()))
