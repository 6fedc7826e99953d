"""The computation's own constants: float residue and open mSupply's fallback preferences.

The indicators themselves (names, parameters, snapshot or flow) are the plan contract's
catalogue, ``dhispatch.runtime.plan.catalogue.INDICATORS``.
"""

from __future__ import annotations

DEFAULT_LOOKBACK_MONTHS = 3.0
DEFAULT_DAYS_PER_MONTH = 365.25 / 12  # open mSupply's default, 30.4375
EPSILON = 1e-6  # float residue: |units| below this counts as zero (reference §7.1)
