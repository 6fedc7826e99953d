"""``dhispatch test-connection`` against the sandbox: success, last connection, refusals, exits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result

from dhispatch.runtime.cli.main import cli
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.sandbox.server import RunningSandbox
from dhispatch.runtime.sandbox.server import SandboxConfig
from dhispatch.runtime.sandbox.server import start_sandbox
from tests.client import fixtures as fx

PASSWORD = "tc-Password-1"
AUTH = {"kind": "basic", "user": {"value": fx.ADMIN}, "password": {"env": "DHIS2_PASSWORD"}}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(metadata=fx.export(), version="2.41", users={fx.ADMIN: PASSWORD},
                           today=fx.TODAY)  # fmt: skip
    with start_sandbox(config) as sb:
        yield sb


def run(tmp_path: Path, url: str, env: dict[str, str]) -> Result:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(fx.plan(url, AUTH)))
    state = str(tmp_path / "state.sqlite")
    return CliRunner().invoke(cli, ["test-connection", str(plan_file), "--state", state], env=env)


def test_success_prints_version_user_and_records_the_time(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    first = run(tmp_path, sandbox.url, {"DHIS2_PASSWORD": PASSWORD})
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[0] == "Connection successful"
    assert "version: 2.41" in first.stdout
    assert f"user:    {fx.ADMIN} (can push data values)" in first.stdout
    assert "last successful connection: 20" in first.stdout
    with Journal.open(tmp_path / "state.sqlite") as journal:
        record = journal.last_connection(sandbox.url)
    assert record is not None and record.user == fx.ADMIN and record.version.startswith("2.41")
    second = run(tmp_path, sandbox.url, {"DHIS2_PASSWORD": PASSWORD})
    assert "previous successful connection: " in second.stdout


def test_wrong_password_is_authentication_failed_exit_1(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    before = sandbox.request_count()
    result = run(tmp_path, sandbox.url, {"DHIS2_PASSWORD": "nope"})
    assert result.exit_code == 1
    assert result.stderr.startswith("Authentication failed")
    assert "last successful connection: never" in result.stderr
    assert sandbox.request_count() - before == 1


def test_network_reason_and_missing_env(tmp_path: Path) -> None:
    down = run(tmp_path, "http://127.0.0.1:9", {"DHIS2_PASSWORD": "x"})
    assert down.exit_code == 1
    assert "Connection failed: cannot reach DHIS2 at http://127.0.0.1:9" in down.stderr
    missing = run(tmp_path, "http://127.0.0.1:9", {"DHIS2_PASSWORD": ""})
    assert missing.exit_code == 2
    assert "environment variable DHIS2_PASSWORD is not set" in missing.stderr
    assert "Traceback" not in down.output + missing.output
