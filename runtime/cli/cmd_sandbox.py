"""``dhispatch sandbox``: serve a local DHIS2 Web API on loopback until Ctrl-C/SIGTERM."""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
from pathlib import Path
from typing import Any

import click

from dhispatch.errors import UsageError
from dhispatch.runtime.cli.common import CommandError

VERSIONS = ("2.36", "2.37", "2.38", "2.39", "2.40", "2.41", "2.42", "2.43", "2.44")


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in values:
        left, sep, right = raw.partition(":")
        if not sep or not left or not right:
            raise UsageError(f"--{what} expects A:B, got {raw.split(':')[0]!r}:…")
        out[left] = right
    return out


@click.command("sandbox")
@click.option(
    "--metadata",
    "metadata_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="DHIS2 metadata export JSON (default: the demo country's export).",
)
@click.option(
    "--version",
    "version",
    default="2.40",
    show_default=True,
    help="DHIS2 version to emulate: 2.36 … 2.44, or e.g. 2.40.4.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--data",
    "data_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite file for stored values (default: a temporary file).",
)
@click.option(
    "--user",
    "users",
    multiple=True,
    metavar="NAME:PASSWORD",
    help=(
        "A user and password (repeatable): a user of the export logs in with its user roles,"
        " groups and sharing, any other name as a superuser. Default: admin with a generated"
        " password."
    ),
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    metavar="TOKEN:USER",
    help="A personal access token for a user (2.37+).",
)
@click.option(
    "--oauth-client",
    "clients",
    multiple=True,
    metavar="ID:SECRET",
    help="An OAuth2 client for /uaa/oauth/token (versions up to 2.41).",
)
@click.option("--fail-next", type=click.IntRange(0), default=0, help="Fail the next N requests.")
@click.option(
    "--fail-status",
    type=click.IntRange(400, 599),
    default=503,
    show_default=True,
    help="Status of the failed requests.",
)
@click.option("--latency-ms", type=click.IntRange(0), default=0, help="Delay every request.")
@click.option(
    "--drop-next",
    type=click.IntRange(0),
    default=0,
    help="Close the connection of the next N requests without answering.",
)
def command(
    metadata_path: str | None,
    version: str,
    port: int,
    data_path: str | None,
    users: tuple[str, ...],
    tokens: tuple[str, ...],
    clients: tuple[str, ...],
    fail_next: int,
    fail_status: int,
    latency_ms: int,
    drop_next: int,
) -> None:
    """Serve a local DHIS2 Web API (a sandbox) loaded from a metadata export."""
    from dhispatch.runtime.demo.metadata import DEMO_METADATA_PATH
    from dhispatch.runtime.sandbox.metadata import MetadataError
    from dhispatch.runtime.sandbox.server import SandboxConfig
    from dhispatch.runtime.sandbox.server import start_sandbox
    from dhispatch.runtime.sandbox.versions import Version
    from dhispatch.runtime.sandbox.versions import VersionError

    try:
        Version.parse(version)
    except VersionError as exc:  # a bad --version is a usage error
        raise UsageError(str(exc)) from exc
    source = Path(metadata_path) if metadata_path else DEMO_METADATA_PATH
    try:
        metadata: Any = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read metadata {source}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    passwords = _pairs(users, "user")
    generated = None
    if not passwords:
        generated = os.environ.get("DHISPATCH_SANDBOX_PASSWORD") or secrets.token_urlsafe(12)
        passwords = {"admin": generated}
    token_users = {token: user for token, user in _pairs(tokens, "token").items()}
    config = SandboxConfig(
        metadata=metadata,
        version=version,
        users=passwords,
        tokens=token_users,
        oauth_clients=_pairs(clients, "oauth-client"),
        data_path=Path(data_path) if data_path else None,
    )
    try:
        sandbox = start_sandbox(config, port=port)
    except MetadataError as exc:  # --metadata names a file that is not an export
        raise UsageError(f"{source}: {exc}") from exc
    except OSError as exc:
        raise CommandError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from exc
    if fail_next or latency_ms or drop_next:
        sandbox.set_faults(
            status=fail_status if fail_next else None,
            count=fail_next,
            latency_ms=latency_ms,
            drop=drop_next,
        )
    click.echo(f"DHIS2 {version} sandbox on {sandbox.url} (API: {sandbox.url}/api)")
    if generated is not None and "DHISPATCH_SANDBOX_PASSWORD" not in os.environ:
        # A local, throwaway sandbox: its generated password is shown once so it can be used.
        click.echo(f"user admin, password {generated}")
    elif generated is not None:
        click.echo("user admin, password from $DHISPATCH_SANDBOX_PASSWORD")
    click.echo("Ctrl-C to stop", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    click.echo("sandbox stopped", err=True)
