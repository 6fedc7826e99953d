"""Progress bars for pushes and backfills (rich.progress), fed by the runner's progress callback.

Only at a terminal (stderr), never in pipes, logs or tests' output. A run shows a counter while
it computes (the number of values is known only when computing ends), and a bar with the total,
the rate and the time remaining while it sends (a run that sends as it computes counts towards
the most it can compute until computing ends); a backfill adds a bar over its periods. The bars
live for the whole command, on the console the log handler writes to, so summaries and log lines
print above them.
"""

from __future__ import annotations

import sys
from typing import Any


class Bars:
    """The command's bars; every method is a no-op when ``enabled`` is False."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._label = ""

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start_run(self, label: str) -> None:
        """A run begins: its counter appears (under the backfill's bar, if any)."""
        self._label = label
        self.end_run()
        self._task("values", f"{label}: computing", None)

    def end_run(self) -> None:
        """A run ended: its own bars go (the backfill's stays)."""
        self._finish("values")
        self._finish("sent")

    def update(self, what: str, count: int, total: int | None = None) -> None:
        """The runner's progress callback."""
        if not self.enabled:
            return
        labels = {"sent": f"{self._label}: sending", "periods": "backfill: periods"}
        task = self._task(what, labels.get(what, f"{self._label}: computing"), total)
        self._progress.update(task, completed=count, total=total)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()

    def _finish(self, what: str) -> None:
        task = self._tasks.pop(what, None)
        if task is not None:
            self._progress.remove_task(task)

    def _task(self, what: str, label: str, total: int | None) -> Any:
        if not self.enabled:
            return None
        if what not in self._tasks:
            self._tasks[what] = self._bars().add_task(label, total=total)
        return self._tasks[what]

    def _bars(self) -> Any:
        if self._progress is None:
            from rich.progress import BarColumn
            from rich.progress import MofNCompleteColumn
            from rich.progress import Progress
            from rich.progress import SpinnerColumn
            from rich.progress import TextColumn
            from rich.progress import TimeElapsedColumn
            from rich.progress import TimeRemainingColumn

            from dhispatch.runtime.cli.terminal import stderr_console

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=stderr_console(), transient=True,
            )  # fmt: skip
            self._progress.start()
        return self._progress
