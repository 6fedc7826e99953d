"""Which of a run's slots are settled: a slot completes only when every value of it is confirmed
or refused by an import summary that names it, or parked (set aside for an operator). A value
left due — an outage, an answer that proved nothing, a value still waiting in a queued batch, a
refusal because its period is not open yet — keeps its slot due, so catch-up runs it again."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from dhispatch.runtime.schedule import Slot


@dataclass(slots=True)
class SlotLedger:
    """(step, period) pairs with a value not settled in this run."""

    unsettled: set[tuple[str, str]] = field(default_factory=set)
    whole_run: bool = False  # nothing of the run can be trusted settled (it stopped early)
    # (period, org unit) with a value DHIS2 does not hold: due, refused, parked or waiting
    unconfirmed: set[tuple[str, str]] = field(default_factory=set)

    def values_due(self, payload: Iterable[Mapping[str, Any]]) -> None:
        """These values were not settled (still due, or never sent)."""
        for v in payload:
            self.unsettled.add((str(v.get("step", "")), str(v.get("period", ""))))
            self.unconfirmed.add((str(v.get("period", "")), str(v.get("orgUnit", ""))))

    def values_unconfirmed(self, payload: Iterable[Mapping[str, Any]]) -> None:
        """These values settle their slot (refused, parked) but DHIS2 does not hold them."""
        for v in payload:
            self.unconfirmed.add((str(v.get("period", "")), str(v.get("orgUnit", ""))))

    def cell_due(self, step_id: str, period: str) -> None:
        self.unsettled.add((step_id, period))

    def settled(self, slots: Sequence[Slot]) -> list[Slot]:
        """The slots to mark completed."""
        if self.whole_run:
            return []
        return [s for s in slots if (s.step_id, s.period.id) not in self.unsettled]
