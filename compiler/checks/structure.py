"""Checks on the spec's shape: each block present once, settings given once, required ones there."""

from __future__ import annotations

from collections.abc import Iterator

from dhispatch.compiler.view import SpecView
from dhispatch.compiler.view import keyword_span
from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.dsl.diagnostics import Span

# Settings that say the same thing and so count as one (``enabled false`` = ``disabled``).
_SAME_AS = {"disabled": "enabled", "period_type": "period_format"}
_SHOWN = {"enabled": "enabled/disabled", "period_format": "period_format/period_type"}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "dhis2": ("url", "auth", "data_set", "period_format"),
    "source": ("database", "org_unit"),
    "push": ("interval", "basis"),
}


def check_statements(view: SpecView) -> Iterator[Diagnostic]:
    """E201 a required statement is missing; E202 a once-only one repeated; E205 empty name."""
    groups: list[tuple[str, tuple[ast.Statement, ...]]] = [
        ("spec", view.names),
        ("dhis2", view.targets),
        ("source", view.sources),
        ("setup", view.setups),
        ("alerts", view.alerts),
    ]
    for keyword, found in groups:
        for extra in found[1:]:
            yield Diagnostic(
                "E202",
                f"a spec has one '{keyword}' statement; this is a second one",
                keyword_span(extra.span, keyword),
                hint=f"the first is at line {found[0].span.line}; merge them",
            )
    for name in view.names[:1]:
        if not name.name.value.strip():
            yield Diagnostic(
                "E205",
                "the spec name is empty",
                name.name.span,
                hint='e.g. spec "kiribati-national"',
            )
    start = Span.point(view.spec.path, 1, 1)
    for keyword, what in (
        ("dhis2", "a 'dhis2 { … }' block (where and how to push)"),
        ("source", "a 'source omsupply { … }' block (where the stock data comes from)"),
        ("setup", "a 'setup <mode>' statement (how items map to data elements)"),
        ("push", "at least one 'push <indicator> { … }' block"),
    ):
        present = view.pushes if keyword == "push" else dict(groups)[keyword]
        if not present:
            yield Diagnostic("E201", f"the spec has no {keyword}: it needs {what}", start)


def _blocks(view: SpecView) -> Iterator[tuple[str, ast.Statement, tuple[ast.Setting, ...]]]:
    for target in view.targets:
        yield "dhis2", target, target.settings
    for named in view.named_targets:
        yield "target", named, named.settings
    for source in view.sources:
        yield "source", source, source.settings
    for setup in view.setups:
        yield "setup", setup, setup.settings
    for push in view.pushes:
        yield "push", push, push.settings
    for alerts in view.alerts:
        yield "alerts", alerts, alerts.settings


def check_settings_once(view: SpecView) -> Iterator[Diagnostic]:
    """E203 a setting (or its synonym) given twice in one block."""
    for _, _, settings in _blocks(view):
        seen: dict[str, ast.Setting] = {}
        for s in settings:
            key = _SAME_AS.get(s.name, s.name)
            if key in seen:
                first = seen[key]
                yield Diagnostic(
                    "E203",
                    f"'{_SHOWN.get(key, key)}' is given twice in this block",
                    s.name_span,
                    hint=f"first given at line {first.span.line}, column {first.span.column}",
                )
            else:
                seen[key] = s


def check_required_settings(view: SpecView) -> Iterator[Diagnostic]:
    """E204 a block lacks a setting it needs."""
    for block, statement, settings in _blocks(view):
        present = {_SAME_AS.get(s.name, s.name) for s in settings}
        required = _REQUIRED.get(block, ())
        if block == "dhis2" and view.named_targets:
            required = ("period_format",)  # each target block needs (or inherits) the rest
        for name in required:
            if name not in present:
                shown = "period_format (or period_type)" if name == "period_format" else name
                where = block if block != "push" else "push"
                yield Diagnostic(
                    "E204",
                    f"this {where} block has no '{shown}'",
                    keyword_span(statement.span, block),
                    hint=_REQUIRED_HINTS.get(name),
                )


_REQUIRED_HINTS = {
    "url": 'e.g. url "https://dhis2.example.org"',
    "auth": 'e.g. auth token(env("DHIS2_PAT"))',
    "data_set": 'the UID of the DHIS2 data set, e.g. data_set "QX4ZTUbOt3a"',
    "period_format": 'e.g. period_format "YYYYMM" or period_type Monthly',
    "database": 'e.g. database env("OMSUPPLY_DB")',
    "org_unit": "e.g. org_unit store.code",
    "interval": "e.g. interval monthly",
    "basis": "e.g. basis previous_month",
}
