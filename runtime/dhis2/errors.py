"""The client's exceptions: one base class, one subclass per way a DHIS2 exchange can fail.

Messages are built here from facts we choose (URL path, status, DHIS2's own message), never from
request objects or headers, so no credential can leak through ``str()`` or ``repr()``.
"""

from __future__ import annotations

from typing import ClassVar

from dhispatch.errors import DhispatchError


class Dhis2Error(DhispatchError):
    """Base of every client error; its text is safe to print (it never contains a secret)."""


class ConfigError(Dhis2Error):
    """The plan's target cannot be used as configured (e.g. an environment variable is unset);
    exit 2, like a bad command line (a run reports it at the target's spec line instead)."""

    exit_code: ClassVar[int] = 2


class AuthenticationError(Dhis2Error):
    """DHIS2 refused the credentials (401) or sent a redirect / login page; never retried."""


class NetworkError(Dhis2Error):
    """Timeouts or connection errors that outlasted the retries."""


class ServerError(Dhis2Error):
    """A 5xx or 429 answer that outlasted the retries, or another refusal we cannot proceed from."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ProtocolError(Dhis2Error):
    """A response we cannot read: not JSON, or JSON of an unknown shape."""


class HttpRefusal(Dhis2Error):
    """An HTTP error answer that is no import summary (a proxy's 404 or 413, a WebMessage 409 or
    403): it proves nothing about the values sent, so their batch stays due."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class PayloadTooLarge(HttpRefusal):
    """HTTP 413: the request body is over a size limit (DHIS2's or a reverse proxy's)."""


class Cancelled(Dhis2Error):
    """The run was asked to stop (serve's SIGTERM) before DHIS2 answered; whether a request in
    flight reached DHIS2 is unknown, so its batch stays pending and the next run resends it."""
