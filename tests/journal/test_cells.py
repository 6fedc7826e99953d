"""Value building: DHIS2 number formatting, data element resolution, templates, cell diffs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dhispatch.runtime.cells import ElementResolver
from dhispatch.runtime.cells import ValueBuildError
from dhispatch.runtime.cells import format_value
from tests.plans import typed_step

NUMBER = re.compile(r"^(-?0|-?[1-9]\d*)(\.\d+)?$")


@dataclass(frozen=True)
class FakeItem:
    code: str
    name: str
    universal_code: str | None
    fields: Mapping[str, str] = field(default_factory=dict)


@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [
        (12.0, None, "12"),
        (12.5, 0, "13"),
        (-12.5, 0, "-13"),
        (2.675, 2, "2.68"),  # repr is 2.675: half away from zero on the decimal we see
        (0.1 + 0.2, None, "0.30000000000000004"),
        (0.1 + 0.2, 3, "0.3"),
        (-0.4, 0, "0"),
        (1e-12, None, "0"),
        (-1e-12, 2, "0"),
        (1e-5, None, "0.00001"),
        (1.5e20, None, "150000000000000000000"),
        (1.0, 0, "1"),
        (0.0, None, "0"),
        (-0.0, None, "0"),
    ],
)
def test_format_value_examples(value: float, rounding: int | None, expected: str) -> None:
    assert format_value(value, rounding) == expected


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    st.one_of(st.none(), st.integers(0, 6)),
)
def test_format_value_is_a_dhis2_number(value: float, rounding: int | None) -> None:
    text = format_value(value, rounding)
    assert NUMBER.match(text), text
    if rounding is not None and abs(value) >= 1e-9:
        assert abs(Decimal(text) - Decimal(repr(value))) <= Decimal(1).scaleb(-rounding) / 2


@given(
    st.one_of(
        st.integers(-(2**53) + 1, 2**53 - 1).map(float),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e17, max_value=1e17),
    ),
    st.one_of(st.none(), st.integers(0, 6)),
)
def test_format_value_whole_numbers_read_as_the_decimal_rule_writes_them(
    value: float, rounding: int | None
) -> None:
    # whole numbers take a shortcut past Decimal: it must write exactly what the rule writes
    expected = Decimal(repr(value))
    if rounding is not None:
        expected = expected.quantize(Decimal(1).scaleb(-rounding), rounding="ROUND_HALF_UP")
    text = format(expected, "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    assert format_value(value, rounding) == ("0" if text in ("-0", "") or abs(value) < 1e-9
                                             else text)  # fmt: skip


def test_format_value_refuses_non_finite() -> None:
    with pytest.raises(ValueBuildError, match="not a finite"):
        format_value(float("nan"), 0)


def test_element_resolution_modes() -> None:
    item = FakeItem(
        "I0001", "Amoxicillin", "UC00001", {"user_field_1": "deSOH000001", "user_field_6": "  "}
    )
    base = {"indicator": "stock_on_hand"}
    assert (
        ElementResolver(typed_step({**base, "data_element": {"kind": "fixed", "id": "X"}}))(item)
        == "X"
    )
    uc = {"kind": "item_field", "field": "universal_code"}
    assert ElementResolver(typed_step({**base, "data_element": uc}))(item) == "UC00001"
    f1 = {"kind": "item_field", "field": "user_field_1"}
    assert ElementResolver(typed_step({**base, "data_element": f1}))(item) == "deSOH000001"
    f6 = {"kind": "item_field", "field": "user_field_6"}
    assert (
        ElementResolver(typed_step({**base, "data_element": f6}))(item) is None
    )  # blank = no reference
    tpl = {"kind": "template", "template": "VAL_{{ item.code }}_{{ indicator }}"}
    assert (
        ElementResolver(typed_step({**base, "data_element": tpl}))(item)
        == "VAL_I0001_stock_on_hand"
    )
    empty = {"kind": "template", "template": "{{ item.user_field_3 }}"}
    assert ElementResolver(typed_step({**base, "data_element": empty}))(item) is None
    bad = {"kind": "template", "template": "{{ item.nope }}"}
    with pytest.raises(ValueBuildError, match="cannot be rendered"):
        ElementResolver(typed_step({**base, "data_element": bad}))(item)
