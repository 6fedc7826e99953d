"""One HTTP exchange under a total deadline, abandoned when the run is asked to stop.

httpx's timeouts bound each socket operation, not the exchange: a reply trickled a byte at a
time keeps every read short and the exchange alive for minutes, and nothing interrupts a
connect or a read when serve gets SIGTERM. So the exchange runs in a worker thread while the
caller waits for it, for its deadline or for a stop request; when the deadline or the stop (after
a grace period) comes first, the sockets the client opened — learnt from httpx's ``trace``
extension — are shut down, which ends the worker's blocked read or write at once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from dhispatch.runtime.dhis2.errors import Cancelled

TICK = 0.05  # how often a waiting caller looks at the stop request
SETTLE = 1.0  # how long a worker gets to notice its sockets were shut down


class SocketRegistry:
    """The sockets of one client's connections, learnt as httpcore opens them."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpx's ``trace`` request extension: remember each new connection's socket."""
        if not event.endswith(("connect_tcp.complete", "start_tls.complete")):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets = [s for s in self._sockets if s.fileno() != -1]
                self._sockets.append(sock)

    def shut_down(self) -> None:
        """Wake every read or write blocked on these sockets (their connections are lost)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                # the plain socket's method: SSLSocket.shutdown would also drop the SSL state
                # the worker thread is still using
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed (or detached by the TLS wrapper that replaced it)


def exchange(
    send: Callable[[], httpx.Response],
    sockets: SocketRegistry,
    *,
    what: str,
    deadline: float,
    stop: threading.Event | None,
    grace: float,
) -> httpx.Response | None:
    """Run ``send`` (one httpx request, ``what`` names it) in a worker thread: its response,
    or its exception; None when ``deadline`` (a ``time.monotonic()`` instant) passed first.

    Raises Cancelled when ``stop`` is set and the exchange does not end within ``grace``
    seconds. A worker that cannot be woken (resolving a name, connecting) is left behind as a
    daemon thread. Should its request still go out later, it is a push of a batch the journal
    keeps pending or failed, which the next run resends: DHIS2's import is an upsert per cell,
    so it ends with the same values (the journal already allows for requests never answered).
    """
    outcome: list[httpx.Response | Exception] = []
    done = threading.Event()

    def work() -> None:
        try:
            outcome.append(send())
        except Exception as exc:  # noqa: BLE001 - handed to the waiting caller as is
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=work, name="dhis2-exchange", daemon=True).start()
    given_up = _wait(done, deadline, stop, grace)
    if given_up is not None:
        sockets.shut_down()
        done.wait(SETTLE)
        if not outcome or isinstance(outcome[0], Exception):  # the error we caused, if any
            if given_up == "stopped":
                raise Cancelled(f"stopped before DHIS2 answered {what}")
            return None
    result = outcome[0]
    if isinstance(result, Exception):
        raise result
    return result


def _wait(
    done: threading.Event, deadline: float, stop: threading.Event | None, grace: float
) -> str | None:
    """Wait for ``done``; why to give up instead: ``deadline``, or ``stopped`` (plus grace)."""
    give_up = deadline
    stopping = False
    while not done.wait(max(min(TICK, give_up - time.monotonic()), 0.0)):
        now = time.monotonic()
        if stop is not None and stop.is_set() and not stopping:
            stopping = True
            give_up = min(give_up, now + grace)
        if now >= give_up:
            return "stopped" if stopping and now < deadline else "deadline"
    return None
