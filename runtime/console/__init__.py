"""The operator console: a server-rendered web app over the journal and the same ``Runner`` the
CLI uses — overview, coverage grid, history plots, runs, and actions run in a background worker
that holds the journal's runner lock like any other runner. It imports nothing from ``cli``."""

from __future__ import annotations

from dhispatch.runtime.console.app import build_app
from dhispatch.runtime.console.errors import ConsoleError
from dhispatch.runtime.console.passwords import hash_password
from dhispatch.runtime.console.server import start_console
from dhispatch.runtime.console.settings import ConsoleSettings
from dhispatch.runtime.console.settings import Listen
from dhispatch.runtime.console.settings import parse_listen

__all__ = [
    "ConsoleError",
    "ConsoleSettings",
    "Listen",
    "build_app",
    "hash_password",
    "parse_listen",
    "start_console",
]
