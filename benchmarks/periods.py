"""Benchmark: DHIS2 period IDs for every day of 50 years, for every period type.

Prints dates per second per type and overall, and the ratio to a baseline run in the same
process over the same days (``date.isoformat()``, the cheapest way to turn a date into text).
Run: ``.venv/bin/python benchmarks/periods.py``.
"""

from __future__ import annotations

import time
from datetime import date
from datetime import timedelta

from dhispatch.runtime.periods import PERIOD_TYPES
from dhispatch.runtime.periods import period_for

FIRST = date(1990, 1, 1)
YEARS = 50


def days() -> list[date]:
    last = date(FIRST.year + YEARS, 1, 1)
    return [FIRST + timedelta(days=i) for i in range((last - FIRST).days)]


def best_of(runs: int, work: list[date], fn: object) -> float:
    """Shortest wall time of ``runs`` passes over ``work`` (seconds)."""
    assert callable(fn)
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        for day in work:
            fn(day)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    work = days()
    n = len(work)
    print(f"{n} days ({FIRST} .. {work[-1]}), best of 3 runs; each type is timed right after its")
    print("own baseline run (date.isoformat() over the same days), so ratios survive a busy box")
    total = 0.0
    total_baseline = 0.0
    for ptype in PERIOD_TYPES:
        baseline = best_of(3, work, date.isoformat)
        elapsed = best_of(3, work, lambda d, t=ptype: period_for(t, d).id)
        total += elapsed
        total_baseline += baseline
        print(
            f"{ptype:<28} {n / elapsed:>12,.0f} dates/s   "
            f"{elapsed / baseline:5.1f}x the baseline's time ({n / baseline:,.0f} dates/s)"
        )
    overall = n * len(PERIOD_TYPES) / total
    print(
        f"{'overall (23 types)':<28} {overall:>12,.0f} dates/s   "
        f"{total / total_baseline:5.1f}x the baseline's time"
    )


if __name__ == "__main__":
    main()
