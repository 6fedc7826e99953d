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

    def __init__(self, journal: Journal, plan_name: str, timings: Timings) -> None:
        self._journal = journal
        self._plan_name = plan_name
        self._timings = timings

    def __enter__(self) -> JournalDiff:
        self._journal.seen_begin()
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
            known = self._journal.cells_for(self._plan_name, keys)
        changes = []
        for cell in chunk:
            previous = known.get(cell.key)
            if previous is None:
                changes.append(CellChange(cell, "new", None))
            elif previous.value != cell.value:
                changes.append(CellChange(cell, "changed", previous.value))
            else:
                changes.append(CellChange(cell, "unchanged", previous.value))
        return changes

    def vanished(self, slots: Sequence[Slot]) -> list[CellRecord]:
        """Cells pushed before for a (step, period) of these slots that this run did not produce."""
        pairs = {(s.step_id, s.period.id) for s in slots}
        periods = sorted({s.period.id for s in slots})
        with self._timings.measure("journal"):
            return self._journal.vanished(self._plan_name, pairs, periods)


def describe(key: CellKey) -> str:
    """A cell as a user reads it: ``(data element X, period P, org unit O[, category …])``."""
    return f"(data element {key.data_element}, period {key.period}, org unit {key.org_unit}" + (
        f", category option combo {key.coc})" if key.coc else ")"
    )
