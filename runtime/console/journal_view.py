"""Read-only looks at the journal for the console's pages: a plan's target, its runs, and every
cell the journal knows for it — confirmed, refused or waiting — with its provenance."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dhispatch.runtime.journal import BatchRow
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import JournalError
from dhispatch.runtime.journal import RunRow
from dhispatch.runtime.journal import cell_key
from dhispatch.runtime.plan import Plan

RUNS_SCANNED = 50  # refusals are looked for in a plan's latest runs only


@contextmanager
def open_journal(state: Path) -> Iterator[Journal | None]:
    """The journal opened read-only (no lock, nothing written); None when none exists yet."""
    try:
        journal = Journal.open(state, readonly=True)
    except JournalError as exc:
        if exc.cause == "missing":
            yield None
            return
        raise
    with journal:
        yield journal


def target_of(journal: Journal, plan: Plan, env: Mapping[str, str]) -> int | None:
    """The plan's target id in the journal (None: never pushed there)."""
    from dhispatch.runtime.run.target import resolve_target

    return resolve_target(journal, plan, env, create=False)


def plan_runs(journal: Journal, plan: Plan, target: int | None) -> list[RunRow]:
    """The plan's runs for its target, newest first."""
    if target is None:
        return []
    return [r for r in journal.runs() if r.plan_name == plan.name and r.target_id == target]


@dataclass(frozen=True, slots=True)
class Entry:
    """One DHIS2 cell as the journal knows it: ``confirmed`` (DHIS2 holds ``value``),
    ``refused`` (``note`` says why) or ``waiting`` (in a due or parked batch)."""

    key: CellKey
    value: str
    store: str
    item: str
    step: str
    state: str
    note: str = ""


def entries(journal: Journal, plan: Plan, target: int | None) -> dict[CellKey, Entry]:
    """Every cell of the plan's target: waiting wins over refused, refused over confirmed."""
    if target is None:
        return {}
    confirmed = journal.cells(plan.name, target_id=target)
    out = {
        k: Entry(k, r.value, r.store, r.item, r.step_id, "confirmed") for k, r in confirmed.items()
    }
    batches: dict[int, BatchRow | None] = {}
    for run in plan_runs(journal, plan, target)[:RUNS_SCANNED]:
        for conflict in journal.conflicts(run.id):
            if conflict.batch_id not in batches:
                batches[conflict.batch_id] = journal.batch(conflict.batch_id)
            value = _payload_value(batches[conflict.batch_id], conflict.idx)
            if value is None:
                continue  # a batch-wide conflict, a pruned payload, or a value never sent
            key = cell_key(value)
            known = confirmed.get(key)
            confirmed_since = known is not None and known.run_id >= conflict.run_id
            if confirmed_since or out.get(key, _NONE).state == "refused":
                continue  # runs come newest first: a newer refusal was already seen
            note = f"{conflict.code or ''} {conflict.message}".strip()
            out[key] = _entry(key, value, "refused", note)
    queued = journal.due_batches(plan.name, target) + journal.parked_batches(plan.name, target)
    for batch in queued:
        for value in batch.payload:
            key = cell_key(value)
            out[key] = _entry(key, value, "waiting", f"batch {batch.id} {batch.status}")
    return out


_NONE = Entry(CellKey("", "", "", ""), "", "", "", "", "none")


def _payload_value(batch: BatchRow | None, idx: int | None) -> dict[str, object] | None:
    if batch is None or idx is None or not 0 <= idx < len(batch.payload):
        return None
    return batch.payload[idx]


def _entry(key: CellKey, value: Mapping[str, object], state: str, note: str) -> Entry:
    return Entry(
        key, str(value.get("value", "")), str(value.get("store", "")),
        str(value.get("item", "")), str(value.get("step", "")), state, note,
    )  # fmt: skip
