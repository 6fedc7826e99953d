"""Where a naive reading of open mSupply pushes wrong or false numbers: each situation with
hand-computed values, on SQLite and PostgreSQL, in open mSupply's real layout.

Times are UTC (``T(...)``); R = the end of the named day, P = its month unless said otherwise.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from typing import Any

import psycopg
import pytest

from dhispatch.runtime.indicators import INDICATORS
from dhispatch.runtime.indicators import IndicatorRequest
from dhispatch.runtime.indicators import IndicatorValue
from dhispatch.runtime.indicators import compute
from dhispatch.runtime.indicators.compute import NO_CONSUMPTION
from dhispatch.runtime.indicators.span import NOT_IN_RANGE
from dhispatch.runtime.indicators.span import ReferenceDateError
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.sources import SourceError
from dhispatch.runtime.sources import open_source
from dhispatch.runtime.sources.schema import CURRENT
from dhispatch.runtime.sources.schema import LAYOUTS
from tests.sources.conftest import MakeDb
from tests.sources.ledger import BatchRow
from tests.sources.ledger import Ledger
from tests.sources.ledger import Movement
from tests.sources.ledger import StoreRow
from tests.sources.ledger import close_enough
from tests.sources.test_handworked import JAN
from tests.sources.test_handworked import TZ as HANDWORKED_TZ
from tests.sources.test_handworked import build as handworked
from tests.sources.test_handworked import end_of as handworked_end

DIALECTS = ["sqlite", "postgresql"]
ANY_ORG = {"kind": "store_code"}
CUSTOM_CODE = ScopeRules.from_json(
    {"items": [], "org_unit": {"kind": "name_custom_data", "key": "Dhis2Code"}}
)


def T(y: int, m: int, d: int, hh: int = 10) -> datetime:  # noqa: N802
    return datetime(y, m, d, hh)


def end(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def month(name: str, day: date, **params: Any) -> IndicatorRequest:
    return IndicatorRequest(name, name, params, day.replace(day=1), end(day))


def run(
    database: str, reqs: Sequence[IndicatorRequest], tz: str = "UTC", **kw: Any
) -> dict[tuple[str, str, str], IndicatorValue]:
    with open_source(database) as source:
        scope = source.scope(ScopeRules.from_json({"items": [], "org_unit": ANY_ORG}))
        return {
            (v.key, v.store_id, v.item_id): v for v in compute(source, scope, reqs, tz=tz, **kw)
        }


def check(
    got: dict[tuple[str, str, str], IndicatorValue],
    store: str,
    item: str,
    expected: dict[str, float | None],
) -> None:
    for name, want in expected.items():
        have = got[(name, store, item)].value
        assert close_enough(have, want), (store, item, name, have, want)


# -- 1. pending inbound lines ------------------------------------------------------------------
def pending_ledger() -> Ledger:
    """One inbound shipment received 10 Jan: a 20-unit line (PASSED), a 40-unit line added after
    receipt while lines must be authorised (PENDING, saved as STOCK_IN without a stock line) and
    a 15-unit line REJECTED (UNALLOCATED_STOCK); 5 units issued on 2 February, so the stock line
    holds 15 today."""
    led = Ledger([StoreRow("s1", "S1", created=date(2024, 1, 1))], ["amox"])
    led.batches.append(BatchRow("b1", "s1", "amox", 1, 15, 15, date(2025, 6, 30), 2.0))
    inbound, at = "INBOUND_SHIPMENT", T(2024, 1, 10)
    led.movements += [
        Movement("m1", "s1", "amox", inbound, "STOCK_IN", 20, 1, at, "b1", status="PASSED",
                 invoice="inv_po1"),
        Movement("m2", "s1", "amox", inbound, "STOCK_IN", 40, 1, at, None, status="PENDING",
                 invoice="inv_po1"),
        Movement("m3", "s1", "amox", inbound, "UNALLOCATED_STOCK", 15, 1, at, None,
                 status="REJECTED", invoice="inv_po1"),
        Movement("m4", "s1", "amox", "OUTBOUND_SHIPMENT", "STOCK_OUT", 5, 1, T(2024, 2, 2), "b1"),
    ]  # fmt: skip
    return led


@pytest.mark.parametrize("dialect", DIALECTS)
def test_pending_inbound_lines_are_not_received(dialect: str, make_db: MakeDb) -> None:
    database = make_db(pending_ledger(), dialect, CURRENT)
    got = run(database, [month(n, date(2024, 1, 31)) for n in INDICATORS])
    check(got, "s1", "amox", {
        "received": 20,  # not 60: the pending 40 made no stock
        "stock_beginning_of_month": 0,  # 15 now + 5 issued in Feb - 20 received (not -40)
        "stock_on_hand": 20,  # 15 now + 5 issued after R
        "stock_end_of_month": 20,
        "issued": 0,
        "adjustments": 0,
        "value_of_stock_on_hand": 40,  # the batch held 20 packs at R (15 + 5) x 2.0
        "stocked_out": 0,
        "days_out_of_stock": 9,  # 1..9 Jan (opened 1 Jan), stock from the 10th
        "average_monthly_consumption": 0,
        "months_of_stock": None,
    })  # fmt: skip
    assert got[("months_of_stock", "s1", "amox")].reason == NO_CONSUMPTION
    feb = run(database, [month("stock_beginning_of_month", date(2024, 2, 29))])
    assert feb[("stock_beginning_of_month", "s1", "amox")].value == 20


# -- 2. items outside a store's range ------------------------------------------------------
def range_ledger() -> Ledger:
    """S1's range is list A (x, y), S2's is list B (x). S1 holds x; S2 holds x and z (z is not
    in S2's range any more, but S2 still has 5 units of it). Nobody ever held y at S2, nor z at
    S1, nor y at S1 (although y is in S1's range)."""
    led = Ledger(
        [
            StoreRow("s1", "S1", created=date(2023, 12, 1), lists=("A",)),
            StoreRow("s2", "S2", created=date(2023, 12, 1), lists=("B",)),
        ],
        ["x", "y", "z"],
        master_lists={"A": ["x", "y"], "B": ["x"]},
    )
    led.batches += [
        BatchRow("b1", "s1", "x", 1, 30, 30, None, 1.0),
        BatchRow("b2", "s2", "x", 1, 10, 10, None, 1.0),
        BatchRow("b3", "s2", "z", 1, 5, 5, None, 1.0),
    ]
    led.movements += [
        Movement("m1", "s1", "x", "INBOUND_SHIPMENT", "STOCK_IN", 40, 1, T(2023, 12, 5), "b1"),
        Movement("m2", "s1", "x", "OUTBOUND_SHIPMENT", "STOCK_OUT", 10, 1, T(2024, 1, 15), "b1"),
        Movement("m3", "s2", "x", "INBOUND_SHIPMENT", "STOCK_IN", 10, 1, T(2023, 12, 6), "b2"),
        Movement("m4", "s2", "z", "INBOUND_SHIPMENT", "STOCK_IN", 5, 1, T(2023, 12, 7), "b3"),
    ]
    return led


@pytest.mark.parametrize("dialect", DIALECTS)
def test_items_outside_a_store_range(dialect: str, make_db: MakeDb) -> None:
    database = make_db(range_ledger(), dialect, CURRENT)
    got = run(database, [month(n, date(2024, 1, 31)) for n in INDICATORS])
    zero_flows = dict.fromkeys(("received", "adjustments", "stock_expiring", "stock_expired"), 0.0)
    # held and in range: 40 received in December, 10 issued in January
    check(got, "s1", "x", {
        **zero_flows, "stock_on_hand": 30, "stock_beginning_of_month": 40, "issued": 10,
        "value_of_stock_on_hand": 30, "average_monthly_consumption": 10 / 3,
        "months_of_stock": 9, "stocked_out": 0, "days_out_of_stock": 0,
    })  # fmt: skip
    # in the range, never held: a real zero, i.e. a stock-out all January
    check(got, "s1", "y", {
        **zero_flows, "stock_on_hand": 0, "stock_end_of_month": 0, "stock_beginning_of_month": 0,
        "issued": 0, "value_of_stock_on_hand": 0, "average_monthly_consumption": 0,
        "months_of_stock": None, "stocked_out": 1, "days_out_of_stock": 31,
    })  # fmt: skip
    # held although out of the range: it keeps its values
    check(got, "s2", "z", {
        **zero_flows, "stock_on_hand": 5, "stock_beginning_of_month": 5, "issued": 0,
        "stocked_out": 0, "days_out_of_stock": 0, "average_monthly_consumption": 0,
    })  # fmt: skip
    check(got, "s2", "x", {"stock_on_hand": 10, "stocked_out": 0})
    # out of the range and never held: no value at all, and the reason says why
    for store, item in (("s1", "z"), ("s2", "y")):
        for name in INDICATORS:
            value = got[(name, store, item)]
            assert value.value is None and value.reason == NOT_IN_RANGE, (store, item, name)
    assert got[("months_of_stock", "s1", "y")].reason == NO_CONSUMPTION


# -- 3. before the data starts, and after today ---------------------------------------------
def span_ledger() -> Ledger:
    """S1's first transaction is a receipt of 30 on 5 March; S2 exists but never transacted."""
    led = Ledger([StoreRow("s1", "S1"), StoreRow("s2", "S2", created=date(2023, 6, 1))], ["x"])
    led.batches.append(BatchRow("b1", "s1", "x", 1, 30, 30, None, 1.0))
    led.movements.append(
        Movement("m1", "s1", "x", "INBOUND_SHIPMENT", "STOCK_IN", 30, 1, T(2024, 3, 5), "b1")
    )
    return led


@pytest.mark.parametrize("dialect", DIALECTS)
def test_no_values_before_the_data_starts(dialect: str, make_db: MakeDb) -> None:
    database = make_db(span_ledger(), dialect, CURRENT)
    reqs = [
        IndicatorRequest(f"{n}@{d}", n, {}, d.replace(day=1), end(d))
        for d in (date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 4), date(2024, 3, 31))
        for n in INDICATORS
    ]
    got = run(database, reqs)
    for d in ("2024-01-31", "2024-02-29", "2024-03-04"):  # backfill before 5 March
        for n in INDICATORS:
            early = got[(f"{n}@{d}", "s1", "x")]
            assert early.value is None, (d, n)
            assert early.reason == "before the store's first transaction (2024-03-05)"
    for key, value in got.items():
        if key[1] == "s2":  # never transacted: never any value
            assert value.value is None and value.reason == (
                "the store has no transactions in the database"
            ), key
    check({(k[0].split("@")[0], k[1], k[2]): v for k, v in got.items() if "2024-03-31" in k[0]},
          "s1", "x", {
        "received": 30, "stock_beginning_of_month": 0, "stock_on_hand": 30, "stocked_out": 0,
        # no created_date: open from its first transaction's day (5 March); stock from then
        "days_out_of_stock": 0,
    })  # fmt: skip


@pytest.mark.parametrize("dialect", DIALECTS)
def test_dates_after_today_or_after_the_data_are_refused(dialect: str, make_db: MakeDb) -> None:
    database = make_db(span_ledger(), dialect, CURRENT)
    now = datetime(2024, 3, 20, 12, tzinfo=UTC)
    with pytest.raises(ReferenceDateError) as caught:
        run(database, [month("stock_on_hand", date(2024, 3, 21))], now=now)
    assert str(caught.value).startswith(
        "reference date 2024-03-21 is in the future (today is 2024-03-20 in UTC)"
    )
    assert "the newest movement in " in str(caught.value)
    assert "is 2024-03-05 10:00 UTC, store S1" in str(caught.value)
    # a date a user typed, after the newest movement: refused when asked to stay within the data
    with pytest.raises(ReferenceDateError, match=r"reference date 2024-03-10 is after the data"):
        run(database, [month("stock_on_hand", date(2024, 3, 10))], now=now, within_data=True)
    ok = run(database, [month("stock_on_hand", date(2024, 3, 5))], now=now, within_data=True)
    assert ok[("stock_on_hand", "s1", "x")].value == 30
    # today itself is fine (a current-day push computes up to now)
    today = run(database, [month("stock_on_hand", date(2024, 3, 20))], now=now)
    assert today[("stock_on_hand", "s1", "x")].value == 30


# -- 4. older databases -------------------------------------------------------------------
@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_supported_layout_gives_the_same_numbers(dialect: str, make_db: MakeDb) -> None:
    """The hand-worked January of ``test_handworked`` in every layout from 2.0.0 to 2.19.0:
    store.name_id (2.0), returns named INBOUND_/OUTBOUND_RETURN (before 2.3), no look-back
    preference (before 2.2, read as 3 months), no preference table (before 2.7), receipts
    dated by delivery (before 2.8.3), no universal_code (before 2.16), no line status (before
    2.17) — the numbers are the same."""
    reqs = [
        IndicatorRequest(n, n, {}, date(2024, 1, 1), handworked_end(date(2024, 1, 31)))
        for n in INDICATORS
    ]
    for version in LAYOUTS:
        database = make_db(handworked(), dialect, version)
        with open_source(database) as source:
            assert source.caps.version == version
            assert source.caps.store_name_column == (
                "name_id" if version < (2, 1, 0) else "name_link_id"
            )
        got = run(database, reqs, tz=HANDWORKED_TZ)
        for (store, item), expected in JAN.items():
            check(
                got, store, item, {k: None if v is None else float(v) for k, v in expected.items()}
            )


def _alter(database: str, dialect: str, *statements: str) -> None:
    if dialect == "sqlite":
        conn = sqlite3.connect(database)
        for s in statements:
            conn.execute(s)
        conn.commit()
        conn.close()
        return
    with psycopg.connect(database, autocommit=True) as pg:
        for s in statements:
            pg.execute(s)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unsupported_or_unknown_databases_are_refused(dialect: str, make_db: MakeDb) -> None:
    old = make_db(handworked(), dialect, (2, 0, 0))
    _alter(old, dialect, "UPDATE key_value_store SET value_string = '1.7.0' "
           "WHERE id = 'DATABASE_VERSION'")  # fmt: skip
    with pytest.raises(SourceError) as caught:
        open_source(old)
    assert str(caught.value).endswith(
        "is open mSupply 1.7.0; dhispatch reads open mSupply 2.0.0 and later (tested up to 2.19.0)"
    )
    unknown = make_db(handworked(), dialect, CURRENT)
    _alter(unknown, dialect, "DELETE FROM key_value_store")
    with pytest.raises(SourceError, match="key_value_store has no DATABASE_VERSION"):
        open_source(unknown)
    no_table = make_db(handworked(), dialect, CURRENT)
    _alter(no_table, dialect, "DROP TABLE master_list_name_join")
    with pytest.raises(SourceError, match=r"not an open mSupply database: missing table\(s\) "
                       "master_list_name_join"):  # fmt: skip
        open_source(no_table)
    no_column = make_db(handworked(), dialect, CURRENT)
    _alter(no_column, dialect, "ALTER TABLE invoice_line DROP COLUMN pack_size")
    with pytest.raises(SourceError, match=r"missing column\(s\) invoice_line.pack_size"):
        open_source(no_column)


# -- 5. store codes kept as name properties --------------------------------------------------
def stores_ledger() -> Ledger:
    return Ledger(
        [
            StoreRow("sa", "SA", property_code="OU_A"),  # open mSupply's own place
            StoreRow("sb", "SB", dhis2_code="OU_B"),  # synced from legacy mSupply
            StoreRow("sc", "SC", property_code="OU_C1", dhis2_code="OU_C2"),  # properties first
            StoreRow("sd", "SD"),
            StoreRow("se", "SE", property_code="  ", dhis2_code="OU_E"),  # blank property
            StoreRow("sf", "SF", property_code=1234),  # an INTEGER property
            StoreRow("sg", "SG", property_code=True),
        ],
        ["x"],
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_store_codes_from_name_properties_then_custom_data(dialect: str, make_db: MakeDb) -> None:
    missing = "no 'Dhis2Code' in its name's properties or custom data"
    want = {
        "SA": ("OU_A", None),
        "SB": ("OU_B", None),
        "SC": ("OU_C1", None),
        "SD": (None, missing),
        "SE": ("OU_E", None),
        "SF": ("1234", None),
        "SG": (None, "its name's property 'Dhis2Code' is true, not a code"),
    }
    with open_source(make_db(stores_ledger(), dialect, CURRENT)) as source:
        stores = source.scope(CUSTOM_CODE).stores
        assert {s.code: (s.org_unit, s.org_unit_note) for s in stores} == want
        other = source.scope(
            ScopeRules.from_json(
                {"items": [], "org_unit": {"kind": "name_custom_data", "key": "Nope"}}
            )
        )
        assert other.stores[0].org_unit_note == (
            "no 'Nope' in its name's properties or custom data ('Nope' is not a name property "
            "of this database)"
        )
    # before 2.1.0 names have no properties: only legacy custom data is read
    with open_source(make_db(stores_ledger(), dialect, (2, 0, 0))) as source:
        stores = source.scope(CUSTOM_CODE).stores
        got = {s.code: (s.org_unit, s.org_unit_note) for s in stores}
    assert got["SA"] == (None, "no 'Dhis2Code' in its name's custom data")
    assert got["SB"] == ("OU_B", None) and got["SC"] == ("OU_C2", None)


def test_indicators_command_says_which_stores_have_no_code(make_db: MakeDb) -> None:
    from click.testing import CliRunner

    from dhispatch.runtime.cli.main import cli

    ledger = stores_ledger()
    ledger.movements.append(Movement("m", "sa", "x", "INBOUND_SHIPMENT", "STOCK_IN", 1, 1,
                                     T(2024, 1, 5), "b"))  # fmt: skip
    ledger.batches.append(BatchRow("b", "sa", "x", 1, 1, 1, None, 1.0))
    result = CliRunner().invoke(cli, [
        "indicators", "--source", make_db(ledger, "sqlite", CURRENT), "--at", "2024-01-05",
        "--org-unit", "custom:Dhis2Code", "--indicator", "stock_on_hand",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "store SD has no org unit: no 'Dhis2Code' in its name's properties or custom data",
        "store SG has no org unit: its name's property 'Dhis2Code' is true, not a code",
    ]
    # the other stores never transacted: their rows say so
    assert "SB,OU_B,X,stock_on_hand,,the store has no transactions in the database" in result.stdout


# -- 6. item user fields of every type -------------------------------------------------------
def fields_ledger() -> Ledger:
    led = Ledger([StoreRow("s", "S")], ["a", "b", "c", "d"])
    led.item_fields = {
        "a": {"user_field_1": "DE_A", "user_field_4": True, "user_field_5": 2.5,
              "user_field_7": "true"},
        "b": {"user_field_1": "", "user_field_4": False, "user_field_5": 0, "user_field_7": False},
        "c": {"user_field_1": "  ", "user_field_4": "1", "user_field_5": "3"},
        "d": {"user_field_1": None, "user_field_5": "n/a", "user_field_7": 1},
    }  # fmt: skip
    return led


@pytest.mark.parametrize("dialect", DIALECTS)
def test_item_user_fields_of_every_type(dialect: str, make_db: MakeDb) -> None:
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"kind": "field_set", "field": "user_field_1"}, ["a"]),
        ({"kind": "field_compare", "field": "user_field_1", "op": "=", "value": "DE_A"}, ["a"]),
        ({"kind": "field_compare", "field": "user_field_4", "op": "=", "value": True}, ["a", "c"]),
        ({"kind": "field_compare", "field": "user_field_4", "op": "!=", "value": True}, ["b"]),
        ({"kind": "custom_flag", "field": "user_field_7"}, ["a", "d"]),
        ({"kind": "field_compare", "field": "user_field_5", "op": ">", "value": 0}, ["a", "c"]),
        ({"kind": "field_compare", "field": "user_field_5", "op": "=", "value": 3}, ["c"]),
        ({"kind": "field_compare", "field": "user_field_5", "op": "<=", "value": 0}, ["b"]),
    ]
    with open_source(make_db(fields_ledger(), dialect, CURRENT)) as source:
        for item_filter, want in cases:
            scope = source.scope(
                ScopeRules.from_json({"items": [item_filter], "org_unit": ANY_ORG})
            )
            assert [i.id for i in scope.items] == want, item_filter
        for bad, message in (
            ({"kind": "field_set", "field": "user_field_4"},
             "user_field_4 is a boolean field: 'is set' does not apply (use =, !=)"),
            ({"kind": "field_compare", "field": "user_field_5", "op": ">", "value": "abc"},
             "user_field_5 is a number field: 'abc' is not a number value"),
            ({"kind": "field_compare", "field": "user_field_1", "op": ">", "value": "x"},
             "user_field_1 is a text field: '>' does not apply (use is set, =, !=)"),
        ):  # fmt: skip
            with pytest.raises(SourceError) as caught:
                source.scope(ScopeRules.from_json({"items": [bad], "org_unit": ANY_ORG}))
            assert str(caught.value) == message
