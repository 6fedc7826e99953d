"""Typed plans for tests: a partial plan document completed with neutral values, then typed.

Unit tests of one stage (scheduling, cells) give only the fields that stage reads; the rest of
the plan is filled in here so that the stage receives the same typed ``Plan``/``Step`` the
runtime builds from a compiled plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import Step
from dhispatch.runtime.plan import parse_plan

ORIGIN = "test.push:1:1"

STEP: dict[str, Any] = {
    "id": "stock_on_hand",
    "origin": ORIGIN,
    "indicator": "stock_on_hand",
    "params": {},
    "paused": False,
    "interval": {"kind": "monthly", "day": 1},
    "basis": "previous_month",
    "data_element": {"kind": "fixed", "id": "DE_SOH"},
    "category_option_combo": None,
}

TARGET: dict[str, Any] = {
    "origin": ORIGIN,
    "enabled": True,
    "url": "https://dhis2.example.org",
    "insecure": False,
    "auth": {"kind": "basic", "user": {"value": "admin"}, "password": {"env": "DHIS2_PASSWORD"}},
    "data_set": "QX4ZTUbOt3a",
    "id_schemes": {"data_element": "CODE", "org_unit": "CODE", "category_option_combo": "UID"},
    "period_type": "Monthly",
    "period_format": None,
    "rounding": None,
    "timezone": "UTC",
    "origins": {},
}

SOURCE: dict[str, Any] = {
    "origin": ORIGIN,
    "kind": "omsupply",
    "database": {"env": "OMSUPPLY_DB"},
    "items": [],
    "org_unit": {"kind": "store_code"},
}


def plan_document(partial: Mapping[str, Any]) -> dict[str, Any]:
    """A schema-valid plan document: ``partial``'s target settings and steps over the defaults."""
    return {
        "plan_version": "dhispatch/plan/v1",
        "metadata": {"compiler_version": "0", "spec_path": "test.push", "spec_sha256": "0" * 64},
        "name": partial.get("name", "test"),
        "target": {**TARGET, **partial.get("target", {})},
        "source": {**SOURCE, **partial.get("source", {})},
        "setup": {"mode": "single_data_element", "origin": ORIGIN},
        "vanished": partial.get("vanished", "keep"),
        "steps": [{**STEP, **s} for s in partial.get("steps", [STEP])],
    }


def typed_plan(partial: Mapping[str, Any], *, validate: bool = False) -> Plan:
    """The typed plan of ``plan_document(partial)``; not schema-validated unless asked, so that
    a stage's own refusal of a bad value (a basis, a weekday) can be tested."""
    doc = plan_document(partial)
    return parse_plan(doc) if validate else Plan.from_json(doc)


def typed_step(partial: Mapping[str, Any]) -> Step:
    """One typed step: ``partial``'s fields over a neutral monthly stock_on_hand push."""
    return typed_plan({"steps": [partial]}).steps[0]
