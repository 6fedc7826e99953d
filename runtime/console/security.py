"""Login, sessions and request hygiene: the session gate, CSRF tokens, the login rate limit and
the response headers every page carries.

Sessions are Starlette's signed cookie (HttpOnly, SameSite=Strict, Secure under TLS) with a key
made at start, so a restart logs everyone out. Every POST carries the session's CSRF token
(``csrf_token``); SameSite=Strict already keeps other sites' forms out, the token keeps out
anything that slips past it. Only ``/login`` and ``/static`` answer without a session.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp
from starlette.types import Message
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

OPEN_PATHS = ("/login", "/static/")
HEADERS = {
    # no inline script can run, whatever a foreign string manages to smuggle into a page
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
# the run report is a standalone page with its own <style>
REPORT_CSP = HEADERS["content-security-policy"].replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: dict[str, Any], given: object) -> bool:
    expected = session.get("csrf")
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and hmac.compare_digest(expected.encode(), given.encode())
    )


class LoginLimiter:
    """At most ``attempts`` failed logins per client in ``window`` seconds; after that every
    attempt is refused (the password is not even checked) until the oldest failure ages out."""

    def __init__(self, attempts: int = 5, window: float = 60.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: now)."""
        with self._lock:
            recent = self._recent(client)
            if len(recent) < self.attempts:
                return 0
            return max(1, int(recent[0] + self.window - time.monotonic()) + 1)

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(time.monotonic())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        recent = self._failures.setdefault(client, deque())
        while recent and recent[0] < time.monotonic() - self.window:
            recent.popleft()
        return recent


class SessionGate:
    """ASGI middleware (inside the session middleware): no session, no page. A GET is sent to
    the login form, anything else gets 403."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        if scope.get("session", {}).get("user"):
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD"):
            await _plain(send, 303, b"login required\n", {"location": "/login"})
        else:
            await _plain(send, 403, b"login required\n")


class SecurityHeaders:
    """ASGI middleware: the ``HEADERS`` on every response (a report gets its own CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        report = scope["path"].endswith("/report")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if report:
                    headers["content-security-policy"] = REPORT_CSP
            await send(message)

        await self.app(scope, receive, with_headers)


async def _plain(
    send: Callable[[Message], Awaitable[None]],
    status: int,
    body: bytes,
    extra: dict[str, str] | None = None,
) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
