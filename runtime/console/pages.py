"""The console's reading pages and what every page shares: each page is for one entry (a plan at
one of its targets, ``entry_of``) or for the whole journal, reads it read-only and renders a
template; a POST (login, logout, and the actions in ``action_pages``) checks the session's CSRF
token first (``posted_form``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.responses import RedirectResponse
from starlette.responses import Response

from dhispatch.errors import DhispatchError
from dhispatch.runtime.console.coverage import STATES
from dhispatch.runtime.console.coverage import grid
from dhispatch.runtime.console.coverage import today_in
from dhispatch.runtime.console.explain_view import explain_value
from dhispatch.runtime.console.history import plot
from dhispatch.runtime.console.history import series
from dhispatch.runtime.console.jobs import Jobs
from dhispatch.runtime.console.journal_view import by_target
from dhispatch.runtime.console.journal_view import entries
from dhispatch.runtime.console.journal_view import open_journal
from dhispatch.runtime.console.journal_view import plan_runs
from dhispatch.runtime.console.journal_view import target_names
from dhispatch.runtime.console.journal_view import target_of
from dhispatch.runtime.console.overview import overview
from dhispatch.runtime.console.security import LoginLimiter
from dhispatch.runtime.console.security import csrf_ok
from dhispatch.runtime.console.security import csrf_token
from dhispatch.runtime.console.settings import ConsoleSettings
from dhispatch.runtime.console.settings import path_of
from dhispatch.runtime.journal import strip_userinfo
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.printable import printable
from dhispatch.runtime.report.causes import by_cause


@dataclass(frozen=True, slots=True)
class Console:
    """What every page reads: the settings, the jobs and the login limiter."""

    settings: ConsoleSettings
    jobs: Jobs
    limiter: LoginLimiter


def _finalize(value: Any) -> Any:
    """Before autoescape: foreign strings made one inert line (as in the run report)."""
    return printable(value) if isinstance(value, str) else value


def _anchor(plan: Plan) -> str:
    """An entry's id on the overview: ``plan-NAME``, ``plan-NAME--TARGET`` for a target block."""
    return f"plan-{plan.name}" + (f"--{plan.target.name}" if plan.target.name else "")


TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    finalize=_finalize,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters["base"] = path_of  # where an entry's pages live
TEMPLATES.filters["anchor"] = _anchor
TEMPLATES.filters["url"] = strip_userinfo  # a target's URL as shown: never its credentials


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = request.scope.get("session", {})
    plan = context.get("plan")
    body = TEMPLATES.get_template(name).render(
        csrf=csrf_token(session), logged_in=bool(session.get("user")), path=request.url.path,
        plans=console_of(request).settings.plans,
        picker=_picker(request, plan) if isinstance(plan, Plan) else [], **context,
    )  # fmt: skip
    return HTMLResponse(body, status_code=status)


def _picker(request: Request, plan: Plan) -> list[tuple[str, str, bool]]:
    """The target picker of an entry's page: (label, the same page at that target, current)
    for every target of the plan; empty when it has one."""
    siblings = console_of(request).settings.siblings(plan)
    if len(siblings) < 2:
        return []
    page = "/".join(request.url.path.split("/")[4:])  # /plans/NAME/TARGET/<page>
    query = f"?{request.url.query}" if request.url.query else ""
    return [
        (f"{p.target.name}{'' if p.target.enabled else ' (disabled)'}",
         f"{path_of(p)}/{page}{query}", p is plan)
        for p in siblings
    ]  # fmt: skip


def entry_of(request: Request) -> Plan:
    """The entry a page is for: the plan and, when its spec names targets, the target."""
    settings = console_of(request).settings
    name, target = request.path_params["plan"], request.path_params.get("target")
    plan = settings.entry(name, target)
    if plan is not None:
        return plan
    named = [p for p in settings.plans if p.name == name and p.target.name is not None]
    if target is None and named:
        page = "/".join(request.url.path.split("/")[3:])  # /plan/NAME/<page>
        where = ", ".join(f"{path_of(p)}/{page}" for p in named)
        raise HTTPException(404, f"{name} names several targets: choose one ({where})")
    raise HTTPException(404, "no such plan and target in this console")


async def posted_form(request: Request) -> dict[str, str]:
    """The POSTed form, after its CSRF token was checked (403 otherwise)."""
    form = await request.form()
    if not csrf_ok(request.session, form.get("csrf_token")):
        raise HTTPException(403, "missing or wrong CSRF token")
    return {k: v for k, v in form.items() if isinstance(v, str)}


# ---- login ---------------------------------------------------------------------------------


def login_form(request: Request) -> Response:
    return render(request, "login.html.j2")


async def login(request: Request) -> Response:
    console = console_of(request)
    client = request.client.host if request.client else "?"
    wait = console.limiter.retry_after(client)
    if wait:
        return render(request, "login.html.j2", 429, error=f"too many attempts: wait {wait} s")
    form = await posted_form(request)
    if not await run_in_threadpool(console.settings.password.matches, form.get("password", "")):
        console.limiter.failed(client)
        return render(request, "login.html.j2", 401, error="wrong password")
    console.limiter.succeeded(client)
    request.session.clear()  # a fresh session (and CSRF token) after login
    request.session["user"] = "operator"
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    await posted_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# ---- reading ---------------------------------------------------------------------------------


def overview_page(request: Request) -> Response:
    """Every entry: each plan at each of its targets."""
    return _overviews(request, console_of(request).settings.plans, "Overview")


