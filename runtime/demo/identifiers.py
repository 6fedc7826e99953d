"""The demo country's identifiers: one source of truth for the generated stock database, the
sandbox's demo metadata export and the example specs, so that the examples push successfully.

Deterministic functions of an index, so any size of country (``demo-data --stores N --items M``)
has matching DHIS2 metadata. The example specs in ``specs/`` name the data set and category
option combo UIDs below literally.
"""

from __future__ import annotations

# Data sets, one per example spec (DESIGN §3).
KIRIBATI_DATA_SET = "QX4ZTUbOt3a"  # Monthly, setup category_option_combo, ids by code
TONGA_DATA_SET = "Tq1HzbQG3cY"  # Monthly (openFuturePeriods 1), data element per item, uids
VANUATU_DATA_SET = "vN2aBf8wE1d"  # Daily (openFuturePeriods 1), single data element, codes

# Kiribati's category combo "Stock indicator": one option combo per pushed indicator.
KIRIBATI_COCS = {
    "stock_on_hand": "h9mSLj2ZYcK",
    "average_monthly_consumption": "Hbi7XjOkvRn",
    "days_out_of_stock": "kq2EYGyDyNt",
}
KIRIBATI_CATEGORY_COMBO = "kiStockIndC"
DEFAULT_CATEGORY_COMBO = "bjDvmb4bfuf"  # DHIS2's well-known default combo / option combo UIDs
DEFAULT_COC = "HllvX50cXC0"
ROOT_ORG_UNIT = "ouRoot00001"
ADMIN_USER = "admin"


def store_code(j: int) -> str:
    """Store j (1-based): its open mSupply code, which is also its DHIS2 org unit code."""
    return f"S{j:03d}"


def store_has_dhis2_code(j: int) -> bool:
    """Every seventh store has no ``Dhis2Code`` in its name's custom data (skipped, counted)."""
    return j % 7 != 0


def org_unit_uid(j: int) -> str:
    return f"ou{j:09d}"


def item_code(i: int) -> str:
    return f"I{i:04d}"


def item_universal_code(i: int) -> str | None:
    """Kiribati's data element code; every fifth item has none (out of Kiribati's scope)."""
    return None if i % 5 == 0 else f"UC{i:05d}"


def item_user_field_1(i: int) -> str:
    """Tonga: the UID of the item's stock-on-hand data element."""
    return f"deSOH{i:06d}"


def item_user_field_2(i: int) -> str:
    """Tonga: the UID of the item's stock-expiring data element."""
    return f"deEXP{i:06d}"


def item_user_field_6(i: int) -> str | None:
    """Vanuatu: the code of the item's one data element; every fourth item has none."""
    return None if i % 4 == 0 else f"SOH_{item_code(i)}"


def item_in_dhis2_master_list(i: int) -> bool:
    """Tonga's scope is the master list "DHIS2": two items in three are on it."""
    return i % 3 != 0


def vanuatu_value_element(i: int) -> str:
    """Vanuatu's templated element for value of stock, ``VAL_{{ item.code }}``."""
    return f"VAL_{item_code(i)}"


# Size of the country `dhispatch demo` generates (and the committed demo metadata export covers).
DEMO_STORES = 12
DEMO_ITEMS = 40
DEMO_MONTHS = 6


def store_code_in_properties(j: int) -> bool:
    """Odd stores keep their ``Dhis2Code`` as an open mSupply name property (``name.properties``),
    even ones in the ``custom_data`` legacy mSupply synced; ``custom:Dhis2Code`` reads both."""
    return j % 2 == 1


def store_has_small_range(j: int) -> bool:
    """Every fifth store (from the second) is a health centre whose range is the smaller
    "Health centre" master list instead of "Essential medicines"."""
    return j % 5 == 2


def item_in_health_centre_list(i: int) -> bool:
    """The "Health centre" master list: five items in six (the rest are out of those stores'
    range, and those stores never hold them: no value, not a stock-out)."""
    return i % 6 != 5


def item_in_store_range(i: int, j: int) -> bool:
    return item_in_health_centre_list(i) or not store_has_small_range(j)
