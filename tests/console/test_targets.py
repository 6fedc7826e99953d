"""A console over a spec naming several DHIS2 targets: one entry per target (enabled or not),
its own URLs, pages reading that target's journal state and its alert states, actions sent to
that target only, a disabled target's pushes refused; the target picker in a real browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser
from playwright.sync_api import expect

from dhispatch.runtime.plan import Plan
from tests.console.conftest import CONSOLE_PASSWORD
from tests.console.conftest import DISABLED_URL
from tests.console.conftest import Pair
from tests.console.conftest import finish_job
from tests.console.conftest import login
from tests.console.conftest import post_form
from tests.console.conftest import shot
from tests.console.conftest import three_target_plan
from tests.e2e.conftest import CANARY
from tests.e2e.conftest import env_for

PLAN = "kiribati-national"
BASE = f"/plans/{PLAN}"
PRODUCTION, STAGING, ARCHIVE = f"{BASE}/production", f"{BASE}/staging", f"{BASE}/archive"


@pytest.fixture
def client(pair: Pair) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=pair.url, follow_redirects=False, timeout=30) as c:
        assert login(c).status_code == 303
        yield c


def _section(page: str, target: str) -> str:
    """The overview's section of one target."""
    start = page.index(f'id="plan-{PLAN}--{target}"')
    end = page.find("</section>", start)
    return page[start:end]


def _target_ids(state: Path) -> dict[str, int]:
    from dhispatch.runtime.journal import Journal

    with Journal.open(state, readonly=True) as journal:
        return {name: tid for tid, name in journal.target_names().items()}


# ---- the settings and the routes, on their own -----------------------------------------------


def _plans(tmp: Path) -> tuple[Plan, ...]:
    from dhispatch.runtime.console.settings import console_plans
    from dhispatch.runtime.plan import load_plan

    return console_plans([load_plan(str(three_target_plan(tmp, "http://127.0.0.1:1",
                                                            "http://127.0.0.1:2")))])  # fmt: skip


def test_each_target_of_a_spec_is_an_entry_aimed_at_it(tmp_path: Path) -> None:
    from dhispatch.runtime.console.settings import console_plans
    from dhispatch.runtime.console.settings import path_of
    from tests.e2e.conftest import compile_spec

    plans = _plans(tmp_path)
    aimed = [(p.label, p.target.url, p.target.enabled) for p in plans]
    assert aimed == [
        (f"{PLAN} → production", "http://127.0.0.1:1", True),
        (f"{PLAN} → staging", "http://127.0.0.1:2", True),
        (f"{PLAN} → archive", DISABLED_URL, False),
    ]
    assert [path_of(p) for p in plans] == [PRODUCTION, STAGING, ARCHIVE]
    single = Plan.from_json(compile_spec("kiribati"))  # the dhis2 block alone: today's URLs
    assert console_plans([single]) == (single,) and path_of(single) == f"/plan/{PLAN}"


def test_a_target_given_twice_is_refused(tmp_path: Path) -> None:
    from dhispatch.runtime.console.errors import ConsoleError
    from dhispatch.runtime.console.settings import console_plans
    from tests.e2e.conftest import compile_spec

    spec = _plans(tmp_path)[1]  # any entry still carries every target of its spec
    with pytest.raises(ConsoleError, match=f"{PLAN} → production is given twice"):
        console_plans([spec, spec])
    single = Plan.from_json(compile_spec("kiribati"))
    with pytest.raises(ConsoleError, match=f"{PLAN} is given twice"):
        console_plans([single, single])


def test_the_settings_find_an_entry_by_plan_and_target(tmp_path: Path) -> None:
    from dhispatch.runtime.console.passwords import Password
    from dhispatch.runtime.console.settings import ConsoleSettings

    settings = ConsoleSettings(_plans(tmp_path), tmp_path / "s", {},
                               Password(plain=CONSOLE_PASSWORD))  # fmt: skip
    found = settings.entry(PLAN, "staging")
    assert found is not None and found.target.url == "http://127.0.0.1:2"
    assert settings.entry(PLAN, None) is None and settings.entry(PLAN, "nope") is None
    assert [p.target.name for p in settings.siblings(found)] == ["production", "staging", "archive"]


