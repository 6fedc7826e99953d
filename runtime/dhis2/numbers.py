"""Numbers as DHIS2 accepts them: plain decimal strings, no exponent, no '+', no trailing '.0'.

DHIS2 ≤2.42 rejects "12.0" for an INTEGER element and any exponent for NUMBER (reference §3.1.6),
so the client normalises every numeric-looking value before it is sent; other strings pass as-is.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN
from decimal import Decimal
from decimal import InvalidOperation

# Already in DHIS2's canonical form (the common case): passed through without parsing.
MAX_DECIMALS = 12
_CANONICAL = re.compile(r"^-?(0|[1-9]\d*)(\.\d*[1-9])?$")
_NUMERIC = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def is_canonical(value: object) -> bool:
    """A string already as ``dhis2_value`` would write it (it is sent unchanged)."""
    return (
        type(value) is str and len(value) < 40 and value != "-0" and bool(_CANONICAL.match(value))
    )


def dhis2_value(value: object) -> str:
    """The DHIS2-valid string for a number (int, float, Decimal or numeric string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        text = str(value).strip()
        if is_canonical(text):
            return text
        if not _NUMERIC.match(text):
            return str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number DHIS2 can store")
    if number.as_tuple().exponent < -MAX_DECIMALS:  # type: ignore[operator]
        # DHIS2 keeps NUMBER as text under 250 characters (and computes in doubles): digits
        # beyond the 12th decimal carry nothing but could make 5e-324 a 326-character string.
        number = number.quantize(Decimal(1).scaleb(-MAX_DECIMALS), rounding=ROUND_HALF_EVEN)
    plain = format(number, "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    if plain in ("-0", ""):
        plain = "0"
    if len(plain) >= 250:
        raise ValueError(f"{value!r} is too long a number for DHIS2 (250 characters at most)")
    return plain
