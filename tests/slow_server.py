"""A misbehaving HTTP server on loopback: it trickles its reply a byte at a time, never answers,
or records what it is sent and answers 502 (a stand-in for a proxy or a stranger's listener).

Real sockets and real HTTP/1.1 bytes, so the client's deadline and cancellation are tested
against what a stalled reverse proxy or a half-dead server does, not against a mock transport.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field

BODY = b'{"version": "2.40.0", "revision": "x", "calendar": "iso8601"}' + b" " * 4000
HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
)


@dataclass
class SlowServer:
    """``mode``: ``trickle_body`` (headers at once, then one body byte per ``interval``),
    ``trickle_headers`` (one byte of the status line and headers per ``interval``), ``hang``
    (reads the request, answers nothing) or ``bad_gateway`` (answers 502 at once); every
    request's head is kept in ``requests``."""

    mode: str
    interval: float = 0.05
    port: int = 0
    requests: list[bytes] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, listener: socket.socket) -> None:
        listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                self.requests.append(request)
                if self.mode == "hang":
                    self._stop.wait()
                    return
                if self.mode == "bad_gateway":
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                reply = HEAD + BODY
                if self.mode == "trickle_body":
                    conn.sendall(HEAD)
                    reply = BODY
                for i in range(len(reply)):
                    if self._stop.wait(self.interval):
                        return
                    conn.sendall(reply[i : i + 1])
            except OSError:
                return  # the client gave up and closed: what the tests want


@contextmanager
def slow_server(mode: str, interval: float = 0.05) -> Iterator[SlowServer]:
    """A ``SlowServer`` listening on a free loopback port for the ``with`` block."""
    server = SlowServer(mode, interval)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server.port = listener.getsockname()[1]
        thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server._stop.set()
            thread.join(timeout=5)


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> bool:
    """Poll ``condition()`` until true or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False
