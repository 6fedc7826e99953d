"""Per-version data entry rules both import engines ask: expiry locks (``DataSet.isLocked``),
data input periods, attribute option combo date ranges and org units, org unit opening dates.

Export dates are compared as the server compares them: day granularity where core strips the
time (2.37–2.42 ``Period.isDateInTimeFrame``), instants where it does not (2.36, 2.43).
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from dhispatch.runtime.sandbox.metadata import MetadataIndex
from dhispatch.runtime.sandbox.periods import Period
from dhispatch.runtime.sandbox.periods import frequency_order
from dhispatch.runtime.sandbox.periods import parse_period
from dhispatch.runtime.sandbox.periods import shift_date
from dhispatch.runtime.sandbox.restrictions import Span
from dhispatch.runtime.sandbox.users import User


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def expiry_locked(minor: int, ds: dict[str, Any], period: Period, today: date, user: User) -> bool:
    """``DataSet.isLocked``: past ``expiryDays`` after the period's end (F_EDIT_EXPIRED: never).

    2.36 compares the instant with end + expiryDays at 00:00, so the lock starts on that day;
    2.37–2.42 compare days (and 2.42 instants with one more day), so it starts the day after.
    """
    expiry = int(ds.get("expiryDays") or 0)
    if expiry <= 0 or user.has("F_EDIT_EXPIRED"):
        return False
    last_open = period.end + timedelta(days=expiry)
    return today >= last_open if minor <= 36 else today > last_open


def window_open(minor: int, window: Span, now: datetime) -> bool:
    """``DataInputPeriod.isDateWithinOpenCloseDates`` (2.43: ``DateRange.includes(now)``)."""
    start, end = window.start, window.end
    if minor <= 36:  # date.after(opening) && date.before(closing)
        return (start is None or now > start) and (end is None or now < end)
    if minor >= 43:
        return (start is None or now >= start) and (end is None or now <= end)
    day = now.date()
    return (start is None or day >= start.date()) and (end is None or day <= end.date())


def data_set_allows(index: MetadataIndex, minor: int, ds: str, iso: str, now: datetime) -> bool:
    """``DataSet.isDataInputPeriodAndDateAllowed``: no input periods, or one for the period
    that is open now."""
    periods = index.rules.input_periods.get(ds)
    if not periods:
        return True
    return any(window_open(minor, w, now) for w in periods.get(iso, ()))


def element_allows(index: MetadataIndex, minor: int, de: str, iso: str, now: datetime) -> bool:
    """``DataElement.isDataInputAllowedForPeriodAndDate`` (E7644): any of its data sets."""
    sets = index.data_sets_of_element(de)
    return not sets or any(data_set_allows(index, minor, ds, iso, now) for ds in sets)


def approval_data_set(index: MetadataIndex, de: str) -> str | None:
    """≤2.38 ``DataElement.getApprovalDataSet``: a set with a workflow first, then the most
    frequent period type, then by name."""

    def rank(ds: str) -> tuple[bool, int, str]:
        obj = index.objects["dataSets"][ds]
        return (
            index.rules.workflow_of(ds) is None,
            frequency_order(str(obj.get("periodType", "Monthly"))),
            str(obj.get("name", "")),
        )

    sets = index.data_sets_of_element(de)
    return min(sets, key=rank) if sets else None


def target_data_sets(
    index: MetadataIndex, de: str, ou: str, aoc: str, header: str | None
) -> list[str]:
    """2.39+ ``ImportContext.getTargetDataSets``: the named set, else the element's sets that
    are assigned to the org unit and whose attribute combo is the option combo's."""
    if header is not None:
        return [header]
    combo = (index.objects["categoryOptionCombos"].get(aoc, {}).get("categoryCombo") or {}).get(
        "id"
    )
    out = []
    for ds in index.data_sets_of_element(de):
        obj = index.objects["dataSets"][ds]
        if ou in index.data_set_units(ds) and (obj.get("categoryCombo") or {}).get("id") == combo:
            out.append(ds)
    return out


