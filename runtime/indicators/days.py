"""Days out of stock from a pair's opening balance and its day-bucketed movements.

A day counts when the closing balance of the day before and its own are both ≤ ε (open
mSupply's definition); the window runs from its first day (or the store's opening day, if later)
to R's day, whose closing balance is the balance at R.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from typing import Any

from dhispatch.runtime.indicators.definitions import EPSILON
from dhispatch.runtime.indicators.timeframe import day_number

Window = tuple[date, int, int, int]  # first day, its number, opening column, outflow column


@dataclass(slots=True)
class Frame:
    """One reference instant's days-out-of-stock windows (their first days) and its place among
    the instants that fall inside a day (``split``: how many of them come before it that day)."""

    cut: datetime
    day: date
    windows: set[date] = field(default_factory=set)  # for every store
    store_windows: dict[str, set[date]] = field(default_factory=dict)  # AMC's, per store
    opening_cols: dict[date, int] = field(default_factory=dict)  # window -> after(window) column
    outflow_cols: dict[date, int] = field(default_factory=dict)  # window -> Σ outgoing units
    split: int = 0

    def starts(self) -> set[date]:
        return self.windows.union(*self.store_windows.values())

    @property
    def last(self) -> int:
        return day_number(self.day)


def _window(
    rows: Sequence[Any], first: int, hi: int, split: int, col: int
) -> list[tuple[int, float]]:
    """A window's (day, net units), one entry per day, from a pair's movement rows: their day
    bucket (index 4, None outside every window), its part (5) and net units (``col``)."""
    days: list[tuple[int, float]] = []
    for row in rows:  # sorted by (day, part)
        d = row[4]
        if d is None or d < first or d > hi or (d == hi and row[5] > split):
            continue
        units = row[col]
        if days and days[-1][0] == d:
            days[-1] = (d, days[-1][1] + units)
        else:
            days.append((d, units))
    return days


def count_out_days(
    opening: float, days: Sequence[tuple[int, float]], first: int, lo: int, hi: int
) -> int:
    """Days d in [lo, hi] with close(d − 1) ≤ ε and close(d) ≤ ε; close(first − 1) = opening.

    ``days`` = (day number, net units) sorted, first ≤ day ≤ hi; between movement days the
    balance is flat, so each gap is counted in one step.
    """
    count = 0
    balance = opening
    last_day = first - 1  # close(last_day) == balance
    for day, delta in days:
        if balance <= EPSILON:
            count += max(0, (day - 1) - max(last_day + 1, lo) + 1)
        new = balance + delta
        if day >= lo and balance <= EPSILON and new <= EPSILON:
            count += 1
        balance, last_day = new, day
    if balance <= EPSILON:
        count += max(0, hi - max(last_day + 1, lo) + 1)
    return count


def store_frames(frames: Sequence[Frame], store: str) -> list[tuple[Frame, int, list[Window]]]:
    """Each frame, its last day number and its windows for ``store`` (its own AMC windows
    included)."""
    return [
        (
            f,
            f.last,
            [
                (w, day_number(w), f.opening_cols[w], f.outflow_cols[w])
                for w in sorted(f.windows | f.store_windows.get(store, set()))
            ],
        )
        for f in frames
    ]


def frame_days(
    frames: Sequence[tuple[Frame, int, list[Window]]],
    rows: Sequence[Any],
    col: int,
    total: float,
    sums: Sequence[float],
    opened: int | None,
) -> dict[tuple[datetime, date], int]:
    """Every (instant, window first day) count for one pair; ``rows`` = its movement rows in
    (day, part) order (see ``_window``), ``sums`` its movement sums (for each window's opening
    balance), ``opened`` the store's opening day number."""
    out: dict[tuple[datetime, date], int] = {}
    for frame, hi, windows in frames:
        for start, first, opening_col, outflow_col in windows:
            opening = total - sums[opening_col]
            if opening + sums[outflow_col] > EPSILON:
                continue  # even if every outgoing unit had left first, stock stays > 0: 0
            days = _window(rows, first, hi, frame.split, col)
            lo = first if opened is None else max(first, opened)
            out[(frame.cut, start)] = count_out_days(opening, days, first, lo, hi)
    return out
