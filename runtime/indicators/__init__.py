"""The 13 stock indicators of DESIGN §5, computed set-based inside the stock database."""

from __future__ import annotations

from dhispatch.runtime.indicators.compute import IndicatorValue
from dhispatch.runtime.indicators.compute import compute
from dhispatch.runtime.indicators.definitions import INDICATORS
from dhispatch.runtime.indicators.definitions import IndicatorDef
from dhispatch.runtime.indicators.formulas import IndicatorRequest

__all__ = ["INDICATORS", "IndicatorDef", "IndicatorRequest", "IndicatorValue", "compute"]
