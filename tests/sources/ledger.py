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
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dhispatch.runtime.sources.schema import CURRENT
from dhispatch.runtime.sources.schema import TABLES
from dhispatch.runtime.sources.schema import Version
from dhispatch.runtime.sources.schema import columns
from dhispatch.runtime.sources.schema import ddl
from dhispatch.runtime.sources.schema import insert_rows
from dhispatch.runtime.sources.schema import return_types
from dhispatch.runtime.sources.schema import version_row

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
ALL = "All items"  # the master list every store has unless it names its own


@dataclass
class StoreRow:
    id: str
    code: str
    created: date | None = None
    lookback: float | None = None  # store_preference row; None = no row
    dhis2_code: str | None = None  # in the name's legacy custom_data
    property_code: Any = None  # in the name's properties (open mSupply's own place)
    properties: dict[str, Any] | None = None  # the name's properties, when not just the code
    lists: tuple[str, ...] = (ALL,)  # master lists joined to the store's name: its range


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
    status: str | None = None  # invoice_line.status (2.17+): PENDING | PASSED | REJECTED
    invoice: str | None = None  # movements naming one invoice share it (default: their own)


@dataclass
class Ledger:
    stores: list[StoreRow]
    items: list[str]
    batches: list[BatchRow] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)
    days_in_month: float | None = None
    adjust: bool | None = None
    master_lists: dict[str, list[str]] = field(default_factory=dict)  # besides ALL
    item_fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # legacy extras

    def range_of(self, store: StoreRow) -> set[str]:
        lists = {ALL: self.items, **self.master_lists}
        return {i for name in store.lists for i in lists.get(name, [])}


# -- writing ----------------------------------------------------------------------------------
def create_schema(conn: Any, dialect: str, version: Version = CURRENT) -> None:
    for statement in ddl(dialect, version):
        conn.execute(statement)


def clear(conn: Any) -> None:
    for table in reversed(TABLES):
        conn.execute(f'DELETE FROM "{table.name}"')


_WHOLE = ("pack_size", "default_pack_size")


