"""Indicator values for all stores × items of a scope, computed by set-based SQL in the database.

One movement pass (``MainQuery``) answers every balance, flow and batch sum of every request; one
day-bucketed pass per reference instant answers days out of stock. Python only combines the
per-pair sums (formulas of reference/source-model.md §7, decisions in the README).

Memory is bounded by the pass, not by the country: the scope's stores are taken
``STORES_PER_PASS`` at a time, each chunk still one set-based pass over all its stores × items,
and a chunk's values are yielded before the next chunk is read.

Snapshots (PostgreSQL runs every statement in REPEATABLE READ): all statements of one pass see one
snapshot, which is released before the pass yields — the executor sends HTTP batches while it reads
values (retries and import polls can take minutes), so no transaction, holding back the server's
vacuum, stays open meanwhile. Every value of a store thus comes from one snapshot (its chunk's
pass: balances, flows, batch sums, day buckets and the store's opening day together); two chunks
may see the ledger as far apart as the push takes to send a chunk's values. That is safe because no
indicator reads across stores: every statement filters ``invoice.store_id`` /
``stock_line.store_id`` and each value sums one store's rows only, so a store's values are what a
push of that store alone would send at that moment. (Backfills of more than ``INSTANTS_PER_PASS``
reference instants already took one snapshot per group of instants.) Preferences are read once, in
the first pass's snapshot.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from dhispatch.runtime.indicators.definitions import DEFAULT_DAYS_PER_MONTH
from dhispatch.runtime.indicators.definitions import DEFAULT_LOOKBACK_MONTHS
from dhispatch.runtime.indicators.definitions import DEFAULT_WITHIN_DAYS
from dhispatch.runtime.indicators.definitions import EPSILON
from dhispatch.runtime.indicators.definitions import INDICATORS
from dhispatch.runtime.indicators.queries import ISSUE_KINDS
from dhispatch.runtime.indicators.queries import RECEIPT_KINDS
from dhispatch.runtime.indicators.queries import MainQuery
from dhispatch.runtime.indicators.queries import adjustment_kinds
from dhispatch.runtime.indicators.queries import daily_sql
from dhispatch.runtime.indicators.queries import effective_sql
from dhispatch.runtime.indicators.span import NOT_IN_RANGE
from dhispatch.runtime.indicators.span import DataSpan
from dhispatch.runtime.indicators.span import check_references
from dhispatch.runtime.indicators.span import data_span
from dhispatch.runtime.indicators.timeframe import before_day
from dhispatch.runtime.indicators.timeframe import day_number
from dhispatch.runtime.indicators.timeframe import local_date
from dhispatch.runtime.indicators.timeframe import naive_utc
from dhispatch.runtime.indicators.timeframe import offset_segments
from dhispatch.runtime.sources import Scope
from dhispatch.runtime.sources import Source
from dhispatch.runtime.sources import SourceError

NO_CONSUMPTION = "no consumption in the look-back window (AMC 0): months of stock undefined"
INSTANTS_PER_PASS = 48
# Stores per pass: bounds the per-pair sums held at once (one row per store × item of the pass),
# so a push's peak memory no longer grows with the number of stores.
STORES_PER_PASS = 25


@dataclass(frozen=True, slots=True)
class IndicatorRequest:
    """One indicator over period P = [period_start local, reference]; ``key`` is the caller's id."""

    key: str
    indicator: str
    params: Mapping[str, Any]
    period_start: date
    reference: datetime


@dataclass(frozen=True, slots=True)
class IndicatorValue:
    """A value for one store × item; ``value`` None = nothing to send, ``reason`` says why."""

    key: str
    store_id: str
    item_id: str
    value: float | None
    reason: str | None = None


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


@dataclass(slots=True)
class _Frame:
    """What one reference instant needs from the day-bucket pass."""

    cut: datetime
    day: date
    windows: set[date] = field(default_factory=set)  # first days of DOS windows ending at `day`
    opening_col: str = ""  # units moved after the widest window began (for its opening balance)


