"""``dhispatch init --url URL --data-set UID [-o specs/NAME.push]``: a spec skeleton from the data
set's metadata (read live with the same credentials as specs, or from ``--metadata FILE``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from dhispatch.errors import UsageError
from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import CommandError
from dhispatch.runtime.cli.common import write_text

PLACEHOLDER_URL = "https://dhis2.example.org"
BASIC = 'basic(user: env("DHIS2_USER"), password: env("DHIS2_PASSWORD"))'
TOKEN = 'token(env("DHIS2_PAT"))'


@click.command("init")
@click.option("--url", help="the DHIS2 server (required unless --metadata)")
@click.option("--data-set", "data_set", required=True, metavar="UID", help="the data set's UID")
@click.option("-o", "--output", metavar="FILE", help="write the spec here (default: stdout)")
@click.option(
    "--metadata",
    "metadata_file",
    type=click.Path(dir_okay=False),
    help="read the data set from a metadata export instead of DHIS2",
)
@click.option("--force", is_flag=True, help="overwrite an existing output file")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds per request (live).")
@options.env_file
def command(
    url: str | None, data_set: str, output: str | None, metadata_file: str | None, force: bool,
    timeout: float,
) -> None:  # fmt: skip
    """Write a spec skeleton for a data set: target, period format, a push per data element with
    the indicator guessed where clear and a TODO where not; `check` accepts it as written.

    Credentials come from the variables specs use: DHIS2_PAT (token auth), else DHIS2_USER and
    DHIS2_PASSWORD (basic auth)."""
    from dhispatch.compiler import check_source
    from dhispatch.compiler.skeleton import skeleton
    from dhispatch.runtime.printable import printable

    if url is None and metadata_file is None:
        raise UsageError("give --url (and the credentials' variables) or --metadata FILE")
    if output and Path(output).exists() and not force:
        raise CommandError(f"{output} exists; give --force to overwrite it")
    auth = TOKEN if os.environ.get("DHIS2_PAT") else BASIC
    export = _from_file(metadata_file) if metadata_file else _live(url or "", data_set, timeout)
    try:
        raw = skeleton(export, data_set, url or PLACEHOLDER_URL, auth)
    except KeyError:
        where = metadata_file or url
        raise CommandError(f"data set {data_set} is not in the metadata of {where}") from None
    # names and codes from DHIS2 are foreign text: no control characters reach the file
    text = "".join(printable(line) + "\n" for line in raw.splitlines())
    path = output or "init.push"
    errors = [d for d in check_source(text, path) if d.severity == "error"]
    if errors:  # a skeleton `check` refuses is a bug of init, never the user's
        raise RuntimeError(f"init wrote a spec with errors: {errors}")
    if output is None:
        click.echo(text, nl=False)
        return
    write_text(output, text, "the spec ")
    todos = text.count("TODO")
    click.echo(f"wrote {output}: `dhispatch check` accepts it; {todos} TODO(s) to review",
               err=True)  # fmt: skip


def _live(url: str, data_set: str, timeout: float) -> dict[str, Any]:
    from dhispatch.runtime.dhis2 import BasicAuth
    from dhispatch.runtime.dhis2 import Secret
    from dhispatch.runtime.dhis2 import TokenAuth
    from dhispatch.runtime.dhis2.auth import Auth
    from dhispatch.runtime.dhis2.metadata import fetch_export
    from dhispatch.runtime.runner import metadata_session

    env = os.environ
    auth: Auth
    if env.get("DHIS2_PAT"):
        auth = TokenAuth(Secret(env["DHIS2_PAT"]))
    elif env.get("DHIS2_USER") and env.get("DHIS2_PASSWORD"):
        auth = BasicAuth(env["DHIS2_USER"], Secret(env["DHIS2_PASSWORD"]))
    else:
        raise UsageError("set DHIS2_USER and DHIS2_PASSWORD (or DHIS2_PAT) to read the data set "
                         "from DHIS2, or give --metadata FILE")  # fmt: skip
    with metadata_session(url, auth, timeout=timeout) as client:
        return fetch_export(client, data_set)


def _from_file(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read metadata file {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
