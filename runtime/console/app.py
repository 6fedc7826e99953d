"""The console's ASGI app: Starlette routes over ``pages``, behind the session gate, the session
cookie, the security headers and (on loopback) a Host check against DNS rebinding."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.responses import Response
from starlette.routing import Mount
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from dhispatch.runtime.console import action_pages
from dhispatch.runtime.console import pages
from dhispatch.runtime.console.jobs import Jobs
from dhispatch.runtime.console.pages import Console
from dhispatch.runtime.console.security import LoginLimiter
from dhispatch.runtime.console.security import SecurityHeaders
from dhispatch.runtime.console.security import SessionGate
from dhispatch.runtime.console.settings import ConsoleSettings

HERE = Path(__file__).parent
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]


def build_app(
    settings: ConsoleSettings, *, limiter: LoginLimiter | None = None, **runner: Any
) -> Starlette:
    """The console for ``settings``; ``runner`` passes extra RunnerOptions to every action."""
    console = Console(settings, Jobs(settings.state, settings.env, **runner),
                      limiter or LoginLimiter())  # fmt: skip
    hosts = LOOPBACK_HOSTS if settings.listen.loopback else ["*"]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=hosts),
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secrets.token_urlsafe(32),
            session_cookie="dhispatch_console",
            max_age=int(settings.session_hours * 3600),
            same_site="strict",
            https_only=settings.tls is not None,
        ),  # fmt: skip
        Middleware(SessionGate),
    ]
    app = Starlette(
        routes=_routes(), middleware=middleware,
        exception_handlers={HTTPException: _http_error},  # type: ignore[dict-item]
    )  # fmt: skip
    app.state.console = console
    return app


def _routes() -> list[Route | Mount]:
    return [
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/", pages.overview_page),
        # an entry's pages: a plan at one of its targets, or a plan with the dhis2 block alone
        *_entry_routes("/plans/{plan}/{target}"),
        *_entry_routes("/plan/{plan}"),
        Route("/runs", pages.runs_page),
        Route("/runs/{run:int}", pages.run_page),
        Route("/runs/{run:int}/report", pages.report_page),
        Route("/parked", pages.parked_page),
        Route("/jobs", action_pages.jobs_page),
        Route("/jobs/{job:int}", action_pages.job_page),
        Route("/jobs/{job:int}/stop", action_pages.stop_job, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def _entry_routes(base: str) -> list[Route]:
    return [
        Route(f"{base}/", pages.entry_page),
        Route(f"{base}/grid", pages.grid_page),
        Route(f"{base}/values", pages.values_page),
        Route(f"{base}/history", pages.history_page),
        Route(f"{base}/explain", pages.explain_page),
        Route(f"{base}/runs", pages.entry_runs_page),
        Route(f"{base}/confirm/{{kind}}", action_pages.confirm_page),
        Route(f"{base}/action/{{kind}}", action_pages.start_action, methods=["POST"]),
    ]


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return PlainTextResponse(f"{exc.detail}\n", status_code=exc.status_code,
                             headers=exc.headers)  # fmt: skip
