"""Data value type checks (reference §3.1.6) and the zero-significance rule (§3.1.7)."""

from __future__ import annotations

import re

_INTEGER = re.compile(r"^(0|-?[1-9]\d*)$")
_POSITIVE = re.compile(r"^[1-9]\d*$")
_ZERO_OR_POSITIVE = re.compile(r"(^0$)|(^[1-9]\d*$)")
_NEGATIVE = re.compile(r"^-[1-9]\d*$")
_NUMBER = re.compile(r"^(-?0|-?[1-9]\d*)(\.\d+)?$")
_ZERO = re.compile(r"^0(\.0*)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BOOLEANS = {"true": "true", "t": "true", "1": "true", "false": "false", "f": "false", "0": "false"}

INTEGER_TYPES = ("INTEGER", "INTEGER_POSITIVE", "INTEGER_ZERO_OR_POSITIVE", "INTEGER_NEGATIVE")
NUMERIC_TYPES = (*INTEGER_TYPES, "NUMBER", "PERCENTAGE", "UNIT_INTERVAL")
MAX_VALUE_LENGTH = 50_000

# i18n_global.properties translations of the reason keys (shown by 2.36 and by E7619).
REASONS = {
    "value_not_integer": "Data value is not an integer",
    "value_not_positive_integer": "Data value is not a positive integer",
    "value_not_zero_or_positive_integer": "Data value is not zero or positive integer",
    "value_not_negative_integer": "Data value is not a negative integer",
    "value_not_numeric": "Data value is not numeric",
    "value_not_percentage": "Data value is not a percentage",
    "value_not_unit_interval": "Data value is not a unit interval",
    "value_not_bool": "Data value is not a boolean",
    "value_not_true_only": "Data value is not true (true-only value type)",
    "value_not_valid_date": "Data value is not a valid date",
    "value_length_greater_than_max_length": "Data value is longer than max length",
}


def _int_in_range(value: str) -> bool:
    return -(2**31) <= int(value) < 2**31


def normalize(value: str, value_type: str, generation: int) -> str:
    """Booleans are normalised in all versions; 2.43+ also strips a trailing ".0" from integers."""
    if value_type in ("BOOLEAN", "TRUE_ONLY") and value.lower() in _BOOLEANS:
        return _BOOLEANS[value.lower()]
    if generation >= 43 and value_type in INTEGER_TYPES and value.endswith(".0"):
        return value[:-2]
    return value


def invalid_reason(value: str, value_type: str) -> str | None:
    """The i18n key of why a value does not fit a value type, or None when it fits."""
    if len(value) > MAX_VALUE_LENGTH:
        return "value_length_greater_than_max_length"
    checks: dict[str, tuple[re.Pattern[str], str]] = {
        "INTEGER": (_INTEGER, "value_not_integer"),
        "INTEGER_POSITIVE": (_POSITIVE, "value_not_positive_integer"),
        "INTEGER_ZERO_OR_POSITIVE": (_ZERO_OR_POSITIVE, "value_not_zero_or_positive_integer"),
        "INTEGER_NEGATIVE": (_NEGATIVE, "value_not_negative_integer"),
    }
    if value_type in checks:
        pattern, key = checks[value_type]
        return None if pattern.match(value) and _int_in_range(value) else key
    if value_type in ("NUMBER", "PERCENTAGE", "UNIT_INTERVAL"):
        if not _NUMBER.match(value) or len(value) >= 250:
            return "value_not_numeric"
        if value_type == "PERCENTAGE" and not 0 <= float(value) <= 100:
            return "value_not_percentage"
        if value_type == "UNIT_INTERVAL" and not 0 <= float(value) <= 1:
            return "value_not_unit_interval"
        return None
    if value_type == "BOOLEAN":
        return None if value in ("true", "false") else "value_not_bool"
    if value_type == "TRUE_ONLY":
        return None if value == "true" else "value_not_true_only"
    if value_type == "DATE":
        return None if _DATE.match(value) else "value_not_valid_date"
    return None


def zero_and_insignificant(value: str, element: dict[str, object]) -> bool:
    """``ValidationUtils.dataValueIsZeroAndInsignificant``."""
    return (
        element.get("valueType", "NUMBER") in NUMERIC_TYPES
        and bool(_ZERO.match(value))
        and not element.get("zeroIsSignificant", False)
        and element.get("aggregationType") not in ("AVERAGE", "AVERAGE_SUM_ORG_UNIT")
    )
