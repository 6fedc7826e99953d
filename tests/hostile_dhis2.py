"""A DHIS2 2.40 look-alike on loopback whose every text is hostile to a terminal or a report.

Version, user name, conflict messages and error messages carry OSC and CSI escape sequences,
``\\r\\n`` and a forged ``dhispatch:`` line; the output under test must show none of it live.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

FORGED = "dhispatch: all values accepted"
EVIL = (
    "\x1b]52;c;cHduZWQ=\x07\x1b]0;title\x1b\\\x1b[2J\x9b31m<img src=x onerror=alert(1)>"
    f"|\r\n{FORGED}\x1b[0m\u202e"
)
DEFAULT_COC = "HllvX50cXC0"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # quiet: the test reads the client's output, not ours

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?")[0]
        if path == "/api/system/info":
            info = {"version": f"2.40.0{EVIL}", "revision": EVIL, "calendar": f"iso8601{EVIL}",
                    "serverDate": "2024-06-20"}  # fmt: skip
            self._reply(200, info)
        elif path == "/api/me":
            self._reply(200, {"username": f"admin{EVIL}", "authorities": ["ALL"],
                              "organisationUnits": [], "dataSets": []})  # fmt: skip
        elif path == "/api/categoryOptionCombos":
            combo = {"id": DEFAULT_COC, "code": "default", "name": "default"}
            self._reply(200, {"categoryOptionCombos": [combo]})
        else:
            self._reply(404, {"httpStatus": "Not Found", "status": "ERROR", "message": EVIL})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.server.failing:
            self._reply(503, {"httpStatus": "Service Unavailable", "status": "ERROR",
                              "message": EVIL})  # fmt: skip
            return
        n = len(body.get("dataValues", []))
        conflict = {"object": EVIL, "objects": {"value": EVIL}, "value": EVIL,
                    "errorCode": "E7610", "property": "value", "indexes": [0]}  # fmt: skip
        summary = {"responseType": "ImportSummary", "status": "WARNING", "description": EVIL,
                   "importCount": {"imported": n - 1, "updated": 0, "ignored": 1, "deleted": 0},
                   "conflicts": [conflict], "rejectedIndexes": [0]}  # fmt: skip
        self._reply(409, {"httpStatus": "Conflict", "httpStatusCode": 409, "status": "WARNING",
                          "message": EVIL, "response": summary})  # fmt: skip


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    failing = False


@contextmanager
def hostile_dhis2() -> Iterator[_Server]:
    """The hostile server on a free loopback port; ``.failing = True`` makes pushes answer 503."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url_of(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"
