"""Seconds per stage of a run (indicators, payload, journal, HTTP, admission), measured by a
`with` block."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

Stage = Literal["indicators", "payload", "journal", "http", "admission"]


@dataclass(slots=True)
class Timings:
    """Seconds spent per stage, for the summary, the report and the benchmark."""

    indicators: float = 0.0
    payload: float = 0.0
    journal: float = 0.0
    http: float = 0.0
    admission: float = 0.0  # the write rules: metadata (cached), approvals, the checks
    total: float = 0.0

    def measure(self, stage: Stage) -> Stopwatch:
        """``with timings.measure("journal"): …`` adds the block's seconds to that stage (also
        when it raises); the stopwatch keeps them in ``seconds``."""
        return Stopwatch(self, stage)

    def as_json(self) -> dict[str, float]:
        """The summary's ``timings`` object (4 decimals, as the journal has always stored it)."""
        return {
            "indicators": round(self.indicators, 4),
            "payload": round(self.payload, 4),
            "journal": round(self.journal, 4),
            "http": round(self.http, 4),
            "admission": round(self.admission, 4),
            "total": round(self.total, 4),
        }


class Stopwatch:
    """The context manager of ``Timings.measure``: a class, not a generator, because the cell
    stream enters one twice per computed value."""

    __slots__ = ("_stage", "_started", "_timings", "seconds")

    def __init__(self, timings: Timings, stage: Stage) -> None:
        self._timings = timings
        self._stage = stage
        self._started = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self._started
        setattr(self._timings, self._stage, getattr(self._timings, self._stage) + self.seconds)
