"""One request's formula (reference/source-model.md §7): the sums it registers, its value.

Each request registers the movement sums, batch sums and days-out-of-stock windows it needs
when the pass is planned, and keeps one small function that turns a pair's sums into its value,
so the per-value work is a single call (no chain of indicator-name comparisons).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dhispatch.runtime.indicators.days import Frame
from dhispatch.runtime.indicators.definitions import DEFAULT_DAYS_PER_MONTH
from dhispatch.runtime.indicators.definitions import DEFAULT_LOOKBACK_MONTHS
from dhispatch.runtime.indicators.definitions import EPSILON
from dhispatch.runtime.indicators.queries import ISSUE_KINDS
from dhispatch.runtime.indicators.queries import RECEIPT_KINDS
from dhispatch.runtime.indicators.queries import BatchSum
from dhispatch.runtime.indicators.queries import MovementPass
from dhispatch.runtime.indicators.queries import adjustment_kinds
from dhispatch.runtime.indicators.timeframe import before_day
from dhispatch.runtime.indicators.timeframe import local_date
from dhispatch.runtime.indicators.timeframe import naive_utc
from dhispatch.runtime.plan.catalogue import DEFAULT_WITHIN_DAYS


@dataclass(frozen=True, slots=True)
class IndicatorRequest:
    """One indicator over period P = [period_start local, reference]; ``key`` is the caller's id."""

    key: str
    indicator: str
    params: Mapping[str, Any]
    period_start: date
    reference: datetime


@dataclass(frozen=True, slots=True)
class Preferences:
    """The database's own defaults: look-back months per store, days per month, DOS adjustment."""

    lookback: Mapping[str, float]
    days_in_month: float | None
    adjust_for_stockouts: bool

    def months(self, store_id: str) -> float:
        value = self.lookback.get(store_id)
        # a stored 0 (PostgreSQL's column default) means "not set": 3, never a division by zero
        return float(value) if value is not None and value > 0 else DEFAULT_LOOKBACK_MONTHS


class Pair:
    """What a pass knows of one store × item: movement sums, current units, batch sums, DOS."""

    __slots__ = ("store", "sums", "total", "avail", "batch", "dos")

    def __init__(
        self, store: str, sums: list[float], total: float, avail: float, batch: list[float]
    ) -> None:
        self.store, self.sums, self.total, self.avail, self.batch = store, sums, total, avail, batch
        self.dos: dict[tuple[datetime, date], int] = {}


class Batches:
    """The pass's batch sums (index = column of ``Pair.batch``), each with its cut's column."""

    def __init__(self) -> None:
        self.sums: list[BatchSum] = []
        self.after_cols: list[int] = []

    def add(self, batch_sum: BatchSum, movements: MovementPass) -> int:
        if batch_sum in self.sums:
            return self.sums.index(batch_sum)
        self.sums.append(batch_sum)
        self.after_cols.append(movements.batches_after(batch_sum.cut))
        return len(self.sums) - 1


@dataclass(frozen=True, slots=True)
class Context:
    """What every formula of a pass shares."""

    zone: ZoneInfo
    prefs: Preferences
    stores: Sequence[str]
    movements: MovementPass
    batches: Batches
    frames: dict[datetime, Frame]


Formula = Callable[[Pair], float | None]
Level = Callable[[Pair], float]


