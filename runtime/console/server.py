"""Serving the console with uvicorn: in the foreground (``dhispatch console``) or in a thread beside
the scheduler (``serve --console``), on the address the settings allow, with TLS when given."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dhispatch.runtime.console.app import build_app
from dhispatch.runtime.console.errors import ConsoleError
from dhispatch.runtime.console.security import LoginLimiter
from dhispatch.runtime.console.settings import ConsoleSettings

STARTUP_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class RunningConsole:
    """A console served in a background thread; ``stop`` ends it."""

    server: Any
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.server.config.app.state.console.jobs.stop_all()


def bind(settings: ConsoleSettings) -> socket.socket:
    """The listening socket (port 0: a free one); ConsoleError when the address is taken."""
    host, port = settings.listen.host, settings.listen.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConsoleError(f"cannot listen on {settings.listen}: {exc.strerror or exc}") from exc
    return sock


def _server(settings: ConsoleSettings, limiter: LoginLimiter | None = None, **runner: Any) -> Any:
    import uvicorn

    tls = settings.tls
    config = uvicorn.Config(
        build_app(settings, limiter=limiter, **runner), log_level="warning", lifespan="off",
        access_log=False, proxy_headers=False, server_header=False, http="h11",
        ssl_certfile=str(tls.cert) if tls else None, ssl_keyfile=str(tls.key) if tls else None,
    )  # fmt: skip
    return uvicorn.Server(config)


def url_of(settings: ConsoleSettings, sock: socket.socket) -> str:
    host = settings.listen.host
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if settings.tls else "http"
    return f"{scheme}://{shown}:{sock.getsockname()[1]}"


def run_console(
    settings: ConsoleSettings, stop: threading.Event, announce: Callable[[str], None]
) -> None:
    """Serve until ``stop`` is set (the CLI's SIGTERM/Ctrl-C), then let running jobs finish
    their batch."""
    running = start_console(settings)
    announce(running.url)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        running.stop()


def start_console(
    settings: ConsoleSettings, *, limiter: LoginLimiter | None = None, **runner: Any
) -> RunningConsole:
    """Serve in a daemon thread; returns once it accepts connections. ``runner`` passes extra
    RunnerOptions to every action (tests: a fast retry delay)."""
    sock = bind(settings)
    server = _server(settings, limiter, **runner)
    url = url_of(settings, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="dhispatch-console")  # fmt: skip
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConsoleError(f"the console did not start on {url}")
        time.sleep(0.01)
    return RunningConsole(server, thread, url)
