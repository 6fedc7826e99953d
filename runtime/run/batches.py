"""Stage 3 of a run: the cells worth sending, grouped into batches of the batch size.

New and changed cells are sent (unchanged ones too with ``force``; never a value already waiting
in a due batch); vanished cells become batches of zeros or deletions as the plan's ``vanished``
policy says (``keep`` sends nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dhispatch.runtime.journal import CellRecord
from dhispatch.runtime.plan import Step
from dhispatch.runtime.run.summary import CellChange

UPSERT = "CREATE_AND_UPDATE"
DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Batch:
    """Data values (each with its provenance) to send in one request, and how DHIS2 applies
    them (``CREATE_AND_UPDATE`` or ``DELETE``)."""

    payload: list[dict[str, Any]]
    strategy: str = UPSERT


class Batcher:
    """Collects the payloads of sendable changes and hands out full batches."""

    def __init__(self, size: int, *, force: bool = False) -> None:
        self._size = size
        self._force = force
        self._payload: list[dict[str, Any]] = []

    def add(self, changes: Iterable[CellChange]) -> Iterator[Batch]:
        """The batches that the changes fill up (unchanged cells only with ``force``)."""
        for change in changes:
            if change.state in ("new", "changed") or (self._force and change.state == "unchanged"):
                self._payload.append(change.cell.payload())
                if len(self._payload) >= self._size:
                    yield self._take()

    def rest(self) -> Batch | None:
        """The last, partly filled batch (None when nothing is left)."""
        return self._take() if self._payload else None

    def _take(self) -> Batch:
        batch, self._payload = Batch(self._payload), []
        return batch


def vanished_batches(
    records: Iterable[CellRecord], policy: str, steps: Mapping[str, Step], size: int
) -> list[Batch]:
    """What the policy sends for vanished cells: zeros (once: a zeroed cell is not resent), or
    deletions; nothing for ``keep``."""
    if policy == "keep":
        return []
    if policy == "delete":
        payload = [_payload(r, r.value, steps) for r in records]
    else:
        payload = [_payload(r, "0", steps) for r in records if r.value != "0"]
    strategy = DELETE if policy == "delete" else UPSERT
    return [Batch(payload[i : i + size], strategy) for i in range(0, len(payload), size)]


def _payload(record: CellRecord, value: str, steps: Mapping[str, Step]) -> dict[str, Any]:
    step = steps.get(record.step_id)
    out: dict[str, Any] = {
        "dataElement": record.key.data_element,
        "period": record.key.period,
        "orgUnit": record.key.org_unit,
        "value": value,
        "step": record.step_id,
        "indicator": step.indicator if step else "",
        "origin": step.origin if step else "",
        "store": record.store,
        "item": record.item,
    }
    if record.key.coc:
        out["categoryOptionCombo"] = record.key.coc
    if record.key.aoc:
        out["attributeOptionCombo"] = record.key.aoc
    return out
