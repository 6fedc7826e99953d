"""``period_format`` strings of a spec mapped to the DHIS2 period type they denote.

The format only selects the period type: the runtime always emits DHIS2's canonical period ID for
that type. Formats DHIS2 cannot parse are refused here, at compile time.

(Initial table from the skeleton; the periods issue completes it for every DHIS2 period type.)
"""

from __future__ import annotations

PERIOD_TYPES: tuple[str, ...] = (
    "Daily", "Weekly", "WeeklyWednesday", "WeeklyThursday", "WeeklyFriday", "WeeklySaturday",
    "WeeklySunday", "BiWeekly", "Monthly", "BiMonthly", "Quarterly", "QuarterlyNov", "SixMonthly",
    "SixMonthlyApril", "SixMonthlyNov", "Yearly", "FinancialFeb", "FinancialApril",
    "FinancialJuly", "FinancialAug", "FinancialSep", "FinancialOct", "FinancialNov",
)  # fmt: skip

FORMATS: dict[str, str] = {
    "YYYYMMDD": "Daily",
    "YYYY'W'w": "Weekly",
    "YYYYMM": "Monthly",
    "YYYY": "Yearly",
}


class PeriodFormatError(ValueError):
    """A period format DHIS2 cannot parse; ``hint`` suggests the closest valid one."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def period_type_for_format(fmt: str) -> str:
    """The DHIS2 period type a ``period_format`` denotes, or PeriodFormatError."""
    try:
        return FORMATS[fmt]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(fmt, list(FORMATS), n=1)
        raise PeriodFormatError(
            f"period format {fmt!r} is not one DHIS2 can parse",
            f"did you mean {close[0]!r}?" if close else None,
        ) from None
