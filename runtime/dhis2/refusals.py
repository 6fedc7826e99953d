"""An HTTP error answer that carries no import summary, said for what it is: 413 "payload too
large", 404 "not found at URL", or DHIS2's own message; never mistaken for a login page."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from dhispatch.runtime.dhis2.errors import HttpRefusal
from dhispatch.runtime.dhis2.errors import PayloadTooLarge


def refusal(
    response: httpx.Response, method: str, url: str, scrub: Callable[[str], str]
) -> HttpRefusal:
    """The error of an HTTP 4xx/5xx answer without an import summary."""
    status = response.status_code
    where = f"{method} {url}"
    if status == 413:
        size = len(response.request.content) if _has_body(response) else 0
        body = f" (a body of {size:,} bytes)" if size else ""
        return PayloadTooLarge(
            f"DHIS2 (or a proxy in front of it) refused {where} as too large: HTTP 413 "
            f"Payload Too Large{body}",
            status,
        )
    if status == 404:
        return HttpRefusal(
            f"nothing found at {where} (HTTP 404{_said(response, scrub)}): check the DHIS2 URL, "
            "or DHIS2 is restarting behind a proxy",
            status,
        )
    phrase = response.reason_phrase or "error"
    return HttpRefusal(
        f"DHIS2 refused {where} (HTTP {status} {phrase}{_said(response, scrub)})", status
    )


def _has_body(response: httpx.Response) -> bool:
    try:
        return bool(response.request.content)
    except (RuntimeError, httpx.RequestNotRead):
        return False


def _said(response: httpx.Response, scrub: Callable[[str], str]) -> str:
    """What the answer says: a WebMessage's message, else what kind of page it is."""
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return ": " + scrub(body["message"])[:300]
    if kind == "text/html":
        return ", an HTML page"
    return f", {kind}" if kind else ""