def test_the_overview_shows_the_alert_states_of_its_own_target(tmp_path: Path) -> None:
    from dhispatch.runtime.console.overview import overview
    from dhispatch.runtime.journal import AlertState
    from dhispatch.runtime.journal import Journal
    from dhispatch.runtime.run.target import resolve_target

    production, staging, archive = _plans(tmp_path)
    env = env_for(tmp_path / "none.sqlite")
    since = datetime(2024, 6, 1, tzinfo=UTC)
    with Journal.open(tmp_path / "state.sqlite") as journal:
        prod_id = resolve_target(journal, production, env)
        staging_id = resolve_target(journal, staging, env)
        assert prod_id is not None and staging_id is not None and prod_id != staging_id
        failing = AlertState("run", True, "run 7 ended failed: DHIS2 unreachable", since, True)
        journal.set_alert_state(PLAN, prod_id, failing)
        journal.set_alert_state(PLAN, prod_id, AlertState("missed", False, "on time", since, True))
        journal.set_alert_state(PLAN, staging_id, AlertState("refused", False, "ok", since, True))
        views = [overview(journal, p, env, since) for p in (production, staging, archive)]
    prod, stag, arch = views
    assert [(a.title, a.detail, a.since) for a in prod.alerts] == [
        ("a run failed", "run 7 ended failed: DHIS2 unreachable", since)
    ]
    assert prod.watched and stag.watched and stag.alerts == () and not arch.watched
    assert any("disabled" in n for n in arch.notes)
    assert not any("disabled" in n for n in prod.notes + stag.notes)


# ---- over HTTP, with two sandboxes -------------------------------------------------------------


def test_every_target_is_listed_with_its_url_and_whether_it_is_enabled(
    client: httpx.Client, pair: Pair
) -> None:
    page = client.get("/").text
    for target, url, enabled in (("production", pair.production.url, True),
                                 ("staging", pair.staging.url, True),
                                 ("archive", DISABLED_URL, False)):  # fmt: skip
        section = _section(page, target)
        assert f"{PLAN} → {target}" in section and url in section
        assert ("enabled" if enabled else "disabled") in section
        base = f"{BASE}/{target}"
        assert (f"{base}/confirm/push" in section) is enabled, target
        assert (f"{base}/confirm/backfill" in section) is enabled, target
        assert f"{base}/confirm/test-connection" in section and f"{base}/grid" in section
    assert "/plan/" not in page  # no link without its target
    assert CANARY not in page


def test_each_target_reads_its_own_journal_state(client: httpx.Client) -> None:
    page = client.get("/").text
    assert 'href="/runs/1">run 1</a>' in _section(page, "production")
    assert "none yet" in _section(page, "staging") and "none yet" in _section(page, "archive")
    assert client.get(f"{PRODUCTION}/grid").text.count('<td class="cell cell-confirmed"') == 4
    staging = client.get(f"{STAGING}/grid").text
    assert '<td class="cell cell-confirmed"' not in staging
    assert "no values for this plan and target" in staging
    query = {"ou": "S002", "period": "202404"}
    assert "confirmed" in client.get(f"{PRODUCTION}/values", params=query).text
    assert "No values for this org unit" in client.get(f"{STAGING}/values", params=query).text
    history = {"store": "S002", "item": "I0001", "step": "stock_on_hand"}
    assert "<circle" in client.get(f"{PRODUCTION}/history", params=history).text
    assert "<circle" not in client.get(f"{STAGING}/history", params=history).text
    runs = client.get(f"{STAGING}/runs").text
    assert "No runs yet" in runs and 'href="/runs/1"' in client.get(f"{PRODUCTION}/runs").text


def test_a_url_without_its_target_is_not_found(client: httpx.Client) -> None:
    answer = client.get(f"/plan/{PLAN}/grid")
    assert answer.status_code == 404
    assert "names several targets" in answer.text and f"{STAGING}/grid" in answer.text
    assert client.get(f"{BASE}/nope/grid").status_code == 404
    assert post_form(client, f"/plan/{PLAN}/action/push", period="202405").status_code == 404


def test_a_push_from_the_console_goes_to_the_chosen_target_only(
    client: httpx.Client, pair: Pair
) -> None:
    from dhispatch.runtime.journal import Journal

    production_requests, held = pair.production.request_count(), len(pair.production.values())
    assert pair.staging.values() == []
    confirm = client.get(f"{STAGING}/confirm/push", params={"period": "202404"}).text
    assert f"{PLAN} → staging" in confirm and pair.staging.url in confirm
    page = finish_job(client, post_form(client, f"{STAGING}/action/push", period="202404"))
    assert 'id="job-result">ok<' in page and f"{PLAN} → staging" in page
    sent = int(re.search(r"(\d+) sent", page).group(1))  # type: ignore[union-attr]
    assert sent > 0 and len(pair.staging.values()) == sent
    assert pair.production.request_count() == production_requests  # not even asked
    assert len(pair.production.values()) == held
    ids = _target_ids(pair.state)
    with Journal.open(pair.state, readonly=True) as journal:
        run = journal.runs()[0]
        assert (run.trigger, run.target_id) == ("console push", ids["staging"])
        assert {b.target_id for b in journal.batches(run.id)} == {ids["staging"]}
        assert len(journal.cells(PLAN, target_id=ids["staging"])) == sent
        assert len(journal.cells(PLAN, target_id=ids["production"])) == held
    assert client.get(f"{STAGING}/grid").text.count('<td class="cell cell-confirmed"') == 4
    assert f'href="/runs/{run.id}"' in client.get(f"{STAGING}/runs").text
    assert f'href="/runs/{run.id}"' not in client.get(f"{PRODUCTION}/runs").text


