"""When the database's data starts and ends, per store: no value before it, no date after it.

A period that ends before a store's first transaction (its first invoice with the effective
timestamp of its type) gets no value for that store, and a store without any transaction gets
none at all: a backfill over months before the data starts (before the store's or the
database's first transaction) must not push zeros, nor a store set up but never used. A reference
date after today is refused (stock cannot be known for the future), and, when the caller asks
(a date a user typed), one after the day of the database's newest movement too, with a message
saying what the newest data is.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dhispatch.runtime.indicators.queries import effective_sql
from dhispatch.runtime.indicators.timeframe import local_date
from dhispatch.runtime.indicators.timeframe import naive_utc
from dhispatch.runtime.sources import Source
from dhispatch.runtime.sources import SourceError

NOT_IN_RANGE = (
    "item not in the store's range (no master list of the store has it) and not held in the "
    "period (no stock, no movement)"
)


class ReferenceDateError(SourceError):
    """A reference date the database cannot have data for (the future, or after its newest)."""


@dataclass(frozen=True, slots=True)
class DataSpan:
    """First effective transaction per store; the database's first and newest (naive UTC)."""

    first_by_store: Mapping[str, datetime]
    first: datetime | None
    newest: datetime | None
    newest_store: str | None
    label: str
    zone: ZoneInfo

    def before_data(self, store_id: str, cut: datetime) -> str | None:
        """Why a store has no values at ``cut`` (naive UTC), or None when it has data then."""
        start = self.first_by_store.get(store_id)
        if start is None:
            return "the store has no transactions in the database"
        if cut >= start:
            return None
        return f"before the store's first transaction ({local_date(start, self.zone)})"

    def newest_text(self) -> str:
        if self.newest is None:
            return f"{self.label} has no movements"
        local = self.newest.replace(tzinfo=UTC).astimezone(self.zone)
        where = f", store {self.newest_store}" if self.newest_store else ""
        return (
            f"the newest movement in {self.label} is {local:%Y-%m-%d %H:%M} {self.zone.key}{where}"
        )


def data_span(source: Source, zone: ZoneInfo) -> DataSpan:
    """One aggregate over ``invoice`` (no invoice lines): first and last effective instant."""
    sql = (
        f"SELECT i.store_id, MIN({effective_sql(source)}), MAX({effective_sql(source)}) "
        "FROM invoice i GROUP BY i.store_id"
    )
    firsts: dict[str, datetime] = {}
    newest: datetime | None = None
    newest_store: str | None = None
    for store_id, first, last in source.rows(sql):
        if first is None:
            continue
        firsts[str(store_id)] = _instant(first)
        if newest is None or _instant(last) > newest:
            newest, newest_store = _instant(last), str(store_id)
    codes = dict(source.rows("SELECT id, code FROM store")) if newest_store else {}
    return DataSpan(
        firsts,
        min(firsts.values(), default=None),
        newest,
        str(codes.get(newest_store, newest_store)) if newest_store else None,
        source.label,
        zone,
    )


def check_references(
    span: DataSpan,
    references: Sequence[datetime],
    zone: ZoneInfo,
    *,
    now: datetime | None,
    within_data: bool,
) -> None:
    """Refuse a reference date after today, or (``within_data``) after the newest movement."""
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    latest = max(references, key=lambda r: r.astimezone(UTC))
    day = local_date(naive_utc(latest), zone)
    if day > today:
        raise ReferenceDateError(
            f"reference date {day} is in the future (today is {today} in {zone.key}): stock "
            f"cannot be known yet; {span.newest_text()}"
        )
    if within_data:
        newest = None if span.newest is None else local_date(span.newest, zone)
        if newest is None or day > newest:
            raise ReferenceDateError(
                f"reference date {day} is after the data: {span.newest_text()}, so values "
                f"for {day} would only repeat older balances"
            )


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
