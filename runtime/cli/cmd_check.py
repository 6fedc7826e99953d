"""``dhispatch check SPEC…``: report every mistake of every spec, as text or JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import click

from dhispatch.errors import UsageError
from dhispatch.runtime.cli.common import CommandError
from dhispatch.runtime.cli.common import read_spec

if TYPE_CHECKING:
    from dhispatch.dsl.diagnostics import Diagnostic


@click.command("check")
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: path:line:col diagnostics with the source line; json: a list of objects.",
)
@click.option(
    "--metadata",
    "metadata_file",
    type=click.Path(dir_okay=False),
    help="Also check every ID against this DHIS2 metadata export (JSON), as preflight does.",
)
def command(specs: tuple[str, ...], output_format: str, metadata_file: str | None) -> None:
    """Check specs without contacting DHIS2; exit 1 when any has an error."""
    from dhispatch.compiler import check_source
    from dhispatch.dsl.diagnostics import render_all

    export = _read_export(metadata_file) if metadata_file else None

    found: list[Diagnostic] = []
    sources: dict[str, str] = {}
    unreadable = False
    for path in specs:
        try:
            text = read_spec(path)
        except CommandError as exc:  # report it, and check the other specs
            click.echo(f"dhispatch: {exc}", err=True)
            unreadable = True
            continue
        sources[path] = text
        diagnostics = check_source(text, path)
        found.extend(diagnostics)
        if export is not None and not any(d.severity == "error" for d in diagnostics):
            found.extend(_against_metadata(text, path, export, metadata_file or ""))
    errors = sum(1 for d in found if d.severity == "error")
    if output_format == "json":
        click.echo(json.dumps([d.to_json() for d in found], indent=2, ensure_ascii=False))
    elif found:
        click.echo(render_all(found, sources))
        warnings = len(found) - errors
        click.echo(f"{errors} error(s), {warnings} warning(s) in {len(specs)} spec(s)", err=True)
    if errors or unreadable:
        sys.exit(1)


def _read_export(path: str) -> Any:
    """The metadata export as JSON data; an unreadable file is a usage error (exit 2)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read metadata file {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"metadata file {path} is not JSON: {exc}") from exc


def _against_metadata(text: str, path: str, export: Any, where: str) -> list[Diagnostic]:
    """Preflight's metadata findings for a spec that passed its own checks."""
    from dhispatch.compiler import compile_source
    from dhispatch.compiler.preflight import PreflightInputError
    from dhispatch.compiler.preflight import preflight
    from dhispatch.runtime.plan import Plan

    result = compile_source(text, path)
    if result.plan is None:
        return [d for d in result.diagnostics if d.severity == "error"]
    plan = Plan.from_json(result.plan)
    # one export is one server: the targets whose data set it holds (else the first target)
    sets = export.get("dataSets") if isinstance(export, dict) else None
    ids = {d.get("id") for d in sets if isinstance(d, dict)} if isinstance(sets, list) else set()
    targets = [t for t in plan.named_targets if t.data_set in ids] or [plan.target]
    try:
        found = {d: None for t in targets for d in preflight(plan.for_target(t), export)}
        return list(found)
    except PreflightInputError as exc:  # the --metadata file is not an export: usage
        raise UsageError(f"{where}: {exc}") from exc
