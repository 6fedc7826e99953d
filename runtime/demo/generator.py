"""A synthetic country in an open mSupply database of open mSupply's own layout (current version).

Receipts (with pending and rejected lines of external shipments), issues to facilities and other
stores, prescriptions (some cancelled), inventory adjustments (expiry write-offs, found stock),
returns, repacks, drafts and allocations, stock-outs, batches with expiries and costs, fractional
pack sizes, a merged item, legacy item records with text, boolean and number user fields, store
codes as name properties or legacy custom data, store ranges (master lists joined to store
names), with the identifiers of ``runtime/demo/identifiers.py`` so the example specs and the
sandbox agree. Tables, columns and indexes are ``runtime/sources/schema.py``'s, i.e. open
mSupply's real DDL.
"""

from __future__ import annotations

import calendar
import json
import os
import random
import sqlite3
import tempfile
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.output import check_target
from dhispatch.runtime.demo.output import move_into_place
from dhispatch.runtime.sources.model import SourceError
from dhispatch.runtime.sources.model import redact
from dhispatch.runtime.sources.model import split_credentials
from dhispatch.runtime.sources.schema import CURRENT
from dhispatch.runtime.sources.schema import columns
from dhispatch.runtime.sources.schema import ddl
from dhispatch.runtime.sources.schema import index_ddl
from dhispatch.runtime.sources.schema import insert_rows
from dhispatch.runtime.sources.schema import version_row

PACK_SIZES = (1.0, 10.0, 100.0, 1.0, 2.5, 20.0, 0.5)  # fractional pack sizes exist (reference §7.1)

INVOICE_COLUMNS = (
    "id",
    "name_link_id",
    "name_store_id",
    "store_id",
    "invoice_number",
    "type",
    "status",
    "on_hold",
    "created_datetime",
    "allocated_datetime",
    "picked_datetime",
    "shipped_datetime",
    "delivered_datetime",
    "received_datetime",
    "verified_datetime",
    "linked_invoice_id",
    "is_cancellation",
)
LINE_COLUMNS = (
    "id",
    "invoice_id",
    "item_link_id",
    "item_name",
    "item_code",
    "stock_line_id",
    "batch",
    "expiry_date",
    "pack_size",
    "cost_price_per_pack",
    "sell_price_per_pack",
    "type",
    "number_of_packs",
    "total_before_tax",
    "total_after_tax",
    "status",
)
STOCK_LINE_COLUMNS = (
    "id",
    "item_link_id",
    "store_id",
    "batch",
    "pack_size",
    "cost_price_per_pack",
    "sell_price_per_pack",
    "available_number_of_packs",
    "total_number_of_packs",
    "expiry_date",
    "on_hold",
    "supplier_link_id",
)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What was generated, for the CLI's one-line report and the benchmarks."""

    target: str
    stores: int
    items: int
    months: int
    first_day: date
    end: date
    invoices: int
    movement_lines: int
    stock_lines: int


def generate_demo(
    target: str,
    *,
    stores: int,
    items: int,
    months: int,
    seed: int,
    end: date,
    progress: Callable[[int], None] | None = None,
    overwrite: bool = False,
) -> DemoSummary:
    """Create the schema and a country's data in ``target`` (SQLite path or postgresql:// URL).

    ``progress`` (optional) is called with 1 after each store's history is written.

    A SQLite file is written beside the target and moved into place at the end; an existing
    file is replaced only with ``overwrite``, and only if it is a regular file
    (``runtime/demo/output.py``). A PostgreSQL database must not already hold open mSupply
    tables.
    """
    if stores < 1 or items < 1 or months < 1:
        raise SourceError("--stores, --items and --months must each be at least 1")
    first_day = _add_months(date(end.year, end.month, 1), -(months - 1))
    country = _Country(stores, items, first_day, end, seed, progress)
    if target.startswith(("postgresql://", "postgres://")):
        counts = _write_postgres(target, country)
    elif "://" in target:
        raise SourceError(f"unsupported target {redact(target)!r}: a SQLite path or postgresql://")
    else:
        check_target(Path(target), overwrite)
        counts = _write_sqlite(target, country, overwrite)
    return DemoSummary(redact(target), stores, items, months, first_day, end, *counts)


