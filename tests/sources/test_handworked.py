"""A hand-worked country: every movement type, a stock-out across a month end, an expiring and
an expired batch, a store opened mid-period, a never-stocked item, float residue, time zones.

All times are local to Pacific/Tarawa (UTC+14, no DST); ``L(...)`` converts them to the naive
UTC timestamps open mSupply stores. Reference instant R = end of 2024-01-31 local, period P =
January 2024, unless a test says otherwise. Every expected number is derived in the comments.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from dhispatch.runtime.indicators import INDICATORS
from dhispatch.runtime.indicators import IndicatorRequest
from dhispatch.runtime.indicators import compute
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.sources import open_source
from tests.sources.ledger import BatchRow
from tests.sources.ledger import Ledger
from tests.sources.ledger import Movement
from tests.sources.ledger import StoreRow
from tests.sources.ledger import close_enough
from tests.sources.ledger import create_schema
from tests.sources.ledger import reference
from tests.sources.ledger import write
from tests.sources.ledger import write_sqlite

TZ = "Pacific/Tarawa"
ZONE = ZoneInfo(TZ)


def L(y: int, m: int, d: int, hh: int = 10, mm: int = 0, ss: int = 0) -> datetime:  # noqa: N802
    return datetime(y, m, d, hh, mm, ss, tzinfo=ZONE).astimezone(UTC).replace(tzinfo=None)


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=ZONE)


def build() -> Ledger:
    stores = [
        # S1: opened long ago; no store_preference row -> look-back 3 months
        StoreRow("sA", "S1", created=date(2023, 12, 1), lookback=None, dhis2_code="OU_A"),
        # S2: opened mid-period on 16 January; look-back stored as 0 -> read as 3; its range
        # (the master lists joined to its name) has amox only
        StoreRow("sB", "S2", created=date(2024, 1, 16), lookback=0.0, lists=("Amox",)),
    ]
    led = Ledger(stores, ["amox", "para"], master_lists={"Amox": ["amox"]})
    B = led.batches.append  # noqa: N806
    # amox at S1, pack size 10. Current packs after every movement below (incl. Feb ones):
    B(BatchRow("bA1", "sA", "amox", 10, 5, 4, date(2024, 3, 15), 5.0))  # 1 pack allocated
    B(BatchRow("bA2", "sA", "amox", 10, 9, 9, date(2025, 6, 30), 6.0))
    B(BatchRow("bA3", "sA", "amox", 1, 10, 10, date(2024, 3, 15), 0.5))  # repacked to 1s
    B(BatchRow("bA4", "sA", "amox", 10, 5, 5, date(2024, 1, 20), 4.0))  # expired 20 Jan
    # para at S1, fractional pack size 2.5
    B(BatchRow("bP1", "sA", "para", 2.5, 0, 0, date(2024, 12, 31), 1.0))
    B(BatchRow("bP2", "sA", "para", 2.5, 4, 4, date(2025, 1, 31), 1.2))
    # amox at S2
    B(BatchRow("bB1", "sB", "amox", 10, 0, 0, date(2024, 6, 30), 2.0))
    n = iter(range(1, 1000))

    def M(
        store: str,
        item: str,
        kind: str,
        line: str,
        packs: float,
        size: float,  # noqa: N802
        at: datetime | None,
        batch: str | None,
        **kw: Any,
    ) -> None:
        led.movements.append(
            Movement(f"m{next(n)}", store, item, kind, line, packs, size, at, batch, **kw)
        )

    # ---- amox @ S1 (running balance in units) ----------------------------------------------
    M("sA", "amox", "INBOUND_SHIPMENT", "STOCK_IN", 20, 10, L(2023, 12, 5), "bA1")  # 200
    M("sA", "amox", "INBOUND_SHIPMENT", "STOCK_IN", 5, 10, L(2023, 12, 10), "bA4")  # 250
    M("sA", "amox", "OUTBOUND_SHIPMENT", "STOCK_OUT", 8, 10, L(2023, 12, 20), "bA1")  # 170
    # close(31 Dec) = 170
    M("sA", "amox", "PRESCRIPTION", "STOCK_OUT", 1.5, 10, L(2024, 1, 3, 9), "bA1")  # 155
    # ... cancelled: the reversing prescription 10 s later nets it out
    M("sA", "amox", "PRESCRIPTION", "STOCK_IN", 1.5, 10, L(2024, 1, 3, 9, 0, 10), "bA1")  # 170
    M("sA", "amox", "REPACK", "STOCK_OUT", 2, 10, L(2024, 1, 10), "bA1")  # 150
    M("sA", "amox", "REPACK", "STOCK_IN", 20, 1, L(2024, 1, 10), "bA3")  # 170 (repack nets 0)
    M("sA", "amox", "INVENTORY_REDUCTION", "STOCK_OUT", 3, 1, L(2024, 1, 12), "bA3")  # 167
    M("sA", "amox", "INVENTORY_ADDITION", "STOCK_IN", 0.5, 10, L(2024, 1, 15), "bA1")  # 172
    M("sA", "amox", "INBOUND_SHIPMENT", "STOCK_IN", 10, 10, L(2024, 1, 18), "bA2")  # 272
    M("sA", "amox", "PRESCRIPTION", "STOCK_OUT", 7, 1, L(2024, 1, 24), "bA3")  # 265
    M("sA", "amox", "SUPPLIER_RETURN", "STOCK_OUT", 1, 10, L(2024, 1, 25, 9), "bA2")  # 255
    # 23:30 local on 31 Jan is 09:30 UTC the same day: inside January
    M("sA", "amox", "CUSTOMER_RETURN", "STOCK_IN", 0.5, 10, L(2024, 1, 31, 23, 30), "bA1")  # 260
    # close(31 Jan) = 260. 00:30 local on 1 Feb is still 31 Jan in UTC, but it is February here:
    M("sA", "amox", "OUTBOUND_SHIPMENT", "STOCK_OUT", 1, 10, L(2024, 2, 1, 0, 30), "bA1")  # 250
    M("sA", "amox", "OUTBOUND_SHIPMENT", "STOCK_OUT", 5, 10, L(2024, 2, 2), "bA1")  # 200
    # never counted: delivered but not received; an unallocated line; a zero-pack line
    M("sA", "amox", "INBOUND_SHIPMENT", "STOCK_IN", 100, 10, None, None, decoy=L(2024, 1, 5))
    M("sA", "amox", "OUTBOUND_SHIPMENT", "UNALLOCATED_STOCK", 9, 10, L(2024, 1, 6), None)
    M("sA", "amox", "OUTBOUND_SHIPMENT", "STOCK_OUT", 0, 10, L(2024, 1, 7), "bA1")
    # ---- para @ S1 (pack size 2.5) ---------------------------------------------------------
    M("sA", "para", "INBOUND_SHIPMENT", "STOCK_IN", 8, 2.5, L(2023, 12, 1), "bP1")  # 20
    # recorded against the item's old (merged) link: still para
    M(
        "sA",
        "para",
        "PRESCRIPTION",
        "STOCK_OUT",
        4.4,
        2.5,
        L(2024, 1, 10),
        "bP1",
        via_old_link=True,
    )  # 9
    M("sA", "para", "OUTBOUND_SHIPMENT", "STOCK_OUT", 3.6, 2.5, L(2024, 1, 20, 15), "bP1")
    # 8 - 4.4 - 3.6 packs leaves float residue (~1e-15): out of stock from 20 Jan ...
    M("sA", "para", "INBOUND_SHIPMENT", "STOCK_IN", 4, 2.5, L(2024, 2, 5), "bP2")  # ... to 5 Feb
    # ---- amox @ S2 (opened 16 Jan) -----------------------------------------------------------
    M("sB", "amox", "INBOUND_SHIPMENT", "STOCK_IN", 3, 10, L(2024, 1, 20), "bB1")  # 30
    M("sB", "amox", "OUTBOUND_SHIPMENT", "STOCK_OUT", 3, 10, L(2024, 1, 25), "bB1")  # 0
    # para @ S2: never held (no stock line, no movement) and not in S2's range
    return led


JAN: dict[tuple[str, str], dict[str, float | None]] = {
    ("sA", "amox"): {
        # close(31 Jan) = 260 (running balance above); equivalently current 200 minus the
        # February movements (-10, -50) = 200 + 60
        "stock_on_hand": 260,
        "stock_end_of_month": 260,
        "stock_beginning_of_month": 170,  # close(31 Dec)
        "received": 100,  # inbound shipments in January: 10 packs x 10 (18 Jan)
        # prescriptions 15 - 15 (cancelled) + 7; outbound shipments: none in January
        "issued": 7,
        # reduction -3, addition +5, supplier return -10, customer return +5; repack excluded
        "adjustments": -3,
        # batches with stock at R expiring in (31 Jan, 30 Apr]: bA1 (5+1+5 = 11 packs x 10 =
        # 110 units) + bA3 (10 units) = 120; bA2 expires 2025; bA4 already expired
        "stock_expiring": 120,
        "stock_expired": 50,  # bA4: 5 packs x 10, expired 20 Jan, still in stock
        # packs at R x cost: bA1 11 x 5 + bA2 9 x 6 + bA3 10 x 0.5 + bA4 5 x 4 = 55+54+5+20
        "value_of_stock_on_hand": 134,
        # 91-day window (3 x 30.4375 = 91.3125 -> 91 days: 2 Nov .. 31 Jan): outbound 80 +
        # prescriptions 15 - 15 + 7 = 87; / 3 months
        "average_monthly_consumption": 29,
        "months_of_stock": 260 / 29,
        "days_out_of_stock": 0,
        "stocked_out": 0,
    },
    ("sA", "para"): {
        "stock_on_hand": 0,  # 20 - 11 - 9 (float residue snapped to 0)
        "stock_end_of_month": 0,
        "stock_beginning_of_month": 20,
        "received": 0,
        "issued": 20,  # prescription 4.4 x 2.5 = 11 + outbound 3.6 x 2.5 = 9
        "adjustments": 0,
        "stock_expiring": 0,  # no batch holds stock at R
        "stock_expired": 0,
        "value_of_stock_on_hand": 0,
        "average_monthly_consumption": 20 / 3,
        "months_of_stock": 0,  # SOH 0 / AMC 6.67
        # ran out on 20 Jan (not counted: close(19 Jan) = 9 > 0); 21..31 Jan out = 11 days
        "days_out_of_stock": 11,
        "stocked_out": 1,
    },
    ("sB", "amox"): {
        "stock_on_hand": 0,
        "stock_end_of_month": 0,
        "stock_beginning_of_month": 0,
        "received": 30,
        "issued": 30,
        "adjustments": 0,
        "stock_expiring": 0,
        "stock_expired": 0,
        "value_of_stock_on_hand": 0,
        "average_monthly_consumption": 10,  # 30 / 3 (look-back 0 is read as 3)
        "months_of_stock": 0,
        # counted only from the opening day 16 Jan: 16..19 Jan (4, before the receipt on 20
        # Jan) + 26..31 Jan (6, after running out on 25 Jan) = 10, not 25
        "days_out_of_stock": 10,
        "stocked_out": 1,
    },
    # not in S2's range and never held there: no value at all (a 0 would be a false stock-out)
    ("sB", "para"): dict.fromkeys(INDICATORS),
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    ledger = build()
    if request.param == "sqlite":
        path = str(tmp_path / "oms.sqlite")
        write_sqlite(path, ledger)
        return path
    url: str = request.getfixturevalue("postgres_db")
    with psycopg.connect(url) as conn:
        create_schema(conn, "postgresql")
        write(conn, "postgresql", ledger)
    return url


def values(database: str, reqs: list[IndicatorRequest]) -> dict[tuple[str, str, str], Any]:
    with open_source(database) as source:
        scope = source.scope(ScopeRules())
        return {
            (v.key, v.store_id, v.item_id): v.value for v in compute(source, scope, reqs, tz=TZ)
        }


def test_every_indicator_in_january(database: str) -> None:
    reqs = [
        IndicatorRequest(n, n, {}, date(2024, 1, 1), end_of(date(2024, 1, 31))) for n in INDICATORS
    ]
    got = values(database, reqs)
    for pair, expected in JAN.items():
        assert set(expected) == set(INDICATORS)
        for name, want in expected.items():
            have = got[(name, *pair)]
            assert close_enough(have, None if want is None else float(want)), (pair, name, have)


def test_parameters_and_the_month_after(database: str) -> None:
    jan31 = end_of(date(2024, 1, 31))
    feb29 = end_of(date(2024, 2, 29))
    reqs = [
        # SOH available: bA1 had 1 pack allocated (4 of 5 available) -> 260 - 10
        IndicatorRequest("avail", "stock_on_hand", {"soh": "available"}, date(2024, 1, 1), jan31),
        # within 30 days (to 1 Mar): nothing expires (bA1/bA3 expire 15 Mar)
        IndicatorRequest("exp30", "stock_expiring", {"within_days": 30}, date(2024, 1, 1), jan31),
        # months 1: 30.4375 -> 30-day window 2..31 Jan: S1 amox 15 - 15 + 7 = 7
        IndicatorRequest(
            "amc1", "average_monthly_consumption", {"months": 1}, date(2024, 1, 1), jan31
        ),
        # adjusted for stock-outs: para out 11 days of the 91 (window from 2 Nov, but S1
        # opened 1 Dec): 20/3 x 91.3125 / (91.3125 - 11)
        IndicatorRequest(
            "amcadj",
            "average_monthly_consumption",
            {"adjust_for_stockouts": True},
            date(2024, 1, 1),
            jan31,
        ),
        # February: para still out 1..4 Feb (stock arrives 5 Feb, not counted) -> 4 days;
        # the stock-out spans the month end
        IndicatorRequest("dosfeb", "days_out_of_stock", {}, date(2024, 2, 1), feb29),
        # partial current period: R = 25 Jan 12:00, after the supplier return at 09:00 -> 255
        IndicatorRequest(
            "partial", "stock_on_hand", {}, date(2024, 1, 1), datetime(2024, 1, 25, 12, tzinfo=ZONE)
        ),
        # the same instant, days out of stock so far at S2: 16..19 Jan = 4
        IndicatorRequest(
            "dospartial",
            "days_out_of_stock",
            {},
            date(2024, 1, 1),
            datetime(2024, 1, 25, 12, tzinfo=ZONE),
        ),
    ]
    got = values(database, reqs)
    assert got[("avail", "sA", "amox")] == 250
    assert got[("exp30", "sA", "amox")] == 0
    assert got[("amc1", "sA", "amox")] == 7
    assert close_enough(got[("amcadj", "sA", "para")], 20 / 3 * 91.3125 / (91.3125 - 11))
    assert got[("dosfeb", "sA", "para")] == 4
    assert got[("partial", "sA", "amox")] == 255
    # S2 ran out on 25 Jan at 10:00, before 12:00: 25 Jan itself is not counted (close(24) > 0)
    assert got[("dospartial", "sB", "amox")] == 4


def test_reference_implementation_agrees_with_the_hand_derivation() -> None:
    ledger = build()
    for name in INDICATORS:
        ref = reference(ledger, name, {}, date(2024, 1, 1), end_of(date(2024, 1, 31)), TZ)
        for pair, expected in JAN.items():
            want = expected[name]
            assert close_enough(ref[pair], None if want is None else float(want)), (pair, name)


def test_utc_instead_of_tarawa_moves_the_month_boundary(tmp_path: Path) -> None:
    """Bucketed in UTC, the 00:30 (local 1 Feb) issue falls in January: SOH 250, not 260."""
    path = str(tmp_path / "oms.sqlite")
    write_sqlite(path, build())
    at = datetime(2024, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    with open_source(path) as source:
        scope = source.scope(ScopeRules())
        req = IndicatorRequest("soh", "stock_on_hand", {}, date(2024, 1, 1), at)
        got = {(v.store_id, v.item_id): v.value for v in compute(source, scope, [req], tz="UTC")}
    assert got[("sA", "amox")] == 250
    assert sqlite3.connect(path).execute("SELECT count(*) FROM invoice").fetchone() == (24,)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_day_buckets_follow_a_dst_change(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """New York moves from UTC-5 to UTC-4 on 10 March 2024. A receipt at 00:30 local on 15 March
    (04:30 UTC; with the January offset it would look like 23:30 on the 14th) after a stock-out:
    out of stock 1..14 March = 14 days (the 15th has stock at its end); a one-offset bucket
    would move the receipt to the 14th and count 13. Likewise a run-out at 23:30 local on
    20 March (03:30 UTC on the 21st) makes 21..31 March out: 11 more days."""
    ny = ZoneInfo("America/New_York")

    def local(d: int, hh: int, mm: int) -> datetime:
        return datetime(2024, 3, d, hh, mm, tzinfo=ny).astimezone(UTC).replace(tzinfo=None)

    ledger = Ledger([StoreRow("s", "S", created=date(2024, 1, 1))], ["i"])
    ledger.batches.append(BatchRow("b", "s", "i", 1.0, 0.0, 0.0, None, 1.0))
    ledger.movements += [
        Movement("in", "s", "i", "INBOUND_SHIPMENT", "STOCK_IN", 5, 1, local(15, 0, 30), "b"),
        Movement("out", "s", "i", "PRESCRIPTION", "STOCK_OUT", 5, 1, local(20, 23, 30), "b"),
    ]
    if dialect == "sqlite":
        database = str(tmp_path / "dst.sqlite")
        write_sqlite(database, ledger)
    else:
        database = request.getfixturevalue("postgres_db")
        with psycopg.connect(database) as conn:
            create_schema(conn, "postgresql")
            write(conn, "postgresql", ledger)
    end = datetime(2024, 3, 31, 23, 59, 59, tzinfo=ny)
    with open_source(database) as source:
        scope = source.scope(ScopeRules())
        reqs = [IndicatorRequest("dos", "days_out_of_stock", {}, date(2024, 3, 1), end)]
        (value,) = compute(source, scope, reqs, tz="America/New_York")
    assert value.value == 14 + 11
    assert (
        reference(ledger, "days_out_of_stock", {}, date(2024, 3, 1), end, "America/New_York")[
            ("s", "i")
        ]
        == 25
    )


def test_a_daily_backfill_runs_in_bounded_passes(tmp_path: Path) -> None:
    """120 daily reference instants (three passes) give the same stock on hand as
    the row-by-row reference on every day."""
    path = str(tmp_path / "oms.sqlite")
    ledger = build()
    write_sqlite(path, ledger)
    days = [date(2023, 11, 1) + timedelta(days=k) for k in range(120)]
    reqs = [
        IndicatorRequest(f"d{k}{name}", name, {}, day.replace(day=1), end_of(day))
        for k, day in enumerate(days)
        for name in ("stock_on_hand", "days_out_of_stock")
    ]
    got = values(path, reqs)
    for k, day in enumerate(days):
        for name in ("stock_on_hand", "days_out_of_stock"):
            want = reference(ledger, name, {}, day.replace(day=1), end_of(day), TZ)
            for pair, expected in want.items():
                assert close_enough(got[(f"d{k}{name}", *pair)], expected), (day, name, pair)
