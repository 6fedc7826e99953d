"""Helpers shared by the CLI commands: SPEC|PLAN arguments, error lines, the state path.

This is the one module of the runtime that may import the compiler (lazily): a command given a
``.push`` spec compiles it in memory; given a ``.json`` plan it loads and validates it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import NoReturn

import click

from dhispatch.runtime.plan import Plan

DEFAULT_STATE = Path(".dhispatch") / "state.sqlite"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line on stderr and exit (1 = problem found, 2 = usage error)."""
    click.echo(f"dhispatch: {message}", err=True)
    sys.exit(code)


def state_path(option: str | None) -> Path:
    """The journal: ``--state``, else ``$DHISPATCH_STATE``, else ``.dhispatch/state.sqlite``."""
    return Path(option or os.environ.get("DHISPATCH_STATE") or DEFAULT_STATE)


def read_spec(path: str) -> str | None:
    """A spec file's text, or None after printing why it cannot be read (missing, not UTF-8)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        click.echo(f"dhispatch: cannot read spec {path}: {reason}", err=True)
        return None


@dataclass(frozen=True)
class LoadedPlan:
    """A plan ready for the runtime, plus the spec text(s) its origins point into (if known)."""

    plan: Plan
    sources: dict[str, str] = field(default_factory=dict)


def load_plan_arg(path: str) -> LoadedPlan:
    """Compile a ``.push`` spec or load a plan JSON; on any problem print it and exit 1."""
    from dhispatch.runtime.plan import PlanError
    from dhispatch.runtime.plan import load_plan

    if path.endswith(".push"):
        from dhispatch.compiler import compile_source
        from dhispatch.dsl.diagnostics import render_all

        text = read_spec(path)
        if text is None:
            sys.exit(1)
        result = compile_source(text, path)
        if result.plan is None:
            click.echo(render_all(result.diagnostics, {path: text}), err=True)
            fail(f"{path} has errors; nothing was done")
        # validated by the compiler against the same schema: typed without a second pass
        return LoadedPlan(Plan.from_json(result.plan), {path: text})
    try:
        plan = load_plan(path)
    except PlanError as exc:
        fail(str(exc))
    spec_path = plan.metadata.spec_path
    sources: dict[str, str] = {}
    try:
        sources[spec_path] = Path(spec_path).read_text(encoding="utf-8")
    except OSError:
        pass  # the spec is not beside us: diagnostics still carry path:line:col
    return LoadedPlan(plan, sources)
