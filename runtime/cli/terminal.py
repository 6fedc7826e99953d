"""The one rich console on stderr, shared by the log handler and the progress bars, so log
lines print above a bar instead of through it."""

from __future__ import annotations

import sys
from typing import Any

_consoles: dict[int, Any] = {}


def stderr_console() -> Any:
    """A rich ``Console`` writing to the current ``sys.stderr`` (one per stream object)."""
    from rich.console import Console

    key = id(sys.stderr)
    if key not in _consoles:
        _consoles.clear()  # the stream changed (a test runner swapped it): start afresh
        _consoles[key] = Console(file=sys.stderr, stderr=True)
    return _consoles[key]
