"""The 13 indicators: names, the parameters each accepts, whether it is a level or a flow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

DEFAULT_WITHIN_DAYS = 90
DEFAULT_LOOKBACK_MONTHS = 3.0
DEFAULT_DAYS_PER_MONTH = 365.25 / 12  # open mSupply's default, 30.4375
EPSILON = 1e-6  # float residue: |units| below this counts as zero (reference §7.1)

_AMC_PARAMS = ("months", "days_per_month", "adjust_for_stockouts")


@dataclass(frozen=True, slots=True)
class IndicatorDef:
    """One indicator; ``snapshot`` = a level at the reference instant rather than a period flow."""

    name: str
    params: tuple[str, ...]
    snapshot: bool
    summary: str


_ALL = (
    IndicatorDef("stock_on_hand", ("soh",), True, "units in stock at R (total or available)"),
    IndicatorDef(
        "stock_expiring",
        ("within_days",),
        True,
        "units in batches with stock whose expiry is in (R's date, date + within_days]",
    ),
    IndicatorDef(
        "value_of_stock_on_hand", (), True, "sum over batches of packs at R x cost price per pack"
    ),
    IndicatorDef(
        "average_monthly_consumption",
        _AMC_PARAMS,
        True,
        "outbound shipments + prescriptions over the look-back window / months",
    ),
    IndicatorDef(
        "days_out_of_stock",
        (),
        False,
        "days of the period whose previous and own closing balance are <= 0",
    ),
    IndicatorDef("stock_beginning_of_month", (), True, "closing balance of the day before P"),
    IndicatorDef("stock_end_of_month", (), True, "total units in stock at R"),
    IndicatorDef("months_of_stock", (*_AMC_PARAMS, "soh"), True, "stock on hand / AMC"),
    IndicatorDef("received", (), False, "units received by inbound shipments in P"),
    IndicatorDef("issued", (), False, "units issued by outbound shipments and prescriptions in P"),
    IndicatorDef(
        "adjustments", (), False, "signed units of inventory adjustments and returns in P"
    ),
    IndicatorDef("stock_expired", (), True, "units in batches with stock expired at R's date"),
    IndicatorDef("stocked_out", (), True, "1 when stock on hand at R is <= 0, else 0"),
)

INDICATORS: Mapping[str, IndicatorDef] = MappingProxyType({d.name: d for d in _ALL})
