"""The names a spec may use: indicators and their parameters, modes, fields, intervals, bases."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Each indicator with the parameters it takes (DESIGN §5; computing them is the runtime's job).
INDICATORS: dict[str, tuple[str, ...]] = {
    "stock_on_hand": ("soh",),
    "stock_expiring": ("within_days",),
    "value_of_stock_on_hand": (),
    "average_monthly_consumption": ("months", "days_per_month", "adjust_for_stockouts"),
    "days_out_of_stock": (),
    "stock_beginning_of_month": (),
    "stock_end_of_month": (),
    "months_of_stock": ("soh", "months", "days_per_month", "adjust_for_stockouts"),
    "received": (),
    "issued": (),
    "adjustments": (),
    "stock_expired": (),
    "stocked_out": (),
}
DEFAULT_WITHIN_DAYS = 90

# Spec setting keyword -> plan parameter name.
PARAM_SETTINGS: dict[str, str] = {
    "within": "within_days",
    "months": "months",
    "days_per_month": "days_per_month",
    "adjust_for_stockouts": "adjust_for_stockouts",
    "soh": "soh",
}
SOH_KINDS = ("total", "available")

MODES = ("category_option_combo", "data_element_per_item", "single_data_element")
# Item custom fields that can hold text (4 and 7 are check boxes).
TEXT_FIELDS = ("user_field_1", "user_field_2", "user_field_3", "user_field_6")
ITEM_FIELDS = ("universal_code", "code", *TEXT_FIELDS)
FLAG_FIELDS = ("user_field_4", "user_field_7")
ID_SCHEMES = ("code", "uid")
VANISHED = ("keep", "zero", "delete")
INTERVALS = ("daily", "weekly", "monthly", "first_day_of_month", "last_day_of_month", "cron")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
BASES = ("previous_month", "previous_period", "current_day")
SOURCE_KINDS = ("omsupply",)
ORG_UNIT_REFS = ("store.code", "store.custom", "name.code")

# Variables a data element template may use at run time.
TEMPLATE_VARIABLES = ("item", "indicator")
ITEM_ATTRIBUTES = ("code", "name", "universal_code", *TEXT_FIELDS)


def is_template(text: str) -> bool:
    """Whether a data element string is a Jinja template (rendered per item) or a fixed ID."""
    return "{{" in text or "{%" in text or "{#" in text


def did_you_mean(word: str, known: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the closest known name, or None."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def one_of(known: Iterable[str]) -> str:
    return "expected one of: " + ", ".join(known)


def hint_for(word: str, known: Iterable[str]) -> str:
    """A suggestion when one is close, else the list of what is allowed."""
    known = tuple(known)
    return did_you_mean(word, known) or one_of(known)
