"""Semantic checks: small generators of Diagnostics over a SpecView, collected by the driver."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator

from dhispatch.compiler.checks.alerts import check_alerts
from dhispatch.compiler.checks.pushes import check_duplicate_cells
from dhispatch.compiler.checks.pushes import check_pushes
from dhispatch.compiler.checks.pushes import check_setup
from dhispatch.compiler.checks.source import check_source_block
from dhispatch.compiler.checks.structure import check_required_settings
from dhispatch.compiler.checks.structure import check_settings_once
from dhispatch.compiler.checks.structure import check_statements
from dhispatch.compiler.checks.target import check_target
from dhispatch.compiler.checks.targets import check_named_targets
from dhispatch.compiler.checks.templates import check_templates
from dhispatch.compiler.view import SpecView
from dhispatch.dsl.diagnostics import Diagnostic

Check = Callable[[SpecView], Iterator[Diagnostic]]

CHECKS: tuple[Check, ...] = (
    check_statements,
    check_settings_once,
    check_required_settings,
    check_target,
    check_named_targets,
    check_source_block,
    check_setup,
    check_pushes,
    check_templates,
    check_duplicate_cells,
    check_alerts,
)


def run_checks(view: SpecView) -> tuple[Diagnostic, ...]:
    """Every finding of every check, sorted by position, duplicates removed."""
    found = {d: None for check in CHECKS for d in check(view)}
    return tuple(sorted(found, key=Diagnostic.sort_key))
