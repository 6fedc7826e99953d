"""``dhispatch compile SPEC [-o PLAN]``: the spec's push plan, schema-valid, byte-stable."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dhispatch.runtime.cli.common import read_spec


@click.command("compile")
@click.argument("spec", metavar="SPEC")
@click.option("-o", "--output", metavar="PLAN", help="Write the plan here instead of stdout.")
def command(spec: str, output: str | None) -> None:
    """Compile a spec into a push plan (JSON); exit 1 if the spec has errors."""
    from dhispatch.compiler import compile_source
    from dhispatch.compiler import plan_to_json
    from dhispatch.dsl.diagnostics import render_all

    text = read_spec(spec)
    if text is None:
        sys.exit(1)
    result = compile_source(text, spec)
    if result.diagnostics:
        click.echo(render_all(result.diagnostics, {spec: text}), err=True)
    if result.plan is None:
        click.echo(f"dhispatch: {spec} has errors; no plan written", err=True)
        sys.exit(1)
    data = plan_to_json(result.plan)
    if output is None:
        click.echo(data, nl=False)
        return
    try:
        Path(output).write_text(data, encoding="utf-8")
    except OSError as exc:
        click.echo(f"dhispatch: cannot write plan {output}: {exc.strerror or exc}", err=True)
        sys.exit(1)
