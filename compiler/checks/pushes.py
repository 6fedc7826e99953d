"""Checks of the setup and of each push: mode requirements, indicators, parameters, schedule."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial

from dhispatch.compiler.checks.common import check_choice
from dhispatch.compiler.checks.common import check_identifier
from dhispatch.compiler.resolve import resolve_cell
from dhispatch.compiler.view import SpecView
from dhispatch.compiler.view import keyword_span
from dhispatch.compiler.view import setting
from dhispatch.compiler.vocabulary import PARAM_SETTINGS
from dhispatch.compiler.vocabulary import hint_for
from dhispatch.compiler.vocabulary import is_template
from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.runtime.plan.catalogue import BASES
from dhispatch.runtime.plan.catalogue import INDICATORS
from dhispatch.runtime.plan.catalogue import INTERVALS
from dhispatch.runtime.plan.catalogue import ITEM_FIELDS
from dhispatch.runtime.plan.catalogue import MODES
from dhispatch.runtime.plan.catalogue import SOH_KINDS
from dhispatch.runtime.plan.catalogue import TEXT_FIELDS
from dhispatch.runtime.plan.catalogue import WEEKDAYS

_MODE_SHOWN = {
    "category_option_combo": "using category option combo",
    "data_element_per_item": "different data elements per item",
    "single_data_element": "push only 1 data element",
}
# parameter -> (lowest, highest, whole numbers only)
_RANGES: dict[str, tuple[float, float, bool]] = {
    "within": (1, 3660, True),
    "months": (1, 60, True),
    "days_per_month": (1, 31, False),
}


def check_setup(view: SpecView) -> Iterator[Diagnostic]:
    """E501 unknown mode; E502 item_ref missing or meaningless; E503 unknown item field."""
    setup = view.setup
    if setup is None:
        return
    yield from check_choice(setup.mode, MODES, "E501", "setup mode")
    item_ref = setting(setup.settings, "item_ref")
    mode = setup.mode.value
    if item_ref is None and mode in ("category_option_combo", "single_data_element"):
        yield Diagnostic(
            "E502",
            f"setup {mode} needs an item_ref: the item field holding the DHIS2 data element",
            keyword_span(setup.span, "setup"),
            hint=f"e.g. setup {mode} {{ item_ref universal_code }}",
        )
    if item_ref is not None and mode == "data_element_per_item":
        yield Diagnostic(
            "E502",
            "setup data_element_per_item takes no item_ref: each push names its custom_field",
            item_ref.name_span,
            hint="remove the item_ref and give each push a custom_field",
        )
    if item_ref is not None and isinstance(item_ref.value, ast.ItemRef):
        ref = item_ref.value
        known = TEXT_FIELDS if ref.custom else ITEM_FIELDS
        yield from check_choice(ref.field, known, "E503", "item field")


def check_pushes(view: SpecView) -> Iterator[Diagnostic]:
    """Every per-push check."""
    for push in view.pushes:
        yield from check_choice(push.indicator, tuple(INDICATORS), "E508", "indicator")
        yield from _check_params(push)
        yield from _check_mode_fields(view, push)
        for s in push.settings:
            if s.name == "interval" and isinstance(s.value, ast.Interval):
                yield from check_interval(s.value)
            elif s.name == "basis" and isinstance(s.value, ast.Name):
                yield from _check_basis(view, s.value)


def _check_params(push: ast.Push) -> Iterator[Diagnostic]:
    """E509 a parameter the indicator does not take; E514 a value out of range."""
    indicator = INDICATORS.get(push.indicator.value)
    takes = indicator.params if indicator is not None else None
    for s in push.settings:
        param = PARAM_SETTINGS.get(s.name)
        if param is None:
            continue
        if takes is not None and param not in takes:
            shown = ", ".join(takes) if takes else "none"
            yield Diagnostic(
                "E509",
                f"{push.indicator.value} takes no '{s.name}' parameter",
                s.name_span,
                hint=f"its parameters: {shown}",
            )
        if isinstance(s.value, ast.Num) and s.name in _RANGES:
            low, high, whole = _RANGES[s.name]
            value = s.value.value
            if (whole and "." in s.value.text) or not low <= value <= high:
                kind = "a whole number" if whole else "a number"
                yield Diagnostic(
                    "E514",
                    f"{s.name} must be {kind} from {low:g} to {high:g}, not {s.value.text}",
                    s.value.span,
                )
        if s.name == "soh" and isinstance(s.value, ast.Name):
            yield from check_choice(s.value, SOH_KINDS, "E514", "soh kind")


def _check_mode_fields(view: SpecView, push: ast.Push) -> Iterator[Diagnostic]:
    """E504–E507: what the setup mode requires or forbids in each push."""
    mode = view.mode
    if mode not in MODES:
        return
    get = partial(setting, push.settings)
    head = keyword_span(push.span, "push")
    coc, custom, element = get("category_option"), get("custom_field"), get("data_element")
    if mode == "category_option_combo" and coc is None:
        yield Diagnostic(
            "E504",
            f"setup category_option_combo: push {push.indicator.value} needs a category_option",
            head,
            hint='the category option combo of this indicator, e.g. category_option "h9mSLj2ZYcK"',
        )
    if mode == "data_element_per_item" and custom is None:
        yield Diagnostic(
            "E505",
            f"setup data_element_per_item: push {push.indicator.value} needs a custom_field",
            head,
            hint="the item field holding this indicator's element, e.g. custom_field user_field_1",
        )
    if custom is not None and mode != "data_element_per_item":
        yield Diagnostic(
            "E506",
            f"custom_field is only used with setup data_element_per_item, not {mode}",
            custom.name_span,
            hint=f"in {_MODE_SHOWN[mode]!r} the data element comes from the setup's item_ref",
        )
    if element is not None and mode != "single_data_element":
        yield Diagnostic(
            "E507",
            f"data_element is only used with setup single_data_element, not {mode}",
            element.name_span,
        )
    if custom is not None and isinstance(custom.value, ast.Name):
        yield from check_choice(custom.value, TEXT_FIELDS, "E503", "custom field")
    if coc is not None and isinstance(coc.value, ast.Str):
        scheme = view.id_scheme("category_option_combo_id_scheme")
        yield from check_identifier(coc.value, "category option combo", scheme)
    if (
        element is not None
        and isinstance(element.value, ast.Str)
        and not is_template(element.value.value)
    ):
        yield from check_identifier(element.value, "data element", view.id_scheme("id_scheme"))


def check_interval(interval: ast.Interval) -> Iterator[Diagnostic]:
    """E511 unknown interval or a misplaced/invalid ``on`` clause or cron expression; W512."""
    kind = interval.kind.value
    if kind not in INTERVALS:
        yield from check_choice(interval.kind, INTERVALS, "E511", "interval")
        return
    if interval.expression is not None and kind != "cron":
        yield Diagnostic(
            "E511", f"only 'cron' takes an expression, not '{kind}'", interval.expression.span
        )
    if interval.weekday is not None:
        if kind != "weekly":
            yield Diagnostic(
                "E511", f"'on <weekday>' goes with weekly, not '{kind}'", interval.weekday.span
            )
        else:
            yield from check_choice(interval.weekday, WEEKDAYS, "E511", "weekday")
    if interval.day is not None:
        yield from _check_day(kind, interval.day)
    if kind == "cron":
        yield from _check_cron(interval)


def _check_day(kind: str, day: ast.Num) -> Iterator[Diagnostic]:
    if kind != "monthly":
        yield Diagnostic("E511", f"'on day N' goes with monthly, not '{kind}'", day.span)
    elif "." in day.text or not 1 <= day.value <= 31:
        yield Diagnostic("E511", f"day of month must be 1 to 31, not {day.text}", day.span)
    elif day.value > 28:
        yield Diagnostic(
            "W512",
            f"months shorter than {day.text} days run on their last day",
            day.span,
            severity="warning",
            hint="use last_day_of_month to run at every month's end",
        )


def _check_cron(interval: ast.Interval) -> Iterator[Diagnostic]:
    if interval.expression is None:
        yield Diagnostic(
            "E511",
            "interval cron needs an expression",
            interval.kind.span,
            hint='e.g. interval cron "0 6 * * 1"',
        )
        return
    from croniter import croniter

    expression = interval.expression.value
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        yield Diagnostic(
            "E511",
            f"invalid cron expression {expression!r}",
            interval.expression.span,
            hint="five fields: minute hour day-of-month month day-of-week",
        )


def _check_basis(view: SpecView, basis: ast.Name) -> Iterator[Diagnostic]:
    """E512 unknown basis; E513 previous_month with a data set that is not Monthly."""
    if basis.value not in BASES:
        yield Diagnostic(
            "E512", f"unknown basis '{basis.value}'", basis.span, hint=hint_for(basis.value, BASES)
        )
        return
    period_type = view.period_type()
    if basis.value == "previous_month" and period_type is not None and period_type != "Monthly":
        yield Diagnostic(
            "E513",
            f"basis previous_month cannot fill a {period_type} data set",
            basis.span,
            hint="previous_month only fits Monthly data sets; use previous_period or current_day",
        )


def check_duplicate_cells(view: SpecView) -> Iterator[Diagnostic]:
    """E510 two pushes writing the same data element and category option combo."""
    if view.mode not in MODES:
        return
    seen: dict[str, ast.Push] = {}
    for push in view.pushes:
        element, coc = resolve_cell(view, push)
        if element is None:
            continue
        key = json.dumps(
            [
                element,
                coc,
                push.indicator.value
                if element["kind"] == "template" and "indicator" in element["template"]
                else None,
            ]
        )
        if key in seen:
            first = seen[key]
            yield Diagnostic(
                "E510",
                f"push {push.indicator.value} writes the same DHIS2 cells as push "
                f"{first.indicator.value} at line {first.span.line}",
                keyword_span(push.span, "push"),
                hint="give each push its own data element or category_option",
            )
        else:
            seen[key] = push
