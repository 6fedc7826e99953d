"""Stage 1 (cells): the computed indicator values land in the right cells; what is skipped is
listed; configuration problems are one RunError naming what to fix."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from dhispatch.runtime.cells import format_value
from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.journal import CellKey
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run.errors import RunError
from dhispatch.runtime.run.produce import produce
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.slots import manual_slots
from tests.run.conftest import STORES
from tests.run.conftest import env_for
from tests.run.conftest import kiribati

NOW = datetime(2024, 6, 20, tzinfo=UTC)


def _unfiltered() -> Plan:
    """Kiribati without its item filter: items without a universal code have no reference."""
    plan = kiribati()
    source = {
        "origin": plan.source.origin,
        "kind": "omsupply",
        "database": {"env": "OMSUPPLY_DB"},
        "items": [],
        "org_unit": {"kind": "name_custom_data", "key": "Dhis2Code"},
    }
    return kiribati(source=source)


def _expected(plan: Plan, db: Path) -> set[tuple[CellKey, str, str, str]]:
    """Every (cell, value, store, item), computed straight from the indicator engine."""
    from dhispatch.runtime.indicators import IndicatorRequest
    from dhispatch.runtime.indicators import compute
    from dhispatch.runtime.sources import open_source

    slots = manual_slots(plan, period="202405", now=NOW)
    out = set()
    with open_source(str(db)) as source:
        scope = source.scope(plan.source.scope)
        stores = {s.id: s for s in scope.stores}
        items = {i.id: i for i in scope.items}
        requests = [
            IndicatorRequest(s.step_id, plan.step(s.step_id).indicator, {}, s.period.start,
                             s.reference)
            for s in slots
        ]  # fmt: skip
        for v in compute(source, scope, requests, tz=plan.target.timezone):
            store, item, step = stores[v.store_id], items[v.item_id], plan.step(v.key)
            if v.value is None or not store.org_unit or item.universal_code is None:
                continue
            key = CellKey(
                item.universal_code, "202405", store.org_unit, step.category_option_combo or ""
            )
            out.add((key, format_value(v.value, plan.target.rounding), store.code, item.code))
    return out


def test_cells_are_the_indicator_values_in_their_dhis2_cells(country: Path) -> None:
    plan = _unfiltered()
    slots = manual_slots(plan, period="202405", now=NOW)
    timings = Timings()
    with produce(plan, env_for(country), slots, timings) as production:
        cells = list(production.cells)
    assert {(c.key, c.value, c.store, c.item) for c in cells} == _expected(plan, country)
    assert len(cells) == len({c.key for c in cells})
    assert {c.indicator for c in cells} == {s.indicator for s in plan.steps}
    assert all(c.origin == plan.step(c.step_id).origin for c in cells)
    # what the scope leaves out is known, per step
    no_code = tuple(
        dc.store_code(j) for j in range(1, STORES + 1) if not dc.store_has_dhis2_code(j)
    )
    assert production.skipped.stores_without_org_unit == no_code == ("S007",)
    no_ref = ("I0005", "I0010")
    assert production.skipped.items_without_reference == {s.id: no_ref for s in plan.steps}
    assert timings.indicators > 0 and timings.payload > 0


def test_an_unset_database_variable_names_the_spec_line(country: Path) -> None:
    plan = kiribati()
    slots = manual_slots(plan, period="202405", now=NOW)
    with pytest.raises(
        RunError, match=r"environment variable OMSUPPLY_DB is not set .*specs/kiribati.push:\d+:\d+"
    ):
        with produce(plan, {}, slots, Timings()):
            pass


def test_a_missing_database_is_a_run_error(tmp_path: Path) -> None:
    plan = kiribati()
    slots = manual_slots(plan, period="202405", now=NOW)
    with pytest.raises(RunError, match="nope.sqlite"):
        with produce(plan, {"OMSUPPLY_DB": str(tmp_path / "nope.sqlite")}, slots, Timings()):
            pass
