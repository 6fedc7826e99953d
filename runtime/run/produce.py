"""Stage 1 of a run: slots → indicator values computed in the stock database → DHIS2 cells.

The source stays open while the cells stream (values are computed store chunk by store chunk), so
the stage is a context manager; what the scope leaves out (stores without an org unit, items
without a data element) is known before the first cell.
"""

from __future__ import annotations

from collections.abc import Generator
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace
from time import perf_counter
from typing import TYPE_CHECKING

from dhispatch.runtime.cells import Cell
from dhispatch.runtime.cells import ElementResolver
from dhispatch.runtime.cells import ValueBuildError
from dhispatch.runtime.cells import format_value
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import Step
from dhispatch.runtime.run.ahead import Ahead
from dhispatch.runtime.run.errors import RunError
from dhispatch.runtime.run.summary import Skipped
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.schedule import Slot

if TYPE_CHECKING:
    from dhispatch.runtime.indicators import IndicatorRequest
    from dhispatch.runtime.indicators import IndicatorValue
    from dhispatch.runtime.sources import Item
    from dhispatch.runtime.sources import Scope
    from dhispatch.runtime.sources import Source
    from dhispatch.runtime.sources import Store


@dataclass(frozen=True, slots=True)
class Production:
    """The stage's result: what was skipped, the cells as they are computed, and (filled as
    they stream) the values that could not be written as a number; ``at_most`` bounds the cells
    (every slot for every store × item in scope), known before the first."""

    skipped: Skipped
    cells: Generator[Cell, None, None]
    unformattable: list[str]
    at_most: int = 0


@dataclass(frozen=True, slots=True)
class _Targets:
    """The scope resolved for the slots' steps: where each computed value lands."""

    stores: Mapping[str, Store]  # id -> store, only stores with an org unit
    items: Mapping[str, Item]  # id -> item, only items some step has a data element for
    elements: Mapping[str, Mapping[str, str]]  # step id -> item id -> data element
    skipped: Skipped
    scope: Scope  # those stores and items, with the stores' ranges (which pairs get values)


def resolve_database(plan: Plan, env: Mapping[str, str]) -> str:
    """The stock database location: literal, or read from an environment variable."""
    database = plan.source.database
    value = database.resolve(env)
    if value is None:
        raise RunError(
            f"environment variable {database.env} is not set (the spec reads the stock database "
            f"from it, {plan.source.origin})"
        )
    return value


@contextmanager
def produce(
    plan: Plan,
    env: Mapping[str, str],
    slots: Sequence[Slot],
    timings: Timings,
    *,
    require_stores: bool = False,
) -> Iterator[Production]:
    """Open the stock database, resolve the scope, and stream the slots' cells.

    ``require_stores``: a run that would send refuses a scope where no store maps to an org unit
    (a column gone, every code removed) instead of succeeding with nothing, forever."""
    from dhispatch.runtime.sources import SourceError
    from dhispatch.runtime.sources import open_source

    database = resolve_database(plan, env)
    try:
        with open_source(database) as source:
            targets = _resolve(plan, source.scope(plan.source.scope), slots)
            if require_stores and slots and not targets.stores:
                raise RunError(_no_stores(plan, targets.skipped))
            unformattable: list[str] = []
            cells = _cells(plan, source, targets, slots, timings, unformattable)
            try:
                at_most = len(slots) * len(targets.stores) * len(targets.items)
                yield Production(targets.skipped, cells, unformattable, at_most)
            finally:
                cells.close()
    except (SourceError, ValueBuildError) as exc:
        raise RunError(str(exc)) from exc


def _no_stores(plan: Plan, skipped: Skipped) -> str:
    total = len(skipped.stores_without_org_unit)
    rule = plan.source.scope.org_unit.kind
    return (
        f"{plan.source.origin}: 0 of the {total} stores in scope map to a DHIS2 org unit "
        f"(org_unit rule {rule}): nothing would be sent; check the mapping column or codes"
    )


