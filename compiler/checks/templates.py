"""Check data element templates with the sandboxed, strict Jinja the runtime renders them in,
and the bound on their cost that the runtime applies too (``runtime/plan/templates.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dhispatch.compiler.view import SpecView
from dhispatch.compiler.view import setting
from dhispatch.compiler.vocabulary import ITEM_ATTRIBUTES
from dhispatch.compiler.vocabulary import TEMPLATE_VARIABLES
from dhispatch.compiler.vocabulary import hint_for
from dhispatch.compiler.vocabulary import is_template
from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.dsl.diagnostics import Span
from dhispatch.runtime.plan.templates import cost_problems
from dhispatch.runtime.plan.templates import parse


def check_templates(view: SpecView) -> Iterator[Diagnostic]:
    """E601 template syntax; E602 unknown variable; E603 unknown attribute of ``item``;
    E604 a construct whose cost is unbounded (loops, calls, ``*``, a filter not allowed …)."""
    for push in view.pushes:
        found = setting(push.settings, "data_element")
        if (
            found is not None
            and isinstance(found.value, ast.Str)
            and is_template(found.value.value)
        ):
            yield from check_template(found.value)


def _inner(literal: ast.Str, needle: str) -> Span:
    """The span of ``needle`` inside a one-line string literal, else the whole literal."""
    at = literal.value.find(needle)
    span = literal.span
    if at < 0 or span.line != span.end_line or "\\" in literal.value:
        return span
    start = span.column + 1 + at
    return Span(span.path, span.line, start, span.line, start + len(needle))


def check_template(literal: ast.Str) -> Iterator[Diagnostic]:
    """All problems of one template string."""
    from jinja2 import meta
    from jinja2 import nodes

    parsed, problems = parse(literal.value)
    for problem in problems:
        if problem.kind == "syntax":
            yield Diagnostic("E601", problem.message, literal.span)
        else:
            yield Diagnostic("E604", problem.message, literal.span, hint=_COST_HINT)
    if parsed is None:
        return
    for name in sorted(meta.find_undeclared_variables(parsed)):
        if name not in TEMPLATE_VARIABLES:
            yield Diagnostic(
                "E602",
                f"unknown template variable '{name}'",
                _inner(literal, name),
                hint=hint_for(name, TEMPLATE_VARIABLES),
            )
    for node in parsed.find_all((nodes.Getattr, nodes.Getitem)):
        if not (isinstance(node.node, nodes.Name) and node.node.name == "item"):
            continue
        attr = node.attr if isinstance(node, nodes.Getattr) else _const(node.arg)
        if attr is not None and attr not in ITEM_ATTRIBUTES:
            yield Diagnostic(
                "E603",
                f"items have no attribute '{attr}'",
                _inner(literal, f"item.{attr}"),
                hint=hint_for(attr, ITEM_ATTRIBUTES),
            )
    yield from _check_cost(literal, parsed)


def _check_cost(literal: ast.Str, parsed: Any) -> Iterator[Diagnostic]:
    for problem in cost_problems(literal.value, parsed):
        span = _inner(literal, problem.needle) if problem.needle else literal.span
        yield Diagnostic("E604", problem.message, span, hint=_COST_HINT)


_COST_HINT = (
    "a template names one data element from the item's fields: text, {{ item.FIELD }}, "
    "{{ indicator }}, ~, if/else and simple filters (upper, replace, truncate …)"
)


def _const(node: Any) -> str | None:
    from jinja2 import nodes

    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None
