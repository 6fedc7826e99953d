"""The lock rule of a push (openFuturePeriods, expiryDays) agrees with the sandbox's, which is
read from dhis2-core, day by day and per period type; the push it names instead is open."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest

from dhispatch.runtime.periods import parse_period
from dhispatch.runtime.periods import period_for
from dhispatch.runtime.run.locks import Timeliness
from dhispatch.runtime.run.locks import latest_open
from dhispatch.runtime.run.locks import lock_of
from dhispatch.runtime.sandbox.entry_rules import expiry_locked
from dhispatch.runtime.sandbox.periods import latest_open_period
from dhispatch.runtime.sandbox.periods import parse_period as parse_sandbox_period
from dhispatch.runtime.sandbox.users import User

NOBODY = User("u", "clerk", frozenset({"F_DATAVALUE_ADD"}), ())
DAYS = [date(2024, 1, 1) + timedelta(days=n) for n in range(0, 400, 3)]


@pytest.mark.parametrize("ptype", ["Daily", "Weekly", "Monthly", "Quarterly", "FinancialApril"])
@pytest.mark.parametrize("open_future", [0, 1, 3])
def test_the_latest_open_period_is_the_sandboxs(ptype: str, open_future: int) -> None:
    for today in DAYS:
        assert (
            latest_open(ptype, open_future, today).id
            == latest_open_period(ptype, open_future, today).iso
        )


@pytest.mark.parametrize("minor", [36, 40, 43])
@pytest.mark.parametrize("expiry", [0, 1, 10])
def test_expiry_locks_exactly_when_the_sandbox_does(minor: int, expiry: int) -> None:
    rules = Timeliness("ds", open_future=12, expiry_days=expiry)
    data_set = {"expiryDays": expiry}
    for today in DAYS:
        for back in range(0, 3):
            period = period_for("Monthly", today)
            for _ in range(back):
                period = period.previous()
            lock = lock_of(period, rules, today, may_edit_expired=False, minor=minor)
            sandbox = parse_sandbox_period(period.id)
            assert (lock is not None) == expiry_locked(minor, data_set, sandbox, today, NOBODY)
            if lock is not None:  # the period it names instead is open that day
                named = parse_period(lock.instead or "")
                assert lock_of(named, rules, today, may_edit_expired=False, minor=minor) is None
            assert lock_of(period, rules, today, may_edit_expired=True, minor=minor) is None


def test_open_future_zero_locks_the_running_period_and_names_the_last_one() -> None:
    rules = Timeliness("QX4ZTUbOt3a", open_future=0, expiry_days=0)
    lock = lock_of(period_for("Monthly", date(2026, 12, 2)), rules, date(2026, 12, 2),
                   may_edit_expired=True)  # fmt: skip
    assert lock is not None and (lock.period, lock.instead, lock.expired) == (
        "202612", "202611", False,
    )  # fmt: skip
    assert "openFuturePeriods 0" in lock.reason and "202611" in lock.reason
    assert lock_of(period_for("Monthly", date(2026, 11, 2)), rules, date(2026, 12, 2),
                   may_edit_expired=False) is None  # fmt: skip
