"""Whether DHIS2 takes data for a period now, by the data set's ``openFuturePeriods`` and
``expiryDays`` on DHIS2's own date, and the push that would be taken instead — so a push into a
locked period is said before anything is sent (DHIS2 would refuse every value: E7641/E7640,
E8030 on 2.43).

The rule, as dhis2-core has it (``DataSet.isLocked``, ``getFuturePeriod``): the latest open period
is the one holding today shifted ``openFuturePeriods - 1`` (0 locks the running period);
a period is expired the day after its end + ``expiryDays`` (2.36: on that day; 0: never),
unless the user has ``F_EDIT_EXPIRED`` (``ALL`` has it). Kept here alone so that the write
rules of ``runtime/access`` can replace it in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from dhispatch.runtime.periods import Period
from dhispatch.runtime.periods import period_for


@dataclass(frozen=True, slots=True)
class Timeliness:
    """The data set's settings the lock rule reads."""

    data_set: str
    open_future: int
    expiry_days: int


@dataclass(frozen=True, slots=True)
class Lock:
    """Why DHIS2 refuses ``period`` today, and the latest period it takes (``instead``)."""

    period: str
    reason: str
    instead: str | None
    expired: bool


def latest_open(period_type: str, open_future: int, today: date) -> Period:
    """The latest period DHIS2 takes data for on ``today``."""
    p = period_for(period_type, today)
    for _ in range(abs(open_future - 1)):
        p = p.next() if open_future - 1 > 0 else p.previous()
    return p


def lock_of(
    period: Period, rules: Timeliness, today: date, *, may_edit_expired: bool, minor: int = 40
) -> Lock | None:
    """The lock on ``period`` today (None: DHIS2 takes it as far as these rules go) on DHIS2
    2.``minor`` (2.36 locks an expired period on its last day already)."""
    latest = latest_open(period.type, rules.open_future, today)
    if period.start > latest.end:
        return Lock(
            period.id,
            f"data set {rules.data_set} has openFuturePeriods {rules.open_future}, so on DHIS2's "
            f"date {today.isoformat()} the latest period it takes is {latest.id}",
            latest.id, expired=False,
        )  # fmt: skip
    if rules.expiry_days > 0 and not may_edit_expired and _expired(period, rules, today, minor):
        return Lock(
            period.id,
            f"data set {rules.data_set} has expiryDays {rules.expiry_days}: {period.id} is locked "
            f"from {_locked_from(period, rules, minor).isoformat()}",
            _oldest_open(period, rules, today, minor), expired=True,
        )  # fmt: skip
    return None


def _locked_from(period: Period, rules: Timeliness, minor: int) -> date:
    """The first day DHIS2 refuses ``period`` for expiry (2.36: end + expiryDays itself)."""
    last = period.end + timedelta(days=rules.expiry_days)
    return last if minor <= 36 else last + timedelta(days=1)


def _expired(period: Period, rules: Timeliness, today: date, minor: int) -> bool:
    return today >= _locked_from(period, rules, minor)


def _oldest_open(period: Period, rules: Timeliness, today: date, minor: int) -> str | None:
    """The oldest period of the type not yet expired (searching forward from ``period``)."""
    p = period
    while _expired(p, rules, today, minor) and p.start <= today:
        p = p.next()
    return p.id if p.start <= today else None
