"""Stage 5 of a run: how it ended, the slots it completed, the summary in the run's row."""

from __future__ import annotations

from collections.abc import Sequence

from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.run.mode import RunMode
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.summary import RunSummary
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.schedule import Slot

# statuses after which catch-up does not go on to later slots (they wait, in order)
HALTING = frozenset({"failed", "unconfirmed", "blocked"})


def run_status(
    mode: RunMode,
    enabled: bool,
    online: bool,
    stopped: bool,
    counts: RunCounts,
    *,
    blocked: bool = False,
    deferred: bool = False,
) -> str:
    """``preview``, ``disabled``, ``dry-run``; ``failed`` (DHIS2 unreachable or refusing every
    request), ``blocked`` (the drop guard stopped it), ``stopped`` (on request),
    ``unconfirmed`` (values left due: DHIS2's answer proved nothing), ``parked`` (a batch set
    aside), ``deferred`` (a slot not run: its period has not started on DHIS2's clock),
    ``conflicts`` (values refused, withheld as DHIS2 would refuse them, or not formattable) or
    ``ok``."""
    if mode is RunMode.PREVIEW:
        return "preview"
    if not enabled:
        return "disabled"
    if mode is RunMode.DRY_RUN:
        return "dry-run"
    if not online:
        return "failed"
    if blocked:
        return "blocked"
    if stopped:
        return "stopped"
    if counts.unconfirmed or counts.failed_batches:
        return "unconfirmed"
    if counts.parked:
        return "parked"
    if deferred:
        return "deferred"
    refused = counts.refused or counts.withheld or counts.unformattable
    return "conflicts" if refused else "ok"


def complete_slots(
    journal: Journal,
    plan_name: str,
    slots: Sequence[Slot],
    run_id: int,
    timings: Timings,
    target_id: int = 0,
) -> None:
    """Mark settled slots done, so catch-up does not run them again."""
    with timings.measure("journal"):
        for s in slots:
            journal.complete_slot(
                plan_name, s.step_id, s.period.id, s.due, s.reference, run_id, target_id
            )


def finish(journal: Journal, run_id: int | None, summary: RunSummary) -> tuple[ConflictRow, ...]:
    """Store the summary in the run's row; the values DHIS2 refused in this run."""
    if run_id is None:
        return ()
    journal.finish_run(run_id, summary.status, summary.as_json())
    return tuple(journal.conflicts(run_id))
