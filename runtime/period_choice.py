"""Which period a manual push fills and why: the rule that chose it (mSupply's manual push is on a
current-day basis), and the period the spec's own schedule would push now, with the commands
for that (``push --period``, ``run --once``)."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from dhispatch.runtime.periods import Period
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.schedule import Slot

_WINDOW = timedelta(days=400)  # long enough to find the latest due run of a yearly schedule


def explain_push(
    plan: Plan,
    slots: Sequence[Slot],
    spec: str,
    *,
    at: date | None = None,
    period: str | None = None,
) -> list[str]:
    """Lines saying what ``push`` is about to fill and, for a bare push, what the schedule
    would fill instead (once per period, naming the steps)."""
    lines = []
    for filled, steps in _by_period((s.period.id, s.step_id) for s in slots).items():
        rule = _rule(plan, steps[0], at, period, slots[0].due.date())
        lines.append(f"pushing {filled} ({', '.join(steps)}): {rule}")
    if at is None and period is None and slots:
        scheduled = _scheduled(plan, slots[0].due)
        pushed = {s.step_id: s.period.id for s in slots}
        other = [(p, step) for step, p in scheduled.items() if pushed.get(step) != p]
        for filled, steps in _by_period(other).items():
            lines.append(
                f"the spec's schedule would push {filled} now ({', '.join(steps)}: basis "
                f"{plan.step(steps[0]).basis}): dhispatch push {spec} --period {filled}, or "
                f"dhispatch run --once {spec} for every due slot"
            )
    return lines


def _rule(plan: Plan, step_id: str, at: date | None, period: str | None, today: date) -> str:
    tz = plan.target.timezone
    if period is not None:
        return "the period asked for (--period)"
    basis = plan.step(step_id).basis
    if at is not None:
        if basis == "current_day":
            return f"the period holding {at.isoformat()} (--at, basis current_day)"
        return f"basis {basis} as of the end of {at.isoformat()} (--at)"
    return (
        f"current-day basis, as mSupply's manual push: the period holding today "
        f"({today.isoformat()} in {tz}), the values as of now"
    )


def _scheduled(plan: Plan, now: datetime) -> dict[str, str]:
    """Each active step's period of its latest due run up to ``now`` (what ``run --once``
    would push if that run has not been done)."""
    from dhispatch.runtime.schedule import due_slots

    out = {}
    for step in plan.active_steps:
        found = due_slots(replace(plan, steps=(step,)), now - _WINDOW, now, window=_WINDOW)
        if found:
            out[step.id] = found[-1].period.id
    return out


def _by_period(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for filled, step in pairs:
        grouped.setdefault(filled, []).append(step)
    return grouped


def lock_notes(
    plan: Plan, spec: str, data_set: Mapping[str, Any], today: date, now: datetime
) -> list[str]:
    """What the data set's openFuturePeriods / expiryDays (``data_set``, as an export has it)
    do on ``today`` to a bare ``push`` and to the schedule's runs due now, each with the command
    DHIS2 would take; empty when neither is locked."""
    from dhispatch.runtime.run.locks import Timeliness
    from dhispatch.runtime.run.locks import lock_of
    from dhispatch.runtime.slots import manual_slots

    rules = Timeliness(
        plan.target.data_set, _whole(data_set.get("openFuturePeriods")),
        _whole(data_set.get("expiryDays")),
    )  # fmt: skip
    bare = {s.period.id: s.period for s in manual_slots(plan, now=now)}
    scheduled = {p: p for p in _scheduled(plan, now).values()}
    lines = []
    for what, periods in (("a bare push now", bare), ("the schedule's run due now", scheduled)):
        for period_id in periods:
            period = bare.get(period_id) or _parse(period_id)
            lock = lock_of(period, rules, today, may_edit_expired=False)
            if lock is None:
                continue
            unless = " (unless the user has F_EDIT_EXPIRED)" if lock.expired else ""
            fix = (
                f"; DHIS2 takes: dhispatch push {spec} --period {lock.instead}"
                if lock.instead
                else ""
            )
            lines.append(
                f"{what} fills {period_id}, which DHIS2 refuses{unless}: {lock.reason}{fix}"
            )
    return lines


def _whole(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _parse(period_id: str) -> Period:
    from dhispatch.runtime.periods import parse_period

    return parse_period(period_id)
