"""Semantic checks of a parsed spec and the push plan builder.

``compile_source(text, path)`` is the whole front end: parse, check, build, validate the plan
against the plan contract's schema (``dhispatch.runtime.plan``). ``check_source`` stops before
building (no jsonschema import).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.dsl.diagnostics import Span
from dhispatch.dsl.diagnostics import has_errors
from dhispatch.dsl.errors import SpecSyntaxError
from dhispatch.runtime.plan.loader import plan_problems


@dataclass(frozen=True, slots=True)
class CompileResult:
    """The plan (None when any error was found) and every diagnostic, errors and warnings."""

    plan: dict[str, Any] | None
    diagnostics: tuple[Diagnostic, ...]


def check_source(text: str, path: str) -> tuple[Diagnostic, ...]:
    """Every syntax or semantic finding of a spec text, sorted by position."""
    return _front(text, path or "<spec>")[1]


def _front(text: str, path: str) -> tuple[Any, tuple[Diagnostic, ...]]:
    from dhispatch.compiler.checks import run_checks
    from dhispatch.compiler.view import SpecView
    from dhispatch.dsl.parser import parse_spec

    try:
        spec = parse_spec(text, path)
    except SpecSyntaxError as exc:
        return None, exc.diagnostics
    view = SpecView.of(spec)
    return view, run_checks(view)


def compile_source(text: str, path: str) -> CompileResult:
    """Compile spec text to a schema-valid plan, or report why not (never raises for bad specs)."""
    from dhispatch.dsl.parser import parse_spec

    path = path or "<spec>"  # origins need a non-empty path
    try:
        spec = parse_spec(text, path)
    except SpecSyntaxError as exc:
        return CompileResult(None, exc.diagnostics)
    return compile_spec(spec, text)


def compile_spec(spec: ast.Spec, text: str) -> CompileResult:
    """Check a parsed spec and build its plan; ``text`` is its source, hashed into the metadata."""
    from dhispatch.compiler.build import build_plan
    from dhispatch.compiler.checks import run_checks
    from dhispatch.compiler.view import SpecView

    view = SpecView.of(spec)
    diagnostics = run_checks(view)
    if has_errors(diagnostics):
        return CompileResult(None, diagnostics)
    plan = build_plan(view, text)
    problems = plan_problems(plan)  # the runtime's own validator: what it will accept
    if problems:
        # A compiler bug, not a spec mistake: say so plainly instead of emitting a bad plan.
        bug = Diagnostic(
            "E900",
            "internal compiler error: the plan does not match its schema: " + problems[0],
            Span.point(spec.path, 1, 1),
            hint="please report this with the spec",
        )
        return CompileResult(None, (*diagnostics, bug))
    return CompileResult(plan, diagnostics)


def plan_to_json(plan: dict[str, Any]) -> str:
    """The plan's bytes: fixed key order as built, two-space indent, UTF-8, final newline."""
    return json.dumps(plan, indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "CompileResult",
    "check_source",
    "compile_source",
    "compile_spec",
    "plan_problems",
    "plan_to_json",
]
