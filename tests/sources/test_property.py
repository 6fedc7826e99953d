"""Random small ledgers: the SQL indicators equal the row-by-row reference, on SQLite and PG."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from dhispatch.runtime.indicators import INDICATORS
from dhispatch.runtime.indicators import IndicatorRequest
from dhispatch.runtime.indicators import compute
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.sources import open_source
from tests.sources.ledger import EFFECTIVE
from tests.sources.ledger import BatchRow
from tests.sources.ledger import Ledger
from tests.sources.ledger import Movement
from tests.sources.ledger import StoreRow
from tests.sources.ledger import clear
from tests.sources.ledger import close_enough
from tests.sources.ledger import create_schema
from tests.sources.ledger import reference
from tests.sources.ledger import write
from tests.sources.ledger import write_sqlite

ZONES = ("UTC", "Pacific/Tarawa", "America/New_York", "Asia/Kathmandu", "Pacific/Pago_Pago")
START = datetime(2024, 1, 1)
SPAN_MINUTES = 95 * 24 * 60  # Jan 1 .. early April 2024 (spans New York's DST change)
PACKS = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.25, 10.0, 40.0])
PACK_SIZES = st.sampled_from([1.0, 1.0, 2.5, 10.0, 0.5])


def _instant(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


# Half of the timestamps fall within an hour of some zone's local midnight (and so around the
# UTC offsets a DST change shifts), where a wrong day bucket would show.
_MIDNIGHTS = sorted(
    {
        (24 * 60 - h * 60 - m) % (24 * 60)
        for h, m in ((0, 0), (14, 0), (-5, 0), (-4, 0), (5, 45), (-11, 0))
    }
)
NEAR_MIDNIGHT = st.builds(
    lambda day, base, delta: _instant(day * 24 * 60 + (base + delta) % (24 * 60)),
    st.integers(0, SPAN_MINUTES // (24 * 60) - 1),
    st.sampled_from(_MIDNIGHTS),
    st.integers(-70, 70),
)
INSTANTS = st.integers(0, SPAN_MINUTES).map(_instant) | NEAR_MIDNIGHT


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    n_stores = draw(st.integers(1, 2))
    items = [f"i{k}" for k in range(draw(st.integers(1, 2)))]
    stores = [
        StoreRow(
            f"s{k}",
            f"S{k}",
            created=draw(st.none() | st.dates(date(2023, 12, 1), date(2024, 3, 20))),
            lookback=draw(st.sampled_from([None, 0.0, 1.0, 2.0, 1.5])),
            # the store's range: every item, the first only, or none
            lists=draw(st.sampled_from([("All items",), ("First",), ()])),
        )
        for k in range(n_stores)
    ]
    ledger = Ledger(
        stores,
        items,
        days_in_month=draw(st.sampled_from([None, 30.0, 10.0])),
        adjust=draw(st.sampled_from([None, True, False])),
        master_lists={"First": items[:1]},
    )
    n = 0
    for store in stores:
        for item in items:
            for b in range(draw(st.integers(0, 3))):
                packs = draw(PACKS)
                ledger.batches.append(
                    BatchRow(
                        f"b{store.id}{item}{b}",
                        store.id,
                        item,
                        draw(st.sampled_from([1.0, 2.5, 10.0, 0.5, 0.0])),
                        packs,
                        packs - draw(st.sampled_from([0.0, 0.0, 0.5])),
                        draw(st.none() | st.dates(date(2024, 1, 15), date(2024, 8, 1))),
                        draw(st.sampled_from([0.0, 1.25, 3.0])),
                    )
                )
            batch_ids = [b.id for b in ledger.batches if b.store == store.id and b.item == item]
            if not batch_ids:
                continue  # a never-stocked pair has neither stock lines nor movements
            for _ in range(draw(st.integers(0, 10))):
                kind = draw(st.sampled_from(sorted(EFFECTIVE)))
                n += 1
                ledger.movements.append(
                    Movement(
                        f"m{n}",
                        store.id,
                        item,
                        kind,
                        draw(
                            st.sampled_from(
                                ["STOCK_IN", "STOCK_OUT", "STOCK_OUT", "UNALLOCATED_STOCK"]
                            )
                        ),
                        draw(PACKS),
                        draw(PACK_SIZES),
                        draw(st.none() | INSTANTS),
                        batch=draw(st.none() | st.sampled_from(batch_ids)),
                        via_old_link=draw(st.booleans()),
                        decoy=draw(st.none() | st.integers(0, SPAN_MINUTES).map(_instant)),
                        # a line added to a received shipment while lines need authorising
                        status=draw(st.sampled_from([None, None, None, "PASSED", "PENDING"])),
                    )
                )
    return ledger


@st.composite
def requests(draw: st.DrawFn) -> tuple[list[IndicatorRequest], str]:
    tz = draw(st.sampled_from(ZONES))
    day = draw(st.dates(date(2024, 1, 20), date(2024, 3, 31)))
    if draw(st.booleans()):
        at = datetime.combine(day, datetime.max.time(), tzinfo=ZoneInfo(tz))  # end of day
    else:
        minute = draw(st.integers(0, 24 * 60 - 1))  # a partial day (current_day basis)
        at = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(tz)) + timedelta(
            minutes=minute
        )
    period_start = draw(st.sampled_from([day.replace(day=1), day, day - timedelta(days=6)]))
    params: dict[str, Any] = {
        "within_days": draw(st.sampled_from([None, 10, 90])),
        "months": draw(st.sampled_from([None, 1, 2])),
        "days_per_month": draw(st.sampled_from([None, 30.0, 7.5])),
        "adjust_for_stockouts": draw(st.sampled_from([None, True, False])),
        "soh": draw(st.sampled_from(["total", "available"])),
    }
    reqs = [IndicatorRequest(name, name, params, period_start, at) for name in INDICATORS]
    return reqs, tz


def _check(database: str, ledger: Ledger, reqs: list[IndicatorRequest], tz: str) -> None:
    with open_source(database) as source:
        scope = source.scope(ScopeRules())
        got = {(v.key, v.store_id, v.item_id): v.value for v in compute(source, scope, reqs, tz=tz)}
    assert len(got) == len(ledger.stores) * len(ledger.items) * len(reqs)
    for req in reqs:
        want = reference(ledger, req.indicator, req.params, req.period_start, req.reference, tz)
        for (store, item), expected in want.items():
            actual = got[(req.key, store, item)]
            assert close_enough(actual, expected), (req.indicator, store, item, actual, expected)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ledger=ledgers(), case=requests())
def test_sqlite_matches_reference(ledger: Ledger, case: tuple[list[IndicatorRequest], str]) -> None:
    reqs, tz = case
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "oms.sqlite")
        write_sqlite(path, ledger)
        _check(path, ledger, reqs, tz)


def test_postgresql_matches_reference(postgres_db: str) -> None:
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        create_schema(conn, "postgresql")

    @settings(suppress_health_check=[HealthCheck.too_slow])
    @given(ledger=ledgers(), case=requests())
    def check(ledger: Ledger, case: tuple[list[IndicatorRequest], str]) -> None:
        reqs, tz = case
        with psycopg.connect(postgres_db) as conn:
            clear(conn)
            write(conn, "postgresql", ledger)
        _check(postgres_db, ledger, reqs, tz)

    check()


def test_sqlite_store_is_untouched(tmp_path: Path) -> None:
    """Computing never writes: the file's bytes are identical afterwards."""
    ledger = Ledger([StoreRow("s0", "S0")], ["i0"])
    ledger.batches.append(BatchRow("b", "s0", "i0", 1.0, 5.0, 5.0, date(2024, 5, 1), 1.0))
    path = tmp_path / "oms.sqlite"
    write_sqlite(str(path), ledger)
    before = path.read_bytes()
    at = datetime(2024, 2, 29, 23, 59, tzinfo=ZoneInfo("UTC"))
    reqs = [IndicatorRequest(n, n, {}, date(2024, 2, 1), at) for n in INDICATORS]
    _check(str(path), ledger, reqs, "UTC")
    assert path.read_bytes() == before
    assert sqlite3.connect(path).execute("SELECT count(*) FROM stock_line").fetchone() == (1,)
