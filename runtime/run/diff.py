"""Stage 2 of a run: cells against the journal's last accepted values, one chunk at a time.

The cells a run produces are remembered in a temporary table of the journal, not in Python, so
memory stays bounded by the chunk; the same table answers which cells vanished.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from dhispatch.runtime.cells import Cell
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.journal import CellRecord
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.run.errors import RunError
from dhispatch.runtime.run.summary import CellChange
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.schedule import Slot


class JournalDiff:
    """Classifies cells as new, changed or unchanged; refuses a cell produced twice."""

    def __init__(
        self, journal: Journal, plan_name: str, timings: Timings, target_id: int | None = 0
    ) -> None:
        self._journal = journal
        self._plan_name = plan_name
        self._timings = timings
        self._target = target_id  # None: a target the journal has never seen (all new)

    def __enter__(self) -> JournalDiff:
        self._journal.seen_begin()
        if self._target is not None:
            self._journal.queued_begin(self._plan_name, self._target)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._journal.seen_end()

    def classify(self, chunk: Sequence[Cell]) -> list[CellChange]:
        """Each cell of the chunk with its state and the value the journal last saw accepted."""
        keys = [c.key for c in chunk]
        with self._timings.measure("journal"):
            doubled = self._journal.seen_add(keys)
            if doubled is not None:
                raise RunError(
                    f"two pushes write the same DHIS2 cell {describe(doubled)}; each cell must "
                    "come from one push (check data elements and category options)"
                )
            if self._target is None:
                return [CellChange(cell, "new", None) for cell in chunk]
            known = self._journal.probed_cells(self._plan_name, self._target)
            queued = self._journal.queued_for(keys)
        return [_change(cell, known.get(cell.key), queued.get(cell.key)) for cell in chunk]

    def vanished(self, slots: Sequence[Slot]) -> list[CellRecord]:
        """Cells confirmed before for a (step, period) of these slots that this run did not
        produce."""
        if self._target is None:
            return []
        pairs = {(s.step_id, s.period.id) for s in slots}
        periods = sorted({s.period.id for s in slots})
        with self._timings.measure("journal"):
            return self._journal.vanished(self._plan_name, pairs, periods, self._target)

    def held(self, slots: Sequence[Slot]) -> int:
        """Non-zero values the journal says DHIS2 holds for these slots (the drop guard's base)."""
        if self._target is None:
            return 0
        pairs = {(s.step_id, s.period.id) for s in slots}
        periods = sorted({s.period.id for s in slots})
        with self._timings.measure("journal"):
            return self._journal.held_values(self._plan_name, pairs, periods, self._target)


def _change(cell: Cell, known: CellRecord | None, queued: tuple[str, str] | None) -> CellChange:
    """A cell against the journal's confirmed value and the value waiting in the queue: a value
    already on its way is not sent again; one the queue would overwrite is sent anew."""
    previous = None if known is None else known.value
    if queued is not None and queued[0] == cell.value:
        return CellChange(cell, "waiting", previous, queued[1])
    if queued is None and previous == cell.value:
        return CellChange(cell, "unchanged", previous)
    return CellChange(cell, "new" if known is None else "changed", previous)


def describe(key: CellKey) -> str:
    """A cell as a user reads it: ``(data element X, period P, org unit O[, category …])``."""
    return f"(data element {key.data_element}, period {key.period}, org unit {key.org_unit}" + (
        f", category option combo {key.coc})" if key.coc else ")"
    )
