"""The console's rules over plain HTTP (httpx against the running console on loopback): no page
without a session, no POST without the CSRF token, the cookie's flags, the login rate limit, the
Host check, escaping, no secret in any page; and the actions through the CLI's runner."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.console.conftest import CONSOLE_PASSWORD
from tests.console.conftest import EVIL_STORE
from tests.console.conftest import Site
from tests.console.conftest import csrf_of
from tests.console.conftest import finish_job
from tests.console.conftest import login
from tests.console.conftest import post_form
from tests.e2e.conftest import CANARY
from tests.e2e.conftest import cli

PLAN = "kiribati-national"
PAGES = ["/", f"/plan/{PLAN}/", f"/plan/{PLAN}/runs", f"/plan/{PLAN}/grid",
         f"/plan/{PLAN}/values?ou=S002&period=202404",
         f"/plan/{PLAN}/history?store=S002&item=I0001&step=stock_on_hand",
         f"/plan/{PLAN}/explain?store=S002&item=I0001&step=stock_on_hand&period=202404",
         f"/plan/{PLAN}/confirm/push", "/runs", "/runs/1", "/runs/1/report", "/parked",
         "/jobs"]  # fmt: skip


@pytest.fixture
def client(site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, follow_redirects=False, timeout=30) as c:
        assert login(c).status_code == 303
        yield c


def test_without_a_session_every_page_is_refused(site: Site) -> None:
    with httpx.Client(base_url=site.url, follow_redirects=False) as stranger:
        for path in PAGES:
            answer = stranger.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/login", path
            assert PLAN not in answer.text
        for path in (f"/plan/{PLAN}/action/push", "/logout", "/jobs/1/stop"):
            assert stranger.post(path, data={"period": "202403"}).status_code == 403
        assert stranger.get("/static/console.css").status_code == 200  # the login page's style


def test_login_needs_the_csrf_token_and_the_password(site: Site) -> None:
    with httpx.Client(base_url=site.url, follow_redirects=False) as c:
        token = csrf_of(c.get("/login").text)
        assert c.post("/login", data={"password": CONSOLE_PASSWORD}).status_code == 403
        wrong = c.post("/login", data={"password": "nope", "csrf_token": token})
        assert wrong.status_code == 401 and "wrong password" in wrong.text
        answer = c.post("/login", data={"password": CONSOLE_PASSWORD, "csrf_token": token})
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
        assert c.get("/").status_code == 200
        token = csrf_of(c.get("/").text)
        assert c.post("/logout", data={"csrf_token": token}).status_code == 303
        assert c.get("/").status_code == 303  # the session is gone


def test_a_post_without_a_valid_csrf_token_is_refused_and_does_nothing(
    client: httpx.Client, site: Site
) -> None:
    before = len(site.sandbox.values())
    for data in ({"period": "202403"}, {"period": "202403", "csrf_token": "x" * 43}):
        answer = client.post(f"/plan/{PLAN}/action/push", data=data)
        assert answer.status_code == 403 and "CSRF" in answer.text
    assert len(site.sandbox.values()) == before
    assert "202403" not in client.get("/jobs").text


def test_pages_carry_the_security_headers_and_refuse_a_foreign_host(
    client: httpx.Client,
) -> None:
    answer = client.get("/")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_refusals_show_in_the_grid_and_by_cause_in_the_run(
    client: httpx.Client, site: Site
) -> None:
    from dhispatch.runtime.journal import Journal

    grid = client.get(f"/plan/{PLAN}/grid").text
    assert grid.count("cell cell-refused") == 4 + 1  # four org units in June, and the legend
    june = client.get(f"/plan/{PLAN}/values", params={"ou": "S002", "period": "202406"}).text
    assert "refused: " in june
    run = client.get("/runs/1").text
    causes = re.findall(r'<tr><td class="num">(\d+)</td><td>(E\d+)', run)
    with Journal.open(site.state, readonly=True) as journal:
        summary = journal.run(1).summary  # type: ignore[union-attr]
        conflicts = journal.conflicts(1)  # refused by DHIS2, or withheld as DHIS2 would
        codes = {c.code for c in conflicts}
        causes_expected = {(c.code, c.origin) for c in conflicts}  # one per code and spec line
    assert sum(int(n) for n, _ in causes) == len(conflicts) > 0
    assert len(conflicts) == summary["refused"] + summary["withheld"]
    assert {code for _, code in causes} == codes and len(causes) == len(causes_expected)


def test_names_from_the_stock_database_are_escaped(client: httpx.Client) -> None:
    for path in (f"/plan/{PLAN}/grid", f"/plan/{PLAN}/values?ou=S001&period=202404"):
        page = client.get(path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert EVIL_STORE not in page
    query = {"store": EVIL_STORE, "item": "I0001", "step": "stock_on_hand"}
    history = client.get(f"/plan/{PLAN}/history", params=query)
    assert "<circle" in history.text and EVIL_STORE not in history.text


def test_test_connection_and_dry_run(client: httpx.Client, site: Site) -> None:
    page = finish_job(client, post_form(client, f"/plan/{PLAN}/action/test-connection"))
    assert 'id="job-result">ok<' in page and "can push data values" in page
    assert "never" not in client.get("/").text.split("Last successful connection")[1][:80]
    before = len(site.sandbox.values())
    page = finish_job(client, post_form(client, f"/plan/{PLAN}/action/dry-run", period="202404"))
    assert 'id="job-result">nothing sent<' in page
    unchanged = re.search(r"<dt>unchanged</dt><dd>(\d+)</dd>", page)
    assert unchanged is not None and int(unchanged.group(1)) == before  # all already in DHIS2
    assert len(site.sandbox.values()) == before


def test_backfill_pushes_each_period_and_bad_forms_get_one_line(
    client: httpx.Client, site: Site
) -> None:
    # the small country's ledger starts in April (earlier periods get no value): April again
    # (all unchanged, nothing sent) and May
    page = finish_job(client, post_form(client, f"/plan/{PLAN}/action/backfill", first="202404",
                                 last="202405"))  # fmt: skip
    assert 'id="job-result">ok<' in page
    assert len(re.findall(r'href="/runs/\d+">run \d+</a>', page)) == 2
    held = {v["period"] for v in site.sandbox.values()}
    assert {"202404", "202405"} <= held
    missing = post_form(client, f"/plan/{PLAN}/action/backfill", first="202404")
    assert missing.status_code == 400 and "the form needs a last" in missing.text
    page = finish_job(client, post_form(client, f"/plan/{PLAN}/action/push", period="2024-13"))
    assert 'id="job-state">failed<' in page and "Traceback" not in page
    assert re.search(r'class="error" role="alert">[^<]*2024-13', page)


def test_an_action_is_refused_while_another_runner_holds_the_journal(
    client: httpx.Client, site: Site
) -> None:
    from dhispatch.runtime.journal import Journal

    requests = site.sandbox.request_count()
    with Journal.open(site.state) as other:
        other.acquire_lock()
        runs = len(other.runs())
        answer = post_form(client, f"/plan/{PLAN}/action/push", period="202405")
        assert len(other.runs()) == runs  # refused before any work: no run recorded
    assert answer.status_code == 409
    assert "refused" in answer.text and "another dhispatch runner" in answer.text
    assert site.sandbox.request_count() == requests  # DHIS2 was not even asked


def test_parked_batches_are_retried_and_dropped_under_their_own_target_only(
    client: httpx.Client, site: Site, tmp_path: Path
) -> None:
    from dataclasses import replace

    from dhispatch.runtime.console import start_console
    from dhispatch.runtime.plan import load_plan
    from tests.e2e.conftest import plan_file
    from tests.faults.proxy import fault_proxy

    state = ["--state", str(site.state)]
    with fault_proxy(site.sandbox.url) as proxy:
        proxy.poison = b'"dataValues"'
        parked = plan_file("kiribati", proxy.url, site.db, tmp_path)
        for period in ("202404", "202405"):  # another target (the proxy's URL): all new
            cli(["push", str(parked), "--period", period, *state, "--park-after", "1",
                 "--retry-delay", "0"], site.db, code=1)  # fmt: skip
    # this console's plan is aimed at the sandbox: the proxy target's batches are not its own
    page = client.get("/parked").text
    ids = re.findall(r"<tr><td>(\d+)</td>", page)
    assert len(ids) == 2 and "confirm/retry" not in page and "not in this console" in page
    refused = post_form(client, f"/plan/{PLAN}/action/retry", batch=ids[0])
    assert refused.status_code == 409 and f"batch {ids[0]} is not a parked batch of" in refused.text
    assert post_form(client, f"/plan/{PLAN}/action/drop", batch=ids[1]).status_code == 409
    # a console over the proxy's target retries and drops them
    settings = site.running.server.config.app.state.console.settings
    other = start_console(replace(settings, plans=(load_plan(str(parked)),)), retry_delay=0.01)
    try:
        with httpx.Client(base_url=other.url, follow_redirects=False, timeout=30) as c:
            assert login(c).status_code == 303
            page = c.get("/parked").text
            assert re.findall(r"confirm/retry\?batch=(\d+)", page) == ids
            confirm = c.get(f"/plan/{PLAN}/confirm/drop", params={"batch": ids[1]}).text
            assert "Confirm: Drop parked" in confirm
            page = finish_job(c, post_form(c, f"/plan/{PLAN}/action/retry", batch=ids[0]))
            assert 'id="job-result">due again<' in page
            page = finish_job(c, post_form(c, f"/plan/{PLAN}/action/drop", batch=ids[1]))
            assert 'id="job-result">dropped<' in page
    finally:
        other.stop()
    assert "Nothing is parked" in client.get("/parked").text


def test_no_secret_is_rendered(client: httpx.Client) -> None:
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert CANARY not in answer.text, path
    for job in re.findall(r'href="(/jobs/\d+)"', client.get("/jobs").text):
        assert CANARY not in client.get(job).text


def test_login_attempts_are_rate_limited(site: Site) -> None:
    from dhispatch.runtime.console import start_console
    from dhispatch.runtime.console.security import LoginLimiter

    settings = site.running.server.config.app.state.console.settings
    running = start_console(settings, limiter=LoginLimiter(attempts=3, window=60))
    try:
        with httpx.Client(base_url=running.url, follow_redirects=False) as c:
            codes = [login(c, "wrong-password").status_code for _ in range(4)]
            assert codes == [401, 401, 401, 429]
            limited = login(c)  # the right password, too soon: not even checked
            assert limited.status_code == 429 and "too many attempts" in limited.text
            assert c.get("/").status_code == 303
    finally:
        running.stop()
