"""Stores in bounded chunks: any chunk size gives exactly the values (and order) of one pass."""

from __future__ import annotations

import importlib
import random
import tempfile
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from dhispatch.runtime.indicators import INDICATORS
from dhispatch.runtime.indicators import IndicatorRequest
from dhispatch.runtime.indicators import IndicatorValue
from dhispatch.runtime.indicators import compute
from dhispatch.runtime.plan import ScopeRules
from dhispatch.runtime.sources import Source
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

TZ = "America/New_York"  # a DST change inside the ledger's span
START = datetime(2024, 1, 1)
N_STORES = 7
CHUNKS = (1, 2, 3, 6)  # 7 stores: single stores, pairs, uneven last chunks
compute_module = importlib.import_module("dhispatch.runtime.indicators.compute")


def _ledger(seed: int) -> Ledger:
    """Seven stores × three items; some pairs never stocked, some stores without opening date."""
    rnd = random.Random(seed)
    stores = [
        StoreRow(
            f"s{k}",
            f"S{k}",
            created=rnd.choice([None, None, date(2023, 12, 1), date(2024, 2, 10)]),
            lookback=rnd.choice([None, 0.0, 1.0, 2.0, 1.5]),
            lists=rnd.choice([("All items",), ("Two",), ()]),
        )
        for k in range(N_STORES)
    ]
    items = ["i0", "i1", "i2"]
    ledger = Ledger(
        stores, items, days_in_month=30.0, adjust=True, master_lists={"Two": ["i0", "i1"]}
    )
    n = 0
    for store in stores:
        for item in items:
            if rnd.random() < 0.2:
                continue  # never stocked: no stock lines, no movements
            batches = [
                BatchRow(
                    f"b{store.id}{item}{b}",
                    store.id,
                    item,
                    rnd.choice([1.0, 2.5, 10.0]),
                    packs := rnd.choice([0.0, 1.0, 3.0, 7.25, 40.0]),
                    packs - rnd.choice([0.0, 0.5]),
                    rnd.choice([None, date(2024, 2, 20), date(2024, 4, 1), date(2024, 9, 1)]),
                    rnd.choice([0.0, 1.25, 3.0]),
                )
                for b in range(rnd.randint(1, 3))
            ]
            ledger.batches += batches
            for _ in range(rnd.randint(0, 12)):
                n += 1
                ledger.movements.append(
                    Movement(
                        f"m{n}",
                        store.id,
                        item,
                        rnd.choice(sorted(EFFECTIVE)),
                        rnd.choice(["STOCK_IN", "STOCK_OUT", "STOCK_OUT"]),
                        rnd.choice([0.5, 1.0, 2.0, 10.0, 40.0]),
                        rnd.choice([1.0, 2.5, 10.0]),
                        rnd.choice([None, START + timedelta(minutes=rnd.randint(0, 95 * 1440))]),
                        batch=rnd.choice([None, *(b.id for b in batches)]),
                        via_old_link=rnd.random() < 0.3,
                    )
                )
    return ledger


def _requests() -> list[IndicatorRequest]:
    """Every indicator at three reference instants (two instant groups when a pass takes 2)."""
    zone = ZoneInfo(TZ)
    out = []
    for day in (date(2024, 2, 29), date(2024, 3, 15), date(2024, 3, 31)):
        at = datetime.combine(day, time.max, tzinfo=zone)
        params: dict[str, Any] = {"within_days": 90, "soh": "available"}
        for name in INDICATORS:
            out.append(IndicatorRequest(f"{name}@{day}", name, params, day.replace(day=1), at))
    return out


def _values(source: Source, per_pass: int | None) -> list[IndicatorValue]:
    scope = source.scope(ScopeRules())
    assert len(scope.stores) == N_STORES
    return list(compute(source, scope, _requests(), tz=TZ, stores_per_pass=per_pass))


