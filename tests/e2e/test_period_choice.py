"""Say which period and why (issue 13): a bare push keeps mSupply's current-day basis but names
the period, the rule and what the schedule would push; a period the data set locks
(openFuturePeriods, expiryDays) is said before anything is sent, with the push DHIS2 takes —
and that push works. Against a sandbox on the real clock (DHIS2's date decides)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dhispatch.runtime.periods import period_for
from tests.e2e.conftest import Country
from tests.e2e.conftest import cli
from tests.e2e.conftest import plan_file

# Kiribati's data set: Monthly, openFuturePeriods 0 (the running month is locked)


def _months() -> tuple[str, str]:
    today = datetime.now(ZoneInfo("Pacific/Tarawa")).date()
    running = period_for("Monthly", today)
    return running.id, running.previous().id


def test_a_bare_push_into_a_locked_month_says_so_before_sending_and_names_the_push_that_works(
    country: Country, live_sandbox: Any, tmp_path: Path
) -> None:
    running, previous = _months()
    plan = plan_file("kiribati", live_sandbox.url, country.db, tmp_path)
    state = ["--state", str(tmp_path / "state.sqlite")]
    bare = cli(["push", str(plan), *state], country.db, code=1)
    err = bare.stderr
    steps = "stock_on_hand, average_monthly_consumption, days_out_of_stock"
    assert err.startswith(
        f"pushing {running} ({steps}): current-day basis, as mSupply's manual push: the period "
        "holding today ("
    )
    assert (
        f"the spec's schedule would push {previous} now ({steps}: basis previous_month): "
        f"dhispatch push {plan} --period {previous}, or dhispatch run --once {plan}"
    ) in err
    # the admission stage withholds them before sending, at each push's spec line, by cause
    assert "specs/kiribati.push:33:1: error[E7641]: " in err
    assert (
        f" values not sent (DHIS2 would refuse them): period {running} is not open yet: the "
        f"latest open period is {previous} (openFuturePeriods 0)"
    ) in err
    assert f"DHIS2 takes instead: dhispatch push specs/kiribati.push --period {previous}" in err
    assert live_sandbox.values() == []  # nothing was sent: not one value to be refused
    # the push it names is taken, every value of it
    named = cli(["push", str(plan), "--period", previous, *state], country.db)
    assert f"pushing {previous} ({steps}): the period asked for (--period)" in named.stderr
    assert "would push" not in named.stderr and "not sent" not in named.stderr
    assert len(live_sandbox.values()) > 500


def test_preflight_names_the_periods_a_push_would_find_locked(
    country: Country, live_sandbox: Any, tmp_path: Path
) -> None:
    running, previous = _months()
    plan = plan_file("kiribati", live_sandbox.url, country.db, tmp_path)
    result = cli(["preflight", str(plan)], country.db)
    assert result.stdout.startswith("preflight passed")
    assert (
        f"dhispatch preflight: a bare push now fills {running}, which DHIS2 refuses (E7641): "
        f"period {running} is not open yet: the latest open period is {previous} "
        f"(openFuturePeriods 0); DHIS2 takes: dhispatch push {plan} --period {previous}"
    ) in result.stderr
    assert "E9" not in result.stderr  # the schedule's run due now (previous_month) is open
    tonga = plan_file("tonga", live_sandbox.url, country.db, tmp_path)  # openFuturePeriods 1
    assert "dhispatch preflight:" not in cli(["preflight", str(tonga)], country.db).stderr