def entry_page(request: Request) -> Response:
    """One entry's overview (where the target picker leads)."""
    plan = entry_of(request)
    return _overviews(request, (plan,), plan.label, plan=plan)


def _overviews(request: Request, plans: tuple[Plan, ...], title: str, **context: Any) -> Response:
    settings = console_of(request).settings
    with open_journal(settings.state) as journal:
        views = [overview(journal, p, settings.env) for p in plans]
    defaults = {path_of(p): default_period(p) for p in plans}
    jobs = console_of(request).jobs.recent(5)
    return render(request, "overview.html.j2", views=views, defaults=defaults, jobs=jobs,
                  state=settings.state, title=title, **context)  # fmt: skip


def default_period(plan: Plan) -> str:
    """The period a push now would fill on the spec's schedule (the last one due)."""
    from dhispatch.runtime.slots import manual_slots

    try:
        slots = manual_slots(plan, at=today_in(plan, datetime.now(UTC)))
    except DhispatchError:
        return ""
    return slots[0].period.id if slots else ""


def _known(request: Request, plan: Plan) -> tuple[dict[Any, Any], list[str]]:
    settings = console_of(request).settings
    with open_journal(settings.state) as journal:
        if journal is None:
            return {}, []
        target = target_of(journal, plan, settings.env)
        known = entries(journal, plan, target)
        done = [s["period"] for s in journal.slots(plan.name, target)] if target else []
    return known, done


def grid_page(request: Request) -> Response:
    plan = entry_of(request)
    known, done = _known(request, plan)
    shown = grid(plan, known, done, today_in(plan, datetime.now(UTC)))
    return render(request, "grid.html.j2", plan=plan, grid=shown, states=STATES)


def values_page(request: Request) -> Response:
    plan = entry_of(request)
    ou, period = request.query_params.get("ou", ""), request.query_params.get("period", "")
    known, _ = _known(request, plan)
    rows = sorted((e for k, e in known.items() if (k.org_unit, k.period) == (ou, period)),
                  key=lambda e: (e.store, e.item, e.step))  # fmt: skip
    return render(request, "values.html.j2", plan=plan, ou=ou, period=period, rows=rows)


def history_page(request: Request) -> Response:
    plan = entry_of(request)
    q = request.query_params
    store, item, step = q.get("store", ""), q.get("item", ""), q.get("step", "")
    known, _ = _known(request, plan)
    points = series(known, store, item, step)
    return render(request, "history.html.j2", plan=plan, store=store, item=item, step=step,
                  entries=points, plot=plot(points))  # fmt: skip


async def explain_page(request: Request) -> Response:
    plan = entry_of(request)
    q = request.query_params
    args = (q.get("store", ""), q.get("item", ""), q.get("step", ""), q.get("period", ""))
    found = await run_in_threadpool(explain_value, plan, console_of(request).settings.env, *args)
    return render(request, "explain.html.j2", plan=plan, found=found, query=args)


def runs_page(request: Request) -> Response:
    """Every run of the journal, each with its target (linked when it is one of this console's)."""
    settings = console_of(request).settings
    with open_journal(settings.state) as journal:
        runs = journal.runs(limit=200) if journal else []
        mine = by_target(journal, settings.plans, settings.env) if journal else {}
        names = target_names(journal) if journal else {}
    return render(request, "runs.html.j2", runs=runs, mine=mine, names=names, title="Runs")


def entry_runs_page(request: Request) -> Response:
    """The runs of one plan at one target."""
    plan, settings = entry_of(request), console_of(request).settings
    with open_journal(settings.state) as journal:
        target = target_of(journal, plan, settings.env) if journal else None
        runs = plan_runs(journal, plan, target)[:200] if journal else []
    mine = {(plan.name, target): plan} if target is not None else {}
    return render(request, "runs.html.j2", runs=runs, mine=mine, names={},
                  title=f"Runs: {plan.label}", plan=plan)  # fmt: skip


def run_page(request: Request) -> Response:
    run_id = request.path_params["run"]
    with open_journal(console_of(request).settings.state) as journal:
        run = journal.run(run_id) if journal else None
        if journal is None or run is None:
            raise HTTPException(404, "no such run")
        grouped = by_cause(journal.conflicts(run_id))
        batches = journal.batches(run_id)
        target = target_names(journal).get(run.target_id)
    return render(request, "run.html.j2", run=run, causes=grouped, batches=batches,
                  target=target)  # fmt: skip


def report_page(request: Request) -> Response:
    """The run's HTML report, exactly as ``dhispatch report RUN -o x.html`` writes it."""
    from dhispatch.runtime.report import ReportError
    from dhispatch.runtime.report import render_run

    with open_journal(console_of(request).settings.state) as journal:
        if journal is None:
            raise HTTPException(404, "no journal yet")
        try:
            return HTMLResponse(render_run(journal, request.path_params["run"], "html"))
        except ReportError as exc:
            raise HTTPException(404, str(exc)) from exc


def parked_page(request: Request) -> Response:
    """Every parked batch; Retry and Drop for those of this console's entries, at their target."""
    settings = console_of(request).settings
    with open_journal(settings.state) as journal:
        parked = journal.parked_batches() if journal else []
        mine = by_target(journal, settings.plans, settings.env) if journal else {}
        names = target_names(journal) if journal else {}
    return render(request, "parked.html.j2", parked=parked, mine=mine, names=names)