def test_a_disabled_target_cannot_be_pushed_or_backfilled(client: httpx.Client, pair: Pair) -> None:
    from dhispatch.runtime.journal import Journal

    with Journal.open(pair.state, readonly=True) as journal:
        runs = len(journal.runs())
    jobs = client.get("/jobs").text
    requests = (pair.production.request_count(), pair.staging.request_count())
    for kind, form in (("push", {"period": "202405"}),
                       ("backfill", {"first": "202404", "last": "202405"})):  # fmt: skip
        confirm = client.get(f"{ARCHIVE}/confirm/{kind}", params=form)
        assert confirm.status_code == 409 and "Confirm" not in confirm.text
        answer = post_form(client, f"{ARCHIVE}/action/{kind}", **form)
        assert answer.status_code == 409
        assert f"{PLAN} → archive is disabled in the spec" in answer.text
    assert client.get("/jobs").text == jobs  # no job was started
    with Journal.open(pair.state, readonly=True) as journal:
        assert len(journal.runs()) == runs
    assert (pair.production.request_count(), pair.staging.request_count()) == requests


def test_the_overview_shows_each_targets_alert_states(client: httpx.Client, pair: Pair) -> None:
    from dhispatch.runtime.journal import AlertState
    from dhispatch.runtime.journal import Journal

    ids = _target_ids(pair.state)
    since = datetime(2024, 6, 3, 4, 5, tzinfo=UTC)
    detail = "3 value(s) refused by DHIS2 for 202405"
    with Journal.open(pair.state) as journal:
        journal.set_alert_state(PLAN, ids["production"],
                                AlertState("refused", True, detail, since, told=True))  # fmt: skip
        recovered = AlertState("refused", False, "all accepted", since, told=True)
        journal.set_alert_state(PLAN, ids["staging"], recovered)
    page = client.get("/").text
    production, staging = _section(page, "production"), _section(page, "staging")
    assert "values refused or parked" in production and detail in production
    assert "2024-06-03T04:05" in production
    assert "No alerts" in staging and detail not in staging
    assert "not watched" in _section(page, "archive")


# ---- the target picker in a real browser ------------------------------------------------------


def test_the_target_picker_in_a_browser(browser: Browser, pair: Pair) -> None:
    context = browser.new_context(base_url=pair.url)
    page = context.new_page()
    try:
        page.goto("/login")
        page.fill("input[name=password]", CONSOLE_PASSWORD)
        page.click("button:has-text('Log in')")
        expect(page).to_have_url(f"{pair.url}/")
        expect(page.locator("section.plan")).to_have_count(3)
        shot(page, "targets")
        page.locator(f"#plan-{PLAN}--production a", has_text="Coverage grid").click()
        expect(page).to_have_url(f"{pair.url}{PRODUCTION}/grid")
        picker = page.locator("nav.picker")
        expect(picker.locator("[aria-current=page]")).to_have_text("production")
        expect(picker.locator("a")).to_have_text(["production", "staging", "archive (disabled)"])
        expect(page.locator("td.cell-confirmed")).to_have_count(4)
        picker.locator("a", has_text="archive").click()  # the same page, for another target
        expect(page).to_have_url(f"{pair.url}{ARCHIVE}/grid")
        expect(page.locator("td.cell-confirmed")).to_have_count(0)
        page.goto(f"{ARCHIVE}/")
        expect(page.locator("h1")).to_contain_text(f"{PLAN} → archive")
        expect(page.locator("main")).to_contain_text("disabled")
        expect(page.locator("button", has_text="Push now")).to_have_count(0)
        expect(page.locator("button", has_text="Backfill")).to_have_count(0)
        page.locator("nav.picker a", has_text="staging").click()
        expect(page).to_have_url(f"{pair.url}{STAGING}/")
        before = (pair.production.request_count(), len(pair.staging.values()))
        form = page.locator("form", has=page.locator("button", has_text="Push now"))
        form.locator("input[name=period]").fill("202405")
        form.locator("button").click()
        expect(page.locator("h1")).to_contain_text(f"Push now: {PLAN} → staging")
        page.locator("button", has_text="Confirm: Push now").click()
        expect(page.locator("#job-state")).to_have_text("done", timeout=60_000)
        expect(page.locator("#job-result")).to_have_text("ok")
        may = [v for v in pair.staging.values() if v["period"] == "202405"]
        assert may and len(pair.staging.values()) == before[1] + len(may)
        assert pair.production.request_count() == before[0]  # the other target: nothing
    finally:
        context.close()
