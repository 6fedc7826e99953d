"""Canary: a unique password, token and client secret never appear in any output, log record,
exception text or repr, across success, 401, network failure, retries and the CLI."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from click.testing import CliRunner

from dhispatch.runtime.cli.main import cli
from dhispatch.runtime.dhis2 import BasicAuth
from dhispatch.runtime.dhis2 import ConfigError
from dhispatch.runtime.dhis2 import Dhis2Client
from dhispatch.runtime.dhis2 import Dhis2Error
from dhispatch.runtime.dhis2 import OAuth2PasswordAuth
from dhispatch.runtime.dhis2 import RetryPolicy
from dhispatch.runtime.dhis2 import Secret
from dhispatch.runtime.dhis2 import TokenAuth
from dhispatch.runtime.dhis2 import auth_from_plan
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import AuthSettings
from dhispatch.runtime.plan import ValueOrEnv
from dhispatch.runtime.sandbox.server import SandboxConfig
from dhispatch.runtime.sandbox.server import start_sandbox
from tests.client import fixtures as fx
from tests.slow_server import slow_server

CANARY_PW = f"canaryPw-{uuid.uuid4().hex}"
CANARY_TOKEN = f"d2p_canary{uuid.uuid4().hex}"
CANARY_SECRET = f"canarySecret-{uuid.uuid4().hex}"
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)


def forms(secret: str) -> list[str]:
    """The canary as it could leak: plain, URL-encoded, base64 alone and inside a Basic header."""
    basic = base64.b64encode(f"{fx.ADMIN}:{secret}".encode()).decode()
    return [secret, quote_plus(secret), base64.b64encode(secret.encode()).decode(), basic]


def assert_clean(text: str) -> None:
    for secret in (CANARY_PW, CANARY_TOKEN, CANARY_SECRET):
        for form in forms(secret):
            assert form not in text, "a secret leaked"


def test_no_secret_in_outputs_logs_errors_or_reprs(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    seen: list[str] = []

    def attempt(action: Callable[[], object]) -> None:
        try:
            seen.append(repr(action()))
        except Dhis2Error as exc:
            seen.extend([str(exc), repr(exc), repr(exc.args)])

    good = [
        BasicAuth(fx.ADMIN, Secret(CANARY_PW)),
        TokenAuth(Secret(CANARY_TOKEN)),
    ]
    config = SandboxConfig(metadata=fx.export(), users={fx.ADMIN: CANARY_PW},
                           tokens={CANARY_TOKEN: fx.ADMIN},
                           oauth_clients={"msupply": CANARY_SECRET}, today=fx.TODAY)  # fmt: skip
    with start_sandbox(config) as sb:
        # The server knows other credentials, so the canaries below are *wrong* there.
        wrong = SandboxConfig(metadata=fx.export(), users={fx.ADMIN: "other"},
                              tokens={"d2p_other": fx.ADMIN}, today=fx.TODAY)  # fmt: skip
        with start_sandbox(wrong) as refusing:
            for auth in good:
                seen.extend([repr(auth), str(auth)])
                # success, and retries after 503s / a dropped connection
                with Dhis2Client(sb.url, auth, retry=FAST) as client:
                    seen.append(repr(client))
                    attempt(client.system_info)
                    attempt(client.me)
                    sb.set_faults(status=503, count=1)
                    attempt(lambda c=client: c.push([fx.value(1, 1, "1")], data_set=fx.DATA_SET))
                    sb.set_faults(drop=1)
                    attempt(client.me)
                    sb.set_faults(status=500, count=10)  # retries run out
                    attempt(client.me)
                    sb.clear_faults()
                # 401
                with Dhis2Client(refusing.url, auth, retry=FAST) as client:
                    attempt(client.system_info)
                # network failure
                with Dhis2Client("http://127.0.0.1:9", auth, retry=FAST) as client:
                    attempt(client.system_info)
            oauth = OAuth2PasswordAuth("msupply", Secret(CANARY_SECRET), fx.ADMIN,
                                       Secret(CANARY_PW))  # fmt: skip
            seen.append(repr(oauth))
            with Dhis2Client(refusing.url, oauth, retry=FAST) as client:
                attempt(client.system_info)  # the client secret is refused
            seen.append(
                repr(auth_from_plan(AuthSettings("basic", ValueOrEnv(fx.ADMIN),
                                                 ValueOrEnv(env="PW")), {"PW": CANARY_PW}))
            )  # fmt: skip
    out, err = capfd.readouterr()
    logs = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    assert len(seen) > 20 and logs  # the paths really ran and logged
    assert any("Authentication failed" in s for s in seen)
    assert any("cannot reach DHIS2" in s for s in seen)
    assert any("gave up after 3 attempts" in s for s in seen)
    assert_clean("\n".join(seen) + out + err + logs)


def test_cli_test_connection_never_prints_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DHIS2_PASSWORD", CANARY_PW)
    auth = {"kind": "basic", "user": {"value": fx.ADMIN}, "password": {"env": "DHIS2_PASSWORD"}}
    state = str(tmp_path / "state.sqlite")
    outputs: list[str] = []
    config = SandboxConfig(metadata=fx.export(), users={fx.ADMIN: CANARY_PW}, today=fx.TODAY)
    with start_sandbox(config) as sb:
        for url in (sb.url, "http://127.0.0.1:9"):
            plan_file = tmp_path / "plan.json"
            plan_file.write_text(json.dumps(fx.plan(url, auth)))
            result = CliRunner().invoke(cli, ["test-connection", str(plan_file), "--state", state])
            outputs.append(result.output + (result.stderr or ""))
        monkeypatch.setenv("DHIS2_PASSWORD", CANARY_PW + "-wrong")
        plan_file.write_text(json.dumps(fx.plan(sb.url, auth)))
        result = CliRunner().invoke(cli, ["test-connection", str(plan_file), "--state", state])
        outputs.append(result.output + (result.stderr or ""))
    assert "Connection successful" in outputs[0]
    assert "Connection failed" in outputs[1]
    assert "Authentication failed" in outputs[2]
    journal = (tmp_path / "state.sqlite").read_bytes()
    assert_clean("\n".join(outputs) + "\n".join(r.getMessage() for r in caplog.records))
    assert CANARY_PW.encode() not in journal
    with Journal.open(tmp_path / "state.sqlite", readonly=True) as opened:  # payloads unpacked
        assert CANARY_PW not in repr(opened.dump())


@pytest.mark.parametrize("url", ["http://dhis2.example.org", "http://127.example.org/dhis"])
def test_plain_http_to_another_machine_never_sends_the_credentials(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every request goes through a recording proxy on loopback, so anything the client would
    # send to the remote host — Basic credentials in clear text above all — lands there.
    with slow_server("bad_gateway") as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "")
        auth = BasicAuth(fx.ADMIN, Secret(CANARY_PW))
        with pytest.raises(ConfigError) as refused:
            Dhis2Client(url, auth, retry=FAST)
        # the same URL marked insecure does go out (through the proxy): the test would see a leak
        with Dhis2Client(url, auth, insecure=True, retry=FAST) as client, pytest.raises(Dhis2Error):
            client.system_info()
        seen = [r.decode("latin-1") for r in proxy.requests]
    assert "refusing plain http to" in str(refused.value) and "unencrypted" in str(refused.value)
    assert_clean(str(refused.value))
    assert seen and all("authorization: basic" in r.lower() for r in seen)
    assert len(seen) == 3  # only the insecure client's 3 attempts, none from the refused one
