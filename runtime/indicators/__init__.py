"""The 13 stock indicators of DESIGN §5, computed set-based inside the stock database."""

from __future__ import annotations

from dhispatch.runtime.indicators.compute import IndicatorRequest
from dhispatch.runtime.indicators.compute import IndicatorValue
from dhispatch.runtime.indicators.compute import compute
from dhispatch.runtime.plan.catalogue import INDICATORS
from dhispatch.runtime.plan.catalogue import Indicator

__all__ = ["INDICATORS", "Indicator", "IndicatorRequest", "IndicatorValue", "compute"]
