"""The drop guard: a run that would turn more than a set share of the values DHIS2 holds (from
this journal) to 0, or delete or zero them as vanished, stops before sending anything — a
source emptied for re-initialisation once overwrote 379 real values with 0 and exited 0."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dhispatch.runtime.journal import CellRecord
from dhispatch.runtime.run.summary import is_zero

DEFAULT_MAX_DROP = 0.20


@dataclass(frozen=True, slots=True)
class DropGuard:
    """``max_share`` of the held non-zero values a run may drop; ``accept`` lets it through."""

    max_share: float = DEFAULT_MAX_DROP
    accept: bool = False

    def verdict(self, held: int, to_zero: int, vanishing: int) -> str | None:
        """Why the run must stop, or None."""
        dropped = to_zero + vanishing
        if self.accept or held <= 0 or dropped <= 0 or dropped <= self.max_share * held:
            return None
        what = " and ".join(
            part
            for part in (
                f"turn {to_zero} to 0" if to_zero else "",
                f"remove {vanishing} that vanished" if vanishing else "",
            )
            if part
        )
        return (
            f"this run would {what} of the {held} non-zero values DHIS2 holds for its periods "
            f"({dropped / held:.0%}, more than {self.max_share:.0%}); nothing was sent. Check "
            "the stock database (emptied, being re-initialised, a mapping changed?); if the drop "
            "is real, run again with --accept-drop"
        )


def vanishing(records: Sequence[CellRecord], policy: str) -> int:
    """Non-zero values the vanished policy would zero or delete (``keep`` touches none)."""
    if policy == "keep":
        return 0
    return sum(1 for r in records if not is_zero(r.value))
