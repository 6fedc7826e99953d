"""Run the sandbox: uvicorn in a background thread on loopback, steerable from the caller."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

from dhispatch.runtime.sandbox.app import SandboxApp
from dhispatch.runtime.sandbox.app import row_json
from dhispatch.runtime.sandbox.approvals import ApprovalStore
from dhispatch.runtime.sandbox.auth import Authenticator
from dhispatch.runtime.sandbox.faults import Faults
from dhispatch.runtime.sandbox.metadata import MetadataIndex
from dhispatch.runtime.sandbox.store import ValueStore
from dhispatch.runtime.sandbox.versions import Version

STARTUP_TIMEOUT_S = 10.0


@dataclass
class SandboxConfig:
    """What a sandbox serves: a metadata export, a version, credentials and a data file."""

    metadata: dict[str, Any]
    version: str = "2.40"
    users: dict[str, str] = field(default_factory=dict)  # username -> password
    tokens: dict[str, str] = field(default_factory=dict)  # personal access token -> username
    oauth_clients: dict[str, str] = field(default_factory=dict)  # client id -> secret
    data_path: Path | None = None
    today: date | None = None  # pin "today" (period timeliness) for reproducible tests


def build_app(config: SandboxConfig, data_path: Path) -> SandboxApp:
    """The app for a config (raises MetadataError/VersionError on bad input)."""
    version = Version.parse(config.version)
    index = MetadataIndex.load(config.metadata)
    store = ValueStore(data_path)
    approvals = ApprovalStore(data_path)
    auth = Authenticator(index, version, config.users, config.tokens, config.oauth_clients)
    return SandboxApp(index, version, store, approvals, auth, Faults(), today=config.today)


class RunningSandbox:
    """A sandbox serving in a background thread; a context manager that stops it."""

    def __init__(
        self,
        app: SandboxApp,
        server: Any,
        thread: threading.Thread,
        port: int,
        tmpdir: tempfile.TemporaryDirectory[str] | None,
    ) -> None:
        self._app = app
        self._server = server
        self._thread = thread
        self._tmpdir = tmpdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    @property
    def data_path(self) -> Path:
        return self._app.store.path

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT_S)
        self._app.store.close()
        self._app.approvals.store.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def set_faults(
        self,
        *,
        status: int | None = None,
        count: int = 0,
        latency_ms: int = 0,
        drop: int = 0,
        expire_credentials: bool = False,
    ) -> None:
        self._app.faults.set(
            status=status,
            count=count,
            latency_ms=latency_ms,
            drop=drop,
            expire_credentials=expire_credentials,
        )

    def clear_faults(self) -> None:
        self._app.faults.clear()

    def set_today(self, today: date | None) -> None:
        """Move the sandbox's "today" (timeliness checks, ``serverDate``); None: the clock."""
        self._app.today = today

    def values(self) -> list[dict[str, Any]]:
        return [row_json(r) for r in self._app.store.all()]

    def clear_values(self) -> None:
        self._app.store.clear()

    def clear_approvals(self) -> None:
        self._app.approvals.store.clear()

    def request_count(self) -> int:
        return self._app.faults.request_count()


def start_sandbox(config: SandboxConfig, port: int = 0) -> RunningSandbox:
    """Serve a sandbox on 127.0.0.1 (port 0: a free port); returns once it accepts connections."""
    import uvicorn

    tmpdir = None
    data_path = config.data_path
    if data_path is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="dhispatch-sandbox-")
        data_path = Path(tmpdir.name) / "values.sqlite"
    try:
        app = build_app(config, data_path)
    except BaseException:
        if tmpdir is not None:
            tmpdir.cleanup()
        raise
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every response waits ~40 ms (Nagle against the client's delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        app.store.close()
        app.approvals.store.close()
        if tmpdir is not None:
            tmpdir.cleanup()
        raise
    actual = sock.getsockname()[1]
    uv_config = uvicorn.Config(
        app.asgi(),
        log_level="warning",
        lifespan="off",
        proxy_headers=False,
        access_log=False,
        http="h11",
    )
    server = uvicorn.Server(uv_config)
    # uvicorn installs signal handlers only on the main thread; we stop it via should_exit.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"dhis2-sandbox-{actual}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            app.store.close()
            app.approvals.store.close()
            if tmpdir is not None:
                tmpdir.cleanup()
            raise RuntimeError(f"the sandbox did not start on 127.0.0.1:{actual}")
        time.sleep(0.01)
    return RunningSandbox(app, server, thread, actual, tmpdir)