def compute(
    source: Source,
    scope: Scope,
    requests: Sequence[IndicatorRequest],
    *,
    tz: str,
    stores_per_pass: int | None = None,
    now: datetime | None = None,
    within_data: bool = False,
) -> Iterator[IndicatorValue]:
    """Yield a value (possibly None) for every store × item of ``scope`` and every request.

    Order: by group of reference instants, then store, item and request (as in ``scope``).
    ``stores_per_pass`` (default ``STORES_PER_PASS``) only bounds memory: values are identical.
    A reference date after today (``now``, default the clock) is refused, and with
    ``within_data`` also one after the day of the database's newest movement.
    """
    zone = _zone(tz)
    reqs = list(requests)
    for req in reqs:
        _validate(req)
    per_pass = STORES_PER_PASS if stores_per_pass is None else stores_per_pass
    if per_pass < 1:
        raise ValueError(f"stores_per_pass must be at least 1, not {per_pass}")
    if not reqs or not scope.stores or not scope.items:
        return
    span = data_span(source, zone)
    check_references(span, [r.reference for r in reqs], zone, now=now, within_data=within_data)
    prefs = load_preferences(source, [s.id for s in scope.stores])
    # A backfill may ask for hundreds of reference instants: each pass takes a bounded number,
    # so the statement's column count stays far below the databases' limits.
    by_instant: dict[datetime, list[IndicatorRequest]] = {}
    for req in reqs:
        by_instant.setdefault(naive_utc(req.reference), []).append(req)
    instants = sorted(by_instant)
    stores = scope.stores
    for k in range(0, len(instants), INSTANTS_PER_PASS):
        chunk = [r for t in instants[k : k + INSTANTS_PER_PASS] for r in by_instant[t]]
        # stores inside instants: the same order as one pass over the whole scope
        for s in range(0, len(stores), per_pass):
            part = replace(scope, stores=stores[s : s + per_pass])
            yield from _compute_pass(source, part, chunk, zone, prefs, span)


def _compute_pass(
    source: Source,
    scope: Scope,
    reqs: list[IndicatorRequest],
    zone: ZoneInfo,
    prefs: Preferences,
    span: DataSpan,
) -> Iterator[IndicatorValue]:
    store_ids = [s.id for s in scope.stores]
    item_ids = [i.id for i in scope.items]
    query = MainQuery(source)
    frames: dict[datetime, _Frame] = {}
    plans = [_Plan(req, zone, prefs, scope, query, frames) for req in reqs]
    for frame in frames.values():
        if frame.windows:
            frame.opening_col = query.after(before_day(min(frame.windows), zone))

    main: dict[tuple[str, str], dict[str, Any]] = {}
    for record in query.run(store_ids, item_ids):
        main[(str(record.pop("store_id")), str(record.pop("item_id")))] = record
    # in the store's range but never held: a real zero (stocked out), not "no data"
    zero = dict.fromkeys(query.column_names(), 0.0)
    for store in scope.stores:
        for item in scope.items:
            if (store.id, item.id) not in main and scope.in_range(store.id, item.id):
                main[(store.id, item.id)] = dict(zero)

    dos: dict[tuple[str, str], dict[tuple[datetime, date], int]] = {}
    if any(f.windows for f in frames.values()):
        opened = store_opening_days(source, scope, zone)
        for frame in frames.values():
            if frame.windows:
                _days_out_of_stock(source, scope, zone, frame, query, main, opened, dos)

    # all SQL of this pass is done: drop its snapshot before yielding (see the module docstring)
    source.release()

    for store in scope.stores:
        early = [span.before_data(store.id, plan.cut) for plan in plans]
        for item in scope.items:
            pair = (store.id, item.id)
            row = main.get(pair)
            pair_dos = dos.get(pair, {})
            for plan, before in zip(plans, early, strict=True):
                if before is not None:
                    yield IndicatorValue(plan.req.key, store.id, item.id, None, before)
                elif row is None:
                    yield IndicatorValue(plan.req.key, store.id, item.id, None, NOT_IN_RANGE)
                else:
                    value = plan.value(store.id, row, pair_dos)
                    reason = plan.no_value_reason(value)
                    yield IndicatorValue(plan.req.key, store.id, item.id, _clean(value), reason)


