"""The explanation of one pushed value, as ``dhispatch explain`` gives it: the value and the rule
that made it (or why there is none), and every ledger line of the store × item behind it —
counted or left out, and why — with the running balance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dhispatch.errors import DhispatchError
from dhispatch.runtime.plan import Plan

if TYPE_CHECKING:
    from dhispatch.runtime.indicators.explain import Explanation as Found


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
    from dhispatch.runtime.indicators.explain import explain
    from dhispatch.runtime.run.produce import resolve_database
    from dhispatch.runtime.schedule import manual_slot
    from dhispatch.runtime.sources import open_source

    step = plan.step(step_id)
    target = plan.target
    slot = manual_slot(step, target.period_type, target.timezone, period=period)
    request = IndicatorRequest(step.id, step.indicator, dict(step.params), slot.period.start,
                               slot.reference)  # fmt: skip
    with open_source(resolve_database(plan, env)) as source:
        found = explain(source, plan.source.scope, store, item, [request], tz=target.timezone)
    return Explanation(heading, _tables(found), _facts(found, step.indicator))


def _facts(found: Found, indicator: str) -> tuple[tuple[str, str], ...]:
    return (
        ("indicator", indicator),
        ("store", f"{found.store} ({found.store_name}), org unit {found.org_unit or 'none'}"),
        ("item", f"{found.item} ({found.item_name})"
                 + ("" if found.in_range else ", not in the store's range")),
        ("period", f"{found.period_start} .. R = {found.reference.isoformat()} ({found.tz})"),
        ("database", f"{found.database}, open mSupply {found.version}"),
        ("stock now", f"{_n(found.stock_now)} (available {_n(found.available_now)})"),
    )  # fmt: skip


def _tables(found: Found) -> tuple[Table, ...]:
    values = Table(
        "value", ("indicator", "value", "rule (or why there is none)"),
        tuple((v.indicator, _n(v.value), v.reason or v.rule) for v in found.values),
    )  # fmt: skip
    title = f"ledger lines (opening balance {_n(found.opening)}"
    title += f", {found.earlier_lines} earlier counted lines)" if found.earlier_lines else ")"
    lines = Table(
        title,
        ("invoice", "type", "status", "line", "day", "units", "counted", "balance", "note"),
        tuple((ln.invoice, ln.invoice_type, ln.invoice_status,
               f"{ln.line_type}{' ' + ln.line_status if ln.line_status else ''}",
               "" if ln.day is None else ln.day.isoformat(), _n(ln.units),
               "yes" if ln.counted else "left out", _n(ln.balance), ln.note)
              for ln in found.lines),
    )  # fmt: skip
    return values, lines


def _n(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else f"{value:.9f}".rstrip("0").rstrip(".")
