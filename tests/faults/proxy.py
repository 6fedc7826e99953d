"""A small fault proxy between the client and the DHIS2 sandbox: real HTTP on loopback, each
request forwarded — or answered, rewritten or dropped as the next fault of its schedule says.

Faults hit ``POST /api/dataValueSets`` (the imports) in order, one per request; every other
request passes. A size limit (the 413 of a reverse proxy) holds for every import while set.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import httpx

IMPORT_PATH = "/api/dataValueSets"
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length",
               "content-encoding"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer the proxy sends: status, headers, body."""

    status: int
    body: bytes
    content_type: str = "application/json"


Fault = Callable[["Exchange"], Reply | None]
"""Given the exchange, the reply to send (None: drop the connection without a byte)."""


@dataclass
class Exchange:
    """One import on its way through the proxy; ``forward`` sends it to the sandbox once
    (``dry``: as a dry run, so DHIS2 validates and counts but stores nothing)."""

    body: bytes
    send: Callable[[bool], httpx.Response]
    _answer: httpx.Response | None = None

    def forward(self, dry: bool = False) -> httpx.Response:
        if self._answer is None:
            self._answer = self.send(dry)
        return self._answer

    def values(self) -> list[dict[str, Any]]:
        data = json.loads(self.body)
        return list(data.get("dataValues") or [])


def _html(status: int, title: str) -> Reply:
    page = f"<html><head><title>{status} {title}</title></head><body><h1>{title}</h1></body>"
    return Reply(status, page.encode(), "text/html")


def _rewrite(exchange: Exchange, change: Callable[[dict[str, Any], int], None]) -> Reply:
    """Forward as a dry run (DHIS2 stores nothing), then rewrite its import summary (bare or
    in the WebMessage): a reply that does not prove what it seems to."""
    answer = exchange.forward(dry=True)
    body = answer.json()
    summary = body.get("response", body) if "importCount" not in body else body
    change(summary, len(exchange.values()))
    return Reply(answer.status_code, json.dumps(body).encode())


def _stray_conflict(summary: dict[str, Any], n: int) -> None:
    """Every value refused by a ≤2.36-style conflict naming nothing that was sent (as 2.36
    does when it names a UID and the values went by code)."""
    summary["status"] = "WARNING"
    summary["conflicts"] = [{"object": "deNOSUCH001", "value": "Data element not found"}]
    summary["importCount"] = {"imported": 0, "updated": 0, "ignored": n, "deleted": 0}
    summary.pop("rejectedIndexes", None)


def _out_of_range(summary: dict[str, Any], n: int) -> None:
    summary["status"] = "WARNING"
    summary["conflicts"] = [{"object": "x", "value": "Period not valid", "errorCode": "E7611",
                             "indexes": [n + 3]}]  # fmt: skip
    summary["rejectedIndexes"] = [n + 3]


def _zero_counts(summary: dict[str, Any], n: int) -> None:
    summary["status"] = "SUCCESS"
    summary["conflicts"] = []
    summary["importCount"] = {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0}


def _error_counts(summary: dict[str, Any], n: int) -> None:
    summary["status"] = "ERROR"
    summary["conflicts"] = []
    summary["importCount"] = {"imported": 1, "updated": 0, "ignored": n - 1, "deleted": 0}


def _message(status: int, phrase: str, text: str) -> Reply:
    """A WebMessage without an import summary (a proxy during a restart, a transient refusal)."""
    body = {"httpStatus": phrase, "httpStatusCode": status, "status": "ERROR", "message": text}
    return Reply(status, json.dumps(body).encode())


