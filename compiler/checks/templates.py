"""Check data element templates with the sandboxed, strict Jinja the runtime renders them in."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
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


@lru_cache(maxsize=1)
def template_environment() -> Any:
    """The sandboxed, strict environment (jinja2 is imported only when a spec has a template)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def check_templates(view: SpecView) -> Iterator[Diagnostic]:
    """E601 template syntax; E602 unknown variable; E603 unknown attribute of ``item``."""
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
    from jinja2 import TemplateSyntaxError
    from jinja2 import meta
    from jinja2 import nodes

    env = template_environment()
    try:
        parsed = env.parse(literal.value)
    except TemplateSyntaxError as exc:
        yield Diagnostic("E601", f"template syntax error: {exc.message}", literal.span)
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


def _const(node: Any) -> str | None:
    from jinja2 import nodes

    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None
