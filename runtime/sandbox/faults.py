"""Fault modes switchable at runtime: failing statuses, latency, dropped connections, expiry.

An outermost ASGI middleware, so a dropped connection really is a TCP connection closed by the
server before any response byte, as a crashing proxy would do it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.types import ASGIApp
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

ADMIN_PREFIX = "/api/__sandbox"


@dataclass
class FaultState:
    """What the next requests suffer; every counter counts DHIS2 API requests only."""

    status: int | None = None
    status_remaining: int = 0
    latency_ms: int = 0
    latency_remaining: int | None = None  # None: every request until cleared
    drop_remaining: int = 0
    expire_credentials: bool = False
    requests: int = 0


class Faults:
    """Thread-safe fault switches shared by the app, the admin endpoints and the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.state = FaultState()

    def set(
        self,
        *,
        status: int | None = None,
        count: int = 0,
        latency_ms: int = 0,
        drop: int = 0,
        expire_credentials: bool = False,
    ) -> None:
        if status is not None and not 400 <= int(status) <= 599:
            raise ValueError(f"fault status must be an HTTP error status, not {status}")
        if min(count, latency_ms, drop) < 0:
            raise ValueError("fault counts and latency must not be negative")
        with self._lock:
            requests = self.state.requests
            self.state = FaultState(
                status=status,
                status_remaining=count if status is not None else 0,
                latency_ms=latency_ms,
                latency_remaining=(count or None) if latency_ms else None,
                drop_remaining=drop,
                expire_credentials=expire_credentials,
                requests=requests,
            )

    def clear(self) -> None:
        with self._lock:
            self.state = FaultState(requests=self.state.requests)

    @property
    def credentials_expired(self) -> bool:
        with self._lock:
            return self.state.expire_credentials

    def request_count(self) -> int:
        with self._lock:
            return self.state.requests

    def take(self) -> tuple[bool, int, int | None]:
        """Count one API request and consume its faults: (drop, latency ms, failing status)."""
        with self._lock:
            s = self.state
            s.requests += 1
            latency = 0
            if s.latency_ms and (s.latency_remaining is None or s.latency_remaining > 0):
                latency = s.latency_ms
                if s.latency_remaining is not None:
                    s.latency_remaining -= 1
            if s.drop_remaining > 0:
                s.drop_remaining -= 1
                return True, latency, None
            if s.status is not None and s.status_remaining > 0:
                s.status_remaining -= 1
                return False, latency, s.status
            return False, latency, None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            s = self.state
            return {
                "status": s.status,
                "statusRemaining": s.status_remaining,
                "latencyMs": s.latency_ms,
                "latencyRemaining": s.latency_remaining,
                "dropRemaining": s.drop_remaining,
                "expireCredentials": s.expire_credentials,
                "requests": s.requests,
            }


class FaultMiddleware:
    """Applies the faults to every HTTP request outside the admin endpoints."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        drop, latency, status = self.faults.take()
        if latency:
            await asyncio.sleep(latency / 1000)
        if drop:
            _abort_connection(send)
            return
        if status is not None:
            await _send_error(send, status)
            return
        await self.app(scope, receive, send)


def _abort_connection(send: Send) -> None:
    # uvicorn's `send` is a bound method of the request cycle that owns the transport;
    # aborting it closes the socket without a status line, like a crashed upstream. Marking the
    # cycle disconnected stops uvicorn from answering 500 on a socket that is gone.
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("sandbox fault: connection dropped")
    transport.abort()
    cycle.disconnected = True  # type: ignore[union-attr]


async def _send_error(send: Send, status: int) -> None:
    phrase = HTTPStatus(status).phrase
    body = json.dumps(
        {
            "httpStatus": phrase,
            "httpStatusCode": status,
            "status": "ERROR",
            "message": f"{phrase} (sandbox fault)",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 429:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
