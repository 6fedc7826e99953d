"""Each preflight rule on a hand-made plan and export: the right code at the right origin."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dhispatch.compiler.preflight import PreflightInputError
from dhispatch.compiler.preflight import ResolvedScope
from dhispatch.compiler.preflight import preflight as preflight_of
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import validate_plan

PATH = "specs/mini.push"


def preflight(
    plan: dict[str, Any], export: Any, scope: ResolvedScope | None = None
) -> list[Diagnostic]:
    """Preflight of a plan document (the tests edit plans as JSON, then type them)."""
    return preflight_of(Plan.from_json(plan), export, scope)


def make_plan() -> dict[str, Any]:
    step = {
        "id": "stock_on_hand",
        "origin": f"{PATH}:10:1",
        "indicator": "stock_on_hand",
        "params": {},
        "paused": False,
        "interval": {"kind": "monthly", "day": 1},
        "basis": "previous_month",
        "data_element": {"kind": "item_field", "field": "universal_code"},
        "category_option_combo": "cocSOH00001",
        "origins": {"category_option_combo": f"{PATH}:10:22"},
    }
    adjust = {
        **copy.deepcopy(step),
        "id": "adjustments",
        "origin": f"{PATH}:11:1",
        "indicator": "adjustments",
        "basis": "current_day",
        "data_element": {"kind": "fixed", "id": "deADJ000001"},
        "category_option_combo": None,
        "origins": {"data_element": f"{PATH}:11:20", "basis": f"{PATH}:11:50"},
    }
    plan = {
        "plan_version": "dhispatch/plan/v1",
        "metadata": {"compiler_version": "t", "spec_path": PATH, "spec_sha256": "0" * 64},
        "name": "mini",
        "target": {
            "origin": f"{PATH}:1:1",
            "enabled": True,
            "url": "http://127.0.0.1:1",
            "insecure": False,
            "auth": {"kind": "token", "token": {"env": "PAT"}},
            "data_set": "dsMini00001",
            "id_schemes": {
                "data_element": "UID",
                "org_unit": "UID",
                "category_option_combo": "UID",
            },
            "period_type": "Monthly",
            "period_format": "YYYYMM",
            "rounding": 0,
            "timezone": "UTC",
            "origins": {"data_set": f"{PATH}:3:5", "period_format": f"{PATH}:4:5"},
        },
        "source": {
            "origin": f"{PATH}:6:1",
            "kind": "omsupply",
            "database": {"value": "x.sqlite"},
            "items": [],
            "org_unit": {"kind": "store_code"},
        },
        "setup": {"mode": "category_option_combo", "origin": f"{PATH}:8:1"},
        "vanished": "keep",
        "steps": [step, adjust],
    }
    validate_plan(plan)
    return plan


def make_export() -> dict[str, Any]:
    return {
        "dataSets": [
            {
                "id": "dsMini00001",
                "name": "Mini",
                "periodType": "Monthly",
                "openFuturePeriods": 1,
                "dataSetElements": [
                    {"dataElement": {"id": "deSOH000001"}},
                    {"dataElement": {"id": "deADJ000001"}},
                ],
                "organisationUnits": [{"id": "ou000000001"}],
            }
        ],
        "dataElements": [
            {
                "id": "deSOH000001",
                "valueType": "NUMBER",
                "aggregationType": "LAST",
                "zeroIsSignificant": True,
                "categoryCombo": {"id": "ccStock0001"},
            },
            {
                "id": "deADJ000001",
                "valueType": "INTEGER",
                "aggregationType": "SUM",
                "zeroIsSignificant": True,
                "categoryCombo": {"id": "bjDvmb4bfuf"},
            },
            {"id": "deOther0001", "valueType": "NUMBER", "categoryCombo": {"id": "bjDvmb4bfuf"}},
        ],  # fmt: skip
        "categoryCombos": [
            {"id": "ccStock0001", "name": "Stock", "categoryOptionCombos": [{"id": "cocSOH00001"}]},
            {"id": "bjDvmb4bfuf", "name": "default"},
            {"id": "ccOther0001", "name": "Other"},
        ],
        "categoryOptionCombos": [
            {"id": "HllvX50cXC0", "name": "default", "categoryCombo": {"id": "bjDvmb4bfuf"}},
            {"id": "cocSOH00001", "name": "SOH"},
            {"id": "cocOther001", "name": "Other", "categoryCombo": {"id": "ccOther0001"}},
        ],
        "organisationUnits": [{"id": "ou000000001"}, {"id": "ou000000002"}],
    }


SCOPE = ResolvedScope(
    elements={"stock_on_hand": [("I0001", "deSOH000001")], "adjustments": []},
    org_units=[("S001", "ou000000001")],
)


def found(diagnostics: list[Any]) -> set[tuple[str, str]]:
    return {(d.code, d.span.origin) for d in diagnostics}


def test_clean_plan_passes() -> None:
    assert preflight(make_plan(), make_export(), SCOPE) == []
    assert preflight(make_plan(), make_export()) == []


def test_missing_data_set_stops_at_the_data_set_line() -> None:
    export = make_export()
    export["dataSets"][0]["id"] = "dsMini00002"
    diagnostics = preflight(make_plan(), export)
    assert found(diagnostics) == {("E901", f"{PATH}:3:5")}
    assert diagnostics[0].hint == "did you mean 'dsMini00002'?"


def test_each_broken_fact_is_reported_at_its_line() -> None:
    export = make_export()
    ds = export["dataSets"][0]
    ds["periodType"] = "Weekly"
    ds["openFuturePeriods"] = 0
    ds["organisationUnits"] = []
    export["dataElements"] = export["dataElements"][1:]  # deSOH000001 is gone
    export["categoryOptionCombos"][1]["categoryCombo"] = {"id": "ccOther0001"}
    export["categoryCombos"][0]["categoryOptionCombos"] = []
    scope = ResolvedScope(
        elements={"stock_on_hand": [("I0001", "deSOH000001")]},
        org_units=[("S001", "ou000000001"), ("S009", "ouMissing01")],
    )
    diagnostics = preflight(make_plan(), export, scope)
    assert found(diagnostics) == {
        ("E902", f"{PATH}:4:5"),  # period type
        ("E911", f"{PATH}:11:50"),  # current_day without open future periods
        ("E903", f"{PATH}:10:1"),  # data element missing (item I0001)
        ("E908", f"{PATH}:6:1"),  # org unit not assigned
        ("E907", f"{PATH}:6:1"),  # org unit missing
    }
    messages = " ".join(d.message for d in diagnostics)
    assert "item I0001" in messages and "store S009" in messages


def test_coc_of_another_combo_without_and_with_items() -> None:
    export = make_export()
    plan = make_plan()
    plan["steps"][0]["category_option_combo"] = "cocOther001"
    assert found(preflight(plan, export)) == {("E906", f"{PATH}:10:22")}
    with_items = preflight(plan, export, SCOPE)
    assert found(with_items) == {("E906", f"{PATH}:10:22")}
    assert "not in the category combo ccStock0001" in with_items[0].message
    plan["steps"][0]["category_option_combo"] = "cocNope0001"
    assert found(preflight(plan, export)) == {("E905", f"{PATH}:10:22")}


def test_value_types_and_warnings() -> None:
    export = make_export()
    plan = make_plan()
    plan["target"]["rounding"] = None
    adj = export["dataElements"][1]
    adj["valueType"] = "INTEGER_ZERO_OR_POSITIVE"
    soh = export["dataElements"][0]
    soh["valueType"] = "INTEGER"
    soh["zeroIsSignificant"] = False
    soh["aggregationType"] = "SUM"
    diagnostics = preflight(plan, export, SCOPE)
    assert found(diagnostics) == {
        ("E909", f"{PATH}:10:1"),  # INTEGER without rounding
        ("E909", f"{PATH}:11:1"),
        ("E910", f"{PATH}:11:1"),  # adjustments can be negative
        ("W912", f"{PATH}:10:1"),  # zeros dropped
        ("W913", f"{PATH}:10:1"),  # snapshot into SUM
    }
    assert {d.severity for d in diagnostics if d.code.startswith("W")} == {"warning"}


def test_disaggregated_element_without_coc_is_an_error() -> None:
    plan = make_plan()
    plan["steps"][0]["category_option_combo"] = None
    assert found(preflight(plan, make_export(), SCOPE)) == {("E906", f"{PATH}:10:1")}


@pytest.mark.parametrize("export", [[], {"dataSets": {}}, "x"])
def test_unreadable_exports_are_input_errors(export: Any) -> None:
    with pytest.raises(PreflightInputError):
        preflight(make_plan(), export)
