"""Where one value comes from: every ledger line of a store × item and the rule applied.

``explain`` computes the cell's values with the same engine a push uses (``compute`` on a scope
of that one store and item), then reads the pair's ledger itself — every invoice line since the
earliest window any requested value looks at, counted or left out and why, with its date in
the store's days and the running balance (worked backwards from today's stock, as the values
are) — and states each value's rule with the numbers that made it. A user who doubts a number
on the dashboard sees where it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dhispatch.runtime.indicators.compute import compute
from dhispatch.runtime.indicators.compute import load_preferences
from dhispatch.runtime.indicators.definitions import DEFAULT_DAYS_PER_MONTH
from dhispatch.runtime.indicators.definitions import EPSILON
from dhispatch.runtime.indicators.formulas import IndicatorRequest
from dhispatch.runtime.indicators.queries import ISSUE_KINDS
from dhispatch.runtime.indicators.queries import RECEIPT_KINDS
from dhispatch.runtime.indicators.queries import adjustment_kinds
from dhispatch.runtime.indicators.queries import effective_sql
from dhispatch.runtime.indicators.timeframe import before_day
from dhispatch.runtime.indicators.timeframe import local_date
from dhispatch.runtime.indicators.timeframe import naive_utc
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.sources import Scope
from dhispatch.runtime.sources import Source
from dhispatch.runtime.sources import SourceError

_TIMESTAMP = {  # which timestamp makes each invoice type's lines move stock
    "OUTBOUND_SHIPMENT": "picked",
    "SUPPLIER_RETURN": "picked",
    "OUTBOUND_RETURN": "picked",
    "PRESCRIPTION": "picked",
    "INBOUND_SHIPMENT": "received",
    "CUSTOMER_RETURN": "received",
    "INBOUND_RETURN": "received",
    "INVENTORY_ADDITION": "verified",
    "INVENTORY_REDUCTION": "verified",
    "REPACK": "verified",
}


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One invoice line of the pair: counted (it moved stock) or left out, and why."""

    invoice: str
    invoice_type: str
    invoice_status: str
    line_type: str
    line_status: str | None
    at: datetime | None  # the effective instant, naive UTC (None: not effective)
    day: date | None  # ``at`` in the store's days
    units: float  # signed units (packs × the line's pack size)
    counted: bool
    note: str
    balance: float | None  # the pair's balance after this line (counted lines only)
    stock_line: str | None = None  # the batch it moved


@dataclass(frozen=True, slots=True)
class Explained:
    indicator: str
    value: float | None
    reason: str | None  # why there is no value
    rule: str  # the formula with this cell's numbers


@dataclass(frozen=True, slots=True)
class Explanation:
    database: str
    version: str
    store: str
    store_name: str
    org_unit: str | None
    item: str
    item_name: str
    tz: str
    reference: datetime
    period_start: date
    in_range: bool
    stock_now: float
    available_now: float
    values: tuple[Explained, ...]
    lines: tuple[LedgerLine, ...]
    earlier_lines: int  # counted lines before the first window shown
    opening: float  # the balance when the shown lines start


def explain(
    source: Source,
    rules: ScopeRules,
    store_code: str,
    item_code: str,
    requests: Sequence[IndicatorRequest],
    *,
    tz: str,
    now: datetime | None = None,
) -> Explanation:
    """Explain ``requests`` (one reference instant and period) for one store × item."""
    scope = source.scope(rules)
    store = next((s for s in scope.stores if s.code == store_code), None)
    item = next((i for i in scope.items if i.code == item_code), None)
    if store is None:
        raise SourceError(f"no store with code {store_code!r} in {source.label}")
    if item is None:
        raise SourceError(f"no stock item with code {item_code!r} in {source.label}")
    one = replace(scope, stores=(store,), items=(item,))
    zone = ZoneInfo(tz)
    values = {v.key: v for v in compute(source, one, requests, tz=tz, now=now, within_data=True)}
    req = requests[0]
    ledger = _Ledger(source, one, requests, zone)
    explained = tuple(
        Explained(
            r.indicator,
            values[r.key].value,
            values[r.key].reason,
            values[r.key].reason or ledger.rule(r, values[r.key].value),
        )  # fmt: skip
        for r in requests
    )
    source.release()
    shown = ledger.shown()
    return Explanation(
        database=source.label,
        version=source.caps.version_text,
        store=store.code,
        store_name=store.name,
        org_unit=store.org_unit,
        item=item.code,
        item_name=item.name,
        tz=tz,
        reference=req.reference,
        period_start=req.period_start,
        in_range=one.in_range(store.id, item.id),
        stock_now=ledger.total,
        available_now=ledger.available,
        values=explained,
        lines=tuple(shown),
        earlier_lines=ledger.earlier(shown),
        opening=ledger.opening(shown),
    )


