"""``period_format`` strings of a spec mapped to the DHIS2 period type they denote.

The format only selects the period type: the runtime always emits DHIS2's canonical period ID for
that type. Formats DHIS2 cannot parse are refused here, at compile time.

Tokens: ``YYYY`` (the year; week-based for weekly types), ``MM`` month, ``DD`` day, ``w``/``ww``
week number (``ww`` zero-padded, which DHIS2 parses but never emits), ``q`` quarter, ``n``
half-year, and quoted literals such as ``'W'``. BiMonthly is ``YYYYMM'B'`` although its ``MM`` is
the bi-month number 01-06 (``202202B`` = March-April 2022), because that is how DHIS2 writes it.
"""

from __future__ import annotations

import re

from dhispatch.errors import DhispatchError
from dhispatch.runtime.plan.catalogue import PERIOD_TYPES

# One canonical format per type: the form DHIS2 itself writes (Period.getIsoDate).
CANONICAL: dict[str, str] = {
    "Daily": "YYYYMMDD",
    "Weekly": "YYYY'W'w",
    "WeeklyWednesday": "YYYY'WedW'w",
    "WeeklyThursday": "YYYY'ThuW'w",
    "WeeklyFriday": "YYYY'FriW'w",
    "WeeklySaturday": "YYYY'SatW'w",
    "WeeklySunday": "YYYY'SunW'w",
    "BiWeekly": "YYYY'BiW'w",
    "Monthly": "YYYYMM",
    "BiMonthly": "YYYYMM'B'",
    "Quarterly": "YYYY'Q'q",
    "QuarterlyNov": "YYYY'NovQ'q",
    "SixMonthly": "YYYY'S'n",
    "SixMonthlyApril": "YYYY'AprilS'n",
    "SixMonthlyNov": "YYYY'NovS'n",
    "Yearly": "YYYY",
    "FinancialFeb": "YYYY'Feb'",
    "FinancialApril": "YYYY'April'",
    "FinancialJuly": "YYYY'July'",
    "FinancialAug": "YYYY'Aug'",
    "FinancialSep": "YYYY'Sep'",
    "FinancialOct": "YYYY'Oct'",
    "FinancialNov": "YYYY'Nov'",
}

# Other spellings DHIS2's period parser (DateUnitType / Period.Input.of) also accepts: ISO dashed
# dates and months, and zero-padded week numbers (the week regexes take one or two digits).
ALIASES: dict[str, str] = {
    "YYYY-MM-DD": "Daily",
    "YYYY-MM": "Monthly",
    "YYYY'W'ww": "Weekly",
    "YYYY'WedW'ww": "WeeklyWednesday",
    "YYYY'ThuW'ww": "WeeklyThursday",
    "YYYY'FriW'ww": "WeeklyFriday",
    "YYYY'SatW'ww": "WeeklySaturday",
    "YYYY'SunW'ww": "WeeklySunday",
    "YYYY'BiW'ww": "BiWeekly",
}

FORMATS: dict[str, str] = {fmt: ptype for ptype, fmt in CANONICAL.items()} | ALIASES


class PeriodFormatError(DhispatchError):
    """A period format DHIS2 cannot parse; ``hint`` suggests the closest valid one."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def canonical_format(period_type: str) -> str:
    """The format DHIS2 writes for ``period_type`` (KeyError for an unknown type)."""
    return CANONICAL[period_type]


def period_type_for_format(fmt: str) -> str:
    """The DHIS2 period type a ``period_format`` denotes, or PeriodFormatError."""
    try:
        return FORMATS[fmt]
    except KeyError:
        raise PeriodFormatError(
            f"period format {fmt!r} is not one DHIS2 can parse", _suggest(fmt)
        ) from None


def _pieces(fmt: str) -> list[str]:
    normal = fmt.replace("yyyy", "YYYY").replace("dd", "DD")
    return sorted(re.findall(r"YYYY|MM|DD|ww?|q|n|'[^']*'", normal))


def _suggest(fmt: str) -> str | None:
    import difflib

    # Java-style lower-case patterns (yyyyMM) and unquoted literals (YYYYWw) are the usual slips:
    # compare case-insensitively and without quotes before falling back to edit distance.
    def key(text: str) -> str:
        return text.replace("'", "").upper()

    for known in FORMATS:
        if key(known) == key(fmt):
            return f"did you mean {known!r}?"
    for ptype, known in CANONICAL.items():
        if key(fmt) == ptype.upper():
            return f"the {ptype} format is {known!r}"
    # The right pieces in another order or with other separators (DD/MM/YYYY).
    for known in [*CANONICAL.values(), *ALIASES]:
        if _pieces(known) == _pieces(fmt):
            return f"DHIS2 writes that period as {known!r}"
    close = difflib.get_close_matches(fmt, list(FORMATS), n=1, cutoff=0.5)
    if close:
        return f"did you mean {close[0]!r} ({FORMATS[close[0]]})?"
    return "valid formats: " + ", ".join(repr(f) for f in CANONICAL.values())


__all__ = [
    "ALIASES",
    "CANONICAL",
    "FORMATS",
    "PERIOD_TYPES",  # the plan contract's: every format denotes one of them
    "PeriodFormatError",
    "canonical_format",
    "period_type_for_format",
]
