"""A small DHIS2 metadata export and plan for the client tests (independent of the demo country)."""

from __future__ import annotations

from datetime import date
from typing import Any

from dhispatch.runtime.dhis2 import DataValue
from dhispatch.runtime.plan import validate_plan

DATA_SET = "dsClient001"
DEFAULT_COMBO = "bjDvmb4bfuf"
DEFAULT_COC = "HllvX50cXC0"
ADMIN = "admin"
TODAY = date(2024, 6, 15)
PERIOD = "202401"


def element(i: int) -> str:
    return f"deClient{i:03d}"


def org_unit(j: int) -> str:
    return f"ouClient{j:03d}"


def export(elements: int = 20, org_units: int = 5) -> dict[str, Any]:
    """One monthly data set, ``elements`` NUMBER elements, ``org_units`` units under one root."""
    return {
        "dataSets": [
            {
                "id": DATA_SET,
                "code": "CLIENT_DS",
                "name": "Client tests",
                "periodType": "Monthly",
                "openFuturePeriods": 1,
                "categoryCombo": {"id": DEFAULT_COMBO},
                "dataSetElements": [
                    {"dataElement": {"id": element(i)}} for i in range(1, elements + 1)
                ],
                "organisationUnits": [{"id": org_unit(j)} for j in range(1, org_units + 1)],
            }
        ],
        "dataElements": [
            {
                "id": element(i),
                "code": f"DE_{i:03d}",
                "name": f"Element {i}",
                "valueType": "NUMBER",
                "aggregationType": "LAST",
                "zeroIsSignificant": True,
                "categoryCombo": {"id": DEFAULT_COMBO},
            }
            for i in range(1, elements + 1)
        ],
        "categoryCombos": [{"id": DEFAULT_COMBO, "code": "default", "name": "default"}],
        "categoryOptionCombos": [
            {
                "id": DEFAULT_COC,
                "code": "default",
                "name": "default",
                "categoryCombo": {"id": DEFAULT_COMBO},
            }
        ],  # fmt: skip
        "organisationUnits": [{"id": "ouClientRoo", "code": "ROOT", "name": "Root"}]
        + [
            {
                "id": org_unit(j),
                "code": f"OU_{j:03d}",
                "name": f"Unit {j}",
                "parent": {"id": "ouClientRoo"},
            }
            for j in range(1, org_units + 1)
        ],  # fmt: skip
    }


def value(i: int, j: int, v: str, period: str = PERIOD) -> DataValue:
    return DataValue(element(i), period, org_unit(j), None, v)


def plan(url: str, auth: dict[str, Any]) -> dict[str, Any]:
    """A schema-valid plan targeting ``url`` (the origins point at a spec that is not beside us)."""
    path = "specs/client.push"
    result = {
        "plan_version": "dhispatch/plan/v1",
        "metadata": {"compiler_version": "test", "spec_path": path, "spec_sha256": "0" * 64},
        "name": "client-tests",
        "target": {
            "origin": f"{path}:2:1",
            "enabled": True,
            "url": url,
            "insecure": False,
            "auth": auth,
            "data_set": DATA_SET,
            "id_schemes": {
                "data_element": "UID",
                "org_unit": "UID",
                "category_option_combo": "UID",
            },
            "period_type": "Monthly",
            "period_format": "YYYYMM",
            "rounding": None,
            "timezone": "UTC",
            "origins": {},
        },
        "source": {
            "origin": f"{path}:8:1",
            "kind": "omsupply",
            "database": {"value": "none.sqlite"},
            "items": [],
            "org_unit": {"kind": "store_code"},
        },
        "setup": {"mode": "data_element_per_item", "origin": f"{path}:9:1"},
        "vanished": "keep",
        "steps": [
            {
                "id": "stock_on_hand",
                "origin": f"{path}:10:1",
                "indicator": "stock_on_hand",
                "params": {},
                "paused": False,
                "interval": {"kind": "monthly", "day": 1},
                "basis": "previous_month",
                "data_element": {"kind": "item_field", "field": "user_field_1"},
                "category_option_combo": None,
            }
        ],
    }
    validate_plan(result)
    return result
