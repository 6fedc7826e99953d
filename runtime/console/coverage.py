"""The coverage grid: org units × periods, each cell coloured by what the journal knows of the
values there — all confirmed, partly refused, waiting, no data, or not due yet."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime

from dhispatch.runtime.console.journal_view import Entry
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.plan import Plan

MAX_PERIODS = 12
STATES = {
    "confirmed": "all confirmed",
    "refused": "partly refused",
    "waiting": "waiting",
    "no-data": "no data",
    "not-due": "not due",
}


@dataclass(frozen=True, slots=True)
class GridCell:
    state: str
    confirmed: int = 0
    refused: int = 0
    waiting: int = 0

    @property
    def label(self) -> str:
        return STATES[self.state]


@dataclass(frozen=True, slots=True)
class GridRow:
    org_unit: str
    stores: tuple[str, ...]  # the stock database's codes mapped to this org unit
    cells: tuple[GridCell, ...]


@dataclass(frozen=True, slots=True)
class Grid:
    periods: tuple[str, ...]
    rows: tuple[GridRow, ...]


def grid(plan: Plan, known: Mapping[CellKey, Entry], completed: Iterable[str], today: date) -> Grid:
    """The grid over the latest ``MAX_PERIODS`` periods: those with values or completed slots,
    the last period due as of ``today`` and the one after it."""
    periods = _periods(plan, {k.period for k in known} | set(completed), today)
    due = {p for p in periods if _due(plan, p, today)} | set(completed)
    counts: dict[tuple[str, str], Counter[str]] = {}
    stores: dict[str, set[str]] = {}
    for key, entry in known.items():
        counts.setdefault((key.org_unit, key.period), Counter())[entry.state] += 1
        stores.setdefault(key.org_unit, set()).add(entry.store)
    rows = [
        GridRow(
            ou, tuple(sorted(codes)), tuple(_cell(counts.get((ou, p)), p in due) for p in periods)
        )  # fmt: skip
        for ou, codes in sorted(stores.items(), key=lambda kv: (sorted(kv[1]), kv[0]))
    ]
    return Grid(tuple(periods), tuple(rows))


def _cell(count: Counter[str] | None, due: bool) -> GridCell:
    if not count:
        return GridCell("no-data" if due else "not-due")
    c, r, w = count["confirmed"], count["refused"], count["waiting"]
    state = "waiting" if w else "refused" if r else "confirmed"
    return GridCell(state, c, r, w)


def _periods(plan: Plan, seen: set[str], today: date) -> list[str]:
    from dhispatch.runtime.periods import PeriodError
    from dhispatch.runtime.periods import id_key
    from dhispatch.runtime.periods import parse_period
    from dhispatch.runtime.slots import manual_slots

    ptype = plan.target.period_type
    wanted = set(seen)
    try:
        last_due = {s.period for s in manual_slots(plan, at=today)}
    except PeriodError:
        last_due = set()
    for period in last_due:
        wanted |= {period.id, period.next().id}
    parsed = []
    for pid in wanted:
        try:
            parsed.append(parse_period(pid, ptype))
        except PeriodError:
            continue  # a period of another type (the spec changed): not on this grid
    parsed.sort(key=id_key)
    return [p.id for p in parsed[-MAX_PERIODS:]]


def _due(plan: Plan, period_id: str, today: date) -> bool:
    """A period is due once it has ended (or, for current-day pushes, once it has started)."""
    from dhispatch.runtime.periods import parse_period

    period = parse_period(period_id, plan.target.period_type)
    current = any(s.basis == "current_day" for s in plan.active_steps)
    return period.start <= today if current else period.end < today


def today_in(plan: Plan, now: datetime) -> date:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(plan.target.timezone)).date()