class Plan:
    """One request: the columns it registered, the earliest instant it reads per store, and
    ``value(pair)``."""

    def __init__(self, req: IndicatorRequest, ctx: Context) -> None:
        self.req = req
        self.cut = naive_utc(req.reference)
        self.day = local_date(self.cut, ctx.zone)
        self.frame = ctx.frames.setdefault(self.cut, Frame(self.cut, self.day))
        self.period_cut = before_day(req.period_start, ctx.zone)
        self._earliest: dict[str, datetime] = {}
        self.value: Formula = _FORMULAS[req.indicator](self, ctx)
        self.held = self._held(ctx)

    def _held(self, ctx: Context) -> Callable[[Pair], bool]:
        """Whether the store had the item at some time in P: stock when P began or at R, or a
        movement in between (what an item outside the store's range needs to get values)."""
        start = ctx.movements.after(self.period_cut)
        end = ctx.movements.after(self.cut)
        moved = ctx.movements.moves(self.period_cut, self.cut)
        return lambda p: (
            p.sums[moved] > 0
            or abs(p.total - p.sums[start]) > EPSILON
            or abs(p.total - p.sums[end]) > EPSILON
        )

    def earliest(self, store: str) -> datetime:
        """The earliest instant this request reads movements after, for ``store``."""
        return self._earliest.get(store, min(self.period_cut, self.cut))

    # -- building blocks -------------------------------------------------------------------
    def soh(self, ctx: Context, available: bool) -> Level:
        col = ctx.movements.after(self.cut)
        if available:
            return lambda p: p.avail - p.sums[col]
        return lambda p: p.total - p.sums[col]

    def amc(self, ctx: Context) -> Callable[[Pair], float]:
        """C / L over the window of trunc(L × D) days ending at R's date (× N / (N − DOS))."""
        params = self.req.params
        days = float(
            params.get("days_per_month") or ctx.prefs.days_in_month or DEFAULT_DAYS_PER_MONTH
        )
        adjust = params.get("adjust_for_stockouts")
        adjusted = ctx.prefs.adjust_for_stockouts if adjust is None else bool(adjust)
        per_store: dict[str, tuple[float, float, date, int]] = {}
        for store in ctx.stores:
            months = float(params.get("months") or ctx.prefs.months(store))
            span = months * days
            first = self.day - timedelta(days=math.trunc(span) - 1)
            window = before_day(first, ctx.zone)
            col = ctx.movements.flow(ISSUE_KINDS, window, self.cut)
            per_store[store] = (months, span, first, col)
            self._earliest[store] = min(window, self.period_cut)
            if adjusted:
                self.frame.store_windows.setdefault(store, set()).add(first)
        cut = self.cut

        def amc(p: Pair) -> float:
            months, span, first, col = per_store[p.store]
            value = -p.sums[col] / months
            if adjusted:
                value *= span / (span - min(p.dos.get((cut, first), 0), span - 1))
            return value

        return amc


def _soh(plan: Plan, ctx: Context) -> Formula:
    return plan.soh(ctx, plan.req.params.get("soh") == "available")


def _end_of_month(plan: Plan, ctx: Context) -> Formula:
    return plan.soh(ctx, False)


def _beginning(plan: Plan, ctx: Context) -> Formula:
    col = ctx.movements.after(plan.period_cut)
    return lambda p: p.total - p.sums[col]


def _flow(
    kinds: Callable[[Context], Sequence[str]], sign: float
) -> Callable[[Plan, Context], Formula]:
    def build(plan: Plan, ctx: Context) -> Formula:
        col = ctx.movements.flow(kinds(ctx), plan.period_cut, plan.cut)
        return lambda p: sign * p.sums[col]

    return build


def _batch(kind: str) -> Callable[[Plan, Context], Formula]:
    def build(plan: Plan, ctx: Context) -> Formula:
        if kind == "expiring":
            within = int(plan.req.params.get("within_days") or DEFAULT_WITHIN_DAYS)
            spec = BatchSum(plan.cut, kind, plan.day, plan.day + timedelta(days=within))
        elif kind == "expired":
            spec = BatchSum(plan.cut, kind, None, plan.day)
        else:
            spec = BatchSum(plan.cut, kind)
        col = ctx.batches.add(spec, ctx.movements)
        return lambda p: p.batch[col]

    return build


def _stocked_out(plan: Plan, ctx: Context) -> Formula:
    soh = plan.soh(ctx, False)
    return lambda p: 1.0 if soh(p) <= EPSILON else 0.0


def _days_out(plan: Plan, ctx: Context) -> Formula:
    plan.frame.windows.add(plan.req.period_start)
    key = (plan.cut, plan.req.period_start)
    return lambda p: float(p.dos.get(key, 0))


def _amc(plan: Plan, ctx: Context) -> Formula:
    return plan.amc(ctx)


def _months_of_stock(plan: Plan, ctx: Context) -> Formula:
    amc = plan.amc(ctx)
    soh = plan.soh(ctx, plan.req.params.get("soh") == "available")

    def months(p: Pair) -> float | None:
        consumption = amc(p)
        return None if consumption <= EPSILON else max(soh(p), 0.0) / consumption

    return months


_FORMULAS: Mapping[str, Callable[[Plan, Context], Formula]] = {
    "stock_on_hand": _soh,
    "stock_end_of_month": _end_of_month,
    "stock_beginning_of_month": _beginning,
    "received": _flow(lambda ctx: RECEIPT_KINDS, 1.0),
    "issued": _flow(lambda ctx: ISSUE_KINDS, -1.0),
    "adjustments": _flow(lambda ctx: adjustment_kinds(ctx.movements.source), 1.0),
    "stock_expiring": _batch("expiring"),
    "stock_expired": _batch("expired"),
    "value_of_stock_on_hand": _batch("value"),
    "stocked_out": _stocked_out,
    "days_out_of_stock": _days_out,
    "average_monthly_consumption": _amc,
    "months_of_stock": _months_of_stock,
}
