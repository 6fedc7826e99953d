"""``dhispatch fmt SPEC… [--check]``: rewrite specs in the canonical layout, comments kept."""

from __future__ import annotations

import sys

import click

from dhispatch.runtime.cli.common import CommandError
from dhispatch.runtime.cli.common import read_spec
from dhispatch.runtime.cli.common import write_text


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
        try:
            text = read_spec(path)
        except CommandError as exc:  # report it, and format the other specs
            click.echo(f"dhispatch: {exc}", err=True)
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
            write_text(path, formatted)
        except CommandError as exc:
            click.echo(f"dhispatch: {exc}", err=True)
            failed = True
            continue
        click.echo(f"{path}: reformatted")
    if failed:
        sys.exit(1)
