"""Where the CLI's messages go: stdlib ``logging`` under the ``dhispatch`` logger, one handler.

At a terminal, rich's handler (time, level, message). Otherwise plain lines: ``dhispatch: …``
for a command (what the CLI always printed), or ``<UTC time> <LEVEL> dhispatch: …`` for ``serve``
(a service's log needs the time of each event); or, with ``--log-format json``, one JSON object
a line for log collectors (time, level, message, and the event's fields). Every record is
flushed as it is written (line-buffered), so a service manager sees each event at once. Command
results (tables, diagnostics, the final ``dhispatch: …`` error) are not log messages.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC
from datetime import datetime
from typing import Any

LOGGER = "dhispatch"
FORMATS = ("auto", "text", "json")

log = logging.getLogger(LOGGER)


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a record: the event's fields, shown by the JSON format only."""
    return {"fields": values}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``message``, then the
    record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", None) or {})
        return json.dumps(data, ensure_ascii=False, sort_keys=False, default=str)


class StampedFormatter(logging.Formatter):
    """``2026-12-02T02:10:00.123Z INFO    dhispatch: …``: sortable, zone-free UTC."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{_utc(record.created)} {record.levelname:<7} dhispatch: {record.getMessage()}"


def _utc(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (a test runner swaps it), flushing
    each record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


class _LazyRichHandler(logging.Handler):
    """rich's handler, built at the first record: ``dhispatch check`` at a terminal logs nothing
    and should not pay for importing rich (cold start matters)."""

    def __init__(self) -> None:
        super().__init__()
        self._rich: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._rich is None:
            from rich.logging import RichHandler

            from dhispatch.runtime.cli.terminal import stderr_console

            self._rich = RichHandler(
                console=stderr_console(), show_path=False, markup=False, rich_tracebacks=False,
                log_time_format="[%X]",
            )  # fmt: skip
        self._rich.handle(record)


_json = False


def json_active() -> bool:
    """Whether messages go out as JSON (the CLI's final error line follows suit)."""
    return _json


def setup(fmt: str = "auto", *, service: bool = False) -> None:
    """(Re)configure the ``dhispatch`` logger: ``fmt`` auto (rich at a terminal, else plain),
    text (plain even at a terminal) or json; ``service`` stamps plain lines with the time and
    lets informational records through (a run started, the client retrying), which a command
    leaves out: its output is its result and what went wrong."""
    level = logging.INFO if service else logging.WARNING
    global _json
    _json = fmt == "json"
    handler: logging.Handler
    if fmt == "auto" and sys.stderr.isatty():
        handler = _LazyRichHandler()
    else:
        handler = _StderrHandler()
        if _json:
            handler.setFormatter(JsonFormatter())
        elif service:
            handler.setFormatter(StampedFormatter())
        else:
            handler.setFormatter(logging.Formatter("dhispatch: %(message)s"))
    for old in list(log.handlers):
        log.removeHandler(old)
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False  # an embedding application's root handlers do not print it twice