def _resolve(plan: Plan, scope: Scope, slots: Sequence[Slot]) -> _Targets:
    """Each step's data element per item (resolved once, not per store), stores with org units."""
    elements: dict[str, dict[str, str]] = {}
    no_ref: dict[str, tuple[str, ...]] = {}
    for step_id in sorted({s.step_id for s in slots}):
        resolve = ElementResolver(plan.step(step_id))
        found = {item.id: resolve(item) for item in scope.items}
        elements[step_id] = {item: de for item, de in found.items() if de is not None}
        no_ref[step_id] = tuple(i.code for i in scope.items if found[i.id] is None)
    wanted = {item for per_step in elements.values() for item in per_step}
    skipped = Skipped(tuple(s.code for s in scope.stores if not s.org_unit), no_ref)
    stores = {s.id: s for s in scope.stores if s.org_unit}
    items = {i.id: i for i in scope.items if i.id in wanted}
    narrowed = replace(scope, stores=tuple(stores.values()), items=tuple(items.values()))
    return _Targets(stores, items, elements, skipped, narrowed)


def _cells(
    plan: Plan,
    source: Source,
    targets: _Targets,
    slots: Sequence[Slot],
    timings: Timings,
    unformattable: list[str],
) -> Generator[Cell, None, None]:
    """Compute every slot's indicator for the targeted stores × items, and make cells."""
    # looked up at call time, so a benchmark can stand in for the indicator engine
    from dhispatch.runtime import indicators

    if not targets.stores or not targets.items:
        return
    steps = {s.id: s for s in plan.steps}
    by_key = {f"{s.step_id}|{s.period.id}": s for s in slots}
    requests = [_request(steps[slot.step_id], key, slot) for key, slot in by_key.items()]
    engine = Ahead(indicators.compute(source, targets.scope, requests, tz=plan.target.timezone))
    rounding, aoc = plan.target.rounding, plan.target.attribute_option_combo or ""
    makers = {key: _CellMaker(steps[slot.step_id], slot, targets, rounding, aoc)
              for key, slot in by_key.items()}  # fmt: skip
    # the clock is read directly, not through a stopwatch object: this loop runs once per
    # store × item × indicator, and the stage's time is summed once at the end
    clock, building = perf_counter, 0.0
    values = iter(engine)
    try:
        for value in values:
            made = clock()
            try:
                cell = makers[value.key](value)
            except ValueBuildError as exc:
                unformattable.append(str(exc))  # one bad stock line, not the whole country
                continue
            finally:
                building += clock() - made
            if cell is not None:
                yield cell
    finally:
        values.close()  # the engine's thread stops before the source closes
        timings.indicators += engine.seconds
        timings.payload += building


def _request(step: Step, key: str, slot: Slot) -> IndicatorRequest:
    from dhispatch.runtime.indicators import IndicatorRequest

    return IndicatorRequest(
        key=key,
        indicator=step.indicator,
        params=dict(step.params),
        period_start=slot.period.start,
        reference=slot.reference,
    )


class _CellMaker:
    """The cells of one slot's computed values (what is the same for all of them, once)."""

    __slots__ = ("_aoc", "_coc", "_elements", "_items", "_period", "_rounding", "_step",
                 "_stores")  # fmt: skip

    def __init__(
        self, step: Step, slot: Slot, targets: _Targets, rounding: int | None, aoc: str
    ) -> None:
        self._step, self._period = step, slot.period.id
        self._elements = targets.elements[slot.step_id]
        self._stores, self._items = targets.stores, targets.items
        self._rounding, self._aoc = rounding, aoc
        self._coc = step.category_option_combo or ""

    def __call__(self, value: IndicatorValue) -> Cell | None:
        """The cell of one computed value; None when it has no value or no place in DHIS2."""
        if value.value is None:
            return None
        item_id = str(value.item_id)
        element = self._elements.get(item_id)
        store = self._stores.get(str(value.store_id))
        if element is None or store is None:
            return None
        item = self._items[item_id]
        step = self._step
        try:
            text = format_value(float(value.value), self._rounding)
        except ValueBuildError as exc:
            raise ValueBuildError(
                f"{step.origin}: {step.indicator} for store {store.code}, item {item.code}, "
                f"period {self._period}: {exc}"
            ) from exc
        key = CellKey(element, self._period, str(store.org_unit), self._coc, self._aoc)
        return Cell(key, text, step.id, step.indicator, step.origin, store.code, item.code)