class _Plan:
    """One request: registers the columns it needs, then turns a pair's sums into its value."""

    def __init__(
        self,
        req: IndicatorRequest,
        zone: ZoneInfo,
        prefs: Preferences,
        scope: Scope,
        query: MainQuery,
        frames: dict[datetime, _Frame],
    ) -> None:
        self.req = req
        name = req.indicator
        params = req.params
        self.cut = naive_utc(req.reference)
        self.day = local_date(self.cut, zone)
        self.frame = frames.setdefault(self.cut, _Frame(self.cut, self.day))
        period_cut = before_day(req.period_start, zone)
        self.soh_col = query.after(self.cut)
        self.available = params.get("soh") == "available"
        self.col = ""
        if name == "stock_beginning_of_month":
            self.col = query.after(period_cut)
        elif name == "received":
            self.col = query.flow(RECEIPT_KINDS, period_cut, self.cut)
        elif name == "issued":
            self.col = query.flow(ISSUE_KINDS, period_cut, self.cut)
        elif name == "adjustments":
            self.col = query.flow(adjustment_kinds(query.source), period_cut, self.cut)
        elif name == "stock_expiring":
            within = params.get("within_days") or DEFAULT_WITHIN_DAYS
            self.col = query.expiring(self.cut, self.day, self.day + timedelta(days=int(within)))
        elif name == "stock_expired":
            self.col = query.expired(self.cut, self.day)
        elif name == "value_of_stock_on_hand":
            self.col = query.value(self.cut)
        elif name == "days_out_of_stock":
            self.frame.windows.add(req.period_start)
        elif name in ("average_monthly_consumption", "months_of_stock"):
            days = params.get("days_per_month") or prefs.days_in_month or DEFAULT_DAYS_PER_MONTH
            adjust = params.get("adjust_for_stockouts")
            self.adjust = prefs.adjust_for_stockouts if adjust is None else bool(adjust)
            # per store: (months L, window days N = L × D, first day of the window, column)
            self.amc: dict[str, tuple[float, float, date, str]] = {}
            for store in scope.stores:
                months = float(params.get("months") or prefs.months(store.id))
                span = months * float(days)
                first = self.day - timedelta(days=math.trunc(span) - 1)
                col = query.flow(ISSUE_KINDS, before_day(first, zone), self.cut)
                self.amc[store.id] = (months, span, first, col)
                if self.adjust:
                    self.frame.windows.add(first)

    def no_value_reason(self, value: float | None) -> str | None:
        """Why a held pair has no value (months of stock without consumption)."""
        if value is None and self.req.indicator == "months_of_stock":
            return NO_CONSUMPTION
        return None

    def _soh(self, row: Mapping[str, Any], available: bool) -> float:
        current = row["cur_avail"] if available else row["cur_total"]
        return float(current or 0) - float(row[self.soh_col] or 0)

    def _amc(self, store_id: str, row: Mapping[str, Any], dos: Mapping[Any, int]) -> float:
        months, span, first, col = self.amc[store_id]
        consumed = -float(row[col] or 0)
        amc = consumed / months
        if self.adjust:
            out = dos.get((self.cut, first), 0)
            amc *= span / (span - min(out, span - 1))
        return amc

    def value(
        self, store_id: str, row: Mapping[str, Any], dos: Mapping[tuple[datetime, date], int]
    ) -> float | None:
        name = self.req.indicator
        if name == "stock_on_hand":
            return self._soh(row, self.available)
        if name == "stock_end_of_month":
            return self._soh(row, False)
        if name == "stock_beginning_of_month":
            return float(row["cur_total"] or 0) - float(row[self.col] or 0)
        if name == "issued":
            return -float(row[self.col] or 0)
        if name in ("received", "adjustments", "stock_expiring", "stock_expired"):
            return float(row[self.col] or 0)
        if name == "value_of_stock_on_hand":
            return float(row[self.col] or 0)
        if name == "stocked_out":
            return 1.0 if self._soh(row, False) <= EPSILON else 0.0
        if name == "days_out_of_stock":
            return float(dos.get((self.cut, self.req.period_start), 0))
        if name == "average_monthly_consumption":
            return self._amc(store_id, row, dos)
        if name == "months_of_stock":
            amc = self._amc(store_id, row, dos)
            if amc <= EPSILON:
                return None
            return max(self._soh(row, self.available), 0.0) / amc
        raise AssertionError(name)


