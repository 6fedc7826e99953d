"""The words only a spec uses (setting keywords, source kinds, template variables) and hints.

The names a spec shares with the plan (indicators, parameters, modes, item fields, intervals,
bases, period types) are the plan contract's, in ``dhispatch.runtime.plan.catalogue``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from dhispatch.runtime.plan.catalogue import TEXT_FIELDS

# Spec setting keyword -> plan parameter name.
PARAM_SETTINGS: dict[str, str] = {
    "within": "within_days",
    "months": "months",
    "days_per_month": "days_per_month",
    "adjust_for_stockouts": "adjust_for_stockouts",
    "soh": "soh",
}
# The spec's words for DHIS2's id schemes (the plan writes them upper-case).
ID_SCHEMES = ("code", "uid")
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
