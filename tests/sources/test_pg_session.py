"""PostgreSQL sessions on the stock database: time limits by default, overridable, read-only
whatever the overrides say (a real PostgreSQL from tests/pgserver.py)."""

from __future__ import annotations

import time
from datetime import date

import psycopg
import pytest

from dhispatch.runtime.demo.generator import generate_demo
from dhispatch.runtime.sources import SourceError
from dhispatch.runtime.sources import open_source
from dhispatch.runtime.sources.pg_session import session_options

pytestmark = pytest.mark.postgres


@pytest.fixture
def country(postgres_db: str) -> str:
    generate_demo(postgres_db, stores=1, items=1, months=1, seed=1, end=date(2024, 1, 31))
    return postgres_db


def _settings(url: str) -> tuple[str, str, str]:
    with open_source(url) as source:
        row = source.rows(
            "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'), "
            "current_setting('default_transaction_read_only')"
        )[0]
    return (row[0], row[1], row[2])


def test_limits_by_default_then_pgoptions_then_the_url(
    country: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGOPTIONS", raising=False)
    assert _settings(country) == ("10s", "5min", "on")
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=3s")
    assert _settings(country) == ("3s", "5min", "on")
    url = f"{country}?options=-c%20lock_timeout%3D4s%20-c%20statement_timeout%3D0"
    assert _settings(url) == ("4s", "0", "on")
    # nobody turns read-only off, not even the URL
    assert _settings(f"{country}?options=-c%20default_transaction_read_only%3Doff")[2] == "on"


def test_session_options_order() -> None:
    assert session_options("-c a=1", {"PGOPTIONS": "-c b=2"}) == (
        "-c lock_timeout=10s -c statement_timeout=5min -c b=2 -c a=1 "
        "-c default_transaction_read_only=on"
    )


def test_a_statement_past_statement_timeout_is_a_clear_source_error(country: str) -> None:
    url = f"{country}?options=-c%20statement_timeout%3D300ms"
    with open_source(url) as source:
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"ran longer than statement_timeout \(300ms\)"):
            source.rows("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 3
        assert source.rows("SELECT 1")[0][0] == 1  # the session is usable again


def test_a_lock_names_its_holder_and_lets_go_within_the_timeout(country: str) -> None:
    url = f"{country}?options=-c%20lock_timeout%3D500ms"
    with open_source(url) as source, psycopg.connect(country) as upgrade:
        upgrade.execute("LOCK TABLE stock_line IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(SourceError) as caught:
            source.rows("SELECT count(*) FROM stock_line")
        took = time.monotonic() - started
        upgrade.rollback()
        assert source.rows("SELECT count(*) FROM stock_line")[0][0] >= 0  # free again
    assert took < 3
    message = str(caught.value)
    assert "is locked: PID " in message and "lock_timeout (500ms) allows" in message
    assert "(LOCK TABLE, idle in transaction) holds stock_line" in message
