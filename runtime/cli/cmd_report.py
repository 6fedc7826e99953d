"""``dhispatch report RUN [--format html|md] [-o FILE]``: one run as an HTML or Markdown report."""

from __future__ import annotations

from pathlib import Path

import click

from dhispatch.runtime.cli.cmd_push import STATE_HELP
from dhispatch.runtime.cli.cmd_push import open_journal
from dhispatch.runtime.cli.common import fail


@click.command("report")
@click.argument("run", metavar="RUN")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default=None,
              help="default: from -o's suffix, else md")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write to FILE")
@click.option("--state", metavar="PATH", help=STATE_HELP)
def command(run: str, fmt: str | None, output: str | None, state: str | None) -> None:
    """Render run RUN (a number, or "last") with counts, conflicts, batches and timings."""
    from dhispatch.runtime.report import ReportError
    from dhispatch.runtime.report import render_run

    if fmt is None:
        fmt = "html" if output and output.endswith((".html", ".htm")) else "md"
    with open_journal(state, lock=False) as journal:
        if run == "last":
            runs = journal.runs(limit=1)
            if not runs:
                fail(f"the journal {journal.path} has no runs yet")
            run_id = runs[0].id
        else:
            try:
                run_id = int(run)
            except ValueError:
                fail(f"RUN must be a run number or 'last', not {run!r}", 2)
        try:
            text = render_run(journal, run_id, fmt)
        except ReportError as exc:
            fail(str(exc))
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        click.echo(f"report written to {output}")
    else:
        click.echo(text, nl=False)
