"""Local days as naive-UTC instants: period boundaries and UTC-offset segments for day buckets.

The database compares stored naive-UTC timestamps against instants computed here, so no SQL
time-zone function is needed on either back-end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
MICRO = timedelta(microseconds=1)


def naive_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("reference instants must be time-zone aware")
    return instant.astimezone(UTC).replace(tzinfo=None)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The naive-UTC instant at which local ``day`` begins."""
    return naive_utc(datetime.combine(day, time(0), tzinfo=zone))


def before_day(day: date, zone: ZoneInfo) -> datetime:
    """The last microsecond before local ``day`` begins (movements ``> this`` are on/after it)."""
    return day_start(day, zone) - MICRO


def local_date(instant_utc: datetime, zone: ZoneInfo) -> date:
    return instant_utc.replace(tzinfo=UTC).astimezone(zone).date()


def day_number(day: date) -> int:
    return day.toordinal() - EPOCH_ORDINAL


def from_day_number(n: int) -> date:
    return date.fromordinal(n + EPOCH_ORDINAL)


@dataclass(frozen=True, slots=True)
class OffsetSegment:
    """From ``starts`` (naive UTC, None = open start) the zone's UTC offset is ``seconds``."""

    starts: datetime | None
    seconds: int


def _offset(instant_utc: datetime, zone: ZoneInfo) -> int:
    delta = instant_utc.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def offset_segments(first: datetime, last: datetime, zone: ZoneInfo) -> list[OffsetSegment]:
    """The zone's constant-offset stretches covering naive-UTC [first, last]."""
    segments = [OffsetSegment(None, _offset(first, zone))]
    t = first
    while t < last:
        nxt = min(t + timedelta(hours=6), last)
        if _offset(nxt, zone) != segments[-1].seconds:
            lo, hi = t, nxt  # offset(lo) = current, offset(hi) differs: bisect to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if mid <= lo:
                    mid = lo + timedelta(seconds=1)
                if _offset(mid, zone) == segments[-1].seconds:
                    lo = mid
                else:
                    hi = mid
            segments.append(OffsetSegment(hi, _offset(hi, zone)))
        t = nxt
    return segments