def _days_out_of_stock(
    source: Source,
    scope: Scope,
    zone: ZoneInfo,
    frame: _Frame,
    query: MainQuery,
    main: Mapping[tuple[str, str], Mapping[str, Any]],
    opened: Mapping[str, date | None],
    out: dict[tuple[str, str], dict[tuple[datetime, date], int]],
) -> None:
    """Stream day-bucketed sums for the frame's widest window and count stock-out days per pair."""
    first_day = min(frame.windows)
    first_cut = before_day(first_day, zone)
    opening_col = frame.opening_col
    params: dict[str, Any] = {
        "stores": [s.id for s in scope.stores],
        "items": [i.id for i in scope.items],
        "first": source.ts(first_cut),
        "last": source.ts(frame.cut),
    }
    segments = offset_segments(first_cut, frame.cut, zone)
    sql = daily_sql(source, segments, params)
    first_n, last_n = day_number(first_day), day_number(frame.day)
    windows = sorted(frame.windows)

    def finish(pair: tuple[str, str], days: list[tuple[int, float]]) -> None:
        row = main.get(pair)
        if row is None:
            return  # never held and not in the store's range: no value
        opening = float(row["cur_total"] or 0) - float(row[opening_col] or 0)
        store_open = opened.get(pair[0])
        result = out.setdefault(pair, {})
        for start in windows:
            lo = day_number(start)
            if store_open is not None:
                lo = max(lo, day_number(store_open))
            result[(frame.cut, start)] = count_out_days(opening, days, first_n, lo, last_n)

    current: tuple[str, str] | None = None
    days: list[tuple[int, float]] = []
    seen: set[tuple[str, str]] = set()
    for store_id, item_id, day, units in source.stream(sql, params):
        pair = (str(store_id), str(item_id))
        if pair != current:
            if current is not None:
                finish(current, days)
                seen.add(current)
            current, days = pair, []
        days.append((int(day), float(units or 0)))
    if current is not None:
        finish(current, days)
        seen.add(current)
    for pair in main:
        if pair not in seen:
            finish(pair, [])


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


def load_preferences(source: Source, store_ids: list[str]) -> Preferences:
    lookback: dict[str, float] = {}
    if source.has_column("store_preference", "monthly_consumption_look_back_period"):
        for sid, months in source.rows(
            "SELECT id, monthly_consumption_look_back_period FROM store_preference "
            "WHERE id IN :stores",
            {"stores": store_ids},
        ):
            if months is not None:
                lookback[str(sid)] = float(months)
    days: float | None = None
    adjust = False
    if {"key", "value", "store_id"} <= source.columns("preference"):
        for key, raw in source.rows(
            'SELECT "key", "value" FROM preference WHERE store_id IS NULL AND "key" IN '
            "('days_in_month', 'adjust_for_number_of_days_out_of_stock')"
        ):
            value = _json(raw)
            if key == "days_in_month" and isinstance(value, int | float) and value > 0:
                days = float(value)
            elif key == "adjust_for_number_of_days_out_of_stock":
                adjust = value is True or str(value).lower() == "true"
    return Preferences(lookback, days, adjust)


def store_opening_days(source: Source, scope: Scope, zone: ZoneInfo) -> dict[str, date | None]:
    """Local opening day per store: ``store.created_date``, else its first effective invoice."""
    opened: dict[str, date | None] = {s.id: s.opened_on for s in scope.stores}
    missing = [sid for sid, day in opened.items() if day is None]
    if missing:
        sql = (
            f"SELECT i.store_id, MIN({effective_sql(source)}) FROM invoice i "
            "WHERE i.store_id IN :stores GROUP BY i.store_id"
        )
        for sid, first in source.rows(sql, {"stores": missing}):
            if first is not None:
                at = first if isinstance(first, datetime) else datetime.fromisoformat(str(first))
                opened[str(sid)] = local_date(at, zone)
    return opened


def _clean(value: float | None) -> float | None:
    """Float residue of summed fractional packs (1e-15) is zero; keep 9 decimals, not noise."""
    if value is None:
        return None
    if abs(value) < EPSILON:
        return 0.0
    return round(value, 9)


def _json(raw: Any) -> Any:
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return raw


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SourceError(
            f"unknown time zone {tz!r} (use an IANA name such as Pacific/Tarawa)"
        ) from None


def _validate(req: IndicatorRequest) -> None:
    if req.indicator not in INDICATORS:
        raise ValueError(f"unknown indicator {req.indicator!r}")
    if req.reference.tzinfo is None:
        raise ValueError("IndicatorRequest.reference must be time-zone aware")
    if req.period_start > req.reference.date() + timedelta(days=1):
        raise ValueError(f"{req.key}: period starts {req.period_start}, after its reference date")
