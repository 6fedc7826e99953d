"""The demo country's DHIS2 metadata export, built from ``runtime/demo/identifiers.py``.

Its IDs are the ones the example specs and the generated stock database use, so the examples'
pushes succeed against ``dhispatch sandbox`` out of the box.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dhispatch.runtime.demo import identifiers as dc

DEMO_METADATA_PATH = Path(__file__).with_name("metadata.json")
KIRIBATI_COC_NAMES = {
    "stock_on_hand": "Stock on hand",
    "average_monthly_consumption": "AMC",
    "days_out_of_stock": "Days out of stock",
}


def kiribati_element_uid(i: int) -> str:
    return f"deKUC{i:06d}"


def vanuatu_soh_uid(i: int) -> str:
    return f"deVSH{i:06d}"


def vanuatu_value_uid(i: int) -> str:
    return f"deVVL{i:06d}"


def _element(uid: str, code: str, name: str, combo: str, aggregation: str) -> dict[str, Any]:
    return {
        "id": uid,
        "code": code,
        "name": name,
        "shortName": name[:50],
        "domainType": "AGGREGATE",
        "valueType": "NUMBER",
        "aggregationType": aggregation,
        "zeroIsSignificant": True,
        "categoryCombo": {"id": combo},
    }


def _data_set(
    uid: str,
    code: str,
    name: str,
    period_type: str,
    open_future: int,
    elements: list[str],
    org_units: list[dict[str, str]],
) -> dict[str, Any]:
    return {
        "id": uid,
        "code": code,
        "name": name,
        "shortName": name[:50],
        "periodType": period_type,
        "openFuturePeriods": open_future,
        "expiryDays": 0,
        "categoryCombo": {"id": dc.DEFAULT_CATEGORY_COMBO},
        "publicAccess": "rwrw----",
        "dataSetElements": [{"dataElement": {"id": e}} for e in elements],
        "organisationUnits": org_units,
    }


def demo_metadata(stores: int = dc.DEMO_STORES, items: int = dc.DEMO_ITEMS) -> dict[str, Any]:
    """A DHIS2 metadata export (JSON-ready) for a demo country of a given size."""
    org_units = _org_units(stores)
    all_ous = [{"id": ou["id"]} for ou in org_units]
    elements, (kiribati, tonga, vanuatu) = _elements(items)
    return {
        "system": {"id": "dhispatch-demo", "version": "2.40.4"},
        "categoryCombos": _category_combos(),
        "categoryOptionCombos": _option_combos(),
        "dataElements": elements,
        "dataSets": [
            _data_set(
                dc.KIRIBATI_DATA_SET,
                "KIRIBATI_STOCK",
                "Kiribati stock indicators",
                "Monthly",
                0,
                kiribati,
                all_ous,
            ),
            _data_set(
                dc.TONGA_DATA_SET,
                "TONGA_STOCK",
                "Tonga stock per item",
                "Monthly",
                1,
                tonga,
                all_ous,
            ),
            _data_set(
                dc.VANUATU_DATA_SET,
                "VANUATU_STOCK",
                "Vanuatu daily stock",
                "Daily",
                1,
                vanuatu,
                all_ous,
            ),
        ],  # fmt: skip
        "organisationUnits": org_units,
        "users": [
            {
                "id": "uAdmin00001",
                "username": dc.ADMIN_USER,
                "firstName": "Sandbox",
                "surname": "Admin",
                "authorities": ["ALL"],
                "organisationUnits": [{"id": dc.ROOT_ORG_UNIT}],
            },
        ],
    }


def _org_units(stores: int) -> list[dict[str, Any]]:
    """The root and one org unit per store (its code is the store's code)."""
    org_units: list[dict[str, Any]] = [
        {"id": dc.ROOT_ORG_UNIT, "code": "ROOT", "name": "Demo country", "shortName": "Demo"}
    ]
    for j in range(1, stores + 1):
        code = dc.store_code(j)
        org_units.append(
            {
                "id": dc.org_unit_uid(j),
                "code": code,
                "name": f"Store {code}",
                "shortName": f"Store {code}",
                "parent": {"id": dc.ROOT_ORG_UNIT},
            }
        )
    return org_units


def _elements(items: int) -> tuple[list[dict[str, Any]], tuple[list[str], list[str], list[str]]]:
    """Every data element, and the UIDs of Kiribati's, Tonga's and Vanuatu's data sets."""
    default, last = dc.DEFAULT_CATEGORY_COMBO, "LAST"
    elements: list[dict[str, Any]] = []
    kiribati: list[str] = []
    tonga: list[str] = []
    vanuatu: list[str] = []
    for i in range(1, items + 1):
        item = dc.item_code(i)
        universal = dc.item_universal_code(i)
        if universal is not None:
            uid = kiribati_element_uid(i)
            name = f"Stock indicator {universal}"
            elements.append(_element(uid, universal, name, dc.KIRIBATI_CATEGORY_COMBO, last))
            kiribati.append(uid)
        for uid, code, name in (
            (dc.item_user_field_1(i), f"TO_SOH_{item}", f"Stock on hand {item}"),
            (dc.item_user_field_2(i), f"TO_EXP_{item}", f"Stock expiring {item}"),
        ):
            elements.append(_element(uid, code, name, default, last))
            tonga.append(uid)
        soh = dc.item_user_field_6(i)
        if soh is not None:
            elements.append(_element(vanuatu_soh_uid(i), soh, f"SOH {item}", default, last))
            vanuatu.append(vanuatu_soh_uid(i))
        value_code = dc.vanuatu_value_element(i)
        name = f"Value of stock {item}"
        elements.append(_element(vanuatu_value_uid(i), value_code, name, default, last))
        vanuatu.append(vanuatu_value_uid(i))
    return elements, (kiribati, tonga, vanuatu)


def _category_combos() -> list[dict[str, Any]]:
    return [
        {
            "id": dc.DEFAULT_CATEGORY_COMBO,
            "code": "default",
            "name": "default",
            "dataDimensionType": "DISAGGREGATION",
            "categoryOptionCombos": [{"id": dc.DEFAULT_COC}],
        },
        {
            "id": dc.KIRIBATI_CATEGORY_COMBO,
            "name": "Stock indicator",
            "dataDimensionType": "DISAGGREGATION",
            "categoryOptionCombos": [{"id": uid} for uid in dc.KIRIBATI_COCS.values()],
        },
    ]


def _option_combos() -> list[dict[str, Any]]:
    cocs = [
        {
            "id": dc.DEFAULT_COC,
            "code": "default",
            "name": "default",
            "categoryCombo": {"id": dc.DEFAULT_CATEGORY_COMBO},
        }
    ]
    for key, uid in dc.KIRIBATI_COCS.items():
        cocs.append(
            {
                "id": uid,
                "name": KIRIBATI_COC_NAMES[key],
                "categoryCombo": {"id": dc.KIRIBATI_CATEGORY_COMBO},
            }
        )
    return cocs