def _put(conn: Any, dialect: str, version: Version, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert dict rows, keeping only the columns ``table`` has at ``version``."""
    if not rows:
        return
    have = columns(table, version)
    cols = [c for c in rows[0] if c in have]
    if version < (2, 1, 0):  # INTEGER pack sizes then
        rows = [{k: int(v) if k in _WHOLE else v for k, v in r.items()} for r in rows]
    insert_rows(conn, dialect, table, cols, [[r[c] for c in cols] for r in rows])


def whole_pack_sizes(ledger: Ledger) -> Ledger:
    """The same units and values with integer pack sizes (before 2.1.0 pack sizes were
    INTEGER): a fractional pack size becomes 1, its packs × the size, its cost ÷ the size."""

    def size(p: float) -> float:
        return p if float(p).is_integer() else 1.0

    batches = [
        replace(b, pack_size=size(b.pack_size),
                total_packs=b.total_packs * b.pack_size / size(b.pack_size),
                available_packs=b.available_packs * b.pack_size / size(b.pack_size),
                cost=b.cost * size(b.pack_size) / b.pack_size)
        for b in ledger.batches
    ]  # fmt: skip
    moves = [
        replace(m, pack_size=size(m.pack_size), packs=m.packs * m.pack_size / size(m.pack_size))
        for m in ledger.movements
    ]
    return replace(ledger, batches=batches, movements=moves)


def write(conn: Any, dialect: str, ledger: Ledger, version: Version = CURRENT) -> None:
    """Insert the ledger as open mSupply ``version`` rows: one invoice per movement."""
    if version < (2, 1, 0):
        ledger = whole_pack_sizes(ledger)
    put = lambda table, rows: _put(conn, dialect, version, table, rows)  # noqa: E731
    put("key_value_store", [dict(zip(("id", "value_string"), version_row(version), strict=True))])
    put("unit", [{"id": "u", "name": "Tablet", "index": 1}])
    _write_items(put, ledger)
    _write_names(put, ledger, version)
    _write_stores(put, ledger, version)
    _write_lists(put, ledger)
    put("stock_line", [_stock_line(b) for b in ledger.batches])
    _write_movements(put, ledger, version)


def _write_items(put: Any, ledger: Ledger) -> None:
    put(
        "item",
        [
            {
                "id": i,
                "name": f"Item {i}",
                "code": i.upper(),
                "unit_id": "u",
                "type": "STOCK",
                "legacy_record": json.dumps({"user_field_1": i, **ledger.item_fields.get(i, {})}),
                "is_active": True,
                "default_pack_size": 1.0,
                "universal_code": None,
            }
            for i in ledger.items
        ],
    )
    links = [(i, i) for i in ledger.items] + [(f"old_{i}", i) for i in ledger.items]
    put("item_link", [{"id": a, "item_id": b} for a, b in links])


def _name(id: str, code: str, kind: str, custom: Any = None, props: Any = None) -> dict[str, Any]:
    return {
        "id": id,
        "name": f"Name {code}",
        "code": code,
        "is_customer": True,
        "is_supplier": True,
        "type": kind,
        "custom_data": None if custom is None else json.dumps(custom),
        "properties": None if props is None else json.dumps(props),
    }


def _write_names(put: Any, ledger: Ledger, version: Version) -> None:
    names = [_name("n_other", "OTHER", "FACILITY"), _name("n_invad", "invad", "INVAD")]
    for s in ledger.stores:
        custom = {"Dhis2Code": s.dhis2_code} if s.dhis2_code else {}
        props = s.properties if s.property_code is None else {"Dhis2Code": s.property_code}
        names.append(_name(f"n_{s.id}", s.code, "STORE", custom, props))
    put("name", names)
    put("name_link", [{"id": n["id"], "name_id": n["id"]} for n in names])
    if version >= (2, 1, 0):
        put("property", [{"id": "p1", "key": "Dhis2Code", "name": "DHIS2 code",
                          "value_type": "STRING", "allowed_values": None}])  # fmt: skip
        put("name_property", [{"id": "np1", "property_id": "p1", "remote_editable": False}])


def _write_stores(put: Any, ledger: Ledger, version: Version) -> None:
    put(
        "store",
        [
            {
                "id": s.id,
                "name_id": f"n_{s.id}",
                "name_link_id": f"n_{s.id}",
                "code": s.code,
                "site_id": 1,
                "created_date": s.created,
                "is_disabled": False,
            }
            for s in ledger.stores
        ],
    )
    put(
        "store_preference",
        [
            {"id": s.id, "monthly_consumption_look_back_period": s.lookback}
            for s in ledger.stores
            if s.lookback is not None
        ],
    )
    prefs = []
    if ledger.days_in_month is not None:
        prefs.append(("days_in_month_global", "days_in_month", json.dumps(ledger.days_in_month)))
    if ledger.adjust is not None:
        prefs.append(
            ("adjust_global", "adjust_for_number_of_days_out_of_stock", json.dumps(ledger.adjust))
        )
    if version >= (2, 7, 0):
        put("preference", [dict(zip(("id", "key", "value"), p, strict=True)) for p in prefs])


def _write_lists(put: Any, ledger: Ledger) -> None:
    lists = {ALL: ledger.items, **ledger.master_lists}
    put(
        "master_list",
        [{"id": f"ml_{n}", "name": n, "code": n, "description": n} for n in lists],
    )
    put(
        "master_list_line",
        [
            {"id": f"mll_{n}_{i}", "item_link_id": i, "master_list_id": f"ml_{n}"}
            for n, items in lists.items()
            for i in items
        ],
    )
    put(
        "master_list_name_join",
        [
            {"id": f"mlj_{n}_{s.id}", "master_list_id": f"ml_{n}", "name_link_id": f"n_{s.id}"}
            for s in ledger.stores
            for n in s.lists
        ],
    )


def _stock_line(b: BatchRow) -> dict[str, Any]:
    return {
        "id": b.id,
        "store_id": b.store,
        "item_link_id": b.item,
        "pack_size": b.pack_size,
        "total_number_of_packs": b.total_packs,
        "available_number_of_packs": b.available_packs,
        "expiry_date": b.expiry,
        "cost_price_per_pack": b.cost,
        "sell_price_per_pack": b.cost,
        "on_hold": False,
    }


def _write_movements(put: Any, ledger: Ledger, version: Version) -> None:
    """One invoice per movement, with the column and names the version uses."""
    customer, supplier = return_types(version)
    rename = {"CUSTOMER_RETURN": customer, "SUPPLIER_RETURN": supplier}
    received = "received_datetime" if version >= (2, 8, 3) else "delivered_datetime"
    invoices: dict[str, dict[str, Any]] = {}
    lines = []
    for number, m in enumerate(ledger.movements, start=1):
        invoice_id = m.invoice or f"inv_{m.id}"
        effective = EFFECTIVE[m.kind].replace("received_datetime", received)
        stamps: dict[str, datetime | None] = dict.fromkeys(TIMESTAMPS)
        stamps[effective] = m.at
        if m.decoy is not None:  # another status timestamp, which must be ignored
            others = [c for c in TIMESTAMPS if c != effective and c in columns("invoice", version)]
            stamps[others[0]] = m.decoy
        invoices.setdefault(
            invoice_id,
            {
                "id": invoice_id,
                "store_id": m.store,
                "name_link_id": "n_invad" if "INVENTORY" in m.kind else "n_other",
                "invoice_number": number,
                "type": rename.get(m.kind, m.kind),
                "status": "VERIFIED",
                "on_hold": False,
                "created_datetime": m.at or m.decoy or datetime(2023, 1, 1),
                **stamps,
            },
        )
        lines.append(
            {
                "id": f"line_{m.id}",
                "invoice_id": invoice_id,
                "item_link_id": f"old_{m.item}" if m.via_old_link else m.item,
                "item_name": f"Item {m.item}",
                "item_code": m.item.upper(),
                "stock_line_id": m.batch,
                "type": m.line_type,
                "number_of_packs": m.packs,
                "pack_size": m.pack_size,
                "cost_price_per_pack": 1.0,
                "sell_price_per_pack": 1.0,
                "total_before_tax": m.packs,
                "total_after_tax": m.packs,
                "status": m.status,
            }
        )
    put("invoice", list(invoices.values()))
    put("invoice_line", lines)


def write_sqlite(path: str, ledger: Ledger, version: Version = CURRENT) -> None:
    conn = sqlite3.connect(path)
    create_schema(conn, "sqlite", version)
    write(conn, "sqlite", ledger, version)
    conn.commit()
    conn.close()


# -- reference implementation -----------------------------------------------------------------
def _units(m: Movement) -> float:
    sign = 1.0 if m.line_type == "STOCK_IN" else -1.0
    return sign * m.packs * m.pack_size


def _counts(m: Movement, version: Version = CURRENT) -> bool:
    """A movement changes stock: stock line type, positive packs, effective timestamp set, and
    (2.17+) not a PENDING line."""
    if version >= (2, 17, 0) and m.status == "PENDING":
        return False
    return m.line_type in ("STOCK_IN", "STOCK_OUT") and m.packs > 0 and m.at is not None


def data_start(ledger: Ledger, store: StoreRow) -> datetime | None:
    """The store's first transaction (an invoice with its effective timestamp); None: none."""
    return min((m.at for m in ledger.movements if m.at is not None and m.store == store.id),
               default=None)  # fmt: skip


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
    version: Version = CURRENT,
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
        start = data_start(ledger, store)
        for item in ledger.items:
            moves = [
                m
                for m in ledger.movements
                if m.store == store.id and m.item == item and _counts(m, version)
            ]
            batches = [b for b in ledger.batches if b.store == store.id and b.item == item]
            if start is None or r < start:  # before the data starts: no value
                out[(store.id, item)] = None
                continue
            total_now = sum(b.total_packs * b.pack_size for b in batches)
            avail_now = sum(b.available_packs * b.pack_size for b in batches)
            if item not in ledger.range_of(store):
                # outside the store's range: values only when the store had some in P
                at_start = total_now - sum(_units(m) for m in moves if m.at and m.at >= p_start)
                at_r = total_now - sum(_units(m) for m in moves if m.at and m.at > r)
                moved = any(m.at and p_start <= m.at <= r for m in moves)
                if not moved and abs(at_start) <= EPS and abs(at_r) <= EPS:
                    out[(store.id, item)] = None
                    continue

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
                    if m.batch == b.id and _counts(m, version) and m.at and m.at > r
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
