"""``dhispatch preflight SPEC|PLAN``: the spec's metadata checks against DHIS2 or an export file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from dhispatch.errors import UsageError
from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import CommandError
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import pick_target


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
@options.env_file
@options.target
def command(
    spec_or_plan: str,
    target_name: str | None,
    metadata_file: str | None,
    source_db: str | None,
    timeout: float,
) -> None:
    """Check that every data set, data element, option combo and org unit the spec names exists
    in DHIS2 and fits (period type, category combos, value types, open periods)."""
    from dhispatch.compiler.preflight import PreflightInputError
    from dhispatch.compiler.preflight import ResolvedScope
    from dhispatch.compiler.preflight import preflight
    from dhispatch.dsl.diagnostics import render_all
    from dhispatch.runtime.cells import addresses
    from dhispatch.runtime.printable import printable
    from dhispatch.runtime.runner import fetch_metadata

    loaded = pick_target(load_plan_arg(spec_or_plan), target_name)
    plan = loaded.plan
    export = _read_export(metadata_file) if metadata_file else fetch_metadata(plan, timeout=timeout)
    scope = ResolvedScope(*addresses(plan, source_db)) if source_db else None
    try:
        diagnostics = preflight(plan, export, scope)
    except PreflightInputError as exc:  # name the file the export came from
        raise CommandError(f"{metadata_file or 'DHIS2 metadata'}: {exc}") from exc
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    if diagnostics:
        # the findings quote DHIS2's metadata (names, codes): printable only
        shown = [replace(d, message=printable(d.message)) for d in diagnostics]
        click.echo(render_all(shown, loaded.sources), err=True)
    where = metadata_file or plan.target.url
    if errors:
        raise CommandError(
            f"preflight found {errors} error(s) and {warnings} warning(s) against {where}"
        )
    suffix = f" ({warnings} warning(s))" if warnings else ""
    what = "every item and store" if scope else "the spec"
    click.echo(f"preflight passed: {what} fits the metadata of {where}{suffix}")


def _read_export(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read metadata file {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
