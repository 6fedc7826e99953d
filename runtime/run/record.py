"""Stage 5 of a run: how it ended, the slots it completed, the summary in the run's row."""

from __future__ import annotations

from collections.abc import Sequence

from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.run.mode import RunMode
from dhispatch.runtime.run.summary import RunSummary
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.schedule import Slot


def run_status(mode: RunMode, enabled: bool, online: bool, stopped: bool, refused: int) -> str:
    """``preview``, ``disabled``, ``dry-run``, ``failed`` (DHIS2 unreachable or refusing),
    ``stopped`` (on request), ``conflicts`` (values refused) or ``ok``."""
    if mode is RunMode.PREVIEW:
        return "preview"
    if not enabled:
        return "disabled"
    if mode is RunMode.DRY_RUN:
        return "dry-run"
    if not online:
        return "failed"
    if stopped:
        return "stopped"
    return "conflicts" if refused else "ok"


def complete_slots(
    journal: Journal, plan_name: str, slots: Sequence[Slot], run_id: int, timings: Timings
) -> None:
    """Mark the slots done, so catch-up does not run them again (scheduled runs that reached
    DHIS2 and were not stopped; refused values do not keep a slot due)."""
    with timings.measure("journal"):
        for s in slots:
            journal.complete_slot(plan_name, s.step_id, s.period.id, s.due, s.reference, run_id)


def finish(journal: Journal, run_id: int | None, summary: RunSummary) -> tuple[ConflictRow, ...]:
    """Store the summary in the run's row; the values DHIS2 refused in this run."""
    if run_id is None:
        return ()
    journal.finish_run(run_id, summary.status, summary.as_json())
    return tuple(journal.conflicts(run_id))
