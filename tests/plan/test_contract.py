"""The plan contract: one catalogue that the schema, the compiler, preflight and the runtime share,
and a typed plan that says exactly what the JSON says."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from dhispatch.compiler.preflight import preflight
from dhispatch.runtime.plan import INDICATORS
from dhispatch.runtime.plan import PARAMETERS
from dhispatch.runtime.plan import PERIOD_TYPES
from dhispatch.runtime.plan import catalogue
from dhispatch.runtime.plan import load_plan
from dhispatch.runtime.plan import parse_plan
from dhispatch.runtime.plan import schema_path
from tests.plans import ORIGIN
from tests.plans import plan_document

GOLDEN_PLANS = sorted((Path(__file__).parents[1] / "golden" / "ok").glob("*.plan.json"))
SCHEMA = json.loads(schema_path().read_text(encoding="utf-8"))
DEFS = SCHEMA["$defs"]


def _enum(*path: str) -> list[Any]:
    node: Any = DEFS
    for key in path:
        node = node[key]
    return list(node["enum"])


def test_the_schema_lists_exactly_the_catalogue() -> None:
    assert _enum("step", "properties", "indicator") == list(INDICATORS)
    assert _enum("period_type") == list(PERIOD_TYPES)
    assert _enum("step", "properties", "basis") == list(catalogue.BASES)
    assert SCHEMA["properties"]["setup"]["properties"]["mode"]["enum"] == list(catalogue.MODES)
    assert sorted(_enum("item_field")) == sorted(catalogue.ITEM_FIELDS)
    assert SCHEMA["properties"]["vanished"]["enum"] == list(catalogue.VANISHED)
    assert set(DEFS["params"]["properties"]) == set(PARAMETERS)
    assert DEFS["params"]["properties"]["soh"]["enum"] == list(catalogue.SOH_KINDS)
    intervals = [o["properties"]["kind"] for o in DEFS["interval"]["oneOf"]]
    kinds = [k for i in intervals for k in i.get("enum", [i.get("const")])]
    assert sorted(kinds) == sorted(catalogue.INTERVALS)
    weekly = next(o for o in DEFS["interval"]["oneOf"] if o["properties"]["kind"].get("const"))
    assert weekly["properties"]["weekday"]["enum"] == list(catalogue.WEEKDAYS)


def test_every_indicator_parameter_is_in_the_catalogue() -> None:
    assert {p for i in INDICATORS.values() for p in i.params} == set(PARAMETERS)


def _sum_export(indicators: list[str]) -> dict[str, Any]:
    """A data set whose elements (one per indicator) all aggregate by SUM."""
    return {
        "dataSets": [
            {
                "id": "QX4ZTUbOt3a",
                "periodType": "Monthly",
                "openFuturePeriods": 1,
                "dataSetElements": [
                    {"dataElement": {"id": f"de{n:09d}"}} for n in range(len(indicators))
                ],
            }
        ],
        "dataElements": [
            {"id": f"de{n:09d}", "code": f"DE_{name}", "valueType": "NUMBER",
             "aggregationType": "SUM", "zeroIsSignificant": True,
             "categoryCombo": {"id": "bjDvmb4bfuf"}}
            for n, name in enumerate(indicators)
        ],
        "categoryCombos": [{"id": "bjDvmb4bfuf", "name": "default"}],
        "categoryOptionCombos": [
            {"id": "HllvX50cXC0", "name": "default", "categoryCombo": {"id": "bjDvmb4bfuf"}}
        ],
    }  # fmt: skip


def test_preflight_warns_about_summed_snapshots_exactly_as_the_catalogue_says() -> None:
    # preflight once kept its own snapshot list, without stock_expired and stocked_out (which the
    # runtime computes as levels at R); W913 must follow the one catalogue for every indicator
    names = list(INDICATORS)
    steps = [
        {"id": name, "indicator": name, "origin": f"test.push:{n + 1}:1",
         "data_element": {"kind": "fixed", "id": f"DE_{name}"}, "params": {}}
        for n, name in enumerate(names)
    ]  # fmt: skip
    plan = parse_plan(plan_document({"steps": steps}))
    warned = {d.span.line for d in preflight(plan, _sum_export(names)) if d.code == "W913"}
    assert {names[line - 1] for line in warned} == {n for n, i in INDICATORS.items() if i.snapshot}
    assert INDICATORS["stock_expired"].snapshot and INDICATORS["stocked_out"].snapshot


@pytest.mark.parametrize("path", GOLDEN_PLANS, ids=lambda p: p.name)
def test_the_typed_plan_says_what_the_json_says(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    plan = load_plan(path)
    assert plan.name == doc["name"] and plan.vanished == doc["vanished"]
    assert plan.metadata.spec_sha256 == doc["metadata"]["spec_sha256"]
    raw_targets = doc.get("targets") or [doc["target"]]
    assert plan.target == plan.named_targets[0]
    assert len(plan.named_targets) == len(raw_targets)
    for typed, target in zip(plan.named_targets, raw_targets, strict=True):
        assert (typed.url, typed.data_set, typed.timezone, typed.name, typed.enabled) == (
            target["url"], target["data_set"], target["timezone"], target.get("name"),
            target["enabled"],
        )  # fmt: skip
        assert typed.rounding == target["rounding"]
        assert typed.id_schemes.as_json() == target["id_schemes"]
        assert typed.attribute_option_combo == target.get("attribute_option_combo")
        assert typed.complete_registration == target.get("complete_registration", False)
        assert plan.for_target(typed).target is typed
    assert plan.source.database.env == doc["source"]["database"].get("env")
    assert [f.kind for f in plan.source.scope.items] == [f["kind"] for f in doc["source"]["items"]]
    assert plan.source.scope.org_unit.kind == doc["source"]["org_unit"]["kind"]
    assert [s.id for s in plan.steps] == [s["id"] for s in doc["steps"]]
    for step, raw in zip(plan.steps, doc["steps"], strict=True):
        assert dict(step.params) == raw["params"]
        assert (step.indicator, step.basis, step.paused) == (
            raw["indicator"], raw["basis"], raw["paused"],
        )  # fmt: skip
        assert step.interval.kind == raw["interval"]["kind"]
        assert step.data_element.kind == raw["data_element"]["kind"]
        assert step.category_option_combo == raw["category_option_combo"]
        assert dict(step.origins) == raw.get("origins", {})


def test_a_plan_has_either_one_target_or_named_targets() -> None:
    from dhispatch.runtime.plan import PlanError

    doc = plan_document({})
    both = {**doc, "targets": [{**doc["target"], "name": "production"}]}
    with pytest.raises(PlanError):
        parse_plan(both)
    with pytest.raises(PlanError):
        parse_plan({k: v for k, v in doc.items() if k != "target"})
    nameless = {k: v for k, v in both.items() if k != "target"}
    nameless["targets"] = [doc["target"]]
    with pytest.raises(PlanError):
        parse_plan(nameless)  # each of several targets has its name


def test_the_typed_plan_is_read_only() -> None:
    plan = parse_plan(plan_document({}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.steps[0].params["soh"] = "available"  # type: ignore[index]
    with pytest.raises(TypeError):
        plan.target.origins["url"] = ORIGIN  # type: ignore[index]


def test_the_compiler_writes_the_catalogue_defaults() -> None:
    from dhispatch.compiler import compile_source

    text = (Path(__file__).parents[2] / "specs" / "kiribati.push").read_text(encoding="utf-8")
    text += (
        '\npush stock_expiring { category_option "h9mSLj2ZY99" interval monthly '
        "basis current_day }\n"
    )
    result = compile_source(text, "specs/kiribati.push")
    assert result.plan is not None, result.diagnostics
    expiring = [s for s in result.plan["steps"] if s["indicator"] == "stock_expiring"][-1]
    assert expiring["params"] == {"within_days": PARAMETERS["within_days"].default}


def test_the_schema_types_item_comparisons_as_the_catalogue() -> None:
    """Each field_compare variant of the schema: the fields of one type, that type's operators
    (all but ``is set``) and a value of that type."""
    filters = DEFS["source"]["properties"]["items"]["items"]["oneOf"]
    compares = [
        f["properties"] for f in filters if f["properties"]["kind"] == {"const": "field_compare"}
    ]
    json_type = {"text": "string", "boolean": "boolean", "number": "number"}
    seen = set()
    for variant in compares:
        field = variant["field"]
        fields = DEFS["item_field"]["enum"] if "$ref" in field else field["enum"]
        kinds = {catalogue.FIELD_TYPES[f] for f in fields}
        assert len(kinds) == 1, fields
        kind = kinds.pop()
        seen.add(kind)
        assert variant["op"]["enum"] == [o for o in catalogue.OPERATORS[kind] if o != "is set"]
        assert variant["value"] == {"type": json_type[kind]}
    assert seen == set(catalogue.OPERATORS)
    assert {f for v in compares for f in (DEFS["item_field"]["enum"] if "$ref" in v["field"]
            else v["field"]["enum"])} == set(catalogue.FIELD_TYPES)  # fmt: skip


def test_named_targets_share_the_journal_retention_beside_the_alerts() -> None:
    from dhispatch.compiler import compile_source
    from dhispatch.compiler import plan_to_json

    spec = Path(__file__).parents[1] / "golden" / "ok" / "targets_alerts.push"
    result = compile_source(spec.read_text(encoding="utf-8"), "targets_alerts.push")
    assert result.plan is not None
    plan = parse_plan(json.loads(plan_to_json(result.plan)))
    assert [(t.name, t.keep_payloads) for t in plan.named_targets] == [
        ("production", 30),
        ("staging", 30),
    ]
    assert all(t.complete_registration for t in plan.named_targets)
    assert plan.alerts is not None and plan.alerts.offline_hours == 36
    staging = plan.for_target(plan.named_targets[1])
    assert staging.label == "targets-alerts → staging" and staging.alerts == plan.alerts
