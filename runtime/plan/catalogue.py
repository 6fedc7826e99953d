"""The plan's vocabulary, defined once: indicators and their parameters, period types, the enums.

The compiler checks specs against these names and writes them into plans; the runtime computes,
schedules and pushes by them; preflight judges data elements by an indicator's kind. The plan
schema (``plan.v1.json``) lists the same enums, and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Parameter:
    """An indicator parameter as the plan names it.

    ``default`` is what the compiler writes when the spec leaves it out; None means the plan
    carries nothing and the run decides (``when_absent`` says how).
    """

    name: str
    when_absent: str
    default: int | None = None


@dataclass(frozen=True, slots=True)
class Indicator:
    """One stock indicator.

    ``snapshot``: a level at the reference instant R (summing it over periods or org units means
    nothing), else a flow over the period P. ``zero_significant``: a zero is a stock-out, which
    DHIS2 must keep. ``whole``: whole numbers by construction. ``signed``: may be negative.
    """

    name: str
    params: tuple[str, ...]
    snapshot: bool
    summary: str
    zero_significant: bool = False
    whole: bool = False
    signed: bool = False


DEFAULT_WITHIN_DAYS = 90

_PARAMETERS = (
    Parameter("soh", "total (physical) stock; `available` subtracts allocated stock"),
    Parameter("within_days", f"{DEFAULT_WITHIN_DAYS} days", default=DEFAULT_WITHIN_DAYS),
    Parameter("months", "the store's monthly_consumption_look_back_period, else 3"),
    Parameter("days_per_month", "the database's days_in_month preference, else 30.4375"),
    Parameter("adjust_for_stockouts", "the database's preference, else off"),
)
PARAMETERS: Mapping[str, Parameter] = MappingProxyType({p.name: p for p in _PARAMETERS})

_AMC = ("months", "days_per_month", "adjust_for_stockouts")

_INDICATORS = (
    Indicator(
        "stock_on_hand", ("soh",), True, "units in stock at R (total or available)",
        zero_significant=True,
    ),
    Indicator(
        "stock_expiring", ("within_days",), True,
        "units in batches with stock whose expiry is in (R's date, date + within_days]",
        zero_significant=True,
    ),
    Indicator(
        "value_of_stock_on_hand", (), True,
        "sum over batches of packs at R x cost price per pack", zero_significant=True,
    ),
    Indicator(
        "average_monthly_consumption", _AMC, True,
        "outbound shipments + prescriptions over the look-back window / months",
    ),
    Indicator(
        "days_out_of_stock", (), False,
        "days of the period whose previous and own closing balance are <= 0", whole=True,
    ),
    Indicator(
        "stock_beginning_of_month", (), True, "closing balance of the day before P",
        zero_significant=True,
    ),
    Indicator(
        "stock_end_of_month", (), True, "total units in stock at R", zero_significant=True
    ),
    Indicator(
        "months_of_stock", ("soh", *_AMC), True, "stock on hand / AMC", zero_significant=True
    ),
    Indicator("received", (), False, "units received by inbound shipments in P"),
    Indicator("issued", (), False, "units issued by outbound shipments and prescriptions in P"),
    Indicator(
        "adjustments", (), False, "signed units of inventory adjustments and returns in P",
        signed=True,
    ),
    Indicator("stock_expired", (), True, "units in batches with stock expired at R's date"),
    Indicator(
        "stocked_out", (), True, "1 when stock on hand at R is <= 0, else 0", whole=True
    ),
)  # fmt: skip
INDICATORS: Mapping[str, Indicator] = MappingProxyType({i.name: i for i in _INDICATORS})
"""The 13 indicators of DESIGN §5, in the order specs and plans list them."""

# DHIS2's 23 period types (dhis2-core PeriodType names), the data set's ``periodType``.
PERIOD_TYPES: tuple[str, ...] = (
    "Daily", "Weekly", "WeeklyWednesday", "WeeklyThursday", "WeeklyFriday", "WeeklySaturday",
    "WeeklySunday", "BiWeekly", "Monthly", "BiMonthly", "Quarterly", "QuarterlyNov", "SixMonthly",
    "SixMonthlyApril", "SixMonthlyNov", "Yearly", "FinancialFeb", "FinancialApril",
    "FinancialJuly", "FinancialAug", "FinancialSep", "FinancialOct", "FinancialNov",
)  # fmt: skip

# open mSupply's three "DHIS2 integration" setups.
MODES = ("category_option_combo", "data_element_per_item", "single_data_element")
# Item custom fields that can hold text (4 and 7 are check boxes).
TEXT_FIELDS = ("user_field_1", "user_field_2", "user_field_3", "user_field_6")
ITEM_FIELDS = ("universal_code", "code", *TEXT_FIELDS)
FLAG_FIELDS = ("user_field_4", "user_field_7")
# Every field an item filter can test, by type: the legacy item record's text, boolean (check
# box) and number custom fields; ``code`` and ``universal_code`` are text.
FIELD_TYPES: Mapping[str, str] = MappingProxyType({
    **{f: "text" for f in ITEM_FIELDS}, **{f: "boolean" for f in FLAG_FIELDS},
    "user_field_5": "number",
})  # fmt: skip
# The operators that make sense per type ("is set" tests presence; a comparison takes a literal
# of the field's type: a string, true/false, a number).
OPERATORS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "text": ("is set", "=", "!="),
    "boolean": ("=", "!="),
    "number": ("=", "!=", ">", ">=", "<", "<="),
})  # fmt: skip
# Days the journal keeps the payloads of accepted batches (the spec's keep_payloads), and at most
DEFAULT_KEEP_DAYS = 90
MAX_KEEP_DAYS = 36500
VANISHED = ("keep", "zero", "delete")
INTERVALS = ("daily", "weekly", "monthly", "first_day_of_month", "last_day_of_month", "cron")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
BASES = ("previous_month", "previous_period", "current_day")
SOH_KINDS = ("total", "available")
