"""``dhispatch console SPEC|PLAN… [--listen 127.0.0.1:8020]``: the operator console in a browser.

The console (``runtime.console``) gets compiled plans from here and nothing else from the CLI;
``serve --console ADDRESS`` starts the same console beside the scheduler.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import TypeVar

import click

from dhispatch.errors import UsageError
from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import LoadedPlan
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import state_path

F = TypeVar("F", bound=Callable[..., Any])
LISTEN_HELP = "HOST:PORT to listen on (default 127.0.0.1:8020; other hosts need TLS)"


def tls_options(prefix: str) -> Callable[[F], F]:
    """``--{prefix}tls-cert``, ``--{prefix}tls-key`` and ``--{prefix}allow-plain-http``."""

    def wrap(f: F) -> F:
        f = click.option(f"--{prefix}allow-plain-http", "allow_plain", is_flag=True,
                         help="allow plain HTTP on a non-loopback address (a trusted network "
                         "only)")(f)  # fmt: skip
        f = click.option(f"--{prefix}tls-key", "tls_key", type=click.Path(dir_okay=False),
                         help="PEM private key for HTTPS")(f)  # fmt: skip
        return click.option(f"--{prefix}tls-cert", "tls_cert", type=click.Path(dir_okay=False),
                            help="PEM certificate (chain) for HTTPS")(f)  # fmt: skip

    return wrap


def console_settings(
    loaded: Sequence[LoadedPlan],
    state: str | None,
    listen: str,
    tls: tuple[str | None, str | None, bool],
    env: Mapping[str, str],
) -> Any:
    """The console's settings, refused before anything is served (no password, unsafe address,
    a spec given twice): one entry per spec and target, enabled or not (``loaded`` are whole
    specs, not aimed at a target)."""
    from dhispatch.runtime.console import ConsoleSettings
    from dhispatch.runtime.console import parse_listen
    from dhispatch.runtime.console.settings import check_listen
    from dhispatch.runtime.console.settings import console_plans
    from dhispatch.runtime.console.settings import password_from
    from dhispatch.runtime.console.settings import tls_from

    plans = console_plans([lp.plan for lp in loaded])
    where = parse_listen(listen)
    cert, key, allow_plain = tls
    secured = tls_from(cert, key)
    check_listen(where, secured, allow_plain)
    return ConsoleSettings(plans, state_path(state, plans), env, password_from(env), where,
                           secured)  # fmt: skip


@click.command("console")
@click.argument("specs_or_plans", nargs=-1, metavar="SPEC|PLAN…")
@click.option("--listen", default="127.0.0.1:8020", show_default=True, help=LISTEN_HELP)
@tls_options("")
@click.option("--env-file", type=click.Path(dir_okay=False),
              help="dotenv file with DHISPATCH_CONSOLE_PASSWORD(_HASH) and the specs' "
              "credentials (the environment wins)")  # fmt: skip
@options.state
@click.option("--hash-password", is_flag=True,
              help="print the hash of a password (asked for) for "
              "DHISPATCH_CONSOLE_PASSWORD_HASH, and exit")  # fmt: skip
def command(
    specs_or_plans: tuple[str, ...],
    listen: str,
    tls_cert: str | None,
    tls_key: str | None,
    allow_plain: bool,
    env_file: str | None,
    state: str | None,
    hash_password: bool,
) -> None:
    """Serve the operator console: overview, coverage grid, runs, and actions (login required)."""
    from dhispatch.runtime.console.server import run_console
    from dhispatch.runtime.console.settings import load_env

    if hash_password:
        from dhispatch.runtime.console import hash_password as make_hash

        password = click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
        click.echo(make_hash(password))
        return
    if not specs_or_plans:
        raise UsageError("give at least one SPEC or PLAN")
    env = load_env(env_file)
    loaded = [load_plan_arg(p) for p in specs_or_plans]
    settings = console_settings(loaded, state, listen, (tls_cert, tls_key, allow_plain), env)

    def announce(url: str) -> None:
        click.echo(f"dhispatch console: {url} (journal {settings.state}); Ctrl-C to stop",
                   err=True)  # fmt: skip

    from dhispatch.runtime.cli.cmd_serve import stop_on_signals

    run_console(settings, stop_on_signals(), announce)
