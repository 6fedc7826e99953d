"""Checks of ``target "NAME" { … }`` blocks: names, what a target may override, what each
needs, and that no two targets are one (they would share their journal state)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial

from dhispatch.compiler.checks.target import check_connection
from dhispatch.compiler.view import SpecView
from dhispatch.compiler.view import keyword_span
from dhispatch.compiler.view import setting
from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Diagnostic

# what one target may give for itself; everything else is shared through the dhis2 block
OVERRIDABLE = frozenset(
    {
        "url", "auth", "data_set", "id_scheme", "org_unit_id_scheme",
        "category_option_combo_id_scheme", "attribute_option_combo", "enabled", "disabled",
        "insecure", "complete_data_set",
    }
)  # fmt: skip
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_NEEDED = {
    "url": 'e.g. url "https://staging.example.org" (here or in the dhis2 block)',
    "auth": 'e.g. auth token(env("STAGING_PAT")) (here or in the dhis2 block)',
    "data_set": 'e.g. data_set "QX4ZTUbOt3a" (here or in the dhis2 block)',
}


def check_named_targets(view: SpecView) -> Iterator[Diagnostic]:
    """E317 names, E318 settings a target cannot override, E204 what a target lacks, the
    connection checks of each target's own settings, E319 two targets that are one."""
    seen: dict[str, ast.NamedTarget] = {}
    for named in view.named_targets:
        yield from _check_name(named, seen)
        for s in named.settings:
            if s.name not in OVERRIDABLE:
                yield Diagnostic(
                    "E318",
                    f"'{s.name}' is shared by every target and cannot be set in a target block",
                    s.name_span,
                    hint="set it in the dhis2 block",
                )
        for name, hint in _NEEDED.items():
            if view.setting_of(named, name) is None:
                yield Diagnostic(
                    "E204",
                    f"this target block has no '{name}' and the dhis2 block gives none",
                    keyword_span(named.span, "target"),
                    hint=hint,
                )
        own = partial(setting, named.settings)
        yield from check_connection(own, view.setting_of(named, "insecure"))
    yield from _check_distinct(view)


def _check_name(named: ast.NamedTarget, seen: dict[str, ast.NamedTarget]) -> Iterator[Diagnostic]:
    name = named.name.value
    if NAME.fullmatch(name) is None:
        yield Diagnostic(
            "E317",
            f"target name {name!r} is not a plain name (it is given as --target NAME)",
            named.name.span,
            hint='letters, digits, "_", "." and "-", e.g. target "staging"',
        )
    elif name in seen:
        yield Diagnostic(
            "E317",
            f"target {name!r} is named twice",
            named.name.span,
            hint=f"the first is at line {seen[name].span.line}; give each target its own name",
        )
    else:
        seen[name] = named


def _identity(view: SpecView, named: ast.NamedTarget) -> tuple[str, str, str] | None:
    """Server, data set and auth as written; None when any is missing."""
    from dhispatch.dsl.fmt import value_text

    parts = [view.setting_of(named, n) for n in ("url", "data_set", "auth")]
    if any(p is None for p in parts):
        return None
    url, data_set, auth = (value_text(p.value) for p in parts if p is not None)
    return url.rstrip('/"'), data_set, auth


def _check_distinct(view: SpecView) -> Iterator[Diagnostic]:
    first: dict[tuple[str, str, str], ast.NamedTarget] = {}
    for named in view.named_targets:
        key = _identity(view, named)
        if key is None:
            continue
        if key in first:
            other = first[key].name.value
            yield Diagnostic(
                "E319",
                f"targets {other!r} and {named.name.value!r} push to the same server and data "
                "set as the same user: they would be one target",
                named.name.span,
                hint="give one of them its own url, data_set or auth, or remove it",
            )
        else:
            first[key] = named
