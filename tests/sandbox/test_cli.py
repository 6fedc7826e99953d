"""``dhispatch sandbox`` as a user runs it: a subprocess serving until SIGTERM; clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from dhispatch.runtime.cli.main import cli

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def test_serves_until_sigterm_with_flags(tmp_path: Path) -> None:
    data = tmp_path / "values.sqlite"
    args = ["sandbox", "--port", "0", "--version", "2.43", "--data", str(data),
            "--user", "ops:s3cret-pw", "--token", "d2p_cliToken00:ops", "--fail-next", "1",
            "--fail-status", "503"]  # fmt: skip
    env = {k: v for k, v in ENV.items() if k != "DHISPATCH_SANDBOX_PASSWORD"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("DHIS2 2.43 sandbox on http://127.0.0.1:")
        url = first.split(" on ")[1].split()[0]
        auth = ("ops", "s3cret-pw")
        assert httpx.get(url + "/api/system/info", auth=auth).status_code == 503  # --fail-next
        info = httpx.get(url + "/api/system/info", auth=auth).json()
        assert info["version"] == "2.43.0"
        me = httpx.get(url + "/api/me", headers={"Authorization": "ApiToken d2p_cliToken00"})
        assert me.json()["username"] == "ops"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "sandbox stopped" in err
    assert "s3cret-pw" not in out + err  # given passwords are never echoed
    assert data.exists()


def test_default_admin_password_from_the_environment_is_not_printed() -> None:
    env = {**ENV, "DHISPATCH_SANDBOX_PASSWORD": "from-env-Pw1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" on ")[1].split()[0]
        assert "$DHISPATCH_SANDBOX_PASSWORD" in proc.stdout.readline()
        me = httpx.get(url + "/api/me", auth=("admin", "from-env-Pw1"))
        assert me.status_code == 200 and me.json()["authorities"] == ["ALL"]  # the demo export
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert "from-env-Pw1" not in out + err


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (["--version", "3.1"], None, "unsupported DHIS2 version '3.1'"),
        (["--metadata", "{path}"], "{not json", "not valid JSON"),
        (["--metadata", "{path}"], "[1, 2]", "a metadata export is a JSON object"),
        (["--metadata", "{path}"], '{"dataSets": [{"name": "x"}]}', "needs a string 'id'"),
        (["--metadata", "/no/such/export.json"], None, "cannot read metadata"),
        (["--user", "nopassword"], None, "--user expects A:B"),
        (
            ["--metadata", "{path}"],
            '{"dataSets": [{"id": "dsBadDates1", "dataInputPeriods": [{"period": {"id": "202401"},'
            ' "openingDate": "soon"}]}]}',
            "data set dsBadDates1 input period 202401 openingDate: 'soon' is not a date",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(
    tmp_path: Path, args: list[str], content: str | None, message: str
) -> None:
    path = tmp_path / "export.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    argv = ["sandbox", "--port", "0", *[a.replace("{path}", str(path)) for a in args]]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_busy_port_is_one_line_and_exit_1() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["sandbox", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_users_of_the_export_log_in_with_their_roles_groups_and_sharing(tmp_path: Path) -> None:
    from tests.sandbox.helpers import contract_metadata

    export = tmp_path / "export.json"
    export.write_text(json.dumps(contract_metadata()), encoding="utf-8")
    args = ["sandbox", "--port", "0", "--metadata", str(export), "--user", "grouped:gr0up-Pw",
            "--user", "ghost:gh0st-Pw"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" on ")[1].split()[0]
        me = httpx.get(url + "/api/me", auth=("grouped", "gr0up-Pw")).json()
        ghost = httpx.get(url + "/api/me", auth=("ghost", "gh0st-Pw")).json()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert me["authorities"] == ["F_DATAVALUE_ADD"] and me["userGroups"] == [{"id": "ugWriters01"}]
    assert "dsShared001" in me["dataSets"] and "dsNoShare01" not in me["dataSets"]
    assert ghost["authorities"] == ["ALL"] and "dsNoShare01" in ghost["dataSets"]


def test_a_client_hanging_up_is_one_line_not_a_traceback() -> None:
    """A push killed mid-request leaves the sandbox a body that never arrives: one log line."""
    import base64
    import socket
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "dhispatch.runtime.cli.main", "sandbox", "--port", "0",
         "--user", "ops:s3cret-pw"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" on ")[1].split()[0]
        host, port = url.removeprefix("http://").split(":")
        auth = base64.b64encode(b"ops:s3cret-pw").decode()
        for path in ("/api/dataValueSets", "/uaa/oauth/token"):
            with socket.create_connection((host, int(port))) as sock:
                sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n"
                             "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                             '{"dataValues": ['.encode())  # fmt: skip
                time.sleep(0.3)
        time.sleep(0.5)
        assert httpx.get(url + "/api/system/ping", auth=("ops", "s3cret-pw")).text == "pong"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    hung = [line for line in err.splitlines() if "hung up" in line]
    assert len(hung) == 2, err
    assert hung[0].startswith("dhispatch: sandbox: 127.0.0.1:")
    assert "during POST /api/dataValueSets before its body arrived" in hung[0]
    assert "Traceback" not in err and "ClientDisconnect" not in err
