"""Entry point of the ``dhispatch`` command: a click group whose commands load lazily.

Each command lives in its own module of this package and is imported only when it is run, so
``dhispatch check`` never pays for the HTTP, database or server layers (cold start matters: CI
runs ``check`` on every commit of a country's spec repository).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from dhispatch.errors import DhispatchError

# name -> "module:attribute"; the module is imported on first use only.
COMMANDS: dict[str, str] = {
    "init": "dhispatch.runtime.cli.cmd_init:command",
    "check": "dhispatch.runtime.cli.cmd_check:command",
    "compile": "dhispatch.runtime.cli.cmd_compile:command",
    "fmt": "dhispatch.runtime.cli.cmd_fmt:command",
    "period": "dhispatch.runtime.cli.cmd_period:command",
    "indicators": "dhispatch.runtime.cli.cmd_indicators:command",
    "explain": "dhispatch.runtime.cli.cmd_explain:command",
    "demo-data": "dhispatch.runtime.cli.cmd_demo_data:command",
    "sandbox": "dhispatch.runtime.cli.cmd_sandbox:command",
    "test-connection": "dhispatch.runtime.cli.cmd_test_connection:command",
    "preflight": "dhispatch.runtime.cli.cmd_preflight:command",
    "plan": "dhispatch.runtime.cli.cmd_plan:command",
    "push": "dhispatch.runtime.cli.cmd_push:command",
    "backfill": "dhispatch.runtime.cli.cmd_backfill:command",
    "run": "dhispatch.runtime.cli.cmd_run:command",
    "serve": "dhispatch.runtime.cli.cmd_serve:command",
    "log": "dhispatch.runtime.cli.cmd_log:command",
    "report": "dhispatch.runtime.cli.cmd_report:command",
    "demo": "dhispatch.runtime.cli.cmd_demo:command",
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if _available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _available(cmd_name):
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command. The one place the CLI catches DhispatchError: any error a user can
        act on becomes one ``dhispatch: …`` line and its exit code (1, or 2 for usage)."""
        try:
            return super().invoke(ctx)
        except DhispatchError as exc:
            _say_error(error_text(exc))
            ctx.exit(exc.exit_code)


def _say_error(text: str) -> None:
    """The command's last line; a JSON log (``--log-format json``) gets it as a record too, so a
    log collector sees why a service stopped."""
    from dhispatch.runtime.cli import logs

    if logs.json_active():
        logs.log.error("%s", text.removeprefix("dhispatch: "),
                       extra=logs.fields(event="error"))  # fmt: skip
    else:
        click.echo(text, err=True)


def error_text(exc: DhispatchError) -> str:
    """``dhispatch: …`` and the error's lines, each made one printable line (an error may quote
    DHIS2, the stock database or a plan file: none of them may drive the terminal)."""
    from dhispatch.runtime.printable import printable

    return "dhispatch: " + "\n".join(printable(line) for line in exc.lines())


def _available(name: str) -> bool:
    # Commands land issue by issue; a registered name whose module does not exist yet is hidden
    # rather than failing the whole CLI.
    module_name = COMMANDS[name].split(":")[0]
    return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dhispatch")
def cli() -> None:
    """Compile DHIS2 push specs and push mSupply stock indicators to DHIS2."""
    from dhispatch.runtime.cli import logs

    logs.setup()  # messages as the terminal or pipe wants them; a command may choose a format


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; unexpected exceptions become one line on stderr, never a traceback."""
    try:
        return cli.main(args=argv, prog_name="dhispatch", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for users
        if os.environ.get("DHISPATCH_DEBUG"):
            raise
        from dhispatch.runtime.printable import printable

        click.echo(
            f"dhispatch: internal error: {type(exc).__name__}: {printable(exc)}\n"
            "(set DHISPATCH_DEBUG=1 to see the traceback; please report it)",
            err=True,
        )
        sys.exit(3)


if __name__ == "__main__":
    main()