class _Ledger:
    """The pair's invoice lines and stock lines, and the rules stated with their numbers."""

    def __init__(
        self, source: Source, scope: Scope, requests: Sequence[IndicatorRequest], zone: ZoneInfo
    ) -> None:
        self.source, self.zone, self.requests = source, zone, requests
        self.store, self.item = scope.stores[0], scope.items[0]
        self.cut = naive_utc(requests[0].reference)
        self.day = local_date(self.cut, zone)
        self.prefs = load_preferences(source, [self.store.id])
        self.adjustments = adjustment_kinds(source)
        self.total, self.available, self.batches = self._stock_lines()
        self.lines = self._lines()
        self.first = min(self._window_start(r) for r in requests)

    def _stock_lines(self) -> tuple[float, float, list[tuple[Any, ...]]]:
        rows = self.source.rows(
            "SELECT s.id, s.batch, s.expiry_date, s.pack_size, s.total_number_of_packs, "
            "s.available_number_of_packs, COALESCE(s.cost_price_per_pack, 0) FROM stock_line s "
            "JOIN item_link k ON k.id = s.item_link_id WHERE s.store_id = :store AND "
            "k.item_id = :item ORDER BY s.expiry_date, s.id",
            {"store": self.store.id, "item": self.item.id},
        )
        total = sum(float(r[4] or 0) * float(r[3] or 0) for r in rows)
        available = sum(float(r[5] or 0) * float(r[3] or 0) for r in rows)
        return total, available, [tuple(r) for r in rows]

    def _lines(self) -> list[LedgerLine]:
        """Every line of the pair, in ledger order, with the balance worked back from today."""
        caps = self.source.caps
        status = "l.status" if caps.line_status else "NULL"
        rows = self.source.rows(
            f"SELECT i.invoice_number, i.type, i.status, l.type, {status}, "
            f"{effective_sql(self.source)}, "
            "l.number_of_packs, l.pack_size, l.id, l.stock_line_id FROM invoice_line l "
            "JOIN invoice i ON i.id = l.invoice_id JOIN item_link k ON k.id = l.item_link_id "
            "WHERE i.store_id = :store AND k.item_id = :item",
            {"store": self.store.id, "item": self.item.id},
        )
        lines = [self._line(r) for r in rows]
        # ledger order (open mSupply's item_ledger): time, then receipts before issues
        lines.sort(key=lambda x: (x[0].at is None, x[0].at or datetime.min, x[1]))
        balance = self.total - sum(x[0].units for x in lines if x[0].counted)
        out = []
        for line, _ in lines:
            if line.counted:
                balance += line.units
                line = replace(line, balance=balance)
            out.append(line)
        return out

    def _line(self, r: Any) -> tuple[LedgerLine, tuple[int, str]]:
        number, kind, status, line_type, line_status, at, packs, size, line_id, stock_line = r
        at = (
            None
            if at is None
            else (at if isinstance(at, datetime) else datetime.fromisoformat(str(at)))
        )
        sign = -1.0 if line_type == "STOCK_OUT" else 1.0
        units = sign * float(packs or 0) * float(size or 0)
        counted, note = self._verdict(kind, status, line_type, line_status, at, float(packs or 0))
        day = None if at is None else local_date(at, self.zone)
        line = LedgerLine(str(number), str(kind), str(status), str(line_type),
                          None if line_status is None else str(line_status), at, day, units,
                          counted, note, None, stock_line)  # fmt: skip
        return line, (0 if units > 0 else 1, str(line_id))

    def _verdict(
        self, kind: str, status: str, line_type: str, line_status: Any, at: Any, packs: float
    ) -> tuple[bool, str]:
        if line_type not in ("STOCK_IN", "STOCK_OUT"):
            what = "rejected line" if line_status == "REJECTED" else "placeholder"
            return False, f"left out: {line_type} ({what}) moves no stock"
        if packs <= 0:
            return False, "left out: 0 packs"
        if line_status == "PENDING":
            return False, "left out: PENDING line (not authorised): no stock line, no stock moved"
        if at is None:
            stamp = _TIMESTAMP.get(kind, "effective")
            return False, f"left out: not {stamp} yet (invoice {status}): no stock moved yet"
        return True, self._role(kind, at)

    def _role(self, kind: str, at: datetime) -> str:
        req = self.requests[0]
        if at > self.cut:
            return "after R: taken back from today's stock"
        if at <= before_day(req.period_start, self.zone):
            return "before P"
        if kind in RECEIPT_KINDS:
            return "in P: received"
        if kind in ISSUE_KINDS:
            return "in P: issued"
        if kind in self.adjustments:
            return "in P: adjustment"
        return "in P: repack (moves units between batches, in no flow)"

    def _window_start(self, req: IndicatorRequest) -> datetime:
        if req.indicator in ("average_monthly_consumption", "months_of_stock"):
            return before_day(self._amc_window(req)[2], self.zone)
        return before_day(req.period_start, self.zone)

    def _amc_window(self, req: IndicatorRequest) -> tuple[float, float, date]:
        params = req.params
        months = float(params.get("months") or self.prefs.months(self.store.id))
        days = float(params.get("days_per_month") or self.prefs.days_in_month
                     or DEFAULT_DAYS_PER_MONTH)  # fmt: skip
        span = months * days
        return months, span, self.day - timedelta(days=int(span) - 1)

    def shown(self) -> list[LedgerLine]:
        """Lines from the first window on (not yet effective ones too)."""
        return [x for x in self.lines if x.at is None or x.at > self.first]

    def earlier(self, shown: list[LedgerLine]) -> int:
        return sum(1 for x in self.lines if x.counted and x not in shown)

    def opening(self, shown: list[LedgerLine]) -> float:
        counted = [x for x in shown if x.counted]
        return self.total - sum(x.units for x in counted)

    # -- rules -----------------------------------------------------------------------------
    def _sum(self, lo: datetime, hi: datetime | None, kinds: Sequence[str] | None = None) -> float:
        return sum(
            x.units
            for x in self.lines
            if x.counted and x.at is not None and x.at > lo and (hi is None or x.at <= hi)
            and (kinds is None or x.invoice_type in kinds)
        )  # fmt: skip

    def rule(self, req: IndicatorRequest, value: float | None) -> str:
        name = req.indicator
        after = self._sum(self.cut, None)
        if name in ("stock_on_hand", "stock_end_of_month", "stocked_out"):
            avail = name == "stock_on_hand" and req.params.get("soh") == "available"
            now = self.available if avail else self.total
            what = "available now" if avail else "in stock now"
            text = f"{_n(now)} {what} − ({_n(after)} moved after R) = {_n(now - after)}"
            if name == "stocked_out":
                return (
                    f"stock at R: {text}; {'≤' if now - after <= EPSILON else '>'} 0 → {_n(value)}"
                )
            return text
        period = before_day(req.period_start, self.zone)
        if name == "stock_beginning_of_month":
            moved = self._sum(period, None)
            return (f"{_n(self.total)} in stock now − ({_n(moved)} moved since {req.period_start} "
                    f"began) = {_n(self.total - moved)}")  # fmt: skip
        flows = {"received": RECEIPT_KINDS, "issued": ISSUE_KINDS, "adjustments": self.adjustments}
        if name in flows:
            total = self._sum(period, self.cut, flows[name])
            sign = -1 if name == "issued" else 1
            return f"Σ {', '.join(flows[name])} lines effective in P = {_n(sign * total)}"
        if name in ("stock_expiring", "stock_expired", "value_of_stock_on_hand"):
            return self._batch_rule(req, value)
        if name in ("average_monthly_consumption", "months_of_stock"):
            return self._amc_rule(req, value)
        return self._dos_rule(req, value)

    def _batch_rule(self, req: IndicatorRequest, value: float | None) -> str:
        parts = []
        for sid, batch, expiry, pack, total, _, _cost in self.batches:
            moved = sum(x.units for x in self.lines if x.counted and x.at is not None
                        and x.at > self.cut and x.stock_line == sid)  # fmt: skip
            units = float(total or 0) * float(pack or 0) - moved
            parts.append(f"{batch or sid} expiring {expiry or 'never'}: {_n(units)} units at R")
        what = {
            "stock_expiring": "units at R of batches with stock expiring after R's date, within "
            f"{req.params.get('within_days') or 90} days",
            "stock_expired": "units at R of batches with stock expired by R's date",
            "value_of_stock_on_hand": "Σ batches' packs at R × cost per pack",
        }[req.indicator]
        return f"{what} = {_n(value)} ({'; '.join(parts) or 'no batches'})"

    def _amc_rule(self, req: IndicatorRequest, value: float | None) -> str:
        months, span, first = self._amc_window(req)
        issued = -self._sum(before_day(first, self.zone), self.cut, ISSUE_KINDS)
        text = (f"C = {_n(issued)} units issued {first}..{self.day} ({int(span)} days), "
                f"L = {_n(months)} months: C / L = {_n(issued / months)}")  # fmt: skip
        if req.indicator == "months_of_stock":
            soh = self.total - self._sum(self.cut, None)
            return f"max(stock at R {_n(soh)}, 0) / AMC ({text}) = {_n(value)}"
        return text

    def _dos_rule(self, req: IndicatorRequest, value: float | None) -> str:
        start = req.period_start
        opened = self.store.opened_on
        first = max(start, opened) if opened else start
        out = [d for d in _days(first, self.day) if self._close(d - timedelta(days=1)) <= EPSILON
               and self._close(d) <= EPSILON]  # fmt: skip
        return (f"days from {first} to {self.day} whose closing balance and the day before's "
                f"are ≤ 0: {_ranges(out) or 'none'} = {len(out)}")  # fmt: skip

    def _close(self, day: date) -> float:
        """The balance at the end of a local day (at R for R's own day)."""
        end = min(before_day(day + timedelta(days=1), self.zone), self.cut)
        return self.total - self._sum(end, None)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def _ranges(days: list[date]) -> str:
    spans: list[list[date]] = []
    for d in days:
        if spans and spans[-1][1] + timedelta(days=1) == d:
            spans[-1][1] = d
        else:
            spans.append([d, d])
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in spans)


def _n(value: float | None) -> str:
    if value is None:
        return "none"
    if abs(value) < EPSILON:
        return "0"
    return f"{value:.6f}".rstrip("0").rstrip(".")


def local_text(at: datetime | None, zone: ZoneInfo) -> str:
    if at is None:
        return ""
    return at.replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
