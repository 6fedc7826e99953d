"""period_format strings: every type has its canonical format, aliases, refusals with hints."""

from __future__ import annotations

import re
from datetime import date
from datetime import timedelta

import pytest

from dhispatch.compiler import period_formats
from dhispatch.compiler.period_formats import CANONICAL
from dhispatch.compiler.period_formats import FORMATS
from dhispatch.compiler.period_formats import PeriodFormatError
from dhispatch.compiler.period_formats import period_type_for_format
from dhispatch.runtime import periods
from dhispatch.runtime.periods import parse_period
from dhispatch.runtime.periods import period_for

# How each format token reads in an ID (DHIS2's parser regexes, DateUnitType).
_TOKENS = [("YYYY", r"\d{4}"), ("MM", r"\d{2}"), ("DD", r"\d{2}"), ("ww", r"\d{2}"),
           ("w", r"\d{1,2}"), ("q", r"\d"), ("n", r"\d"), ("-", "-")]  # fmt: skip


def format_regex(fmt: str) -> re.Pattern[str]:
    """Translate a period_format into the regex of the IDs it describes."""
    out, i = "", 0
    while i < len(fmt):
        if fmt[i] == "'":
            end = fmt.index("'", i + 1)
            out += re.escape(fmt[i + 1 : end])
            i = end + 1
            continue
        for token, regex in _TOKENS:
            if fmt.startswith(token, i):
                out += regex
                i += len(token)
                break
        else:
            raise AssertionError(f"unknown token at {fmt[i:]!r}")
    return re.compile(out)


def test_both_modules_list_the_same_23_types() -> None:
    assert period_formats.PERIOD_TYPES == periods.PERIOD_TYPES
    assert set(CANONICAL) == set(periods.PERIOD_TYPES)
    assert set(FORMATS.values()) == set(periods.PERIOD_TYPES)


@pytest.mark.parametrize("ptype", periods.PERIOD_TYPES)
def test_canonical_format_describes_the_ids_the_runtime_emits(ptype: str) -> None:
    fmt = CANONICAL[ptype]
    assert period_type_for_format(fmt) == ptype
    regex = format_regex(fmt)
    day = date(2019, 12, 20)
    for _ in range(60):  # across a year end, a 53-week year boundary (2020) and more
        period = period_for(ptype, day)
        assert regex.fullmatch(period.id), (fmt, period.id)
        day += timedelta(days=5)


@pytest.mark.parametrize(("fmt", "ptype"), sorted(FORMATS.items()))
def test_every_format_denotes_ids_dhis2_parses_as_its_type(fmt: str, ptype: str) -> None:
    assert period_type_for_format(fmt) == ptype
    regex = format_regex(fmt)
    # an ID written in this format (alias spellings included) parses as that type
    sample = {
        "YYYY-MM-DD": "2024-02-29", "YYYY-MM": "2024-02", "YYYY'W'ww": "2024W07",
        "YYYY'WedW'ww": "2024WedW07", "YYYY'ThuW'ww": "2024ThuW07", "YYYY'FriW'ww": "2024FriW07",
        "YYYY'SatW'ww": "2024SatW07", "YYYY'SunW'ww": "2024SunW07", "YYYY'BiW'ww": "2024BiW07",
    }.get(fmt) or period_for(ptype, date(2024, 2, 29)).id  # fmt: skip
    assert regex.fullmatch(sample)
    assert parse_period(sample).type == ptype


@pytest.mark.parametrize(
    ("fmt", "hint"),
    [
        ("yyyyMM", "did you mean 'YYYYMM'?"),
        ("YYYYWw", "did you mean \"YYYY'W'w\"?"),
        ("YYYY-MM-dd", "did you mean 'YYYY-MM-DD'?"),
        ("Weekly", "the Weekly format is \"YYYY'W'w\""),
        ("YYYY'BiW'n", "did you mean \"YYYY'BiW'w\" (BiWeekly)?"),
        ("YYYY'NovemberS'n", "did you mean \"YYYY'NovS'n\" (SixMonthlyNov)?"),
        ("DD/MM/YYYY", "DHIS2 writes that period as 'YYYYMMDD'"),
        ("MM-YYYY", "DHIS2 writes that period as 'YYYYMM'"),
        ("%Y%m", "valid formats: 'YYYYMMDD'"),
    ],
)
def test_unparsable_formats_are_refused_with_a_hint(fmt: str, hint: str) -> None:
    with pytest.raises(PeriodFormatError, match="is not one DHIS2 can parse") as caught:
        period_type_for_format(fmt)
    assert caught.value.hint is not None and caught.value.hint.startswith(hint)
