"""``dhispatch compile SPEC [-o PLAN]``: the spec's push plan, schema-valid, byte-stable."""

from __future__ import annotations

import click

from dhispatch.runtime.cli.common import CommandError
from dhispatch.runtime.cli.common import read_spec
from dhispatch.runtime.cli.common import write_text


@click.command("compile")
@click.argument("spec", metavar="SPEC")
@click.option("-o", "--output", metavar="PLAN", help="Write the plan here instead of stdout.")
def command(spec: str, output: str | None) -> None:
    """Compile a spec into a push plan (JSON); exit 1 if the spec has errors."""
    from dhispatch.compiler import compile_source
    from dhispatch.compiler import plan_to_json
    from dhispatch.dsl.diagnostics import render_all

    text = read_spec(spec)
    result = compile_source(text, spec)
    if result.diagnostics:
        click.echo(render_all(result.diagnostics, {spec: text}), err=True)
    if result.plan is None:
        raise CommandError(f"{spec} has errors; no plan written")
    data = plan_to_json(result.plan)
    if output is None:
        click.echo(data, nl=False)
        return
    write_text(output, data, "plan ")
