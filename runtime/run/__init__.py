"""A run of a plan's slots as named stages: reach DHIS2 → resend the queue → cells → diff against
the journal → admit (withhold what DHIS2 would refuse) → guard → batches → send → record
(``pipeline.execute``), in one of four modes
(``RunMode``), with a typed summary."""

from __future__ import annotations

from dhispatch.runtime.run.errors import RunError
from dhispatch.runtime.run.guard import DEFAULT_MAX_DROP
from dhispatch.runtime.run.mode import RunMode
from dhispatch.runtime.run.pipeline import DEFAULT_BATCH_SIZE
from dhispatch.runtime.run.pipeline import ProgressFn
from dhispatch.runtime.run.pipeline import RunOptions
from dhispatch.runtime.run.pipeline import StopFn
from dhispatch.runtime.run.pipeline import execute
from dhispatch.runtime.run.send import DEFAULT_PARK_AFTER
from dhispatch.runtime.run.summary import CellChange
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.summary import RunResult
from dhispatch.runtime.run.summary import RunSummary
from dhispatch.runtime.run.summary import Skipped

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MAX_DROP",
    "DEFAULT_PARK_AFTER",
    "CellChange",
    "ProgressFn",
    "RunCounts",
    "RunError",
    "RunMode",
    "RunOptions",
    "RunResult",
    "RunSummary",
    "Skipped",
    "StopFn",
    "execute",
]
