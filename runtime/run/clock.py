"""DHIS2's own clock against ours: a slot whose period has not started on the server's date is
not run (a clock months fast once completed slots DHIS2 refused and hid the real ones), and a
local clock far from the server's is reported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from dhispatch.runtime.schedule import Slot

SKEW_LIMIT = 300.0  # seconds apart (server zone known) before the skew is reported
NAIVE_SKEW_LIMIT = 15 * 3600.0  # server zone unknown: its serverDate may be up to ±14 h off UTC


@dataclass(frozen=True, slots=True)
class ServerClock:
    """The server's date and time as ``/api/system/info`` said them."""

    now: datetime  # aware when the server's zone is known (else read as UTC)
    zone_known: bool

    @property
    def today(self) -> date:
        return self.now.date()

    def skew(self, local: datetime) -> float | None:
        """Seconds our clock is ahead of the server's (negative: behind), when it is further
        apart than the limit; None when the clocks agree."""
        seconds = (local - self.now).total_seconds()
        limit = SKEW_LIMIT if self.zone_known else NAIVE_SKEW_LIMIT
        return seconds if abs(seconds) > limit else None


def read_clock(server_date: str | None, zone: str | None) -> ServerClock | None:
    """The server clock from ``serverDate`` (and ``serverTimeZoneId``); None when unreadable."""
    if not server_date:
        return None
    try:
        moment = datetime.fromisoformat(server_date.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return ServerClock(moment, True)
    try:
        tz = ZoneInfo(zone) if zone else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    return ServerClock(moment.replace(tzinfo=tz or UTC), tz is not None)


def split_future(slots: Sequence[Slot], clock: ServerClock | None) -> tuple[list[Slot], list[Slot]]:
    """(slots to run, slots whose period starts after the server's date)."""
    if clock is None:
        return list(slots), []
    now: list[Slot] = []
    later: list[Slot] = []
    for slot in slots:
        (later if slot.period.start > clock.today else now).append(slot)
    return now, later
