"""The explanation of one pushed value: the runtime's ``explain`` (every ledger line behind the
value, and the rule applied) when this build has it, else the value recomputed in the stock
database exactly as ``dhispatch indicators`` gives it, saying that the ledger view is missing."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dhispatch.errors import DhispatchError
from dhispatch.runtime.plan import Plan

EXPLAIN_MODULE = "dhispatch.runtime.indicators.explain"


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of foreign text under column names (rendered escaped)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    heading: str
    tables: tuple[Table, ...]
    facts: tuple[tuple[str, str], ...] = ()
    note: str | None = None
    error: str | None = None


def explain_value(
    plan: Plan, env: Mapping[str, str], store: str, item: str, step_id: str, period: str
) -> Explanation:
    """Where the value of ``store`` × ``item`` for ``step_id`` in ``period`` comes from."""
    heading = f"store {store} × item {item}, {step_id}, period {period}"
    try:
        return _explain(plan, env, store, item, step_id, period, heading)
    except (DhispatchError, KeyError) as exc:
        return Explanation(heading, (), error=str(exc).strip("'\""))
    except Exception as exc:  # noqa: BLE001 - a page says what failed, never a traceback
        return Explanation(heading, (), error=f"internal error: {type(exc).__name__}: {exc}")


def _explain(
    plan: Plan, env: Mapping[str, str], store: str, item: str, step_id: str, period: str,
    heading: str,
) -> Explanation:  # fmt: skip
    from dhispatch.runtime.indicators import IndicatorRequest
    from dhispatch.runtime.run.produce import resolve_database
    from dhispatch.runtime.schedule import manual_slot
    from dhispatch.runtime.sources import open_source

    step = plan.step(step_id)
    target = plan.target
    slot = manual_slot(step, target.period_type, target.timezone, period=period)
    request = IndicatorRequest(step.id, step.indicator, dict(step.params), slot.period.start,
                               slot.reference)  # fmt: skip
    facts = (("indicator", step.indicator), ("period", f"{slot.period.start} .. {slot.period.end}"),
             ("computed at", slot.reference.isoformat()))  # fmt: skip
    with open_source(resolve_database(plan, env)) as source:
        runtime_explain = _runtime_explain()
        if runtime_explain is not None:
            found = runtime_explain(source, plan.source.scope, store, item, [request],
                                    tz=target.timezone)  # fmt: skip
            return Explanation(heading, _tables(found), facts)
        rows = _recompute(source, plan, store, item, request)
    note = (
        "this build has no ledger explanation (dhispatch explain); shown: the value recomputed "
        "from the stock database as `dhispatch indicators` gives it"
    )
    table = Table("value", ("store", "org unit", "item", "indicator", "value"), rows)
    return Explanation(heading, (table,), facts, note=note)


def _runtime_explain() -> Any:
    try:
        module = importlib.import_module(EXPLAIN_MODULE)
    except ImportError:
        return None
    return getattr(module, "explain", None)


def _recompute(
    source: Any, plan: Plan, store: str, item: str, request: Any
) -> tuple[tuple[str, ...], ...]:
    from dhispatch.runtime.indicators import compute
    from dhispatch.runtime.sources import Scope

    scope = source.scope(plan.source.scope)
    stores = tuple(s for s in scope.stores if s.code == store)
    items = tuple(i for i in scope.items if i.code == item)
    if not stores or not items:
        missing = "store" if not stores else "item"
        raise DhispatchError(f"no {missing} with that code in the spec's scope of the database")
    values = compute(source, Scope(stores=stores, items=items), [request], tz=plan.target.timezone)
    return tuple(
        (store, stores[0].org_unit or "", item, request.indicator, _text(v.value)) for v in values
    )


def _text(value: float | None) -> str:
    if value is None:
        return "no value"
    return str(int(value)) if value == int(value) else f"{value:.9f}".rstrip("0").rstrip(".")


def _tables(found: Any) -> tuple[Table, ...]:
    """Every list of records in the runtime's explanation as a table, whatever its fields."""
    is_record = dataclasses.is_dataclass(found) and not isinstance(found, type)
    data = dataclasses.asdict(found) if is_record else dict(found)
    out = []
    for name, value in data.items():
        if isinstance(value, list | tuple) and value and isinstance(value[0], dict):
            columns = tuple(value[0])
            rows = tuple(tuple(_cell(r.get(c)) for c in columns) for r in value)
            out.append(Table(name.replace("_", " "), columns, rows))
    scalars = tuple(
        (k.replace("_", " "), _cell(v)) for k, v in data.items() if not isinstance(v, list | tuple)
    )
    return (Table("about", ("field", "value"), scalars), *out)


def _cell(value: object) -> str:
    return "" if value is None else str(value)
