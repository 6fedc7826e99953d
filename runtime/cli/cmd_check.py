"""``dhispatch check SPEC…``: report every mistake of every spec, as text or JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


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
def command(specs: tuple[str, ...], output_format: str) -> None:
    """Check specs without contacting DHIS2; exit 1 when any has an error."""
    from dhispatch.compiler import check_source
    from dhispatch.dsl.diagnostics import Diagnostic
    from dhispatch.dsl.diagnostics import render_all

    found: list[Diagnostic] = []
    sources: dict[str, str] = {}
    unreadable = False
    for path in specs:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            click.echo(f"dhispatch: cannot read spec {path}: {reason}", err=True)
            unreadable = True
            continue
        sources[path] = text
        found.extend(check_source(text, path))
    errors = sum(1 for d in found if d.severity == "error")
    if output_format == "json":
        click.echo(json.dumps([d.to_json() for d in found], indent=2, ensure_ascii=False))
    elif found:
        click.echo(render_all(found, sources))
        warnings = len(found) - errors
        click.echo(f"{errors} error(s), {warnings} warning(s) in {len(specs)} spec(s)", err=True)
    if errors or unreadable:
        sys.exit(1)
