"""The console's action pages: the confirmation of an action for one entry (a plan at one of its
targets), its POST — refused for a disabled target's pushes and for another target's parked
batch — and the jobs it starts."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.responses import Response

from dhispatch.errors import DhispatchError
from dhispatch.runtime.console import actions
from dhispatch.runtime.console.journal_view import open_journal
from dhispatch.runtime.console.journal_view import target_of
from dhispatch.runtime.console.pages import console_of
from dhispatch.runtime.console.pages import default_period
from dhispatch.runtime.console.pages import entry_of
from dhispatch.runtime.console.pages import posted_form
from dhispatch.runtime.console.pages import render
from dhispatch.runtime.plan import Plan


def _allowed(plan: Plan, kind: str) -> None:
    """A known action, and no push to a disabled target (409: never sent elsewhere instead)."""
    if kind not in actions.KINDS:
        raise HTTPException(404, "no such action")
    if kind in actions.PUSHING and not plan.target.enabled:
        raise HTTPException(
            409, f"{plan.label} is disabled in the spec: nothing is pushed there (enable it in "
            "the spec, or choose another target)",
        )  # fmt: skip


def _own_batch(request: Request, plan: Plan, batch: int) -> None:
    """Retry and drop act on a parked batch of the entry's own plan and target only (409)."""
    settings = console_of(request).settings
    with open_journal(settings.state) as journal:
        row = journal.batch(batch) if journal else None
        target = target_of(journal, plan, settings.env) if journal else None
    if row is None or row.status != "parked" or (row.plan_name, row.target_id) != (
        plan.name, target,
    ):  # fmt: skip
        raise HTTPException(409, f"batch {batch} is not a parked batch of {plan.label}")


def confirm_page(request: Request) -> Response:
    plan, kind = entry_of(request), request.path_params["kind"]
    _allowed(plan, kind)
    fields = dict(request.query_params)
    fields.setdefault("period", default_period(plan))
    return render(request, "confirm.html.j2", plan=plan, kind=kind, title=actions.KINDS[kind],
                  fields=fields)  # fmt: skip


async def start_action(request: Request) -> Response:
    form = await posted_form(request)
    plan, kind = entry_of(request), request.path_params["kind"]
    _allowed(plan, kind)
    try:
        chosen = actions.action(kind, plan, form)
    except DhispatchError as exc:
        return render(request, "confirm.html.j2", 400, plan=plan, kind=kind,
                      title=actions.KINDS[kind], fields=form, error=str(exc))  # fmt: skip
    if kind in actions.ON_A_BATCH:
        await run_in_threadpool(_own_batch, request, plan, actions.batch_id(form))
    job = await run_in_threadpool(console_of(request).jobs.start, chosen)
    if job.state == "refused":
        return render(request, "job.html.j2", 409, job=job)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def jobs_page(request: Request) -> Response:
    return render(request, "jobs.html.j2", jobs=console_of(request).jobs.recent(50))


def job_page(request: Request) -> Response:
    job = console_of(request).jobs.get(request.path_params["job"])
    if job is None:
        raise HTTPException(404, "no such job")
    return render(request, "job.html.j2", job=job)


async def stop_job(request: Request) -> Response:
    await posted_form(request)
    job = console_of(request).jobs.get(request.path_params["job"])
    if job is None:
        raise HTTPException(404, "no such job")
    job.stop.set()
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
