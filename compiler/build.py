"""Build the plan (a JSON-ready dict) from a spec that passed every check."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import PurePath
from typing import Any

from dhispatch.compiler.resolve import item_ref_field
from dhispatch.compiler.resolve import resolve_cell
from dhispatch.compiler.view import SpecView
from dhispatch.compiler.view import setting
from dhispatch.compiler.vocabulary import PARAM_SETTINGS
from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Span
from dhispatch.runtime.plan.catalogue import INDICATORS
from dhispatch.runtime.plan.catalogue import PARAMETERS
from dhispatch.runtime.plan.loader import PLAN_VERSION

COMPILER_VERSION = "0.1.0"
# Target settings whose positions preflight points its findings at (plan key -> spec settings).
_TARGET_ORIGINS = {
    "data_set": ("data_set",),
    "url": ("url",),
    "auth": ("auth",),
    "period": ("period_format", "period_type"),
    "id_scheme": ("id_scheme",),
    "org_unit_id_scheme": ("org_unit_id_scheme",),
    "category_option_combo_id_scheme": ("category_option_combo_id_scheme",),
    "round": ("round",),
    "timezone": ("timezone",),
    "attribute_option_combo": ("attribute_option_combo",),
    "complete_registration": ("complete_data_set",),
}
_ALERT_KEYS = (
    "webhook", "email_to", "email_from", "smtp", "smtp_user", "smtp_password", "offline_hours",
    "stale_days",
)  # fmt: skip
_STEP_ORIGINS = ("category_option", "custom_field", "data_element", "interval", "basis")


def origin(span: Span) -> str:
    return f"{span.path}:{span.line}:{span.column}"


def build_plan(view: SpecView, text: str) -> dict[str, Any]:
    """The plan of a checked spec; the same spec text always gives the same dict."""
    spec = view.spec
    name = view.names[0].name.value if view.names else PurePath(spec.path).stem or "spec"
    return {
        "plan_version": PLAN_VERSION,
        "metadata": {
            "compiler_version": COMPILER_VERSION,
            "spec_path": spec.path,
            "spec_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        },
        "name": name,
        **_targets(view),
        "source": _source(view),
        "setup": _setup(view),
        "vanished": _word(view.target_setting("on_vanish")) or "keep",
        "steps": _steps(view),
        **({"alerts": _alerts(view.alerts[0])} if view.alerts else {}),
    }


def _alerts(block: ast.Alerts) -> dict[str, Any]:
    """The alerts block in a fixed key order: text settings as values or environment
    references, thresholds as numbers (absent: the environment's, else the defaults)."""
    result: dict[str, Any] = {"origin": origin(block.span)}
    for name in _ALERT_KEYS:
        found = setting(block.settings, name)  # a repeated setting is E203; the first counts
        if found is None:
            continue
        if isinstance(found.value, ast.Num):
            result[name] = int(found.value.value)
        else:
            result[name] = _value_or_env(found.value)
    return result


def _word(found: ast.Setting | None) -> str | None:
    if found is None:
        return None
    value = found.value
    if isinstance(value, ast.Name | ast.Str):
        return value.value
    return None


def _value_or_env(value: ast.Value | None) -> dict[str, str]:
    if isinstance(value, ast.Env):
        return {"env": value.var.value}
    assert isinstance(value, ast.Str | ast.Name), value
    return {"value": value.value}


def _auth(call: ast.Call) -> dict[str, Any]:
    from dhispatch.compiler.checks.target import AUTH_ARGS

    params = AUTH_ARGS[call.func.value]
    auth: dict[str, Any] = {"kind": call.func.value}
    for index, arg in enumerate(call.args):
        key = arg.key.value if arg.key is not None else params[index][0]
        auth[key] = _value_or_env(arg.value)
    return {"kind": auth["kind"], **{name: auth[name] for name, _ in params}}


def _targets(view: SpecView) -> dict[str, Any]:
    """``target`` for a spec with the dhis2 block alone (the plan it always compiled to), else
    ``targets``: each named target, its own settings over the dhis2 block's."""
    if not view.named_targets:
        return {"target": _target(view)}
    return {"targets": [_target(view, named) for named in view.named_targets]}


def _target(view: SpecView, named: ast.NamedTarget | None = None) -> dict[str, Any]:
    target = view.target
    assert target is not None
    get = partial(view.setting_of, named)
    is_enabled = _enabled(view, named)
    url = get("url")
    auth = get("auth")
    data_set = get("data_set")
    assert url is not None and auth is not None and data_set is not None
    assert isinstance(auth.value, ast.Call)
    period_format = get("period_format")
    period_type = view.period_type()
    assert period_type is not None
    round_setting = get("round")
    rounding: int | None = None
    if round_setting is not None:
        rounding = int(round_setting.value.text) if isinstance(round_setting.value, ast.Num) else 0
    aoc = get("attribute_option_combo")
    result: dict[str, Any] = {"name": named.name.value} if named is not None else {}
    result |= {
        "origin": origin((named or target).span),
        "enabled": is_enabled,
        "url": _word(url),
        "insecure": get("insecure") is not None,
        "auth": _auth(auth.value),
        "data_set": _word(data_set),
        "id_schemes": {
            "data_element": view.id_scheme("id_scheme", named).upper(),
            "org_unit": view.id_scheme("org_unit_id_scheme", named).upper(),
            "category_option_combo": view.id_scheme(
                "category_option_combo_id_scheme", named
            ).upper(),
        },
        "period_type": period_type,
        "period_format": _word(period_format),
        "rounding": rounding,
        "timezone": _word(get("timezone")) or "UTC",
    }
    if aoc is not None:
        result["attribute_option_combo"] = _word(aoc)
    if get("complete_data_set") is not None:
        result["complete_registration"] = True  # absent: the plan's bytes stay as they were
    journal = get("journal")
    if journal is not None:
        result["journal"] = _word(journal)  # absent: the plan's bytes stay as they were
    keep = get("keep_payloads")
    if keep is not None and isinstance(keep.value, ast.Num):
        result["keep_payloads"] = int(keep.value.text)  # absent: the default, bytes unchanged
    origins = {}
    for key, names in _TARGET_ORIGINS.items():
        for name in names:
            found = get(name)
            if found is not None:
                origins[key] = origin(found.span)
                break
    result["origins"] = origins
    return result


def _enabled(view: SpecView, named: ast.NamedTarget | None) -> bool:
    """The target's own enabled/disabled, else the dhis2 block's, else enabled."""
    assert view.target is not None
    for settings in (named.settings if named else (), view.target.settings):
        if setting(settings, "disabled") is not None:
            return False
        enabled = setting(settings, "enabled")
        if enabled is not None:
            return _word(enabled) != "false"
    return True


def _source(view: SpecView) -> dict[str, Any]:
    source = view.source
    assert source is not None
    database = setting(source.settings, "database")
    org_unit = setting(source.settings, "org_unit")
    assert database is not None and org_unit is not None
    items = setting(source.settings, "items")
    filters = (
        items.value.filters if items is not None and isinstance(items.value, ast.Filters) else ()
    )
    return {
        "origin": origin(source.span),
        "kind": source.kind.value,
        "database": _value_or_env(database.value),
        "items": [_filter(f) for f in filters],
        "org_unit": _org_unit(org_unit.value),
    }


def _filter(item_filter: ast.Filter) -> dict[str, Any]:
    if isinstance(item_filter, ast.FieldSet):
        return {"kind": "field_set", "field": item_filter.field.value}
    if isinstance(item_filter, ast.FieldCompare):
        lit = item_filter.literal
        value: str | bool | float = (
            lit.value if isinstance(lit, ast.Str)
            else float(lit.text) if isinstance(lit, ast.Num)
            else lit.value == "true"
        )  # fmt: skip
        field, op = item_filter.field.value, item_filter.op.value
        return {"kind": "field_compare", "field": field, "op": op, "value": value}
    if isinstance(item_filter, ast.CustomFlag):
        return {"kind": "custom_flag", "field": item_filter.field.value}
    return {"kind": "master_list", "name": item_filter.name.value}


def _org_unit(value: ast.Value | None) -> dict[str, str]:
    if isinstance(value, ast.Mapping):
        return {"kind": "mapping_file", "path": value.path.value}
    assert isinstance(value, ast.Attr)
    ref = f"{value.obj.value}.{value.attr.value}"
    if ref == "store.custom":
        assert value.arg is not None
        return {"kind": "name_custom_data", "key": value.arg.value}
    return {"kind": "store_code" if ref == "store.code" else "name_code"}


def _setup(view: SpecView) -> dict[str, Any]:
    setup = view.setup
    assert setup is not None
    result: dict[str, Any] = {"mode": setup.mode.value}
    field = item_ref_field(view)
    if field is not None:
        result["item_ref"] = field
    result["origin"] = origin(setup.span)
    return result


def _params(push: ast.Push) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for s in push.settings:
        param = PARAM_SETTINGS.get(s.name)
        if param is None:
            continue
        if isinstance(s.value, ast.Num):
            params[param] = s.value.value
        elif isinstance(s.value, ast.Name):
            params[param] = s.value.value
        else:
            params[param] = True
    for name in INDICATORS[push.indicator.value].params:
        default = PARAMETERS[name].default
        if default is not None:
            params.setdefault(name, default)
    return params


def _interval(value: ast.Interval) -> dict[str, Any]:
    kind = value.kind.value
    if kind == "weekly":
        return {"kind": kind, "weekday": value.weekday.value if value.weekday else "monday"}
    if kind == "monthly":
        return {"kind": kind, "day": int(value.day.value) if value.day else 1}
    if kind == "cron":
        assert value.expression is not None
        return {"kind": kind, "expression": value.expression.value}
    return {"kind": kind}


def _steps(view: SpecView) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    used: dict[str, int] = {}
    for push in view.pushes:
        indicator = push.indicator.value
        used[indicator] = used.get(indicator, 0) + 1
        step_id = indicator if used[indicator] == 1 else f"{indicator}_{used[indicator]}"
        element, coc = resolve_cell(view, push)
        assert element is not None
        interval = setting(push.settings, "interval")
        basis = setting(push.settings, "basis")
        assert interval is not None and isinstance(interval.value, ast.Interval)
        origins = {}
        for name in _STEP_ORIGINS:
            found = setting(push.settings, name)
            if found is not None:
                origins[name] = origin(found.span)
        steps.append(
            {
                "id": step_id,
                "origin": origin(push.span),
                "indicator": indicator,
                "params": _params(push),
                "paused": setting(push.settings, "paused") is not None,
                "interval": _interval(interval.value),
                "basis": _word(basis),
                "data_element": element,
                "category_option_combo": coc,
                "origins": origins,
            }
        )
    return steps


__all__ = ["build_plan", "origin"]
