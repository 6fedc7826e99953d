"""``dhispatch fmt SPEC… [--check]``: rewrite specs in the canonical layout, comments kept."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dhispatch.runtime.cli.common import read_spec


@click.command("fmt")
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a spec is not formatted.")
def command(specs: tuple[str, ...], check: bool) -> None:
    """Format specs in place (or only report, with --check)."""
    from dhispatch.dsl.diagnostics import render_all
    from dhispatch.dsl.errors import SpecError
    from dhispatch.dsl.fmt import format_source

    failed = False
    for path in specs:
        text = read_spec(path)
        if text is None:
            failed = True
            continue
        try:
            formatted = format_source(text, path)
        except SpecError as exc:
            click.echo(render_all(exc.diagnostics, {path: text}), err=True)
            click.echo(f"dhispatch: {path} does not parse; not formatted", err=True)
            failed = True
            continue
        if formatted == text:
            continue
        if check:
            click.echo(f"{path}: would be reformatted")
            failed = True
            continue
        try:
            Path(path).write_text(formatted, encoding="utf-8")
        except OSError as exc:
            click.echo(f"dhispatch: cannot write {path}: {exc.strerror or exc}", err=True)
            failed = True
            continue
        click.echo(f"{path}: reformatted")
    if failed:
        sys.exit(1)
