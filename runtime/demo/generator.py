"""A synthetic country in an open mSupply database: realistic, deterministic stock movements.

Receipts, issues to facilities and other stores, prescriptions (some cancelled), inventory
adjustments (expiry write-offs, found stock), repacks, stock-outs, batches with expiries and
costs, fractional pack sizes, merged items, legacy item records and store custom data, with the
identifiers of ``runtime/demo/identifiers.py`` so the example specs and the sandbox agree.
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
from dhispatch.runtime.sources.schema import ddl
from dhispatch.runtime.sources.schema import index_ddl
from dhispatch.runtime.sources.schema import insert_rows

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


class _Batch:
    __slots__ = ("id", "item", "pack", "packs", "allocated", "expiry", "cost", "batch")

    def __init__(
        self, id: str, item: int, pack: float, packs: float, expiry: date, cost: float, batch: str
    ) -> None:
        self.id, self.item, self.pack, self.packs = id, item, pack, packs
        self.allocated = 0.0
        self.expiry, self.cost, self.batch = expiry, cost, batch


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
    gen = _Generator(stores, items, first_day, end, seed)
    gen.progress = progress
    if target.startswith(("postgresql://", "postgres://")):
        counts = _write_postgres(target, gen)
    elif "://" in target:
        raise SourceError(f"unsupported target {redact(target)!r}: a SQLite path or postgresql://")
    else:
        check_target(Path(target), overwrite)
        counts = _write_sqlite(target, gen, overwrite)
    return DemoSummary(redact(target), stores, items, months, first_day, end, *counts)


def _write_sqlite(path: str, gen: _Generator, overwrite: bool) -> tuple[int, int, int]:
    final = Path(path)
    if final.parent and not final.parent.exists():
        raise SourceError(f"folder {final.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".demo-", suffix=".sqlite", dir=final.parent or ".")
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        for statement in ddl("sqlite"):
            conn.execute(statement)
        counts = gen.write(conn, "sqlite")
        for statement in index_ddl():
            conn.execute(statement)
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()
        move_into_place(Path(tmp), final, overwrite)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return counts


def _write_postgres(url: str, gen: _Generator) -> tuple[int, int, int]:
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
        for statement in ddl("postgresql"):
            conn.execute(statement)
        counts = gen.write(conn, "postgresql")
        for statement in index_ddl():
            conn.execute(statement)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    return counts


class _Generator:
    def __init__(self, stores: int, items: int, first_day: date, end: date, seed: int) -> None:
        self.n_stores, self.n_items = stores, items
        self.first_day, self.end = first_day, end
        self.rng = random.Random(seed)
        self.invoices = 0
        self.lines = 0
        self.stock_lines = 0
        self.invoice_number = 0
        self.progress: Callable[[int], None] | None = None

    # -- master data -------------------------------------------------------------------------
    def write(self, conn: Any, dialect: str) -> tuple[int, int, int]:
        rng = self.rng
        insert_rows(
            conn,
            dialect,
            "unit",
            ("id", "name", "index", "is_active"),
            [("unit_tab", "Tablet", 1, True), ("unit_vial", "Vial", 2, True)],
        )
        item_rows = []
        link_rows = []
        for i in range(1, self.n_items + 1):
            item_rows.append(self._item_row(i))
            link_rows.append((_item_id(i), _item_id(i)))
        # Item 1 was merged with a duplicate: the duplicate's link now points at item 1, and
        # some history still uses the old link (reference §7.1, item merges).
        link_rows.append(("item_dup_0001", _item_id(1)))
        item_rows.append(
            (
                "item_dup_0001",
                "Duplicate of item 1",
                "I0001-OLD",
                "unit_tab",
                None,
                "NOT_ASSIGNED",
                1.0,
                "STOCK",
                "{}",
                False,
                False,
                0,
                None,
                None,
            )
        )
        # A service item never appears in stock.
        item_rows.append(
            (
                "item_service",
                "Delivery charge",
                "SRV",
                None,
                None,
                "NOT_ASSIGNED",
                1.0,
                "SERVICE",
                "{}",
                True,
                False,
                0,
                None,
                None,
            )
        )
        link_rows.append(("item_service", "item_service"))
        insert_rows(conn, dialect, "item", [c for c, _ in _item_columns()], item_rows)
        insert_rows(conn, dialect, "item_link", ("id", "item_id"), link_rows)

        names: list[tuple[Any, ...]] = []
        for j in range(1, self.n_stores + 1):
            custom = {"Dhis2Code": dc.store_code(j)} if dc.store_has_dhis2_code(j) else {}
            names.append(
                (
                    f"name_store_{j:04d}",
                    f"{dc.store_code(j)} Health Store",
                    f"N{j:04d}",
                    "STORE",
                    True,
                    True,
                    None,
                    json.dumps(custom),
                )
            )
            for c in range(1, 4):
                names.append(
                    (
                        f"name_fac_{j:04d}_{c}",
                        f"Clinic {j}-{c}",
                        f"F{j:04d}{c}",
                        "FACILITY",
                        True,
                        False,
                        None,
                        json.dumps({}),
                    )
                )
        names += [
            ("name_cms", "Central Medical Stores", "CMS", "FACILITY", False, True, None, "{}"),
            ("name_patient", "Walk-in patient", "PAT", "PATIENT", True, False, None, None),
            ("name_invad", "Inventory adjustments", "invad", "INVAD", False, False, None, None),
            ("name_repack", "Repack", "repack", "REPACK", False, False, None, None),
        ]
        insert_rows(
            conn,
            dialect,
            "name",
            (
                "id",
                "name",
                "code",
                "type",
                "is_customer",
                "is_supplier",
                "supplying_store_id",
                "custom_data",
            ),
            names,
        )
        insert_rows(conn, dialect, "name_link", ("id", "name_id"), [(n[0], n[0]) for n in names])

        store_rows, prefs = [], []
        for j in range(1, self.n_stores + 1):
            store_rows.append(
                (
                    _store_id(j),
                    dc.store_code(j),
                    1,
                    "STORE",
                    self._opening(j),
                    False,
                    f"name_store_{j:04d}",
                )
            )
            lookback = 6.0 if j % 8 == 4 else (0.0 if j % 6 == 5 else 3.0)
            prefs.append(
                (_store_id(j), "STORE_PREFERENCES", False, lookback, 1.0, 6.0, 3.0, 3.0, 1.0)
            )
        insert_rows(
            conn,
            dialect,
            "store",
            ("id", "code", "site_id", "store_mode", "created_date", "is_disabled", "name_link_id"),
            store_rows,
        )
        insert_rows(conn, dialect, "store_preference", [c for c, _ in _store_pref_columns()], prefs)

        insert_rows(
            conn,
            dialect,
            "master_list",
            ("id", "name", "code", "description", "is_active"),
            [
                ("ml_dhis2", "DHIS2", "DHIS2", "Items pushed to DHIS2", True),
                ("ml_essential", "Essential medicines", "EML", "All items", True),
            ],
        )
        ml_lines = [
            (f"mll_d_{i:05d}", _item_id(i), "ml_dhis2")
            for i in range(1, self.n_items + 1)
            if dc.item_in_dhis2_master_list(i)
        ]
        ml_lines += [
            (f"mll_e_{i:05d}", _item_id(i), "ml_essential") for i in range(1, self.n_items + 1)
        ]
        insert_rows(
            conn, dialect, "master_list_line", ("id", "item_link_id", "master_list_id"), ml_lines
        )
        joins = [
            (f"mlnj_{ml}_{j:04d}", f"ml_{ml}", f"name_store_{j:04d}")
            for ml in ("dhis2", "essential")
            for j in range(1, self.n_stores + 1)
        ]
        insert_rows(
            conn, dialect, "master_list_name_join", ("id", "master_list_id", "name_link_id"), joins
        )

        # per item: base monthly demand in units (log-normal: a few fast movers, many slow)
        self.demand = [0.0] + [rng.lognormvariate(5.0, 1.0) for _ in range(self.n_items)]
        for j in range(1, self.n_stores + 1):
            invoices: list[tuple[Any, ...]] = []
            lines: list[tuple[Any, ...]] = []
            batches = self._simulate_store(j, invoices, lines)
            self.invoices += insert_rows(conn, dialect, "invoice", INVOICE_COLUMNS, invoices)
            self.lines += insert_rows(conn, dialect, "invoice_line", LINE_COLUMNS, lines)
            if self.progress is not None:
                self.progress(1)
            self.stock_lines += insert_rows(
                conn, dialect, "stock_line", STOCK_LINE_COLUMNS, self._stock_line_rows(j, batches)
            )
        return self.invoices, self.lines, self.stock_lines

    def _item_row(self, i: int) -> tuple[Any, ...]:
        legacy: dict[str, Any] = {
            "ID": _item_id(i),
            "code": dc.item_code(i),
            "item_name": f"Medicine {i}",
            "type_of": "general",
            "default_pack_size": PACK_SIZES[i % len(PACK_SIZES)],
            "user_field_1": dc.item_user_field_1(i),
            "user_field_2": dc.item_user_field_2(i),
            "user_field_3": "",
            "user_field_4": i % 2 == 0,
            "user_field_5": 0.0,
            "user_field_7": False,
            "universalcodes_name": "",
            "custom_data": None,
        }
        uc = dc.item_universal_code(i)
        if uc is not None:
            legacy["universalcodes_code"] = uc
        field6 = dc.item_user_field_6(i)
        if field6 is not None:
            legacy["user_field_6"] = field6
        return (
            _item_id(i),
            f"Medicine {i}",
            dc.item_code(i),
            "unit_tab",
            "500mg",
            "E",
            PACK_SIZES[i % len(PACK_SIZES)],
            "STOCK",
            json.dumps(legacy),
            True,
            False,
            0,
            None,
            uc,
        )

    def _opening(self, j: int) -> date:
        # Every tenth store opened mid-way through the data (mid-month), the rest at the start.
        if j % 10 == 9 and self.end > self.first_day + timedelta(days=40):
            return self.first_day + timedelta(days=(self.end - self.first_day).days // 3)
        return self.first_day

    # -- movements -------------------------------------------------------------------------
    def _simulate_store(
        self, j: int, invoices: list[tuple[Any, ...]], lines: list[tuple[Any, ...]]
    ) -> list[_Batch]:
        rng = self.rng
        n = self.n_items
        factor = rng.uniform(0.3, 2.0)
        stock: list[list[_Batch]] = [[] for _ in range(n + 1)]
        every: list[_Batch] = []
        opened = self._opening(j)
        problem = {i for i in range(1, n + 1) if (i * 7 + j) % 11 == 0}
        seq = [0]

        def new_id(prefix: str) -> str:
            seq[0] += 1
            return f"{prefix}{j:04d}_{seq[0]:07d}"

        def invoice(
            kind: str,
            at: datetime,
            name: str,
            status: str,
            *,
            name_store: str | None = None,
            cancel_of: str | None = None,
        ) -> str:
            iid = new_id("inv")
            self.invoice_number += 1
            ts: dict[str, datetime | None] = dict.fromkeys(
                ("allocated", "picked", "shipped", "delivered", "received", "verified")
            )
            if kind in ("OUTBOUND_SHIPMENT", "SUPPLIER_RETURN"):
                if status != "ALLOCATED":
                    ts["allocated"] = ts["picked"] = at
                    ts["shipped"] = at + timedelta(hours=1)
                else:
                    ts["allocated"] = at
            elif kind == "PRESCRIPTION":
                ts["picked"] = at
                ts["verified"] = at
            elif kind in ("INBOUND_SHIPMENT", "CUSTOMER_RETURN"):
                ts["delivered"] = at - timedelta(hours=2)
                if status != "DELIVERED":
                    ts["received"] = at
                    ts["verified"] = at + timedelta(hours=3)
            else:
                ts["verified"] = at
            invoices.append(
                (
                    iid,
                    name,
                    name_store,
                    _store_id(j),
                    self.invoice_number,
                    kind,
                    status,
                    False,
                    at - timedelta(hours=4),
                    ts["allocated"],
                    ts["picked"],
                    ts["shipped"],
                    ts["delivered"],
                    ts["received"],
                    ts["verified"],
                    cancel_of,
                    cancel_of is not None,
                )
            )
            return iid

        def line(
            inv: str, b: _Batch, direction: str, packs: float, item_link: str | None = None
        ) -> None:
            i = b.item
            lines.append(
                (
                    new_id("line"),
                    inv,
                    item_link or _item_id(i),
                    f"Medicine {i}",
                    dc.item_code(i),
                    b.id,
                    b.batch,
                    b.expiry,
                    b.pack,
                    b.cost,
                    round(b.cost * 1.2, 2),
                    direction,
                    packs,
                    round(packs * b.cost, 2),
                )
            )

        def take(i: int, units: float, inv: str, when: date, link: str | None = None) -> float:
            """Issue up to ``units`` first-expiry-first-out from unexpired batches."""
            taken = 0.0
            for b in stock[i]:
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
                line(inv, b, "STOCK_OUT", packs, link)
            return taken

        def link_for(i: int) -> str | None:
            return "item_dup_0001" if i == 1 and rng.random() < 0.3 else None

        month = date(self.first_day.year, self.first_day.month, 1)
        while month <= self.end:
            last = min(self.end, month.replace(day=calendar.monthrange(month.year, month.month)[1]))
            lo = max(month, opened)
            if lo > last:
                month = _add_months(month, 1)
                continue
            span = (last - lo).days + 1
            events: list[tuple[datetime, str, int]] = []

            def at(day_offset: int, lo: date = lo, span: int = span) -> datetime:
                d = lo + timedelta(days=min(day_offset, span - 1))
                return datetime(d.year, d.month, d.day) + timedelta(seconds=rng.randint(0, 86399))

            events.append((at(rng.randint(0, 4)), "receipt", 0))
            if rng.random() < 0.1:
                events.append((at(rng.randint(0, span)), "delivered_only", 0))
            for k in range(4):
                events.append((at(rng.randint(k * span // 4, (k + 1) * span // 4)), "issue", k))
            for _ in range(30):
                events.append((at(rng.randint(0, span)), "prescription", 0))
            events.append((at(span - 1), "adjust", 0))
            for _ in range(rng.randint(1, 2)):
                events.append((at(rng.randint(0, span)), "repack", 0))
            events.sort()
            for when, kind, k in events:
                day = when.date()
                if kind == "receipt" or kind == "delivered_only":
                    status = "RECEIVED" if kind == "receipt" else "DELIVERED"
                    inv = invoice("INBOUND_SHIPMENT", when, "name_cms", status)
                    for i in range(1, n + 1):
                        if rng.random() > (0.35 if i in problem else 0.8):
                            continue
                        pack = PACK_SIZES[i % len(PACK_SIZES)]
                        units = self.demand[i] * factor * rng.uniform(1.1, 1.9)
                        packs = float(max(1, round(units / pack)))
                        short = rng.random() < 0.05
                        expiry = day + timedelta(
                            days=rng.randint(20, 80) if short else rng.randint(120, 720)
                        )
                        cost = round(rng.uniform(0.05, 5.0) * pack, 2)
                        b = _Batch(
                            new_id("sl"),
                            i,
                            pack,
                            0.0,
                            expiry,
                            cost,
                            f"B{rng.randint(10000, 99999)}",
                        )
                        if kind == "receipt":
                            b.packs = packs
                            stock[i].append(b)
                            stock[i].sort(key=lambda x: x.expiry)
                            every.append(b)
                            line(inv, b, "STOCK_IN", packs, link_for(i))
                        else:  # delivered, not yet received: no stock line, no stock effect
                            lines.append(
                                (
                                    new_id("line"),
                                    inv,
                                    _item_id(i),
                                    f"Medicine {i}",
                                    dc.item_code(i),
                                    None,
                                    b.batch,
                                    expiry,
                                    pack,
                                    cost,
                                    cost,
                                    "STOCK_IN",
                                    packs,
                                    packs * cost,
                                )
                            )
                elif kind == "issue":
                    other = (j % self.n_stores) + 1
                    to_store = k == 0 and self.n_stores > 1
                    name = f"name_store_{other:04d}" if to_store else f"name_fac_{j:04d}_{k}"
                    status = "SHIPPED"
                    if when.date() > self.end - timedelta(days=3) and k == 3:
                        status = "ALLOCATED"  # not picked yet: reduces available stock only
                    inv = invoice(
                        "OUTBOUND_SHIPMENT",
                        when,
                        name,
                        status,
                        name_store=_store_id(other) if to_store else None,
                    )
                    for i in range(1, n + 1):
                        if rng.random() > 0.5:
                            continue
                        want = self.demand[i] * factor * 0.35 * rng.uniform(0.5, 1.5)
                        if status == "ALLOCATED":
                            self._allocate(stock[i], want, inv, line, day)
                        else:
                            take(i, want, inv, day, link_for(i))
                elif kind == "prescription":
                    inv = invoice("PRESCRIPTION", when, "name_patient", "VERIFIED")
                    start = len(lines)
                    for i in rng.sample(range(1, n + 1), min(n, rng.randint(1, 4))):
                        take(i, float(rng.randint(1, 30)), inv, day)
                    if rng.random() < 0.03 and len(lines) > start:
                        # cancelled later: a reversing prescription 10 s after the original
                        back = invoice(
                            "PRESCRIPTION",
                            when + timedelta(seconds=10),
                            "name_patient",
                            "VERIFIED",
                            cancel_of=inv,
                        )
                        for row in lines[start:]:
                            b = next(x for x in stock[self._item_of(row)] if x.id == row[5])
                            b.packs += row[12]
                            line(back, b, "STOCK_IN", row[12])
                elif kind == "adjust":
                    inv_out = invoice("INVENTORY_REDUCTION", when, "name_invad", "VERIFIED")
                    inv_in: str | None = None
                    for i in range(1, n + 1):
                        for b in stock[i]:
                            if b.expiry <= day and b.packs - b.allocated > 1e-9:
                                packs = round(b.packs - b.allocated, 4)
                                b.packs -= packs
                                line(inv_out, b, "STOCK_OUT", packs)  # expiry write-off
                        r = rng.random()
                        if r < 0.02 and stock[i]:
                            b = stock[i][-1]
                            if inv_in is None:
                                inv_in = invoice(
                                    "INVENTORY_ADDITION", when, "name_invad", "VERIFIED"
                                )
                            b.packs += 2.0
                            line(inv_in, b, "STOCK_IN", 2.0)  # found in a stocktake
                        elif r < 0.05:
                            take(i, self.demand[i] * factor * 0.05, inv_out, day)  # damaged
                    self._returns(j, n, when, day, stock, invoice, line)
                elif kind == "repack":
                    candidates = [
                        b
                        for i in rng.sample(range(1, n + 1), min(n, 10))
                        for b in stock[i]
                        if b.pack >= 10 and b.packs >= 2 and b.expiry > day
                    ]
                    if candidates:
                        b = candidates[0]
                        inv = invoice("REPACK", when, "name_repack", "VERIFIED")
                        packs = float(int(b.packs // 2) or 1)
                        b.packs -= packs
                        line(inv, b, "STOCK_OUT", packs)
                        nb = _Batch(
                            new_id("sl"),
                            b.item,
                            1.0,
                            packs * b.pack,
                            b.expiry,
                            round(b.cost / b.pack, 4),
                            b.batch,
                        )
                        stock[b.item].append(nb)
                        stock[b.item].sort(key=lambda x: x.expiry)
                        every.append(nb)
                        line(inv, nb, "STOCK_IN", nb.packs)
            # an invoice still being drafted: no effective timestamp, never counted
            if rng.random() < 0.5:
                invoice("OUTBOUND_SHIPMENT", at(span - 1), f"name_fac_{j:04d}_1", "NEW")
                self.invoices_new = True
            month = _add_months(month, 1)
        return every

    def _returns(
        self,
        j: int,
        n: int,
        when: datetime,
        day: date,
        stock: list[list[_Batch]],
        invoice: Any,
        line: Any,
    ) -> None:
        """Now and then a clinic returns unused stock, and damaged stock goes back to CMS."""
        rng = self.rng
        picks = [b for i in rng.sample(range(1, n + 1), min(n, 5)) for b in stock[i]]
        usable = [b for b in picks if b.expiry > day and b.packs - b.allocated >= 1]
        if usable and rng.random() < 0.5:
            b = usable[0]
            inv = invoice("CUSTOMER_RETURN", when, f"name_fac_{j:04d}_2", "RECEIVED")
            b.packs += 1.0
            line(inv, b, "STOCK_IN", 1.0)
        if usable and rng.random() < 0.3:
            b = usable[-1]
            inv = invoice("SUPPLIER_RETURN", when, "name_cms", "SHIPPED")
            b.packs -= 1.0
            line(inv, b, "STOCK_OUT", 1.0)

    def _item_of(self, row: tuple[Any, ...]) -> int:
        return int(str(row[4])[1:])

    def _allocate(
        self, batches: list[_Batch], units: float, inv: str, line: Any, day: date
    ) -> None:
        for b in batches:
            free = b.packs - b.allocated
            if free > 1e-9 and b.expiry > day and units > 1e-9:
                packs = round(min(free, units / b.pack), 4)
                if packs <= 0:
                    continue
                b.allocated += packs
                units -= packs * b.pack
                line(inv, b, "STOCK_OUT", packs)

    def _stock_line_rows(self, j: int, batches: list[_Batch]) -> Iterator[tuple[Any, ...]]:
        for b in batches:
            total = round(b.packs, 6)
            yield (
                b.id,
                _item_id(b.item),
                _store_id(j),
                b.batch,
                b.pack,
                b.cost,
                round(b.cost * 1.2, 2),
                round(total - b.allocated, 6),
                total,
                b.expiry,
                False,
                "name_cms",
            )


def _item_columns() -> tuple[tuple[str, str], ...]:
    from dhispatch.runtime.sources.schema import TABLES

    return TABLES["item"]


def _store_pref_columns() -> tuple[tuple[str, str], ...]:
    from dhispatch.runtime.sources.schema import TABLES

    return TABLES["store_preference"]


def _item_id(i: int) -> str:
    return f"item_{i:05d}"


def _store_id(j: int) -> str:
    return f"store_{j:04d}"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
