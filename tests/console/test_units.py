"""The console's parts on their own: password hashes, listen addresses, the login limiter, the
coverage states, the history plot's geometry."""

from __future__ import annotations

import time
from datetime import date

import pytest

from dhispatch.errors import UsageError
from dhispatch.runtime.console.coverage import GridCell
from dhispatch.runtime.console.coverage import grid
from dhispatch.runtime.console.errors import ConsoleError
from dhispatch.runtime.console.history import plot
from dhispatch.runtime.console.journal_view import Entry
from dhispatch.runtime.console.passwords import Password
from dhispatch.runtime.console.passwords import PasswordHashError
from dhispatch.runtime.console.passwords import hash_password
from dhispatch.runtime.console.security import LoginLimiter
from dhispatch.runtime.console.settings import Listen
from dhispatch.runtime.console.settings import check_listen
from dhispatch.runtime.console.settings import parse_listen
from dhispatch.runtime.console.settings import password_from
from dhispatch.runtime.journal import CellKey


def test_a_hash_is_salted_and_checked_in_its_own_parameters() -> None:
    one, two = hash_password("correct horse"), hash_password("correct horse")
    assert one != two and one.split("$")[:4] == ["scrypt", "16384", "8", "1"]
    assert Password(hashed=one).matches("correct horse")
    assert not Password(hashed=one).matches("correct horse ")
    cheap = hash_password("pw", salt=b"0123456789abcdef").replace("$16384$", "$1024$", 1)
    assert not Password(hashed=cheap).matches("pw")  # N is part of what was hashed
    assert "correct" not in repr(Password(plain="correct horse"))


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "scrypt$16384$8$1$c2FsdA", "scrypt$1000$8$1$c2FsdA$a2V5",
     "scrypt$4194304$8$1$c2FsdA$a2V5", "scrypt$x$8$1$c2FsdA$a2V5", "pbkdf2$1$2$3$4$5"],
)  # fmt: skip
def test_a_malformed_hash_is_refused_without_quoting_it(stored: str) -> None:
    with pytest.raises(PasswordHashError) as caught:
        Password(hashed=stored)
    assert "DHISPATCH_CONSOLE_PASSWORD_HASH" in str(caught.value)
    assert stored not in str(caught.value) or not stored


def test_the_password_comes_from_the_plain_variable_or_the_hash() -> None:
    assert password_from({"DHISPATCH_CONSOLE_PASSWORD": "long enough"}).matches("long enough")
    hashed = hash_password("from the hash")
    both = {"DHISPATCH_CONSOLE_PASSWORD": "long enough", "DHISPATCH_CONSOLE_PASSWORD_HASH": hashed}
    assert password_from(both).matches("from the hash")  # the hash wins
    with pytest.raises(ConsoleError, match="shorter than 8"):
        password_from({"DHISPATCH_CONSOLE_PASSWORD": "short"})
    with pytest.raises(ConsoleError, match="needs a login password"):
        password_from({})


@pytest.mark.parametrize(
    ("text", "host", "port", "loopback"),
    [("127.0.0.1:8020", "127.0.0.1", 8020, True), ("8020", "127.0.0.1", 8020, True),
     ("localhost:1", "localhost", 1, True), ("[::1]:8020", "::1", 8020, True),
     ("127.8.9.1:80", "127.8.9.1", 80, True), ("0.0.0.0:8020", "0.0.0.0", 8020, False),
     ("[::]:8020", "::", 8020, False), ("host.example:443", "host.example", 443, False)],
)  # fmt: skip
def test_listen_addresses(text: str, host: str, port: int, loopback: bool) -> None:
    listen = parse_listen(text)
    assert (listen.host, listen.port, listen.loopback) == (host, port, loopback)


@pytest.mark.parametrize("text", ["", "host:", "host:http", "1.2.3.4:70000"])
def test_a_malformed_listen_address_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_listen(text)


def test_only_loopback_goes_without_tls_unless_allowed() -> None:
    check_listen(Listen("127.0.0.1", 1), None, False)
    check_listen(Listen("0.0.0.0", 1), None, True)
    with pytest.raises(ConsoleError, match="refusing to listen on 0.0.0.0:1 without TLS"):
        check_listen(Listen("0.0.0.0", 1), None, False)


def test_the_limiter_refuses_after_the_allowed_failures_until_they_age_out() -> None:
    limiter = LoginLimiter(attempts=2, window=0.3)
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    limiter.failed("a")
    assert limiter.retry_after("a") >= 1 and limiter.retry_after("b") == 0
    time.sleep(0.35)
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    limiter.succeeded("a")
    limiter.failed("a")
    assert limiter.retry_after("a") == 0  # a success forgets earlier failures


def _entry(
    ou: str, period: str, state: str, value: str = "1", store: str = "S1", de: str = "de"
) -> Entry:
    return Entry(CellKey(de, period, ou, "coc"), value, store, "I1", "soh", state)


def test_grid_cells_take_the_worst_state_and_periods_not_ended_are_not_due() -> None:
    from dhispatch.runtime.plan import Plan
    from tests.e2e.conftest import compile_spec

    plan = Plan.from_json(compile_spec("kiribati"))  # monthly, the previous month
    known = [
        _entry("A", "202401", "confirmed"),
        _entry("A", "202402", "confirmed"),
        _entry("A", "202402", "refused", de="de2"),
        _entry("B", "202401", "waiting", store="S2"),
    ]
    shown = grid(plan, {e.key: e for e in known}, [], date(2024, 3, 10))
    assert shown.periods == ("202401", "202402", "202403")
    a, b = shown.rows
    assert (a.org_unit, a.stores, b.org_unit) == ("A", ("S1",), "B")
    assert a.cells == (GridCell("confirmed", 1), GridCell("refused", 1, 1), GridCell("not-due"))
    assert [c.state for c in b.cells] == ["waiting", "no-data", "not-due"]


def test_the_plot_scales_from_zero_to_the_highest_value() -> None:
    values = (("202401", "10"), ("202402", "0"), ("202403", "5"), ("202404", "n/a"))
    drawn = plot([_entry("A", p, "confirmed", v) for p, v in values])
    assert [p.period for p in drawn.points] == ["202401", "202402", "202403"]
    first, low, mid = drawn.points
    assert first.y == drawn.top and low.y == drawn.bottom
    assert mid.y == pytest.approx((drawn.top + drawn.bottom) / 2)
    assert first.x == drawn.left and mid.x == pytest.approx(drawn.right)
    assert plot([]).points == ()