def _check_chunks(database: str, ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    # two reference instants per pass: chunks of stores nest inside groups of instants
    monkeypatch.setattr(compute_module, "INSTANTS_PER_PASS", 2)
    with open_source(database) as source:
        whole = _values(source, N_STORES)
        assert len(whole) == N_STORES * len(ledger.items) * len(_requests())
        for per_pass in (*CHUNKS, None):
            assert _values(source, per_pass) == whole, per_pass  # same values, same order
    # and one pass is right (the reference is the row-by-row implementation)
    got = {(v.key, v.store_id, v.item_id): v.value for v in whole}
    for req in _requests():
        want = reference(ledger, req.indicator, req.params, req.period_start, req.reference, TZ)
        for (store, item), expected in want.items():
            actual = got[(req.key, store, item)]
            assert close_enough(actual, expected), (req.key, store, item, actual, expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sqlite_chunks_equal_one_pass(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = _ledger(seed)
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "oms.sqlite")
        write_sqlite(path, ledger)
        _check_chunks(path, ledger, monkeypatch)


def test_postgresql_chunks_equal_one_pass(
    postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        create_schema(conn, "postgresql")
    for seed in (1, 2, 3):
        ledger = _ledger(seed)
        with psycopg.connect(postgres_db) as conn:
            clear(conn)
            write(conn, "postgresql", ledger)
        _check_chunks(postgres_db, ledger, monkeypatch)


def _statements(database: str, per_pass: int) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    with open_source(database) as source:
        real = source.stream

        def stream(sql: str, params: Any = None) -> Any:
            calls.append((sql, dict(params or {})))
            return real(sql, params)

        source.stream = stream  # type: ignore[method-assign]
        values = _values(source, per_pass)
    assert len(values) == N_STORES * 3 * len(_requests())
    return calls


def _movement_stores(calls: list[tuple[str, dict[str, Any]]]) -> list[list[str]]:
    """The stores each movement statement read (every store-id list among its parameters)."""
    out = []
    for sql, params in calls:
        if "m.grp" in sql:
            out.append(sorted(s for v in params.values() if isinstance(v, list) and v
                              and str(v[0]).startswith("s") for s in v))  # fmt: skip
    return out


def test_sqlite_reads_the_movements_once_per_pass(tmp_path: Path) -> None:
    """open mSupply's SQLite invoice_line has no invoice_id index: one statement reads every
    store's lines (streamed, chunk by chunk); stock lines are read per chunk of stores."""
    ledger = _ledger(4)
    path = str(tmp_path / "oms.sqlite")
    write_sqlite(path, ledger)
    calls = _statements(path, 3)
    everyone = [f"s{k}" for k in range(N_STORES)]
    assert [sorted(set(s)) for s in _movement_stores(calls)] == [everyone]
    stock = [p["stores"] for sql, p in calls if "FROM stock_line s WHERE" in sql
             and "GROUP BY" in sql]  # fmt: skip
    assert [len(s) for s in stock] == [3, 3, 1]


def test_postgresql_reads_each_chunk_by_itself(postgres_db: str) -> None:
    """On PostgreSQL each chunk of stores is one movement statement (read by index)."""
    ledger = _ledger(4)
    with psycopg.connect(postgres_db) as conn:
        create_schema(conn, "postgresql")
        write(conn, "postgresql", ledger)
    chunks = _movement_stores(_statements(postgres_db, 3))
    assert [len(set(c)) for c in chunks] == [3, 3, 1]
    assert sorted(s for c in chunks for s in set(c)) == [f"s{k}" for k in range(N_STORES)]


def test_postgresql_snapshot_released_between_chunks(postgres_db: str) -> None:
    """While the caller holds a chunk's values, the session holds no transaction (no snapshot)."""
    ledger = _ledger(5)
    with psycopg.connect(postgres_db) as conn:
        create_schema(conn, "postgresql")
        write(conn, "postgresql", ledger)
    with open_source(postgres_db) as source:
        scope = source.scope(ScopeRules())
        values = compute(source, scope, _requests(), tz=TZ, stores_per_pass=2)
        per_chunk = 2 * len(ledger.items) * len(_requests())
        seen = 0
        for _ in values:
            if seen % per_chunk == 0:  # the first value of each chunk
                with psycopg.connect(postgres_db, autocommit=True) as watcher:
                    states = watcher.execute(
                        "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    ).fetchall()
                assert states == [("idle",)], seen
            seen += 1
        assert seen == N_STORES * len(ledger.items) * len(_requests())


def test_chunk_size_must_be_positive(tmp_path: Path) -> None:
    ledger = _ledger(6)
    path = str(tmp_path / "oms.sqlite")
    write_sqlite(path, ledger)
    with open_source(path) as source, pytest.raises(ValueError, match="stores_per_pass"):
        _values(source, 0)
