"""What a run did, typed: counts, skipped stores and items, per-store counts, timings, outcome.

The journal stores ``RunSummary.as_json()`` in the run's row; its keys are the ones ``log``,
``report`` and ``--json`` have always read, so journals written before and after read alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

from dhispatch.runtime.cells import Cell
from dhispatch.runtime.journal import CellRecord
from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.schedule import Slot


@dataclass(slots=True)
class RunCounts:
    """Values and batches counted while the run goes; every field is in the summary."""

    values: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    vanished: int = 0
    sent: int = 0
    refused: int = 0
    imported: int = 0
    updated: int = 0
    ignored: int = 0
    deleted: int = 0
    batches: int = 0
    resent_batches: int = 0
    failed_batches: int = 0
    queued: int = 0  # values journalled but not sent (DHIS2 unreachable)
    unconfirmed: int = 0  # values sent whose answer proved nothing: due again
    parked: int = 0  # values of batches parked in this run (``dhispatch log``)
    waiting: int = 0  # values not sent again: already waiting in a due or parked batch
    unformattable: int = 0  # values that cannot be written as a number (skipped, listed)
    to_zero: int = 0  # values DHIS2 holds that this run turns to 0 (the drop guard)
    withheld: int = 0  # not sent: DHIS2 would refuse them (the admission stage)
    registered: int = 0  # (period, org unit) registered complete in this run
    registrations_refused: int = 0  # registrations DHIS2 refused (or that failed: tried again)


@dataclass(frozen=True, slots=True)
class Skipped:
    """Stores without an org unit, and per step the items without a data element reference."""

    stores_without_org_unit: tuple[str, ...] = ()
    items_without_reference: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def as_json(self) -> tuple[dict[str, int], dict[str, Any]]:
        """The summary's ``skipped`` counts and ``skipped_list`` listing."""
        items = {step: list(codes) for step, codes in self.items_without_reference.items() if codes}
        counts = {
            "stores_without_org_unit": len(self.stores_without_org_unit),
            "items_without_reference": sum(len(c) for c in self.items_without_reference.values()),
        }
        return counts, {
            "stores_without_org_unit": list(self.stores_without_org_unit),
            "items_without_reference": items,
        }


@dataclass(frozen=True, slots=True)
class Notices:
    """What the run reports beside its counts: values it could not format, slots it did not
    run because their period has not started on DHIS2's clock, the local clock's skew, and why a
    drop stopped it."""

    unformattable: tuple[str, ...] = ()
    future_slots: tuple[str, ...] = ()
    instead: tuple[str, ...] = ()  # the pushes DHIS2 would take instead (commands)
    clock_skew: float | None = None
    blocked: str | None = None
    parked_batches: int = 0  # parked batches of this plan and target, waiting for an operator

    def as_json(self) -> dict[str, Any]:
        return {
            "unformattable_list": list(self.unformattable),
            "future_slots": list(self.future_slots),
            "instead": list(self.instead),
            "clock_skew_seconds": None if self.clock_skew is None else round(self.clock_skew),
            "blocked": self.blocked,
            "parked_batches": self.parked_batches,
        }


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The outcome of one run; ``skipped`` is None when no cell was computed (nothing due, or
    DHIS2 still refusing the queue)."""

    plan: str
    status: str
    slots: tuple[Slot, ...]
    vanished_policy: str
    counts: RunCounts
    skipped: Skipped | None
    per_store: Mapping[str, Mapping[str, int]]
    timings: Timings
    error: str | None
    withheld_causes: Mapping[str, int] = field(default_factory=dict)  # rule -> cells
    admission: str | None = None  # what the cells were checked against, or why not
    notices: Notices = Notices()

    @property
    def periods(self) -> list[str]:
        return sorted({s.period.id for s in self.slots})

    def as_json(self) -> dict[str, Any]:
        """The journal's (and ``--json``'s) form of the summary."""
        skipped, listing = self.skipped.as_json() if self.skipped else ({}, {})
        return {
            "plan": self.plan,
            "status": self.status,
            "slots": [
                {"step": s.step_id, "period": s.period.id, "due": s.due.isoformat(),
                 "reference": s.reference.isoformat()}
                for s in self.slots
            ],
            "periods": self.periods,
            "vanished_policy": self.vanished_policy,
            "skipped": skipped,
            "skipped_list": listing,
            "per_store": {k: dict(v) for k, v in sorted(self.per_store.items())},
            "timings": self.timings.as_json(),
            "error": self.error,
            "withheld_causes": dict(sorted(self.withheld_causes.items())),
            "admission": self.admission,
            **self.notices.as_json(),
            **asdict(self.counts),
        }  # fmt: skip


CellState = Literal["new", "changed", "unchanged", "waiting"]


@dataclass(frozen=True, slots=True)
class CellChange:
    """One computed cell against the journal: ``new``, ``changed`` (from ``previous``),
    ``unchanged``, or ``waiting`` (the same value already waits in a due or parked batch)."""

    cell: Cell
    state: CellState
    previous: str | None
    queue_status: str | None = None  # waiting: the status of the batch it waits in

    @property
    def to_zero(self) -> bool:
        """A value DHIS2 holds (per the journal) that this change turns to 0."""
        return self.state == "changed" and not is_zero(self.previous) and is_zero(self.cell.value)


def is_zero(value: str | None) -> bool:
    return value is not None and value.lstrip("-").strip("0").strip(".") == ""


@dataclass(frozen=True, slots=True)
class RunResult:
    """A run's summary and what the CLI (or a console) shows beside it."""

    run_id: int | None
    summary: RunSummary
    conflicts: tuple[ConflictRow, ...] = ()
    changes: tuple[CellChange, ...] = ()  # preview only: every computed cell
    vanished: tuple[CellRecord, ...] = ()

    @property
    def status(self) -> str:
        return self.summary.status

    @property
    def refused(self) -> int:
        return self.summary.counts.refused
