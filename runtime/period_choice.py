"""Which period a manual push fills and why: the rule that chose it (mSupply's manual push is on a
current-day basis), the period the spec's own schedule would push now, with the commands for
that (``push --period``, ``run --once``), and — by DHIS2's write rules (``runtime/access``) —
the period DHIS2 takes when the one asked for is locked."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING

from dhispatch.runtime.periods import Period
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.schedule import Slot

if TYPE_CHECKING:
    from dhispatch.runtime.access import WriteRules

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


def open_instead(rules: WriteRules, period: Period, limit: int = 60) -> str | None:
    """The nearest period of the type DHIS2 takes now by the data set's period rules (an
    earlier one first; never one that has not started), or None within ``limit`` each way."""
    today = rules.now.date()
    back, ahead = period, period
    for _ in range(limit):
        back = back.previous()
        if rules.period(back.id) is None:
            return back.id
        ahead = ahead.next()
        if ahead.start <= today and rules.period(ahead.id) is None:
            return ahead.id
    return None


def bare_push_notes(plan: Plan, rules: WriteRules, spec: str, now: datetime) -> list[str]:
    """What the data set's period rules (openFuturePeriods, expiryDays, input periods) do to a
    bare ``push`` now — always current-day, whatever the schedule's basis — with the push DHIS2
    takes instead; empty when its periods are open."""
    from dhispatch.runtime.slots import manual_slots

    lines = []
    periods = {s.period.id: s.period for s in manual_slots(plan, now=now)}
    for period_id, period in periods.items():
        refusal = rules.period(period_id)
        if refusal is None:
            continue
        instead = open_instead(rules, period)
        fix = f"; DHIS2 takes: dhispatch push {spec} --period {instead}" if instead else ""
        code = f" ({refusal.code})" if refusal.code else ""
        lines.append(f"a bare push now fills {period_id}, which DHIS2 refuses{code}: "
                     f"{refusal.message}{fix}")  # fmt: skip
    return lines
