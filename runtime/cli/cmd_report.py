"""``dhispatch report RUN [--format html|md] [-o FILE]``: one run as an HTML or Markdown report."""

from __future__ import annotations

import click

from dhispatch.errors import UsageError
from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import CommandError
from dhispatch.runtime.cli.common import state_path
from dhispatch.runtime.cli.common import write_text


@click.command("report")
@click.argument("run", metavar="RUN")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default=None,
              help="default: from -o's suffix, else md")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write to FILE")
@options.state
@options.target
def command(
    run: str, fmt: str | None, output: str | None, state: str | None, target_name: str | None
) -> None:
    """Render run RUN (a number, or "last") with counts, conflicts, batches and timings."""
    from dhispatch.runtime.journal import Journal
    from dhispatch.runtime.report import render_run

    if fmt is None:
        fmt = "html" if output and output.endswith((".html", ".htm")) else "md"
    if run != "last" and not run.isdigit():
        raise UsageError(f"RUN must be a run number or 'last', not {run!r}")
    with Journal.open(state_path(state), readonly=True) as journal:
        chosen = None
        if target_name is not None:
            from dhispatch.runtime.cli.cmd_log import named_targets

            chosen = named_targets(journal.target_names(), target_name)
        if run == "last":
            runs = journal.runs(limit=1, targets=chosen)
            if not runs:
                raise CommandError(f"the journal {journal.path} has no runs yet")
            run_id = runs[0].id
        else:
            run_id = int(run)
            found = journal.run(run_id)
            if chosen is not None and found is not None and found.target_id not in chosen:
                raise UsageError(f"run {run_id} did not push to target {target_name!r}")
        text = render_run(journal, run_id, fmt)
    if output:
        write_text(output, text)
        click.echo(f"report written to {output}")
    else:
        click.echo(text, nl=False)
