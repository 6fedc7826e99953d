"""The console's errors: it cannot start, or its password hash is not in the documented format."""

from __future__ import annotations

from dhispatch.errors import DhispatchError


class ConsoleError(DhispatchError):
    """The console cannot start: no password, an unsafe address, an unreadable env file."""


class PasswordHashError(ConsoleError):
    """``DHISPATCH_CONSOLE_PASSWORD_HASH`` is not in the documented format."""
