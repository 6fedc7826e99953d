"""Console fixtures: a small demo country (one store coded ``<script>…``), a sandbox, a journal
with one real push, and the console serving them over loopback — one of each per test module;
the same with a spec naming two DHIS2 targets (two sandboxes) and a disabled third; the browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import sync_playwright

from tests.e2e.conftest import CANARY
from tests.e2e.conftest import END
from tests.e2e.conftest import SEED
from tests.e2e.conftest import cli
from tests.e2e.conftest import compile_spec
from tests.e2e.conftest import env_for
from tests.e2e.conftest import plan_file

CONSOLE_PASSWORD = f"console-{CANARY}-pw"
DOCS = Path(__file__).resolve().parents[2] / "docs"
EVIL_STORE = "<script>alert(1)</script>"


@dataclass(frozen=True)
class Site:
    """A running console over a journal that holds a refused push of 202406 (run 1) and an
    accepted one of 202404 (run 2)."""

    url: str
    db: Path
    plan: Path
    state: Path
    sandbox: Any
    running: Any


def _country(tmp: Path) -> Path:
    from dhispatch.runtime.demo.generator import generate_demo

    db = tmp / "omsupply.sqlite"
    generate_demo(str(db), stores=4, items=8, months=3, seed=SEED, end=END)
    with sqlite3.connect(db) as conn:  # a store code that is markup: it must show as text
        conn.execute("UPDATE store SET code = ? WHERE code = 'S001'", (EVIL_STORE,))
    return db


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from dhispatch.runtime.console import ConsoleSettings
    from dhispatch.runtime.console import Listen
    from dhispatch.runtime.console import start_console
    from dhispatch.runtime.console.passwords import Password
    from dhispatch.runtime.plan import load_plan
    from tests.e2e.conftest import _sandbox

    tmp = tmp_path_factory.mktemp("console")
    db = _country(tmp)
    sandboxes = _sandbox(END)
    sandbox = next(sandboxes)
    try:
        plan = plan_file("kiribati", sandbox.url, db, tmp)
        state = tmp / "state.sqlite"
        # run 1: DHIS2 (its date 2024-06-20, no open future periods) refuses the running month;
        # run 2: April, accepted
        cli(["push", str(plan), "--period", "202406", "--state", str(state)], db, code=1)
        cli(["push", str(plan), "--period", "202404", "--state", str(state)], db)
        env = {**env_for(db), "DHISPATCH_CONSOLE_PASSWORD": CONSOLE_PASSWORD}
        password = Password(plain=CONSOLE_PASSWORD)
        plans = (load_plan(str(plan)),)
        settings = ConsoleSettings(plans, state, env, password, Listen("127.0.0.1", 0))
        running = start_console(settings, retry_delay=0.01)
        try:
            yield Site(running.url, db, plan, state, sandbox, running)
        finally:
            running.stop()
    finally:
        sandboxes.close()


@dataclass(frozen=True)
class Pair:
    """A running console over one spec naming three targets: ``production`` and ``staging``
    (a sandbox each) and ``archive`` (disabled, nothing listens there); the journal holds one
    push of 202404 to production (run 1)."""

    url: str
    db: Path
    plan: Path
    state: Path
    production: Any
    staging: Any
    running: Any


DISABLED_URL = "http://127.0.0.1:9"  # the disabled target: a push there would fail loudly


def three_target_plan(tmp: Path, production: str, staging: str) -> Path:
    """Kiribati with its dhis2 block split into production, staging and a disabled archive."""
    plan = compile_spec("kiribati")
    target = plan.pop("target")
    plan["targets"] = [
        {**target, "name": "production", "url": production},
        {**target, "name": "staging", "url": staging},
        {**target, "name": "archive", "url": DISABLED_URL, "enabled": False},
    ]
    plan["source"]["database"] = {"env": "OMSUPPLY_DB"}
    path = tmp / "targets.plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    from dhispatch.runtime.cli.cmd_console import console_settings
    from dhispatch.runtime.cli.common import load_plan_arg
    from dhispatch.runtime.console import start_console
    from tests.e2e.conftest import _sandbox

    tmp = tmp_path_factory.mktemp("console-targets")
    db = _country(tmp)
    first, second = _sandbox(END), _sandbox(END)
    try:
        production, staging = next(first), next(second)
        plan = three_target_plan(tmp, production.url, staging.url)
        state = tmp / "state.sqlite"
        cli(["push", str(plan), "--target", "production", "--period", "202404", "--state",
             str(state)], db)  # fmt: skip
        env = {**env_for(db), "DHISPATCH_CONSOLE_PASSWORD": CONSOLE_PASSWORD}
        settings = console_settings([load_plan_arg(str(plan))], str(state), "127.0.0.1:0",
                                    (None, None, False), env)  # fmt: skip
        running = start_console(settings, retry_delay=0.01)
        try:
            yield Pair(running.url, db, plan, state, production, staging, running)
        finally:
            running.stop()
    finally:
        first.close()
        second.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: make test installs it (.ci/ensure-chromium)"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def login(client: httpx.Client, password: str = CONSOLE_PASSWORD) -> httpx.Response:
    """Log ``client`` in the way the form does: GET /login for the token, POST it back."""
    client.get("/login")
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"password": password, "csrf_token": token})


def csrf_of(page: str) -> str:
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def post_form(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    """POST a console form with the session's CSRF token."""
    token = csrf_of(client.get("/").text)
    return client.post(path, data={**data, "csrf_token": token})


def finish_job(client: httpx.Client, answer: httpx.Response) -> str:
    """Follow an action to its job page and wait until it ends; the page's text."""
    assert answer.status_code == 303, answer.text
    job = answer.headers["location"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get(job).text
        state = re.search(r'id="job-state">(\w+)<', page)
        assert state is not None
        if state.group(1) not in ("starting", "running"):
            return page
        time.sleep(0.2)
    raise AssertionError(f"{job} did not finish")


def shot(page: Page, name: str) -> None:
    """Every run renders the page to PNG; ``DHISPATCH_SCREENSHOTS=1`` keeps it in docs/ (the
    README's pictures), otherwise it is thrown away so a test run leaves the checkout clean."""
    shot = page.screenshot(full_page=True)
    assert shot.startswith(b"\x89PNG")
    if os.environ.get("DHISPATCH_SCREENSHOTS"):
        (DOCS / f"console-{name}.png").write_bytes(shot)
