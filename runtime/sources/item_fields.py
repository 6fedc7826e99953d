"""Item fields an item filter can test, with their types, and how a legacy value is read.

The legacy item record (``item.legacy_record``) carries text (``user_field_1|2|3|6``), boolean
(``user_field_4|7``) and number (``user_field_5``) custom fields; ``code`` and
``universal_code`` are text. Each type has the operators that make sense for it (the plan
catalogue's ``FIELD_TYPES`` and ``OPERATORS``; the compiler refuses the others at ``check``);
a value that does not read as the field's type (a number field holding ``"n/a"``) satisfies no
comparison.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from dhispatch.runtime.plan.catalogue import FIELD_TYPES
from dhispatch.runtime.plan.catalogue import OPERATORS
from dhispatch.runtime.sources.model import SourceError

_TRUE = ("true", "1", "yes", "y")
_FALSE = ("false", "0", "no", "n", "")


def as_text(value: Any) -> str | None:
    """A non-empty text value, trimmed (None when missing or blank)."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def as_boolean(value: Any) -> bool | None:
    """A check box value: JSON true/false, 0/1, or the strings legacy exports use."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
}


def field_test(field: str, op: str, literal: Any) -> Callable[[Any], bool]:
    """A predicate over the field's raw value for ``field op literal`` (``is set``: no literal)."""
    kind = FIELD_TYPES.get(field)
    if kind is None:
        raise SourceError(f"unknown item field {field!r} in an item filter")
    if op not in OPERATORS[kind]:
        allowed = ", ".join(OPERATORS[kind])
        raise SourceError(f"{field} is a {kind} field: '{op}' does not apply (use {allowed})")
    if op == "is set":
        return lambda raw: as_text(raw) is not None
    read: Callable[[Any], Any] = {"text": as_text, "boolean": as_boolean, "number": as_number}[kind]
    want = read(literal)
    if want is None:
        raise SourceError(f"{field} is a {kind} field: {literal!r} is not a {kind} value")
    compare = _COMPARE[op]

    def test(raw: Any) -> bool:
        value = read(raw)
        return value is not None and compare(value, want)

    return test