def _write_sqlite(path: str, country: _Country, overwrite: bool) -> tuple[int, int, int]:
    final = Path(path)
    if final.parent and not final.parent.exists():
        raise SourceError(f"folder {final.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".demo-", suffix=".sqlite", dir=final.parent or ".")
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        for statement in ddl("sqlite", CURRENT, indexes=False):
            conn.execute(statement)
        counts = country.write(conn, "sqlite")
        for statement in index_ddl("sqlite", CURRENT):
            conn.execute(statement)
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()
        move_into_place(Path(tmp), final, overwrite)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return counts


def _write_postgres(url: str, country: _Country) -> tuple[int, int, int]:
    import psycopg

    credentials = split_credentials(url)  # a password may hold "@": libpq would cut at the first
    try:
        conn = psycopg.connect(
            credentials.url, user=credentials.user, password=credentials.password
        )
    except psycopg.Error as exc:
        raise SourceError(f"cannot connect to {redact(url)}: {redact(str(exc).strip())}") from None
    with conn:
        exists = conn.execute("SELECT to_regclass('invoice') IS NOT NULL").fetchone()
        if exists and exists[0]:
            raise SourceError(
                f"{redact(url)} already holds open mSupply tables; use an empty database"
            )
        for statement in ddl("postgresql", CURRENT, indexes=False):
            conn.execute(statement)
        counts = country.write(conn, "postgresql")
        for statement in index_ddl("postgresql", CURRENT):
            conn.execute(statement)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    return counts


def _put(conn: Any, dialect: str, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert master-data rows given as dicts (every key must be a column of ``table``)."""
    if rows:
        cols = list(rows[0])
        assert set(cols) <= set(columns(table, CURRENT)), (table, cols)
        insert_rows(conn, dialect, table, cols, [[r[c] for c in cols] for r in rows])


class _Country:
    """Master data of the country, then each store's simulated history, store after store."""

    def __init__(
        self,
        n_stores: int,
        n_items: int,
        first_day: date,
        end: date,
        seed: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.n_stores, self.n_items = n_stores, n_items
        self.first_day, self.end = first_day, end
        self.rng = random.Random(seed)
        self.progress = progress
        self.invoice_number = 0
        self.demand: list[float] = []

    def write(self, conn: Any, dialect: str) -> tuple[int, int, int]:

        def put(table: str, rows: list[dict[str, Any]]) -> None:
            _put(conn, dialect, table, rows)

        put(
            "key_value_store",
            [dict(zip(("id", "value_string"), version_row(CURRENT), strict=True))],
        )
        put("unit", [
            {"id": "unit_tab", "name": "Tablet", "index": 1, "is_active": True},
            {"id": "unit_vial", "name": "Vial", "index": 2, "is_active": True},
        ])  # fmt: skip
        put("item", self._items())
        put("item_link", self._item_links())
        names = self._names()
        put("name", names)
        put("name_link", [{"id": n["id"], "name_id": n["id"]} for n in names])
        put("property", [{"id": "prop_dhis2", "key": "Dhis2Code", "name": "DHIS2 org unit code",
                          "value_type": "STRING", "allowed_values": None}])  # fmt: skip
        put("name_property", [{"id": "np_dhis2", "property_id": "prop_dhis2",
                               "remote_editable": False}])  # fmt: skip
        put("store", [self._store(j) for j in range(1, self.n_stores + 1)])
        put("store_preference", [self._store_preference(j) for j in range(1, self.n_stores + 1)])
        self._write_lists(put)
        # per item: base monthly demand in units (log-normal: a few fast movers, many slow)
        self.demand = [0.0] + [self.rng.lognormvariate(5.0, 1.0) for _ in range(self.n_items)]
        invoices = lines = stock_lines = 0
        for j in range(1, self.n_stores + 1):
            sim = _StoreSim(self, j)
            sim.run()
            # stock lines first: invoice lines refer to them
            stock_lines += insert_rows(
                conn, dialect, "stock_line", STOCK_LINE_COLUMNS, sim.stock_line_rows()
            )
            invoices += insert_rows(conn, dialect, "invoice", INVOICE_COLUMNS, sim.invoices)
            lines += insert_rows(conn, dialect, "invoice_line", LINE_COLUMNS, sim.lines)
            if self.progress is not None:
                self.progress(1)
        return invoices, lines, stock_lines

    # -- master data -------------------------------------------------------------------------
    def _items(self) -> list[dict[str, Any]]:
        rows = [self._item(i) for i in range(1, self.n_items + 1)]
        # Item 1 was merged with a duplicate: the duplicate's link now points at item 1, and
        # some history still uses the old link (reference §7.1, item merges).
        rows.append(_item_row("item_dup_0001", "Duplicate of item 1", "I0001-OLD", "STOCK", False))
        rows.append(_item_row("item_service", "Delivery charge", "SRV", "SERVICE", True))
        return rows

    def _item(self, i: int) -> dict[str, Any]:
        pack = PACK_SIZES[i % len(PACK_SIZES)]
        legacy: dict[str, Any] = {
            "ID": _item_id(i),
            "code": dc.item_code(i),
            "item_name": f"Medicine {i}",
            "type_of": "general",
            "default_pack_size": pack,
            "user_field_1": dc.item_user_field_1(i),
            "user_field_2": dc.item_user_field_2(i),
            "user_field_3": "",
            "user_field_4": i % 2 == 0,  # boolean: "Include in DHIS2 data push"-style flag
            "user_field_5": float(i % 4),  # number
            "user_field_7": i % 3 == 0,
            "universalcodes_name": "",
            "custom_data": None,
        }
        universal = dc.item_universal_code(i)
        if universal is not None:
            legacy["universalcodes_code"] = universal
        if (field6 := dc.item_user_field_6(i)) is not None:
            legacy["user_field_6"] = field6
        row = _item_row(_item_id(i), f"Medicine {i}", dc.item_code(i), "STOCK", True, pack)
        return {**row, "legacy_record": json.dumps(legacy), "strength": "500mg",
                "ven_category": "E", "universal_code": universal}  # fmt: skip

    def _item_links(self) -> list[dict[str, Any]]:
        links = [(_item_id(i), _item_id(i)) for i in range(1, self.n_items + 1)]
        links += [("item_dup_0001", _item_id(1)), ("item_service", "item_service")]
        return [{"id": a, "item_id": b} for a, b in links]

    def _names(self) -> list[dict[str, Any]]:
        names = []
        for j in range(1, self.n_stores + 1):
            code = {"Dhis2Code": dc.store_code(j)} if dc.store_has_dhis2_code(j) else {}
            in_props = dc.store_code_in_properties(j)
            names.append(_name(f"name_store_{j:04d}", f"{dc.store_code(j)} Health Store",
                               f"N{j:04d}", "STORE", {} if in_props else code,
                               code if in_props else None))  # fmt: skip
            for c in range(1, 4):
                names.append(_name(f"name_fac_{j:04d}_{c}", f"Clinic {j}-{c}", f"F{j:04d}{c}",
                                   "FACILITY", {}))  # fmt: skip
        names += [
            _name("name_cms", "Central Medical Stores", "CMS", "FACILITY", {}),
            _name("name_patient", "Walk-in patient", "PAT", "PATIENT", None),
            _name("name_invad", "Inventory adjustments", "invad", "INVAD", None),
            _name("name_repack", "Repack", "repack", "REPACK", None),
        ]
        return names

    def _store(self, j: int) -> dict[str, Any]:
        return {
            "id": _store_id(j),
            "name_link_id": f"name_store_{j:04d}",
            "code": dc.store_code(j),
            "site_id": 1,
            "store_mode": "STORE",
            "created_date": self.opening(j),
            "is_disabled": False,
        }

    def _store_preference(self, j: int) -> dict[str, Any]:
        lookback = 6.0 if j % 8 == 4 else (0.0 if j % 6 == 5 else 3.0)
        return {"id": _store_id(j), "type": "STORE_PREFERENCES", "pack_to_one": False,
                "monthly_consumption_look_back_period": lookback}  # fmt: skip

    def _write_lists(self, put: Callable[[str, list[dict[str, Any]]], None]) -> None:
        items = range(1, self.n_items + 1)
        members = {
            "dhis2": [i for i in items if dc.item_in_dhis2_master_list(i)],
            "essential": list(items),
            "health_centre": [i for i in items if dc.item_in_health_centre_list(i)],
        }
        put("master_list", [
            {"id": "ml_dhis2", "name": "DHIS2", "code": "DHIS2",
             "description": "Items pushed to DHIS2", "is_active": True},
            {"id": "ml_essential", "name": "Essential medicines", "code": "EML",
             "description": "All items", "is_active": True},
            {"id": "ml_health_centre", "name": "Health centre", "code": "HC",
             "description": "Health centre range", "is_active": True},
        ])  # fmt: skip
        put("master_list_line", [
            {"id": f"mll_{m}_{i:05d}", "item_link_id": _item_id(i), "master_list_id": f"ml_{m}"}
            for m, chosen in members.items() for i in chosen
        ])  # fmt: skip
        # a store's range: the lists joined to its name ("DHIS2" selects, it is joined to none)
        put("master_list_name_join", [
            {"id": f"mlnj_{j:04d}", "name_link_id": f"name_store_{j:04d}",
             "master_list_id": "ml_health_centre" if dc.store_has_small_range(j)
             else "ml_essential"}
            for j in range(1, self.n_stores + 1)
        ])  # fmt: skip

    def opening(self, j: int) -> date:
        # Every tenth store opened mid-way through the data (mid-month), the rest at the start.
        if j % 10 == 9 and self.end > self.first_day + timedelta(days=40):
            return self.first_day + timedelta(days=(self.end - self.first_day).days // 3)
        return self.first_day

    def next_invoice_number(self) -> int:
        self.invoice_number += 1
        return self.invoice_number


def _item_row(
    id: str, name: str, code: str, kind: str, active: bool, pack: float = 1.0
) -> dict[str, Any]:
    return {"id": id, "name": name, "code": code, "unit_id": "unit_tab", "type": kind,
            "legacy_record": "{}", "is_active": active, "default_pack_size": pack,
            "strength": None, "ven_category": "NOT_ASSIGNED", "universal_code": None}  # fmt: skip


def _name(
    id: str, name: str, code: str, kind: str, custom: Any, properties: Any = None
) -> dict[str, Any]:
    return {
        "id": id,
        "name": name,
        "code": code,
        "type": kind,
        "is_customer": kind != "INVAD",
        "is_supplier": kind in ("STORE", "FACILITY"),
        "custom_data": None if custom is None else json.dumps(custom),
        "properties": None if properties is None else json.dumps(properties),
    }


class _Batch:
    __slots__ = ("id", "item", "pack", "packs", "allocated", "expiry", "cost", "batch")

    def __init__(
        self, id: str, item: int, pack: float, packs: float, expiry: date, cost: float, batch: str
    ) -> None:
        self.id, self.item, self.pack, self.packs = id, item, pack, packs
        self.allocated = 0.0
        self.expiry, self.cost, self.batch = expiry, cost, batch


_STAMPS = ("allocated", "picked", "shipped", "delivered", "received", "verified")


class _StoreSim:
    """One store's history, month by month: invoices, their lines and its batches."""

    def __init__(self, country: _Country, j: int) -> None:
        self.c, self.j, self.rng = country, j, country.rng
        self.factor = self.rng.uniform(0.3, 2.0)
        n = country.n_items
        self.range = [i for i in range(1, n + 1) if dc.item_in_store_range(i, j)]
        self.problem = {i for i in self.range if (i * 7 + j) % 11 == 0}
        self.stock: dict[int, list[_Batch]] = {i: [] for i in self.range}
        self.every: list[_Batch] = []
        self.invoices: list[tuple[Any, ...]] = []
        self.lines: list[tuple[Any, ...]] = []
        self.seq = 0

    def run(self) -> None:
        month = date(self.c.first_day.year, self.c.first_day.month, 1)
        opened = self.c.opening(self.j)
        while month <= self.c.end:
            days = calendar.monthrange(month.year, month.month)[1]
            last = min(self.c.end, month.replace(day=days))
            lo = max(month, opened)
            if lo <= last:
                self._month(lo, (last - lo).days + 1)
            month = _add_months(month, 1)

    def _month(self, lo: date, span: int) -> None:
        rng = self.rng

        def at(offset: int) -> datetime:
            d = lo + timedelta(days=min(offset, span - 1))
            return datetime(d.year, d.month, d.day) + timedelta(seconds=rng.randint(0, 86399))

        events: list[tuple[datetime, str, int]] = [(at(rng.randint(0, 4)), "receipt", 0)]
        if rng.random() < 0.1:
            events.append((at(rng.randint(0, span)), "delivered_only", 0))
        for k in range(4):
            events.append((at(rng.randint(k * span // 4, (k + 1) * span // 4)), "issue", k))
        events += [(at(rng.randint(0, span)), "prescription", 0) for _ in range(30)]
        events.append((at(span - 1), "adjust", 0))
        events += [(at(rng.randint(0, span)), "repack", 0) for _ in range(rng.randint(1, 2))]
        events.sort()
        for when, kind, k in events:
            if kind in ("receipt", "delivered_only"):
                self._receipt(when, received=kind == "receipt")
            elif kind == "issue":
                self._issue(when, k)
            elif kind == "prescription":
                self._prescription(when)
            elif kind == "adjust":
                self._adjust(when)
            else:
                self._repack(when)
        if rng.random() < 0.5:  # an invoice still being drafted: never effective, never counted
            self._invoice("OUTBOUND_SHIPMENT", at(span - 1), f"name_fac_{self.j:04d}_1", "NEW")

    # -- records ---------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}{self.j:04d}_{self.seq:07d}"

    def _invoice(
        self,
        kind: str,
        at: datetime,
        name: str,
        status: str,
        *,
        name_store: str | None = None,
        cancel_of: str | None = None,
    ) -> str:
        iid = self._id("inv")
        ts = _timestamps(kind, status, at)
        self.invoices.append((
            iid, name, name_store, _store_id(self.j), self.c.next_invoice_number(), kind, status,
            False, at - timedelta(hours=4), *(ts[s] for s in _STAMPS), cancel_of,
            cancel_of is not None,
        ))  # fmt: skip
        return iid

    def _line(
        self,
        inv: str,
        b: _Batch,
        direction: str,
        packs: float,
        link: str | None = None,
        *,
        stock_line: bool = True,
        status: str | None = None,
    ) -> None:
        i = b.item
        total = round(packs * b.cost, 2)
        self.lines.append((
            self._id("line"), inv, link or _item_id(i), f"Medicine {i}", dc.item_code(i),
            b.id if stock_line else None, b.batch, b.expiry, b.pack, b.cost,
            round(b.cost * 1.2, 2), direction, packs, total, total, status,
        ))  # fmt: skip

    def _new_batch(self, i: int, day: date, packs: float) -> _Batch:
        rng = self.rng
        short = rng.random() < 0.05
        expiry = day + timedelta(days=rng.randint(20, 80) if short else rng.randint(120, 720))
        pack = PACK_SIZES[i % len(PACK_SIZES)]
        cost = round(rng.uniform(0.05, 5.0) * pack, 2)
        return _Batch(self._id("sl"), i, pack, packs, expiry, cost, f"B{rng.randint(10000, 99999)}")

    def _keep(self, b: _Batch) -> None:
        self.stock[b.item].append(b)
        self.stock[b.item].sort(key=lambda x: x.expiry)
        self.every.append(b)

    def _link_for(self, i: int) -> str | None:
        return "item_dup_0001" if i == 1 and self.rng.random() < 0.3 else None

    # -- events ----------------------------------------------------------------------------
    def _receipt(self, when: datetime, *, received: bool) -> None:
        """An inbound shipment from CMS; not yet received: lines without stock lines."""
        rng = self.rng
        inv = self._invoice("INBOUND_SHIPMENT", when, "name_cms",
                            "RECEIVED" if received else "DELIVERED")  # fmt: skip
        for i in self.range:
            if rng.random() > (0.35 if i in self.problem else 0.8):
                continue
            pack = PACK_SIZES[i % len(PACK_SIZES)]
            packs = float(
                max(1, round(self.c.demand[i] * self.factor * rng.uniform(1.1, 1.9) / pack))
            )
            b = self._new_batch(i, when.date(), packs if received else 0.0)
            if received:
                self._keep(b)
            self._line(inv, b, "STOCK_IN", packs, self._link_for(i), stock_line=received)
        if received:
            self._unapproved_lines(inv, when)

    def _unapproved_lines(self, inv: str, when: datetime) -> None:
        """Lines added to a received external shipment while lines need authorising: PENDING
        ones make no stock line and move nothing; REJECTED ones become UNALLOCATED_STOCK."""
        rng = self.rng
        if rng.random() < 0.3:
            b = self._new_batch(rng.choice(self.range), when.date(), 0.0)
            self._line(inv, b, "STOCK_IN", float(rng.randint(5, 50)), stock_line=False,
                       status="PENDING")  # fmt: skip
        if rng.random() < 0.1:
            b = self._new_batch(rng.choice(self.range), when.date(), 0.0)
            self._line(inv, b, "UNALLOCATED_STOCK", float(rng.randint(5, 50)), stock_line=False,
                       status="REJECTED")  # fmt: skip

    def _issue(self, when: datetime, k: int) -> None:
        """An outbound shipment to a clinic or (k = 0) to the next store; late ones allocated."""
        c, j = self.c, self.j
        other = (j % c.n_stores) + 1
        to_store = k == 0 and c.n_stores > 1
        # a one-store country has no other store: its k = 0 issues go to the first clinic
        name = f"name_store_{other:04d}" if to_store else f"name_fac_{j:04d}_{k or 1}"
        status = "ALLOCATED" if when.date() > c.end - timedelta(days=3) and k == 3 else "SHIPPED"
        inv = self._invoice("OUTBOUND_SHIPMENT", when, name, status,
                            name_store=_store_id(other) if to_store else None)  # fmt: skip
        for i in self.range:
            if self.rng.random() > 0.5:
                continue
            want = c.demand[i] * self.factor * 0.35 * self.rng.uniform(0.5, 1.5)
            if status == "ALLOCATED":
                self._allocate(i, want, inv, when.date())
            else:
                self._take(i, want, inv, when.date(), self._link_for(i))

    def _prescription(self, when: datetime) -> None:
        rng = self.rng
        inv = self._invoice("PRESCRIPTION", when, "name_patient", "VERIFIED")
        start = len(self.lines)
        for i in rng.sample(self.range, min(len(self.range), rng.randint(1, 4))):
            self._take(i, float(rng.randint(1, 30)), inv, when.date())
        if rng.random() < 0.03 and len(self.lines) > start:
            # cancelled later: a reversing prescription 10 s after the original
            back = self._invoice("PRESCRIPTION", when + timedelta(seconds=10), "name_patient",
                                 "VERIFIED", cancel_of=inv)  # fmt: skip
            for row in self.lines[start:]:
                b = next(x for x in self.stock[int(str(row[4])[1:])] if x.id == row[5])
                b.packs += row[12]
                self._line(back, b, "STOCK_IN", row[12])

    def _adjust(self, when: datetime) -> None:
        """Month-end stocktake: expiry write-offs, found and damaged stock, then returns."""
        rng, day = self.rng, when.date()
        inv_out = self._invoice("INVENTORY_REDUCTION", when, "name_invad", "VERIFIED")
        inv_in: str | None = None
        for i in self.range:
            for b in self.stock[i]:
                if b.expiry <= day and b.packs - b.allocated > 1e-9:
                    packs = round(b.packs - b.allocated, 4)
                    b.packs -= packs
                    self._line(inv_out, b, "STOCK_OUT", packs)  # expiry write-off
            r = rng.random()
            if r < 0.02 and self.stock[i]:
                b = self.stock[i][-1]
                if inv_in is None:
                    inv_in = self._invoice("INVENTORY_ADDITION", when, "name_invad", "VERIFIED")
                b.packs += 2.0
                self._line(inv_in, b, "STOCK_IN", 2.0)  # found in a stocktake
            elif r < 0.05:
                self._take(i, self.c.demand[i] * self.factor * 0.05, inv_out, day)  # damaged
        self._returns(when)

    def _returns(self, when: datetime) -> None:
        """Now and then a clinic returns unused stock, and damaged stock goes back to CMS."""
        rng, day = self.rng, when.date()
        picks = [b for i in rng.sample(self.range, min(len(self.range), 5)) for b in self.stock[i]]
        usable = [b for b in picks if b.expiry > day and b.packs - b.allocated >= 1]
        if usable and rng.random() < 0.5:
            b = usable[0]
            inv = self._invoice("CUSTOMER_RETURN", when, f"name_fac_{self.j:04d}_2", "RECEIVED")
            b.packs += 1.0
            self._line(inv, b, "STOCK_IN", 1.0)
        if usable and rng.random() < 0.3:
            b = usable[-1]
            inv = self._invoice("SUPPLIER_RETURN", when, "name_cms", "SHIPPED")
            b.packs -= 1.0
            self._line(inv, b, "STOCK_OUT", 1.0)

    def _repack(self, when: datetime) -> None:
        """Half a batch of big packs repacked into single units (a new batch, same expiry)."""
        day = when.date()
        candidates = [
            b
            for i in self.rng.sample(self.range, min(len(self.range), 10))
            for b in self.stock[i]
            if b.pack >= 10 and b.packs >= 2 and b.expiry > day
        ]
        if not candidates:
            return
        b = candidates[0]
        inv = self._invoice("REPACK", when, "name_repack", "VERIFIED")
        packs = float(int(b.packs // 2) or 1)
        b.packs -= packs
        self._line(inv, b, "STOCK_OUT", packs)
        nb = _Batch(self._id("sl"), b.item, 1.0, packs * b.pack, b.expiry,
                    round(b.cost / b.pack, 4), b.batch)  # fmt: skip
        self._keep(nb)
        self._line(inv, nb, "STOCK_IN", nb.packs)

    def _take(self, i: int, units: float, inv: str, when: date, link: str | None = None) -> None:
        """Issue up to ``units`` first-expiry-first-out from unexpired batches."""
        taken = 0.0
        for b in self.stock[i]:
            if units - taken <= 1e-9:
                break
            if b.packs <= 1e-9 or b.expiry <= when:
                continue
            packs = min(b.packs - b.allocated, (units - taken) / b.pack)
            if packs <= 1e-9:
                continue
            packs = round(packs, 4)
            b.packs -= packs
            taken += packs * b.pack
            self._line(inv, b, "STOCK_OUT", packs, link)

    def _allocate(self, i: int, units: float, inv: str, day: date) -> None:
        """Lines of a shipment not yet picked: they reduce available stock only."""
        for b in self.stock[i]:
            free = b.packs - b.allocated
            if free > 1e-9 and b.expiry > day and units > 1e-9:
                packs = round(min(free, units / b.pack), 4)
                if packs <= 0:
                    continue
                b.allocated += packs
                units -= packs * b.pack
                self._line(inv, b, "STOCK_OUT", packs)

    def stock_line_rows(self) -> Iterator[tuple[Any, ...]]:
        for b in self.every:
            total = round(b.packs, 6)
            yield (
                b.id, _item_id(b.item), _store_id(self.j), b.batch, b.pack, b.cost,
                round(b.cost * 1.2, 2), round(total - b.allocated, 6), total, b.expiry, False,
                "name_cms",
            )  # fmt: skip


def _timestamps(kind: str, status: str, at: datetime) -> dict[str, datetime | None]:
    """Status timestamps as open mSupply sets them along each invoice type's workflow."""
    ts: dict[str, datetime | None] = dict.fromkeys(_STAMPS)
    if kind in ("OUTBOUND_SHIPMENT", "SUPPLIER_RETURN"):
        ts["allocated"] = at
        if status not in ("ALLOCATED", "NEW"):
            ts["picked"] = at
            ts["shipped"] = at + timedelta(hours=1)
        if status == "NEW":
            ts["allocated"] = None
    elif kind == "PRESCRIPTION":
        ts["picked"] = ts["verified"] = at
    elif kind in ("INBOUND_SHIPMENT", "CUSTOMER_RETURN"):
        ts["delivered"] = at - timedelta(hours=2)
        if status != "DELIVERED":
            ts["received"] = at
            ts["verified"] = at + timedelta(hours=3)
    else:
        ts["verified"] = at
    return ts


def _item_id(i: int) -> str:
    return f"item_{i:05d}"


def _store_id(j: int) -> str:
    return f"store_{j:04d}"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
