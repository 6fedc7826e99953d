"""Indicator values to DHIS2 cells: data element resolution, templates, rounding, DHIS2 number
formatting, and the cell (with its provenance) that the journal diffs and batches.

The diff itself (new / changed / unchanged / vanished) runs in the journal's SQLite, chunk by
chunk, so that memory stays bounded by the batch size (``Journal.seen_add``, ``probed_cells``,
``vanished``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP
from decimal import Decimal
from typing import Any
from typing import Protocol

from jinja2 import TemplateError

from dhispatch.errors import DhispatchError
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import Step
from dhispatch.runtime.plan.templates import TemplateCostError
from dhispatch.runtime.plan.templates import compiled

# Below this an indicator's value is floating-point residue of a sum that should be zero.
RESIDUE = 1e-9
# Whole floats below this are exact integers, printed as such (repr switches to an exponent at 1e16)
EXACT = 2.0**53


class ValueBuildError(DhispatchError):
    """A value that cannot be sent (not finite) or a template that cannot be rendered."""


class ItemLike(Protocol):
    """What values need of a source item (runtime.sources' Item satisfies it)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def universal_code(self) -> str | None: ...
    @property
    def fields(self) -> Mapping[str, str]: ...


def format_value(value: float, rounding: int | None) -> str:
    """A DHIS2 NUMBER string: no exponent, no ``-0``, no trailing zeros, half away from zero.

    ``rounding`` is the plan's ``target.rounding``: None keeps the computed value (as its
    shortest round-tripping decimal), n rounds to n decimals.
    """
    if not math.isfinite(value):
        raise ValueBuildError(f"value {value!r} is not a finite number")
    if abs(value) < RESIDUE:
        return "0"
    if value.is_integer() and abs(value) < EXACT:
        # a whole number (most stock quantities): its digits, whatever the rounding, without
        # the Decimal detour (the same text: no exponent below 2**53, and -0 was caught above)
        return str(int(value))
    d = Decimal(repr(float(value)))
    if rounding is not None:
        d = d.quantize(Decimal(1).scaleb(-rounding), rounding=ROUND_HALF_UP)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        return "0"
    return text


def item_field(item: ItemLike, field: str) -> str | None:
    """The value of an item reference field (``universal_code``, ``code``, ``user_field_N``)."""
    if field == "universal_code":
        raw: str | None = item.universal_code
    elif field == "code":
        raw = item.code
    else:
        raw = item.fields.get(field)
    if raw is None:
        return None
    raw = raw.strip()
    return raw or None


@dataclass(frozen=True, slots=True)
class _ItemVars:
    code: str
    name: str
    universal_code: str
    user_field_1: str
    user_field_2: str
    user_field_3: str
    user_field_6: str


def render_template(template: str, item: ItemLike, indicator: str) -> str | None:
    """Render a ``data_element "…{{ item.code }}…"`` template; "" means no reference (None)."""
    fields = item.fields
    ctx = _ItemVars(
        code=item.code,
        name=item.name,
        universal_code=item.universal_code or "",
        user_field_1=fields.get("user_field_1", "") or "",
        user_field_2=fields.get("user_field_2", "") or "",
        user_field_3=fields.get("user_field_3", "") or "",
        user_field_6=fields.get("user_field_6", "") or "",
    )
    try:
        # compiled once, and only once its cost was found bounded (the loader checked too)
        out = compiled(template).render(item=ctx, indicator=indicator).strip()
    except (TemplateError, TemplateCostError) as exc:
        raise ValueBuildError(f"template {template!r} cannot be rendered: {exc}") from exc
    return out or None


class ElementResolver:
    """Resolves a step's data element for an item (fixed, an item field, or a template)."""

    def __init__(self, step: Step) -> None:
        self._rule = step.data_element
        self._indicator = step.indicator

    def __call__(self, item: ItemLike) -> str | None:
        rule = self._rule
        if rule.kind == "fixed":
            return rule.id
        if rule.kind == "item_field":
            return item_field(item, rule.field or "")
        return render_template(rule.template or "", item, self._indicator)


@dataclass(frozen=True, slots=True)
class Cell:
    """One data value the plan would send, with where it came from."""

    key: CellKey
    value: str
    step_id: str
    indicator: str
    origin: str
    store: str
    item: str

    def payload(self) -> dict[str, Any]:
        """The journal/batch form: the DHIS2 data value plus provenance (no secrets)."""
        d: dict[str, Any] = {
            "dataElement": self.key.data_element,
            "period": self.key.period,
            "orgUnit": self.key.org_unit,
            "value": self.value,
            "step": self.step_id,
            "indicator": self.indicator,
            "origin": self.origin,
            "store": self.store,
            "item": self.item,
        }
        if self.key.coc:
            d["categoryOptionCombo"] = self.key.coc
        if self.key.aoc:
            d["attributeOptionCombo"] = self.key.aoc
        return d


def addresses(
    plan: Plan, database: str
) -> tuple[dict[str, list[tuple[str, str]]], list[tuple[str, str]], list[tuple[str, str]]]:
    """Where the plan's values would land, read from the stock database: per step, each
    in-scope item's (code, data element); each mapped store's (code, org unit); and each store
    without an org unit, with why (code, reason)."""
    from dhispatch.runtime.sources import open_source

    with open_source(database) as source:
        scope = source.scope(plan.source.scope)
    elements: dict[str, list[tuple[str, str]]] = {}
    for step in plan.steps:
        resolve = ElementResolver(step)
        pairs = []
        for item in scope.items:
            try:
                element = resolve(item)
            except ValueBuildError as exc:
                raise ValueBuildError(f"{step.origin}: {exc}") from exc
            if element:
                pairs.append((item.code, element))
        elements[step.id] = pairs
    unmapped = [(s.code, s.org_unit_note or "") for s in scope.stores if not s.org_unit]
    return elements, [(s.code, s.org_unit) for s in scope.stores if s.org_unit], unmapped
