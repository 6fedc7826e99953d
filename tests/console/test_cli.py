"""``dhispatch console`` and ``serve --console``: what they refuse before serving (no password,
plain HTTP beyond loopback, half a TLS pair), the password hash, HTTPS with a Secure cookie, and
the command serving for real in a subprocess until SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.console.conftest import CONSOLE_PASSWORD
from tests.console.conftest import Site
from tests.console.conftest import login


def _run(args: list[str], env: dict[str, str], code: int, stdin: str | None = None) -> str:
    from dhispatch.runtime.cli.main import cli

    result = CliRunner().invoke(cli, args, env=env, input=stdin, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.e2e.conftest import plan_file

    tmp = tmp_path_factory.mktemp("console-cli")
    return plan_file("kiribati", "http://127.0.0.1:9", tmp / "none.sqlite", tmp)


def test_the_console_needs_a_password(plan: Path) -> None:
    env = {"DHISPATCH_CONSOLE_PASSWORD": "", "DHISPATCH_CONSOLE_PASSWORD_HASH": ""}
    out = _run(["console", str(plan)], env, 1)
    assert "DHISPATCH_CONSOLE_PASSWORD or DHISPATCH_CONSOLE_PASSWORD_HASH" in out
    assert "Traceback" not in out
    bad = _run(["console", str(plan)], {**env, "DHISPATCH_CONSOLE_PASSWORD_HASH": "md5$x"}, 1)
    assert "scrypt$N$r$p$SALT$KEY" in bad and "md5$x" not in bad


@pytest.mark.parametrize("listen", ["0.0.0.0:8020", "192.0.2.1:8020", "console.example:80"])
def test_plain_http_beyond_loopback_is_refused(plan: Path, listen: str) -> None:
    env = {"DHISPATCH_CONSOLE_PASSWORD": CONSOLE_PASSWORD}
    out = _run(["console", str(plan), "--listen", listen], env, 1)
    assert "refusing to listen" in out and "--tls-cert" in out and "--allow-plain-http" in out
    half = _run(["console", str(plan), "--listen", listen, "--tls-cert", str(plan)], env, 2)
    assert "both --tls-cert and --tls-key" in half
    serve = _run(["serve", str(plan), "--console", listen], env, 1)
    assert "refusing to listen" in serve


def test_the_password_hash_is_the_documented_scrypt_format(tmp_path: Path, plan: Path) -> None:
    from dhispatch.runtime.console.passwords import Password

    out = _run(["console", "--hash-password"], {}, 0, stdin="s3cret-pass\ns3cret-pass\n")
    hashed = out.strip().splitlines()[-1]
    assert hashed.startswith("scrypt$16384$8$1$") and "s3cret" not in hashed
    password = Password(hashed=hashed)
    assert password.matches("s3cret-pass") and not password.matches("s3cret-pas")
    env_file = tmp_path / "console.env"
    env_file.write_text(f"DHISPATCH_CONSOLE_PASSWORD_HASH='{hashed}'\n", encoding="utf-8")
    from dhispatch.runtime.console.settings import load_env
    from dhispatch.runtime.console.settings import password_from

    assert password_from(load_env(str(env_file), {})).matches("s3cret-pass")


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_under_tls_the_session_cookie_is_secure(site: Site, tmp_path: Path) -> None:
    from dataclasses import replace

    from dhispatch.runtime.console import start_console
    from dhispatch.runtime.console.settings import Tls

    cert, key = _self_signed(tmp_path)
    settings = site.running.server.config.app.state.console.settings
    running = start_console(replace(settings, tls=Tls(cert, key)))
    try:
        assert running.url.startswith("https://")
        with httpx.Client(base_url=running.url, verify=False, follow_redirects=False) as c:
            answer = login(c)
            assert answer.status_code == 303
            assert "secure" in answer.headers["set-cookie"].lower()
            assert c.get("/").status_code == 200
    finally:
        running.stop()


def test_dhispatch_console_serves_until_sigterm(site: Site) -> None:
    env = {
        **os.environ,
        "OMSUPPLY_DB": str(site.db),
        "DHISPATCH_CONSOLE_PASSWORD": CONSOLE_PASSWORD,
    }
    args = [sys.executable, "-m", "dhispatch.runtime.cli.main", "console", str(site.plan),
            "--state", str(site.state), "--listen", "127.0.0.1:0"]  # fmt: skip
    with subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert line.startswith("dhispatch console: http://127.0.0.1:"), line
            url = line.split()[2]
            with httpx.Client(base_url=url, follow_redirects=False) as c:
                assert login(c).status_code == 303
                assert "kiribati-national" in c.get("/").text
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0


def test_serve_runs_the_console_beside_the_scheduler_which_holds_the_journal(site: Site) -> None:
    """``serve --console``: the pages read the journal while the scheduler holds its lock, and
    an action that needs the lock is refused, naming the holder."""
    from tests.console.conftest import csrf_of

    env = {**os.environ, "OMSUPPLY_DB": str(site.db), "DHIS2_USER": "admin",
           "DHIS2_PASSWORD": "wrong", "DHISPATCH_CONSOLE_PASSWORD": CONSOLE_PASSWORD}  # fmt: skip
    args = [sys.executable, "-m", "dhispatch.runtime.cli.main", "serve", str(site.plan),
            "--state", str(site.state), "--console", "127.0.0.1:0",
            "--window-days", "1"]  # fmt: skip
    with subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stderr is not None
            lines = [proc.stderr.readline() for _ in range(3)]  # started, (health), console
            line = next((ln for ln in lines if "serve: console on http://127.0.0.1:" in ln), None)
            assert line is not None, lines
            with httpx.Client(base_url=line.split()[-1], follow_redirects=False) as c:
                assert login(c).status_code == 303
                assert "kiribati-national" in c.get("/").text
                token = csrf_of(c.get("/").text)
                answer = c.post("/plan/kiribati-national/action/push",
                                data={"period": "202403", "csrf_token": token})  # fmt: skip
                assert answer.status_code == 409
                assert f"another dhispatch runner (pid {proc.pid})" in answer.text
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0


def test_serve_console_lists_every_target_of_a_spec_enabled_or_not(tmp_path: Path) -> None:
    """``serve --console`` with a spec naming several targets: serve pushes to the enabled ones,
    the console lists all of them, each action aimed at one (refused here: serve holds the
    lock)."""
    from tests.console.conftest import csrf_of
    from tests.console.conftest import three_target_plan

    plan = three_target_plan(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2")
    env = {**os.environ, "OMSUPPLY_DB": str(tmp_path / "none.sqlite"), "DHIS2_USER": "admin",
           "DHIS2_PASSWORD": "wrong", "DHISPATCH_CONSOLE_PASSWORD": CONSOLE_PASSWORD}  # fmt: skip
    args = [sys.executable, "-m", "dhispatch.runtime.cli.main", "serve", str(plan),
            "--state", str(tmp_path / "state.sqlite"), "--console", "127.0.0.1:0"]  # fmt: skip
    with subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stderr is not None
            lines: list[str] = []
            while not any("serve: console on" in ln for ln in lines) and len(lines) < 20:
                lines.append(proc.stderr.readline())
                if not lines[-1]:
                    break  # serve ended: the lines say why
            line = next((ln for ln in lines if "serve: console on http://127.0.0.1:" in ln), None)
            assert line is not None, lines
            with httpx.Client(base_url=line.split()[-1], follow_redirects=False) as c:
                assert login(c).status_code == 303
                page = c.get("/").text
                for target in ("production", "staging", "archive"):
                    assert f'id="plan-kiribati-national--{target}"' in page, target
                assert "/plans/kiribati-national/archive/confirm/push" not in page
                answer = c.post("/plans/kiribati-national/staging/action/push",
                                data={"period": "202403", "csrf_token": csrf_of(page)})  # fmt: skip
                assert answer.status_code == 409
                assert f"another dhispatch runner (pid {proc.pid})" in answer.text
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
