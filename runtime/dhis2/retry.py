"""When and how long to wait before retrying a DHIS2 request.

Only transient failures are retried: timeouts, connection errors, 429 and 5xx. Everything else
(other 4xx, above all 401) is final at once, so a wrong password never loops. Delays grow
exponentially with proportional jitter, are capped, and honour ``Retry-After``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` counts the first try; ``jitter`` is the ± fraction applied to each delay."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5

    def delay(
        self, retry: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        raw = min(self.base_delay * (2 ** (retry - 1)), self.max_delay)
        spread = raw * self.jitter
        value: float = raw + (rng or random).uniform(-spread, spread)
        return min(max(value, 0.0), self.max_delay)


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or 500 <= status <= 599


def parse_retry_after(header: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or HTTP date); None when absent or unreadable."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        from datetime import UTC
        from datetime import datetime

        when = parsedate_to_datetime(header)
        return max((when - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None
