"""``dhispatch preflight SPEC|PLAN``: the spec's metadata checks against DHIS2 or an export file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from dhispatch.runtime.cli.common import fail
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.plan import Plan


@click.command("preflight")
@click.argument("spec_or_plan", metavar="SPEC|PLAN")
@click.option(
    "--metadata",
    "metadata_file",
    type=click.Path(dir_okay=False),
    help="A DHIS2 metadata export (JSON); default: fetch it live from the spec's DHIS2.",
)
@click.option(
    "--source",
    "source_db",
    default=None,
    help="Stock database (SQLite path or postgresql:// URL): also check every item and store.",
)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds per request (live).")
def command(
    spec_or_plan: str, metadata_file: str | None, source_db: str | None, timeout: float
) -> None:
    """Check that every data set, data element, option combo and org unit the spec names exists
    in DHIS2 and fits (period type, category combos, value types, open periods)."""
    from dhispatch.compiler.preflight import PreflightInputError
    from dhispatch.compiler.preflight import preflight
    from dhispatch.dsl.diagnostics import render_all

    loaded = load_plan_arg(spec_or_plan)
    plan = loaded.plan
    export = _read_export(metadata_file) if metadata_file else _fetch_export(plan, timeout)
    scope = _scope(plan, source_db) if source_db else None
    try:
        diagnostics = preflight(plan, export, scope)
    except PreflightInputError as exc:
        fail(f"{metadata_file or 'DHIS2 metadata'}: {exc}")
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    if diagnostics:
        click.echo(render_all(diagnostics, loaded.sources), err=True)
    where = metadata_file or plan.target.url
    if errors:
        fail(f"preflight found {errors} error(s) and {warnings} warning(s) against {where}")
    suffix = f" ({warnings} warning(s))" if warnings else ""
    what = "every item and store" if scope else "the spec"
    click.echo(f"preflight passed: {what} fits the metadata of {where}{suffix}")


def _read_export(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read metadata file {path}: {exc.strerror or exc}", 2)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}")


def _fetch_export(plan: Plan, timeout: float) -> dict[str, Any]:
    from dhispatch.runtime.dhis2 import ConfigError
    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2 import Dhis2Error
    from dhispatch.runtime.dhis2 import RetryPolicy
    from dhispatch.runtime.dhis2 import auth_from_plan

    target = plan.target
    try:
        auth = auth_from_plan(target.auth, os.environ)
    except ConfigError as exc:
        fail(str(exc), 2)
    retry = RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0)
    try:
        with Dhis2Client(target.url, auth, timeout=timeout, retry=retry) as client:
            return client.metadata_export(target.data_set)
    except Dhis2Error as exc:
        fail(f"cannot fetch metadata from {target.url}: {exc}")


def _scope(plan: Plan, source_db: str) -> Any:
    """Each step's data element per in-scope item and each store's org unit, from the database."""
    from dhispatch.compiler.preflight import ResolvedScope
    from dhispatch.runtime.cells import ElementResolver
    from dhispatch.runtime.cells import ValueBuildError
    from dhispatch.runtime.sources import SourceError
    from dhispatch.runtime.sources import open_source

    try:
        with open_source(source_db) as source:
            scope = source.scope(plan.source.scope)
    except SourceError as exc:
        fail(str(exc))
    elements: dict[str, list[tuple[str, str]]] = {}
    for step in plan.steps:
        resolve = ElementResolver(step)
        pairs: list[tuple[str, str]] = []
        for item in scope.items:
            try:
                de = resolve(item)
            except ValueBuildError as exc:
                fail(f"{step.origin}: {exc}")
            if de:
                pairs.append((item.code, de))
        elements[step.id] = pairs
    org_units = [(s.code, s.org_unit) for s in scope.stores if s.org_unit]
    return ResolvedScope(elements=elements, org_units=org_units)
