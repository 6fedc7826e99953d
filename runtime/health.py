"""``serve``'s health: ok or degraded with the reasons, from the runner's events, on loopback HTTP.

``Health`` folds the runner's events into each plan's state — its last run's status, parked
batches waiting for an operator, an error that kept it from running, the last time it reached
DHIS2 — and says ``ok`` or ``degraded`` with one reason per problem. ``HealthServer`` answers
``GET /health`` with that as JSON: HTTP 200 when ok, 503 when degraded (what monitoring probes
and Docker's HEALTHCHECK read). It only reads memory: a probe never touches the journal, the
stock database or DHIS2, and says nothing a log line would not (no secrets).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

from dhispatch.errors import DhispatchError
from dhispatch.errors import UsageError
from dhispatch.runtime.plan.urls import is_loopback
from dhispatch.runtime.printable import printable
from dhispatch.runtime.runner import NextDue
from dhispatch.runtime.runner import PlanFailed
from dhispatch.runtime.runner import RunFinished
from dhispatch.runtime.runner import RunnerEvent
from dhispatch.runtime.runner import RunStarted

log = logging.getLogger("dhispatch")

# a run that ended so needs someone: DHIS2 unreachable, values left due, refused, set aside …
DEGRADING = frozenset(
    {"failed", "unconfirmed", "blocked", "parked", "conflicts", "deferred", "error", "interrupted"}
)
# a run that ended so had reached DHIS2 (its version and clock were read first)
CONNECTED = frozenset({"ok", "conflicts", "unconfirmed", "parked", "deferred", "blocked"})
LATE_AFTER = timedelta(minutes=15)  # the loop missed its wake-up by this much: it is stuck


@dataclass(frozen=True, slots=True)
class PlanState:
    """What health knows of one plan."""

    last_run: int | None = None
    last_status: str | None = None
    finished_at: datetime | None = None
    parked_batches: int = 0
    error: str | None = None  # why the plan could not run at all (PlanFailed), until it runs
    connected_at: datetime | None = None  # the last time a run (or test-connection) reached DHIS2


class Health:
    """Thread-safe: serve's loop feeds ``observe``, the HTTP thread reads ``report``.
    ``max_connection_age``: older than this since DHIS2 was last reached is degraded (None:
    not checked; set it above the schedule's longest interval)."""

    def __init__(self, plans: Iterable[str], max_connection_age: timedelta | None = None) -> None:
        self.max_connection_age = max_connection_age
        self.started = datetime.now(UTC)
        self._state = {name: PlanState() for name in plans}
        self._running: str | None = None
        self._next_due: datetime | None = None
        self._lock = threading.Lock()

    def connected(self, plan: str, at: datetime | None) -> None:
        """Seed the last connection (the journal's, from test-connection) at start."""
        with self._lock:
            self._update(plan, connected_at=at)

    def observe(self, event: RunnerEvent) -> None:
        """The runner's report callback (chained after the log's)."""
        now = datetime.now(UTC)
        with self._lock:
            if isinstance(event, RunStarted):
                self._running = event.plan.label
            elif isinstance(event, RunFinished):
                self._running = None
                self._finished(event, now)
            elif isinstance(event, PlanFailed):
                self._running = None
                text = " / ".join(printable(line) for line in event.error.lines())
                self._update(event.plan.label, error=text, last_status="error", finished_at=now)
            elif isinstance(event, NextDue):
                self._next_due = event.at

    def _finished(self, event: RunFinished, now: datetime) -> None:
        result, name = event.result, event.plan.label
        old = self._state.get(name, PlanState())
        connected = now if result.status in CONNECTED else old.connected_at
        self._update(
            name, last_run=result.run_id, last_status=result.status, finished_at=now,
            parked_batches=result.summary.notices.parked_batches, error=None,
            connected_at=connected,
        )  # fmt: skip

    def _update(self, name: str, **changes: Any) -> None:
        self._state[name] = replace(self._state.get(name, PlanState()), **changes)

    def report(self, now: datetime | None = None) -> dict[str, Any]:
        """``{"status": "ok"|"degraded", "reasons": [...], "plans": {...}, …}``."""
        now = now or datetime.now(UTC)
        with self._lock:
            states, running, next_due = dict(self._state), self._running, self._next_due
        reasons = [r for name, s in states.items() for r in self._reasons(name, s, now)]
        if running is None and next_due is not None and now - next_due > LATE_AFTER:
            late = int((now - next_due).total_seconds() // 60)
            reasons.append(f"the scheduler is late: a run was due {late} min ago")
        return {
            "status": "degraded" if reasons else "ok",
            "reasons": reasons,
            "running": running,
            "next_due": _iso(next_due),
            "since": _iso(self.started),
            "plans": {name: _plan_json(s) for name, s in states.items()},
        }

    def _reasons(self, name: str, s: PlanState, now: datetime) -> list[str]:
        out = []
        if s.error is not None:
            out.append(f"{name}: could not run: {s.error}")
        elif s.last_status in DEGRADING:
            out.append(f"{name}: last run {s.last_run} ended {s.last_status}")
        if s.parked_batches:
            out.append(f"{name}: {s.parked_batches} parked batch(es) wait for an operator "
                       "(dhispatch log)")  # fmt: skip
        limit = self.max_connection_age
        if limit is not None:
            since = s.connected_at or self.started
            if now - since > limit:
                when = _iso(s.connected_at) or "never since serve started"
                out.append(f"{name}: last successful connection to DHIS2 {when}, older than "
                           f"{_hours(limit)}")  # fmt: skip
        return out


def _plan_json(s: PlanState) -> dict[str, Any]:
    return {
        "last_run": s.last_run,
        "last_status": s.last_status,
        "finished_at": _iso(s.finished_at),
        "parked_batches": s.parked_batches,
        "last_connection": _iso(s.connected_at),
        "error": s.error,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


def _hours(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:g} h"


# ---- the endpoint ------------------------------------------------------------------------------


def parse_address(text: str, *, public: bool = False) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8021`` for IPv6) → (host, port); a host that is not loopback is
    refused unless ``public`` (the endpoint has no authentication)."""
    host, sep, port_text = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise UsageError(f"--health {text!r} is not HOST:PORT (e.g. 127.0.0.1:8021)")
    if not public and not is_loopback(host):
        raise UsageError(
            f"--health {text!r} would expose the health endpoint beyond this machine; use a "
            "loopback address (127.0.0.1, ::1, localhost) or add --health-public"
        )
    if not _is_ip(host) and host != "localhost" and not host.endswith(".localhost"):
        raise UsageError(f"--health {text!r}: give an IP address or localhost, not a host name")
    return host, int(port_text)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HealthError(DhispatchError):
    """The health endpoint cannot listen (the port is taken, the address is not this machine's)."""


class HealthServer:
    """``GET /health`` on ``host:port`` in a daemon thread, until ``close``."""

    def __init__(self, health: Health, host: str, port: int) -> None:
        handler = _handler(health)
        server_class = _server_class(host)
        try:
            self._server = server_class((host, port), handler)
        except OSError as exc:
            raise HealthError(f"--health {host}:{port}: cannot listen: {exc.strerror}") from exc
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="dhispatch-health")  # fmt: skip
        self._thread.start()

    @property
    def url(self) -> str:
        address = self._server.server_address
        assert isinstance(address, tuple)
        host, port = str(address[0]), int(address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/health"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _server_class(host: str) -> type[ThreadingHTTPServer]:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Server(ThreadingHTTPServer):
        address_family = family
        daemon_threads = True

    return Server


def _handler(health: Health) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "dhispatch-health"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.split("?")[0] not in ("/health", "/health/"):
                self._send(404, {"error": "not found; try /health"})
                return
            body = health.report()
            self._send(200 if body["status"] == "ok" else 503, body)

        def _send(self, status: int, body: Mapping[str, Any]) -> None:
            data = json.dumps(body, indent=2).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("health: " + format, *args)  # probes every few seconds: not worth a line

    return Handler
