"""Test ledgers: a tiny in-memory open mSupply history, written into a real database, and a
plain-Python reference implementation of every indicator computed row by row from it.

The reference is deliberately naive (loops over every movement for every day) so that it is
obviously right; the SQL engine must agree with it on random ledgers.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dhispatch.runtime.sources.schema import TABLES
from dhispatch.runtime.sources.schema import ddl
from dhispatch.runtime.sources.schema import index_ddl
from dhispatch.runtime.sources.schema import insert_rows

EPS = 1e-6
ISSUES = {"OUTBOUND_SHIPMENT", "PRESCRIPTION"}
ADJUSTMENTS = {"INVENTORY_ADDITION", "INVENTORY_REDUCTION", "CUSTOMER_RETURN", "SUPPLIER_RETURN"}
# which invoice timestamp makes a movement effective, by invoice type (reference §1.4)
EFFECTIVE = {
    "OUTBOUND_SHIPMENT": "picked_datetime",
    "SUPPLIER_RETURN": "picked_datetime",
    "PRESCRIPTION": "picked_datetime",
    "INBOUND_SHIPMENT": "received_datetime",
    "CUSTOMER_RETURN": "received_datetime",
    "INVENTORY_ADDITION": "verified_datetime",
    "INVENTORY_REDUCTION": "verified_datetime",
    "REPACK": "verified_datetime",
}
TIMESTAMPS = ("picked_datetime", "received_datetime", "verified_datetime", "delivered_datetime")


@dataclass
class StoreRow:
    id: str
    code: str
    created: date | None = None
    lookback: float | None = None  # store_preference row; None = no row
    dhis2_code: str | None = None


@dataclass
class BatchRow:
    id: str
    store: str
    item: str
    pack_size: float
    total_packs: float
    available_packs: float
    expiry: date | None
    cost: float


@dataclass
class Movement:
    id: str
    store: str
    item: str
    kind: str  # invoice type
    line_type: str  # STOCK_IN | STOCK_OUT | UNALLOCATED_STOCK | SERVICE
    packs: float
    pack_size: float
    at: datetime | None  # effective naive-UTC timestamp; None = not yet effective
    batch: str | None = None
    via_old_link: bool = False  # recorded against a merged item's old link
    decoy: datetime | None = None  # a non-effective timestamp column set to something else


@dataclass
class Ledger:
    stores: list[StoreRow]
    items: list[str]
    batches: list[BatchRow] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)
    days_in_month: float | None = None
    adjust: bool | None = None


# -- writing ----------------------------------------------------------------------------------
def create_schema(conn: Any, dialect: str) -> None:
    for statement in [*ddl(dialect), *index_ddl()]:
        conn.execute(statement)


def clear(conn: Any) -> None:
    for table in TABLES:
        conn.execute(f'DELETE FROM "{table}"')


def write(conn: Any, dialect: str, ledger: Ledger) -> None:
    """Insert the ledger as open mSupply rows: one invoice per movement."""
    insert_rows(
        conn,
        dialect,
        "item",
        ("id", "name", "code", "type", "is_active", "legacy_record", "universal_code"),
        [
            (i, f"Item {i}", i.upper(), "STOCK", True, json.dumps({"user_field_1": i}), None)
            for i in ledger.items
        ],
    )
    links = [(i, i) for i in ledger.items] + [(f"old_{i}", i) for i in ledger.items]
    insert_rows(conn, dialect, "item_link", ("id", "item_id"), links)
    insert_rows(
        conn,
        dialect,
        "name",
        ("id", "name", "code", "type", "custom_data"),
        [
            (
                f"n_{s.id}",
                f"Store {s.code}",
                s.code,
                "STORE",
                json.dumps({"Dhis2Code": s.dhis2_code} if s.dhis2_code else {}),
            )
            for s in ledger.stores
        ],
    )
    insert_rows(
        conn,
        dialect,
        "name_link",
        ("id", "name_id"),
        [(f"n_{s.id}", f"n_{s.id}") for s in ledger.stores],
    )
    insert_rows(
        conn,
        dialect,
        "store",
        ("id", "code", "created_date", "is_disabled", "name_link_id"),
        [(s.id, s.code, s.created, False, f"n_{s.id}") for s in ledger.stores],
    )
    insert_rows(
        conn,
        dialect,
        "store_preference",
        ("id", "monthly_consumption_look_back_period"),
        [(s.id, s.lookback) for s in ledger.stores if s.lookback is not None],
    )
    prefs = []
    if ledger.days_in_month is not None:
        prefs.append(("days_in_month_global", "days_in_month", json.dumps(ledger.days_in_month)))
    if ledger.adjust is not None:
        prefs.append(
            ("adjust_global", "adjust_for_number_of_days_out_of_stock", json.dumps(ledger.adjust))
        )
    insert_rows(conn, dialect, "preference", ("id", "key", "value"), prefs)
    insert_rows(
        conn,
        dialect,
        "stock_line",
        (
            "id",
            "store_id",
            "item_link_id",
            "pack_size",
            "total_number_of_packs",
            "available_number_of_packs",
            "expiry_date",
            "cost_price_per_pack",
        ),
        [
            (b.id, b.store, b.item, b.pack_size, b.total_packs, b.available_packs, b.expiry, b.cost)
            for b in ledger.batches
        ],
    )
    invoices, lines = [], []
    for m in ledger.movements:
        stamps: dict[str, datetime | None] = dict.fromkeys(TIMESTAMPS)
        stamps[EFFECTIVE[m.kind]] = m.at
        if m.decoy is not None:  # another status timestamp, which must be ignored
            for column in TIMESTAMPS:
                if column != EFFECTIVE[m.kind] and stamps[column] is None:
                    stamps[column] = m.decoy
                    break
        invoices.append(
            (
                f"inv_{m.id}",
                m.store,
                m.kind,
                "VERIFIED",
                *(stamps[c] for c in TIMESTAMPS),
                m.kind == "PRESCRIPTION" and False,
            )
        )
        lines.append(
            (
                f"line_{m.id}",
                f"inv_{m.id}",
                f"old_{m.item}" if m.via_old_link else m.item,
                m.batch,
                m.line_type,
                m.packs,
                m.pack_size,
            )
        )
    insert_rows(
        conn,
        dialect,
        "invoice",
        ("id", "store_id", "type", "status", *TIMESTAMPS, "is_cancellation"),
        invoices,
    )
    insert_rows(
        conn,
        dialect,
        "invoice_line",
        (
            "id",
            "invoice_id",
            "item_link_id",
            "stock_line_id",
            "type",
            "number_of_packs",
            "pack_size",
        ),
        lines,
    )


def write_sqlite(path: str, ledger: Ledger) -> None:
    conn = sqlite3.connect(path)
    create_schema(conn, "sqlite")
    write(conn, "sqlite", ledger)
    conn.commit()
    conn.close()


# -- reference implementation -----------------------------------------------------------------
def _units(m: Movement) -> float:
    sign = 1.0 if m.line_type == "STOCK_IN" else -1.0
    return sign * m.packs * m.pack_size


def _counts(m: Movement) -> bool:
    """A movement changes stock: stock line type, positive packs, effective timestamp set."""
    return m.line_type in ("STOCK_IN", "STOCK_OUT") and m.packs > 0 and m.at is not None


def _start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _local(at: datetime, zone: ZoneInfo) -> date:
    return at.replace(tzinfo=UTC).astimezone(zone).date()


def reference(
    ledger: Ledger,
    indicator: str,
    params: Mapping[str, Any],
    period_start: date,
    reference_at: datetime,
    tz: str,
) -> dict[tuple[str, str], float | None]:
    """Every indicator's value for every store × item, one movement at a time."""
    zone = ZoneInfo(tz)
    r = reference_at.astimezone(UTC).replace(tzinfo=None)
    r_day = _local(r, zone)
    p_start = _start(period_start, zone)
    out: dict[tuple[str, str], float | None] = {}
    for store in ledger.stores:
        store_moves = [m for m in ledger.movements if m.store == store.id and m.at is not None]
        opened = store.created or (
            _local(min(m.at for m in store_moves if m.at), zone) if store_moves else None
        )
        for item in ledger.items:
            moves = [
                m for m in ledger.movements if m.store == store.id and m.item == item and _counts(m)
            ]
            batches = [b for b in ledger.batches if b.store == store.id and b.item == item]
            if not batches and not moves:  # never stocked
                out[(store.id, item)] = (
                    None
                    if indicator in ("days_out_of_stock", "stocked_out", "months_of_stock")
                    else 0.0
                )
                continue
            total_now = sum(b.total_packs * b.pack_size for b in batches)
            avail_now = sum(b.available_packs * b.pack_size for b in batches)

            def after(x: datetime, moves: list[Movement] = moves) -> float:
                return sum(_units(m) for m in moves if m.at and m.at > x)

            def flow(kinds: set[str], lo: datetime, moves: list[Movement] = moves) -> float:
                return sum(_units(m) for m in moves if m.kind in kinds and m.at and lo <= m.at <= r)

            def close(day: date, moves: list[Movement] = moves, total: float = total_now) -> float:
                # balance at the end of local `day` (at R for R's own day)
                return total - sum(
                    _units(m)
                    for m in moves
                    if m.at and not (m.at <= r and _local(m.at, zone) <= day)
                )

            def dos(first: date, opened: date | None = opened) -> int:
                lo = max(first, opened) if opened else first
                count, day = 0, lo
                while day <= r_day:
                    if close(day - timedelta(days=1)) <= EPS and close(day) <= EPS:
                        count += 1
                    day += timedelta(days=1)
                return count

            def amc(store: StoreRow = store) -> float:
                months = params.get("months") or (
                    store.lookback if store.lookback and store.lookback > 0 else 3.0
                )
                per_month = params.get("days_per_month") or (
                    ledger.days_in_month
                    if ledger.days_in_month and ledger.days_in_month > 0
                    else 365.25 / 12
                )
                span = months * per_month
                first = r_day - timedelta(days=math.trunc(span) - 1)
                value = -flow(ISSUES, _start(first, zone)) / months
                adjust = params.get("adjust_for_stockouts")
                if adjust is None:
                    adjust = bool(ledger.adjust)
                if adjust:
                    value *= span / (span - min(dos(first), span - 1))
                return value

            def balance(b: BatchRow) -> float:
                return b.total_packs * b.pack_size - sum(
                    _units(m)
                    for m in ledger.movements
                    if m.batch == b.id and _counts(m) and m.at and m.at > r
                )

            soh = total_now - after(r)
            soh_avail = avail_now - after(r)
            value: float | None
            if indicator == "stock_on_hand":
                value = soh_avail if params.get("soh") == "available" else soh
            elif indicator == "stock_end_of_month":
                value = soh
            elif indicator == "stock_beginning_of_month":
                value = total_now - sum(_units(m) for m in moves if m.at and m.at >= p_start)
            elif indicator == "received":
                value = flow({"INBOUND_SHIPMENT"}, p_start)
            elif indicator == "issued":
                value = -flow(ISSUES, p_start)
            elif indicator == "adjustments":
                value = flow(ADJUSTMENTS, p_start)
            elif indicator == "stock_expiring":
                horizon = r_day + timedelta(days=params.get("within_days") or 90)
                value = sum(
                    balance(b)
                    for b in batches
                    if balance(b) > EPS and b.expiry and r_day < b.expiry <= horizon
                )
            elif indicator == "stock_expired":
                value = sum(
                    balance(b)
                    for b in batches
                    if balance(b) > EPS and b.expiry and b.expiry <= r_day
                )
            elif indicator == "value_of_stock_on_hand":
                value = sum(balance(b) / b.pack_size * b.cost for b in batches if b.pack_size > 0)
            elif indicator == "stocked_out":
                value = 1.0 if soh <= EPS else 0.0
            elif indicator == "days_out_of_stock":
                value = float(dos(period_start))
            elif indicator == "average_monthly_consumption":
                value = amc()
            elif indicator == "months_of_stock":
                a = amc()
                base = soh_avail if params.get("soh") == "available" else soh
                value = None if a <= EPS else max(base, 0.0) / a
            else:
                raise AssertionError(indicator)
            out[(store.id, item)] = value
    return out


def close_enough(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))
