"""Which slots a run covers: a manual push, a backfill range, or catch-up since the last run.

``run --once`` resends pending batches, then runs every slot of each step due within the
catch-up window and not completed yet (after the step's first completed slot), oldest first. On
the very first run of a plan (no completed slot) only the latest due slot of each step runs: a new
installation should not silently backfill months nobody asked for — ``backfill`` does that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

from dhispatch.errors import UsageError
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.schedule import Slot


class SlotRequestError(UsageError):
    """The date, period or range asked for cannot be run (another period type, a period that
    has not started, a reversed or too long range); exit 2."""


def manual_slots(
    plan: Plan,
    *,
    at: date | None = None,
    period: str | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """The slots of ``push``: every active step, at a date, for a period, or at now."""
    from dhispatch.runtime.periods import PeriodError
    from dhispatch.runtime.schedule import ScheduleError
    from dhispatch.runtime.schedule import manual_slot

    target = plan.target
    try:
        return [
            manual_slot(step, target.period_type, target.timezone, at=at, period=period, now=now)
            for step in plan.active_steps
        ]
    except (PeriodError, ScheduleError) as exc:
        raise SlotRequestError(str(exc)) from exc


def backfill_slots(plan: Plan, first: str, last: str, *, now: datetime | None = None) -> list[Slot]:
    """Every period from ``first`` to ``last`` (inclusive, of the data set's type), oldest first."""
    from dhispatch.runtime.periods import PeriodError
    from dhispatch.runtime.periods import parse_period

    ptype = plan.target.period_type
    try:
        p, end = parse_period(first, ptype), parse_period(last, ptype)
    except PeriodError as exc:
        raise SlotRequestError(str(exc)) from exc
    if end.start < p.start:
        raise SlotRequestError(f"--from {first} is after --to {last}")
    periods = [p]
    while periods[-1].id != end.id:
        periods.append(periods[-1].next())
        if len(periods) > 5000:
            raise SlotRequestError("backfill covers more than 5000 periods; split it up")
    out: list[Slot] = []
    for per in periods:
        out += manual_slots(plan, period=per.id, now=now)
    return out


def catch_up_slots(
    plan: Plan,
    journal: Journal,
    now: datetime,
    *,
    window: timedelta | None = None,
    target_id: int = 0,
) -> tuple[list[Slot], int]:
    """Slots due for ``run --once`` at the plan's target: (oldest first, number dropped outside
    the window). A step's due slots are those inside the window, after its first completed one,
    not completed yet — so a slot left due (values not settled) is run again even when a later
    one completed. Slots recorded as completed *after* ``now`` are forgotten first: only a clock
    that was fast completed them (with values DHIS2 refused as future).

    A plan whose schedule cannot be computed raises its PeriodError or ScheduleError (exit 1:
    the plan, not the command line, is wrong)."""
    from dhispatch.runtime.schedule import DEFAULT_WINDOW

    win = window or DEFAULT_WINDOW
    journal.forget_slots_after(plan.name, target_id, now)
    keyed: list[tuple[datetime, int, Slot]] = []
    dropped = 0
    for index, step in enumerate(plan.steps):
        if step.paused:
            continue
        slots, lost = _step_slots(replace(plan, steps=(step,)), journal, now, win, target_id)
        dropped += lost
        keyed += [(s.due.astimezone(UTC), index, s) for s in slots]
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [s for _, _, s in keyed], dropped


def _step_slots(
    one: Plan, journal: Journal, now: datetime, window: timedelta, target_id: int
) -> tuple[list[Slot], int]:
    """One step's due slots and how many fell out of the window since its last completed one;
    on its very first run only the latest due slot (``backfill`` does history)."""
    from dhispatch.runtime.schedule import dropped_slots
    from dhispatch.runtime.schedule import due_slots

    step = one.steps[0]
    done = {_second(d) for d in journal.completed_dues(one.name, step.id, target_id)}
    if not done:
        return due_slots(one, now - window, now, window=window)[-1:], 0
    first, last = min(done), max(done)
    slots = [s for s in due_slots(one, first, now, window=window) if _second(s.due) not in done]
    return slots, dropped_slots(one, last, now, window=window)


def _second(moment: datetime) -> datetime:
    """An instant as the journal keeps it (UTC, whole seconds)."""
    return moment.astimezone(UTC).replace(microsecond=0)


def next_due(plan: Plan, now: datetime) -> datetime | None:
    """The next instant any active step falls due after ``now`` (within a year)."""
    from dhispatch.runtime.schedule import due_instants

    tz = plan.target.timezone
    best: datetime | None = None
    for step in plan.active_steps:
        for due in due_instants(step.interval, tz, now, now + timedelta(days=366)):
            if best is None or due < best:
                best = due
            break
    return best


def group_by_due(slots: Sequence[Slot]) -> list[list[Slot]]:
    """Consecutive slots sharing a due instant: each group is one run with its own run date."""
    groups: list[list[Slot]] = []
    for s in slots:
        if groups and groups[-1][0].due == s.due:
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups
