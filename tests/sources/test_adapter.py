"""The open mSupply adapter: scope filters, org-unit mappings, read-only access, clear errors,
optional columns, and the demo generator's determinism and realism."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.generator import generate_demo
from dhispatch.runtime.indicators import INDICATORS
from dhispatch.runtime.indicators import IndicatorRequest
from dhispatch.runtime.indicators import compute
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.sources import SourceError
from dhispatch.runtime.sources import open_source
from tests.sources.ledger import BatchRow
from tests.sources.ledger import Ledger
from tests.sources.ledger import Movement
from tests.sources.ledger import StoreRow
from tests.sources.ledger import write

STORES, ITEMS, MONTHS = 8, 30, 3
END = date(2024, 3, 31)
ANY_ORG = {"kind": "store_code"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("demo") / "demo.sqlite")
    generate_demo(path, stores=STORES, items=ITEMS, months=MONTHS, seed=7, end=END)
    return path


def codes(scope_items: Any) -> list[str]:
    return [i.code for i in scope_items]


def test_item_filters_follow_the_demo_country(demo: str) -> None:
    every = [dc.item_code(i) for i in range(1, ITEMS + 1)]
    with open_source(demo) as source:
        assert source.dialect == "sqlite"
        all_items = source.scope(ScopeRules.from_json({"items": [], "org_unit": ANY_ORG})).items
        # stock items only: the merged duplicate and the service item are not listed
        assert codes(all_items) == every
        item3 = all_items[2]
        assert item3.universal_code == dc.item_universal_code(3)
        assert item3.fields == {
            "user_field_1": dc.item_user_field_1(3),
            "user_field_2": dc.item_user_field_2(3),
            "user_field_6": dc.item_user_field_6(3),
        }
        cases = {
            "universal": (
                [{"kind": "field_set", "field": "universal_code"}],
                lambda i: dc.item_universal_code(i) is not None,
            ),
            "uf6": (
                [{"kind": "field_set", "field": "user_field_6"}],
                lambda i: dc.item_user_field_6(i) is not None,
            ),
            "dhis2": ([{"kind": "master_list", "name": "DHIS2"}], dc.item_in_dhis2_master_list),
            "flag": ([{"kind": "custom_flag", "field": "user_field_4"}], lambda i: i % 2 == 0),
            "both": (
                [
                    {"kind": "master_list", "name": "DHIS2"},
                    {"kind": "field_set", "field": "universal_code"},
                ],
                lambda i: dc.item_in_dhis2_master_list(i) and dc.item_universal_code(i) is not None,
            ),
        }
        for name, (filters, rule) in cases.items():
            got = codes(
                source.scope(ScopeRules.from_json({"items": filters, "org_unit": ANY_ORG})).items
            )
            want = [dc.item_code(i) for i in range(1, ITEMS + 1) if rule(i)]
            assert got == want, name
        with pytest.raises(SourceError, match="no master list named 'Nope'"):
            source.scope(
                ScopeRules.from_json(
                    {"items": [{"kind": "master_list", "name": "Nope"}], "org_unit": ANY_ORG}
                )
            )


def test_org_unit_mappings(demo: str, tmp_path: Path) -> None:
    with open_source(demo) as source:
        custom = source.scope(
            ScopeRules.from_json(
                {"items": [], "org_unit": {"kind": "name_custom_data", "key": "Dhis2Code"}}
            )
        )
        assert [s.code for s in custom.stores] == [dc.store_code(j) for j in range(1, 9)]
        for j, store in enumerate(custom.stores, start=1):
            assert store.org_unit == (dc.store_code(j) if dc.store_has_dhis2_code(j) else None)
        assert (
            source.scope(ScopeRules.from_json({"items": [], "org_unit": {"kind": "name_code"}}))
            .stores[0]
            .org_unit
            == "N0001"
        )
        mapping = tmp_path / "ou.csv"
        mapping.write_text("store_code,org_unit\nS001,ouA\nS002,\n", encoding="utf-8")
        mapped = source.scope(
            ScopeRules.from_json(
                {"items": [], "org_unit": {"kind": "mapping_file", "path": str(mapping)}}
            )
        )
        assert [s.org_unit for s in mapped.stores[:3]] == ["ouA", None, None]
        bad = tmp_path / "bad.csv"
        bad.write_text("code;unit\n", encoding="utf-8")
        with pytest.raises(SourceError, match="needs columns store_code and org_unit"):
            source.scope(
                ScopeRules.from_json(
                    {"items": [], "org_unit": {"kind": "mapping_file", "path": str(bad)}}
                )
            )
        with pytest.raises(SourceError, match="cannot read org unit mapping"):
            source.scope(
                ScopeRules.from_json(
                    {
                        "items": [],
                        "org_unit": {"kind": "mapping_file", "path": str(tmp_path / "none.csv")},
                    }
                )
            )


def test_sqlite_is_opened_read_only(demo: str) -> None:
    with open_source(demo) as source:
        with pytest.raises(SourceError, match="readonly database"):
            source.rows("DELETE FROM invoice")
        assert source.rows("SELECT count(*) FROM invoice")[0][0] > 0


def test_clear_errors_without_secrets(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        open_source(str(tmp_path / "missing.sqlite"))
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a database\n" * 100)
    with pytest.raises(SourceError, match="file is not a database"):
        open_source(str(text))
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).execute("CREATE TABLE item (id TEXT)").connection.commit()
    with pytest.raises(SourceError, match="not an open mSupply database: missing table"):
        open_source(str(empty))
    with pytest.raises(SourceError) as caught:
        open_source("postgresql://dhis:CanaryPassw0rd@127.0.0.1:1/oms")
    assert "CanaryPassw0rd" not in str(caught.value)
    assert "***" in str(caught.value)
    with pytest.raises(SourceError, match="unsupported database URL"):
        open_source("mysql://u:CanaryPassw0rd@h/db")


def _digest(path: str) -> str:
    conn = sqlite3.connect(path)
    h = hashlib.sha256()
    for table in ("invoice", "invoice_line", "stock_line", "item", "name", "store"):
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY id"):
            h.update(repr(row).encode())
    return h.hexdigest()


def test_demo_is_deterministic_and_realistic(demo: str, tmp_path: Path) -> None:
    again = str(tmp_path / "again.sqlite")
    generate_demo(again, stores=STORES, items=ITEMS, months=MONTHS, seed=7, end=END)
    assert _digest(again) == _digest(demo)
    other = str(tmp_path / "other.sqlite")
    generate_demo(other, stores=STORES, items=ITEMS, months=MONTHS, seed=8, end=END)
    assert _digest(other) != _digest(demo)

    conn = sqlite3.connect(demo)
    kinds = {r[0] for r in conn.execute("SELECT DISTINCT type FROM invoice")}
    assert kinds == {
        "CUSTOMER_RETURN",
        "SUPPLIER_RETURN",
        "INBOUND_SHIPMENT",
        "OUTBOUND_SHIPMENT",
        "PRESCRIPTION",
        "INVENTORY_ADDITION",
        "INVENTORY_REDUCTION",
        "REPACK",
    }
    one = conn.execute
    assert one("SELECT count(*) FROM invoice WHERE is_cancellation").fetchone()[0] > 0
    assert one("SELECT count(*) FROM invoice WHERE name_store_id IS NOT NULL").fetchone()[0] > 0
    assert one("SELECT count(*) FROM invoice WHERE status = 'NEW'").fetchone()[0] > 0
    assert (
        one("SELECT count(*) FROM stock_line WHERE pack_size < 1 OR pack_size = 2.5").fetchone()[0]
        > 0
    )
    assert (
        one("SELECT count(*) FROM invoice_line WHERE item_link_id = 'item_dup_0001'").fetchone()[0]
        > 0
    )
    # every stock line equals the sum of its effective movements (no ledger discrepancy)
    worst = one("""
        SELECT max(abs(s.total_number_of_packs * s.pack_size - COALESCE(m.units, 0)))
        FROM stock_line s LEFT JOIN (
          SELECT l.stock_line_id AS id, sum(CASE WHEN l.type = 'STOCK_IN' THEN 1 ELSE -1 END
                 * l.number_of_packs * l.pack_size) AS units
          FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id
          WHERE (i.type IN ('OUTBOUND_SHIPMENT','SUPPLIER_RETURN','PRESCRIPTION')
                 AND i.picked_datetime IS NOT NULL)
             OR (i.type IN ('INBOUND_SHIPMENT','CUSTOMER_RETURN') AND i.received_datetime
                 IS NOT NULL)
             OR (i.type IN ('INVENTORY_ADDITION','INVENTORY_REDUCTION','REPACK')
                 AND i.verified_datetime IS NOT NULL)
          GROUP BY l.stock_line_id) m ON m.id = s.id""").fetchone()[0]
    assert worst < 1e-3
    with open_source(demo) as source:
        scope = source.scope(ScopeRules.from_json({"items": [], "org_unit": ANY_ORG}))
        at = datetime(2024, 3, 31, 23, 59, tzinfo=UTC)
        reqs = [
            IndicatorRequest(n, n, {}, date(2024, 3, 1), at)
            for n in ("stocked_out", "stock_expiring", "stock_expired", "days_out_of_stock")
        ]
        values: dict[str, list[float]] = {}
        for v in compute(source, scope, reqs, tz="UTC"):
            values.setdefault(v.key, []).append(v.value or 0.0)
    pairs = STORES * ITEMS
    assert 0 < sum(values["stocked_out"]) < pairs / 2  # some stock-outs, not mostly
    assert sum(1 for x in values["stock_expiring"] if x > 0) > 0
    assert sum(1 for x in values["days_out_of_stock"] if x > 0) > 0


def test_demo_on_postgresql_equals_sqlite(postgres_db: str, demo: str) -> None:
    generate_demo(postgres_db, stores=STORES, items=ITEMS, months=MONTHS, seed=7, end=END)
    at = datetime(2024, 3, 15, 23, 59, 59, tzinfo=UTC)
    reqs = [
        IndicatorRequest(n, n, {"adjust_for_stockouts": True}, date(2024, 3, 1), at)
        for n in INDICATORS
    ]
    results = []
    for database in (demo, postgres_db):
        with open_source(database) as source:
            scope = source.scope(ScopeRules.from_json({"items": [], "org_unit": ANY_ORG}))
            results.append(
                [
                    (v.key, v.store_id, v.item_id, v.value)
                    for v in compute(source, scope, reqs, tz="Pacific/Tarawa")
                ]
            )
    lite, pg = results
    assert len(lite) == STORES * ITEMS * len(INDICATORS)
    for a, b in zip(lite, pg, strict=True):
        assert a[:3] == b[:3]
        assert (a[3] is None and b[3] is None) or abs(a[3] - b[3]) <= 1e-6 * max(1, abs(a[3]))
    with pytest.raises(SourceError, match="already holds open mSupply tables"):
        generate_demo(postgres_db, stores=1, items=1, months=1, seed=1, end=END)


def test_postgresql_session_is_read_only(postgres_db: str) -> None:
    ledger = Ledger([StoreRow("s", "S")], ["i"])
    ledger.batches.append(BatchRow("b", "s", "i", 1.0, 1.0, 1.0, None, 1.0))
    ledger.movements.append(
        Movement("m", "s", "i", "INBOUND_SHIPMENT", "STOCK_IN", 1.0, 1.0, datetime(2024, 1, 2), "b")
    )
    from tests.sources.ledger import create_schema

    with psycopg.connect(postgres_db) as conn:
        create_schema(conn, "postgresql")
        write(conn, "postgresql", ledger)
    with open_source(postgres_db) as source:
        assert source.dialect == "postgresql"
        raw: Any = source._conn  # the session the adapter uses for every query
        with pytest.raises(Exception, match="read-only transaction"):
            raw.exec_driver_sql("DELETE FROM invoice_line")
        raw.rollback()
        assert source.rows("SELECT count(*) FROM invoice_line")[0][0] == 1
        # after a computation the session holds no open transaction (no old snapshot kept)
        scope = source.scope(ScopeRules.from_json({"items": [], "org_unit": ANY_ORG}))
        at = datetime(2024, 1, 31, 23, 59, tzinfo=UTC)
        reqs = [IndicatorRequest("soh", "stock_on_hand", {}, date(2024, 1, 1), at)]
        assert [v.value for v in compute(source, scope, reqs, tz="UTC")] == [1.0]
        with psycopg.connect(postgres_db, autocommit=True) as watcher:
            states = watcher.execute(
                "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchall()
        assert states == [("idle",)]
