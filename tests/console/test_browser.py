"""The console in a real browser: Debian's chromium driven by Playwright against a console over
a real sandbox on loopback — log in, read the overview and the grid, push a period and see the
result; refused without a session or a CSRF token. One browser for the whole module; the
screenshots of the main pages are written to docs/ for the README."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.console.conftest import CONSOLE_PASSWORD
from tests.console.conftest import EVIL_STORE
from tests.console.conftest import Site
from tests.console.conftest import shot as _shot

PLAN = "kiribati-national"
PAGES = ["/", f"/plan/{PLAN}/grid", f"/plan/{PLAN}/values?ou=S002&period=202404",
         f"/plan/{PLAN}/history?store=S002&item=I0001&step=stock_on_hand", "/runs", "/runs/1",
         "/runs/1/report", "/parked", "/jobs"]  # fmt: skip


@pytest.fixture(scope="module")
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """One logged-in page for the module (a script that ran would open a dialog: none may)."""
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.goto("/")
    expect(tab).to_have_url(re.compile(r"/login$"))
    tab.fill("input[name=password]", CONSOLE_PASSWORD)
    tab.click("button:has-text('Log in')")
    expect(tab).to_have_url(f"{site.url}/")
    yield tab
    assert dialogs == []
    context.close()


def test_overview_shows_the_plan_its_last_run_and_next_slot(page: Page) -> None:
    page.goto("/")
    plan = page.locator(f"#plan-{PLAN}")
    expect(plan).to_contain_text("Last run")
    expect(plan.locator("a", has_text="run 2")).to_be_visible()
    expect(plan).to_contain_text("ok")
    expect(plan).to_contain_text("Next due slot")
    expect(plan).to_contain_text("Values waiting")
    expect(plan).to_contain_text("0 in 0 batch(es)")
    _shot(page, "overview")


def test_grid_shows_each_org_unit_and_period_and_the_markup_store_as_text(page: Page) -> None:
    page.goto(f"/plan/{PLAN}/grid")
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(4)
    april = page.locator("table.grid thead th", has_text="202404")
    expect(april).to_have_count(1)
    confirmed = page.locator("td.cell-confirmed")
    expect(confirmed).to_have_count(4)
    expect(page.locator("td.cell-refused")).to_have_count(4)  # June, refused by DHIS2
    expect(page.get_by_text(EVIL_STORE)).to_be_visible()  # shown, not run
    assert page.locator("main script").count() == 0
    _shot(page, "grid")
    confirmed.nth(1).locator("a").click()
    expect(page.locator("h1")).to_contain_text("period 202404")
    page.locator("a", has_text="history").first.click()
    expect(page.locator("svg.plot circle")).to_have_count(1)  # April: June was never sent
    june = page.locator("table.list tbody tr", has_text="202406")
    expect(june).to_contain_text("refused")  # withheld: DHIS2 would refuse it (E7641)
    page.locator("a", has_text="explain").first.click()
    expect(page.locator("h1")).to_contain_text("Explain")
    step = page.locator("h1").inner_text().split(", ")[1]
    expect(page.locator("dl.facts dd").first).to_have_text(step)  # the indicator of the step
    expect(page.locator("table.list").first.locator("tbody tr")).to_have_count(1)  # the value
    expect(page.locator("h2", has_text="ledger lines")).to_be_visible()
    expect(page.locator("table.list").nth(1).locator("tbody tr")).not_to_have_count(0)


def test_push_now_runs_in_the_background_and_shows_the_result(page: Page, site: Site) -> None:
    page.goto("/")
    before = len(site.sandbox.values())
    form = page.locator(f"#plan-{PLAN} form", has=page.locator("button", has_text="Push now"))
    form.locator("input[name=period]").fill("202405")
    form.locator("button").click()
    expect(page.locator("h1")).to_contain_text("Push now")
    page.locator("button", has_text="Confirm: Push now").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.locator("#job-state")).to_have_text("done", timeout=60_000)
    expect(page.locator("#job-result")).to_have_text("ok")
    sent = page.locator("dd", has_text="sent").first.inner_text()
    count = int(re.search(r"(\d+) sent", sent).group(1))  # type: ignore[union-attr]
    may = [v for v in site.sandbox.values() if v["period"] == "202405"]
    assert count > 0 and len(may) == count and len(site.sandbox.values()) == before + count
    _shot(page, "push")
    page.locator("a", has_text=re.compile(r"^run \d+$")).first.click()
    expect(page.locator("h1")).to_contain_text("ok")
    page.goto("/runs/1")  # the refused June: its conflicts, one line per cause
    expect(page.locator("h1")).to_contain_text("conflicts")
    expect(page.locator("h2", has_text="Conflicts by cause")).to_be_visible()
    expect(page.locator("table.list").first.locator("tbody tr")).not_to_have_count(0)
    _shot(page, "run")
    page.goto(f"/plan/{PLAN}/grid")
    expect(page.locator("td.cell-confirmed")).to_have_count(8)  # April and May, 4 org units


def test_a_post_without_the_csrf_token_is_refused(page: Page, site: Site) -> None:
    before = len(site.sandbox.values())
    answer = page.request.post(f"/plan/{PLAN}/action/push", form={"period": "202403"})
    assert answer.status == 403 and "CSRF" in answer.text()
    forged = page.request.post(f"/plan/{PLAN}/action/push",
                               form={"period": "202403", "csrf_token": "guess"})  # fmt: skip
    assert forged.status == 403
    assert len(site.sandbox.values()) == before


def test_every_page_without_a_session_is_refused(browser: Browser, site: Site) -> None:
    context = browser.new_context(base_url=site.url)
    stranger = context.new_page()
    try:
        for path in PAGES:
            stranger.goto(path)
            expect(stranger).to_have_url(f"{site.url}/login")
            expect(stranger.locator("main")).not_to_contain_text("kiribati")
        answer: Any = stranger.request.post(f"/plan/{PLAN}/action/push",
                                            form={"period": "202403"})  # fmt: skip
        assert answer.status == 403
    finally:
        context.close()