def _adjusted_end(index: MetadataIndex, option_end: datetime, ds: str) -> datetime:
    """``CategoryOption.getAdjustedEndDate(dataSet)``: openPeriodsAfterCoEndDate periods later."""
    n = index.rules.open_after_end.get(ds, 0)
    if n == 0:
        return option_end
    ptype = str(index.objects["dataSets"][ds].get("periodType", "Monthly"))
    return midnight(shift_date(ptype, option_end.date(), n))


def aoc_range_legacy(index: MetadataIndex, aoc: str, ds: str | None, de: str) -> Span:
    """≤2.42 ``CategoryOptionCombo.getDateRange(dataSet | dataElement)``: the latest option
    start and the earliest (adjusted) option end."""
    rules = index.rules
    starts, ends = [], []
    for option in rules.combo_options.get(aoc, ()):
        span = rules.option_spans.get(option)
        if span is None:
            continue
        if span.start is not None:
            starts.append(span.start)
        if span.end is not None:
            sets = [ds] if ds is not None else list(index.data_sets_of_element(de))
            adjusted = [_adjusted_end(index, span.end, s) for s in sets]
            ends.append(max([span.end, *adjusted]) if ds is None else adjusted[0])
    return Span(max(starts, default=None), min(ends, default=None))


def outside_range_legacy(span: Span, period: Period) -> bool:
    """E7638: the option combo's range ends before the period starts or starts after it ends."""
    return (span.start is not None and span.start > midnight(period.end)) or (
        span.end is not None and span.end < midnight(period.start)
    )


def aoc_units_legacy(index: MetadataIndex, aoc: str) -> frozenset[str] | None:
    """≤2.42 ``CategoryOptionCombo.getOrganisationUnits``: the intersection of the options'
    org unit sets (None: no option is restricted)."""
    units: frozenset[str] | None = None
    for option in index.rules.combo_options.get(aoc, ()):
        own = index.rules.option_units.get(option)
        if own:
            units = own if units is None else units & own
    return units


def aoc_units_refused(index: MetadataIndex, aoc: str, ou: str) -> bool:
    """2.43 ``getOrgUnitsNotInAocHierarchy``: outside some restricted option's org units."""
    for option in index.rules.combo_options.get(aoc, ()):
        own = index.rules.option_units.get(option)
        if own and not index.is_descendant(ou, own):
            return True
    return False


def aoc_span_43(index: MetadataIndex, aoc: str) -> Span | None:
    """2.43 ``getEntrySpanByAoc``: MAX(start), MIN(end) over the options (nulls ignored)."""
    options = index.rules.combo_options.get(aoc, ())
    if not options:
        return None
    spans = [index.rules.option_spans.get(o) or Span() for o in options]
    starts = [s.start for s in spans if s.start is not None]
    ends = [s.end for s in spans if s.end is not None]
    return Span(max(starts, default=None), min(ends, default=None))


def includes(span: Span, moment: datetime) -> bool:
    """``DateRange.includes``: both ends inclusive, a missing end open."""
    return (span.start is None or moment >= span.start) and (span.end is None or moment <= span.end)


def outside_span_43(span: Span, iso: str, open_after_end: int) -> bool:
    """E8032: the whole period must lie in the span, or (openPeriodsAfterCoEndDate n > 0) the
    period n periods earlier must."""
    period = parse_period(iso)
    if period is None:
        return False
    start, end = midnight(period.start), midnight(period.end)
    if includes(span, start) and includes(span, end):
        return False
    if open_after_end == 0:
        return True
    start = midnight(shift_date(period.type, period.start, -open_after_end))
    end = midnight(shift_date(period.type, period.end, -open_after_end))
    return not includes(span, start) or not includes(span, end)


def closed_for(index: MetadataIndex, ou: str, period: Period) -> bool:
    """2.43 E8031: the period's first day is outside the org unit's opening–closed span."""
    span = index.rules.unit_spans.get(ou)
    return span is not None and not includes(span, midnight(period.start))
