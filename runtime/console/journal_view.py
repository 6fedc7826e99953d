"""Read-only looks at the journal for the console's pages: a plan's target, its runs, and every
cell the journal knows for it — confirmed, refused or waiting — with its provenance; which of the
console's entries a journal target belongs to."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dhispatch.runtime.journal import WITHHELD
from dhispatch.runtime.journal import BatchRow
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import JournalError
from dhispatch.runtime.journal import RunRow
from dhispatch.runtime.journal import cell_key
from dhispatch.runtime.journal import strip_userinfo
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


def by_target(
    journal: Journal, plans: Sequence[Plan], env: Mapping[str, str]
) -> dict[tuple[str, int], Plan]:
    """The console's entries by (plan name, journal target id), for those the journal knows."""
    out = {}
    for plan in plans:
        target = target_of(journal, plan, env)
        if target is not None:
            out[(plan.name, target)] = plan
    return out


def target_names(journal: Journal) -> dict[int, str]:
    """Every journal target's name as the spec gave it, else its server (without userinfo)."""
    names = journal.target_names()
    return {
        tid: names.get(tid) or strip_userinfo(key.url) for tid, key in journal.targets().items()
    }


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
    for run in plan_runs(journal, plan, target)[:RUNS_SCANNED]:  # newest first
        for entry in _refused(journal, plan, run.id):
            known = confirmed.get(entry.key)
            if known is not None and known.run_id >= run.id:
                continue  # confirmed since
            if out.get(entry.key, _NONE).state != "refused":  # a newer refusal was seen first
                out[entry.key] = entry
    queued = journal.due_batches(plan.name, target) + journal.parked_batches(plan.name, target)
    for batch in queued:
        for value in batch.payload:
            key = cell_key(value)
            out[key] = _entry(key, value, "waiting", f"batch {batch.id} {batch.status}")
    return out


def _refused(journal: Journal, plan: Plan, run_id: int) -> list[Entry]:
    """The cells DHIS2 refused in a run, and those the run withheld because DHIS2 would."""
    out = []
    batches: dict[int, BatchRow | None] = {}
    for conflict in journal.conflicts(run_id):
        if conflict.batch_id == WITHHELD:
            continue  # read with their cells below
        if conflict.batch_id not in batches:
            batches[conflict.batch_id] = journal.batch(conflict.batch_id)
        value = _payload_value(batches[conflict.batch_id], conflict.idx)
        if value is not None:  # None: a batch-wide conflict or a pruned payload
            note = f"{conflict.code or ''} {conflict.message}".strip()
            out.append(_entry(cell_key(value), value, "refused", note))
    steps = {s.origin: s.id for s in plan.steps} | {s.indicator: s.id for s in plan.steps}
    for w in journal.withheld(run_id):
        step = steps.get(w.origin or "") or steps.get(w.indicator or "", w.indicator or "")
        note = f"{w.code or ''} {w.message}".strip()
        out.append(Entry(w.key, "", w.store or "", w.item or "", step, "refused", note))
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