def _truncated(exchange: Exchange) -> Reply:
    answer = exchange.forward()
    return Reply(answer.status_code, answer.content[: max(1, len(answer.content) // 2)])


def _drop_after(exchange: Exchange) -> None:
    exchange.forward()  # the sandbox stores the values; the client never hears of it
    return None


def _passthrough(exchange: Exchange) -> Reply:
    answer = exchange.forward()
    kind = answer.headers.get("content-type", "application/json")
    return Reply(answer.status_code, answer.content, kind)


FAULTS: dict[str, Fault] = {
    "pass": lambda x: _passthrough(x),
    "stray-conflict": lambda x: _rewrite(x, _stray_conflict),
    "index-out-of-range": lambda x: _rewrite(x, _out_of_range),
    "zero-counts": lambda x: _rewrite(x, _zero_counts),
    "error-counts": lambda x: _rewrite(x, _error_counts),
    "html-404": lambda x: _html(404, "Not Found"),
    "html-502": lambda x: _html(502, "Bad Gateway"),
    "html-403": lambda x: _html(403, "Forbidden"),
    "webmessage-409": lambda x: _message(409, "Conflict", "Transaction conflict, try again"),
    "webmessage-404": lambda x: _message(404, "Not Found", "Not found"),
    "webmessage-403": lambda x: _message(403, "Forbidden", "Access denied"),
    "webmessage-500": lambda x: Reply(500, json.dumps({"httpStatus": "Internal Server Error",
                                      "httpStatusCode": 500, "status": "ERROR",
                                      "message": "java.lang.NullPointerException"}).encode()),
    "truncated-json": _truncated,
    "drop-before": lambda x: None,
    "drop-after": _drop_after,
}  # fmt: skip
"""Every fault the suite and the property test draw from, by name."""


class FaultProxy:
    """Listens on 127.0.0.1; ``url`` replaces the sandbox's URL in a plan."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.schedule: deque[str] = deque()
        self.body_limit: int | None = None  # bytes: larger imports get HTML 413
        self.poison: bytes | None = None  # an import whose body holds it always gets HTTP 500
        self.hang = threading.Event()  # set: imports are never answered (until the proxy stops)
        self._stopping = threading.Event()
        self.sizes: list[int] = []  # values per import, in order
        self.seen: list[str] = []  # the fault each import met, in order
        self.imports = 0
        self.elsewhere: dict[str, deque[str]] = {}  # POST path -> its own faults, in order
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=60)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def inject(self, *faults: str) -> None:
        """The next imports meet these faults, in order (then they pass)."""
        unknown = [f for f in faults if f not in FAULTS]
        assert not unknown, f"unknown faults {unknown}"
        with self._lock:
            self.schedule.extend(faults)

    def inject_at(self, path: str, *faults: str) -> None:
        """The next POSTs to ``path`` (not an import) meet these faults, in order."""
        assert all(f in FAULTS for f in faults), faults
        with self._lock:
            self.elsewhere.setdefault(path, deque()).extend(faults)

    def _elsewhere(self, path: str) -> str:
        with self._lock:
            queue = self.elsewhere.get(path)
            return queue.popleft() if queue else "pass"

    def clear(self) -> None:
        with self._lock:
            self.schedule.clear()
            self.body_limit = None
            self.poison = None

    def _next(self, body: bytes) -> str:
        with self._lock:
            self.imports += 1
            self.sizes.append(body.count(b'"dataElement"'))
            if self.body_limit is not None and len(body) > self.body_limit:
                name = "too-large"
            elif self.poison is not None and self.poison in body:
                name = "webmessage-500"
            else:
                name = self.schedule.popleft() if self.schedule else "pass"
            self.seen.append(name)
            return name

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def do_DELETE(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                exchange = Exchange(body, lambda dry: proxy._forward(self, body, dry))
                if self.command == "POST" and self.path.split("?")[0] == IMPORT_PATH:
                    if proxy.hang.is_set():  # a request in flight that never ends
                        proxy.imports += 1
                        proxy._stopping.wait()
                        return
                    name = proxy._next(body)
                    reply = _html(413, "Request Entity Too Large") if name == "too-large" else (
                        FAULTS[name](exchange)
                    )  # fmt: skip
                elif self.command == "POST":
                    reply = FAULTS[proxy._elsewhere(self.path.split("?")[0])](exchange)
                else:
                    reply = _passthrough(exchange)
                if reply is None:
                    self._drop()
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def _drop(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        return Handler

    def _forward(
        self, handler: BaseHTTPRequestHandler, body: bytes, dry: bool = False
    ) -> httpx.Response:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_HEADERS}
        headers.pop("Host", None)
        path = handler.path.replace("dryRun=false", "dryRun=true") if dry else handler.path
        return self._http.request(handler.command, self.upstream + path,
                                  content=body or None, headers=headers)  # fmt: skip


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()
