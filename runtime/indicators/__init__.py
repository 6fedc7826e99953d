"""Stock indicators computed set-based from an open mSupply database (see reference §5)."""

from __future__ import annotations

from dhispatch.runtime.indicators.compute import IndicatorValue
from dhispatch.runtime.indicators.compute import compute
from dhispatch.runtime.indicators.formulas import IndicatorRequest
from dhispatch.runtime.plan.catalogue import INDICATORS
from dhispatch.runtime.plan.catalogue import Indicator

__all__ = ["INDICATORS", "Indicator", "IndicatorRequest", "IndicatorValue", "compute"]
