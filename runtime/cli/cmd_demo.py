"""``dhispatch demo``: the whole product in one command, with nothing outside the machine.

Generates the demo stock database, starts the DHIS2 sandbox on a free loopback port with the demo
metadata and a freshly generated admin password (handed to the spec through environment variables,
never printed), compiles the packaged example ``kiribati.push`` (copied into its folder), points
its target at the sandbox, pushes the previous month, prints the summary and where to look, and
stops the sandbox.
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from dhispatch.runtime.cli.common import CommandError
from dhispatch.runtime.cli.render import print_conflicts
from dhispatch.runtime.cli.render import print_summary
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run import RunResult

DEMO_SPEC = "kiribati.push"


def find_spec(name: str = DEMO_SPEC) -> str:
    """The text of example spec ``name``, shipped in the package (``runtime/demo/specs`` links
    the checkout's ``specs/``), so the demo runs from any directory, installed or not."""
    from importlib.resources import files

    try:
        return files("dhispatch.runtime.demo").joinpath("specs", name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(
            f"the example spec {name} is missing from this installation: {exc}"
        ) from exc


def compile_demo_spec(spec: Path) -> tuple[Plan, dict[str, str]]:
    """The demo spec's plan and the spec text its origins point into."""
    from dhispatch.compiler import compile_source
    from dhispatch.dsl.diagnostics import render_all

    text = spec.read_text(encoding="utf-8")
    label = str(spec)
    result = compile_source(text, label)
    if result.plan is None:
        click.echo(render_all(result.diagnostics, {label: text}), err=True)
        raise CommandError(f"{label} has errors; the demo cannot run")
    return Plan.from_json(result.plan), {label: text}


def at_sandbox(plan: Plan, url: str) -> Plan:
    """The plan with its target URL replaced by the sandbox's (the spec names the real server)."""
    return replace(plan, target=replace(plan.target, url=url, enabled=True))


def previous_month(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year}{last.month:02d}"


@dataclass(frozen=True)
class _Files:
    """Where the demo keeps what it makes."""

    base: Path

    @property
    def db(self) -> Path:
        return self.base / "omsupply.sqlite"

    @property
    def state(self) -> Path:
        return self.base / "state.sqlite"

    @property
    def spec(self) -> Path:
        return self.base / DEMO_SPEC


@click.command("demo")
@click.option("--dir", "workdir", type=click.Path(file_okay=False), help="keep files here")
@click.option("--seed", type=int, default=7, show_default=True, help="demo data seed")
def command(workdir: str | None, seed: int) -> None:
    """Generate a demo country, push last month to a local DHIS2 sandbox, show the outcome."""
    from dhispatch.runtime.demo import identifiers as dc
    from dhispatch.runtime.demo.metadata import demo_metadata
    from dhispatch.runtime.sandbox.server import SandboxConfig
    from dhispatch.runtime.sandbox.server import start_sandbox

    files = _Files(Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="dhispatch-demo-")))
    files.base.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).date()
    _generate(files.db, seed, today)
    # a copy beside the demo's other files: the "plan again" line below works from anywhere
    files.spec.write_text(find_spec(), encoding="utf-8")
    compiled, sources = compile_demo_spec(files.spec)
    click.echo(f"2/4 compiled {files.spec} (plan {compiled.name}, "
               f"{len(compiled.steps)} pushes)")  # fmt: skip
    password = secrets.token_urlsafe(18)
    config = SandboxConfig(
        metadata=demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS), users={dc.ADMIN_USER: password}
    )
    period = previous_month(today)
    with start_sandbox(config, port=0) as sandbox:
        click.echo(f"3/4 DHIS2 sandbox listening on {sandbox.url}")
        env = {
            "OMSUPPLY_DB": str(files.db),
            "DHIS2_USER": dc.ADMIN_USER,
            "DHIS2_PASSWORD": password,
        }
        click.echo(f"4/4 pushing period {period} …")
        result, report = _push(at_sandbox(compiled, sandbox.url), files, env, period)
        values_file = files.base / "sandbox-values.json"
        stored = sandbox.values()
        values_file.write_text(json.dumps(_jsonable(stored), indent=1), encoding="utf-8")
    print_summary(f"demo push of {period} (run {result.run_id})", result.summary.as_json())
    print_conflicts(result.conflicts, sources, {})
    click.echo(
        "\nwhere to look:\n"
        f"  system log      dhispatch log --state {files.state}\n"
        f"  run report      {report}\n"
        f"  stored in DHIS2 {values_file} ({len(stored)} values)\n"
        f"  plan again      OMSUPPLY_DB={files.db} dhispatch plan {files.spec} --period "
        f"{period} --state {files.state}\n"
        "the sandbox has been stopped."
    )
    sys.exit(0 if result.status == "ok" else 1)


def _generate(db: Path, seed: int, today: date) -> None:
    from dhispatch.runtime.demo import identifiers as dc
    from dhispatch.runtime.demo.generator import generate_demo

    click.echo(f"1/4 generating the demo stock database ({dc.DEMO_STORES} stores × "
               f"{dc.DEMO_ITEMS} items × {dc.DEMO_MONTHS} months): {db}")  # fmt: skip
    # the demo's own file in its folder: replaced on a rerun, but never if it is not a file
    generate_demo(str(db), stores=dc.DEMO_STORES, items=dc.DEMO_ITEMS, months=dc.DEMO_MONTHS,
                  seed=seed, end=today, overwrite=True)  # fmt: skip


def _push(plan: Plan, files: _Files, env: dict[str, str], period: str) -> tuple[RunResult, Path]:
    """Push the period through the runner; the run's HTML report beside the journal."""
    from dhispatch.runtime.report import render_run
    from dhispatch.runtime.runner import Runner
    from dhispatch.runtime.runner import RunnerOptions

    with Runner(files.state, options=RunnerOptions(env=env)) as runner:
        result = runner.push(plan, period=period, trigger="demo")
        assert result.run_id is not None
        report = files.base / f"report-{result.run_id}.html"
        report.write_text(render_run(runner.journal, result.run_id, "html"), encoding="utf-8")
    return result, report


def _jsonable(values: Any) -> Any:
    from dataclasses import asdict
    from dataclasses import is_dataclass

    out: list[Any] = []
    for v in values:
        if is_dataclass(v) and not isinstance(v, type):
            out.append(asdict(v))
        elif isinstance(v, dict):
            out.append(v)
        else:
            out.append(str(v))
    return out
