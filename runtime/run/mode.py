"""How a run treats DHIS2 and the journal: preview, dry run, push, or a scheduled push."""

from __future__ import annotations

from enum import Enum


class RunMode(Enum):
    """One run mode instead of flags.

    ``PREVIEW`` (``plan``) computes and diffs, records nothing, sends nothing. ``DRY_RUN`` records
    a run and asks DHIS2 to validate (``dryRun=true``) without storing a batch. ``PUSH`` sends and
    journals every batch. ``SCHEDULED`` is a push of due slots that also marks them completed.
    """

    PREVIEW = "preview"
    DRY_RUN = "dry-run"
    PUSH = "push"
    SCHEDULED = "scheduled"

    @property
    def records_run(self) -> bool:
        """Whether the run has a row in the journal."""
        return self is not RunMode.PREVIEW

    @property
    def stores(self) -> bool:
        """Whether batches are journalled and sent for real (an enabled target permitting)."""
        return self in (RunMode.PUSH, RunMode.SCHEDULED)

    @property
    def completes_slots(self) -> bool:
        """Whether a successful run marks its slots done, so catch-up does not run them again."""
        return self is RunMode.SCHEDULED

    def trigger(self, trigger: str) -> str:
        """The journal's trigger text (a dry run says so)."""
        return trigger + " (dry run)" if self is RunMode.DRY_RUN else trigger
