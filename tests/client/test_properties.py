"""Properties of the client's pure parts: value strings, batching, retry delays."""

from __future__ import annotations

import random
import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from dhispatch.runtime.dhis2 import DataValue
from dhispatch.runtime.dhis2 import RetryPolicy
from dhispatch.runtime.dhis2 import batches_by_org_unit
from dhispatch.runtime.dhis2 import dhis2_value

# DHIS2's NUMBER and INTEGER patterns (reference §3.1.6).
NUMBER = re.compile(r"^(-?0|-?[1-9]\d*)(\.\d+)?$")
INTEGER = re.compile(r"^(0|-?[1-9]\d*)$")

numbers = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9,
                places=6),
)  # fmt: skip


@given(numbers)
def test_numbers_become_dhis2_number_strings_of_the_same_value(number: object) -> None:
    text = dhis2_value(number)
    assert NUMBER.match(text), text
    assert len(text) < 250
    exact = Decimal(repr(number) if isinstance(number, float) else str(number))
    # Exact up to 12 decimals (beyond that DHIS2's doubles cannot hold it anyway).
    assert abs(Decimal(text) - exact) <= Decimal("0.5e-12")
    if Decimal(text) == Decimal(text).to_integral_value():
        assert INTEGER.match(text), text  # whole numbers never carry ".0"
    assert dhis2_value(text) == text  # idempotent on its own output


@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 30)), max_size=80),
    st.integers(min_value=1, max_value=12),
)
def test_batches_partition_values_and_keep_org_units_together(
    cells: list[tuple[int, int]], max_size: int
) -> None:
    values = [DataValue(f"de{d}", "202401", f"ou{o}", None, str(k))
              for k, (o, d) in enumerate(cells)]  # fmt: skip
    batches = batches_by_org_unit(values, max_size)
    flat = [v for b in batches for v in b]
    assert sorted(flat, key=lambda v: v.value) == sorted(values, key=lambda v: v.value)
    assert all(1 <= len(b) <= max_size for b in batches)
    for ou in {v.org_unit for v in values}:
        holding = [i for i, b in enumerate(batches) if any(v.org_unit == ou for v in b)]
        count = sum(1 for v in values if v.org_unit == ou)
        # An org unit spans batches only when it cannot fit in one.
        assert len(holding) == 1 or count > max_size
        assert holding == list(range(holding[0], holding[-1] + 1))


@given(
    st.integers(min_value=1, max_value=20),
    st.floats(min_value=0.0, max_value=100.0),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=1000.0)),
    st.integers(min_value=0, max_value=2**32),
)
def test_delays_are_bounded_and_honour_retry_after(
    retry: int, base: float, retry_after: float | None, seed: int
) -> None:
    policy = RetryPolicy(attempts=5, base_delay=base, max_delay=30.0, jitter=0.5)
    delay = policy.delay(retry, retry_after, random.Random(seed))
    assert 0.0 <= delay <= 30.0
    if retry_after is not None:
        assert delay == min(retry_after, 30.0)
    else:
        raw = min(base * 2 ** (retry - 1), 30.0)
        assert raw * 0.5 - 1e-9 <= delay <= min(raw * 1.5, 30.0) + 1e-9
