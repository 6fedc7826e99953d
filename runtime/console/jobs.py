"""Actions run in the background: one job at a time per console, each in a worker thread with its
own ``Runner`` — the CLI's runner, holding the journal's runner lock for anything that writes the
queue, so a second runner (a cron push, ``serve``, another console) is refused, and so is this
job while another runner holds the journal."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from dhispatch.errors import DhispatchError
from dhispatch.runtime.journal import JournalError
from dhispatch.runtime.printable import printable
from dhispatch.runtime.runner import RunFinished
from dhispatch.runtime.runner import Runner
from dhispatch.runtime.runner import RunnerEvent
from dhispatch.runtime.runner import RunnerOptions
from dhispatch.runtime.runner import RunStarted

START_WAIT = 10.0  # seconds a POST waits to learn whether its job started or was refused
LOCKING, UNLOCKED, READONLY = "locking", "unlocked", "readonly"


@dataclass(frozen=True, slots=True)
class Action:
    """What to run: ``work`` gets the runner and returns a result for the job page; ``access``
    says how the runner opens the journal (``locking`` for anything that pushes or changes the
    queue, ``unlocked`` for test-connection, ``readonly`` for a dry run)."""

    kind: str
    plan: str
    title: str
    access: str
    work: Callable[[Runner], Any]


class Job:
    """One action's progress and outcome, read by the job page while the worker writes it."""

    def __init__(self, job_id: int, action: Action) -> None:
        self.id = job_id
        self.action = action
        self.state = "starting"  # running, done, failed, refused, stopped
        self.values = 0
        self.progressed: dict[str, tuple[int, int | None]] = {}  # "sent", "periods": done, total
        self.lines: list[str] = []
        self.result: Any = None
        self.error: str | None = None
        self.created = datetime.now(UTC)
        self.finished: datetime | None = None
        self.stop = threading.Event()
        self.started = threading.Event()  # set once running, refused or failed
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running")

    def progress(self, what: str, count: int, total: int | None = None, /) -> None:
        """The runner's progress: values computed, then sent of total, periods of a backfill."""
        if what == "values":
            self.values = count
        else:
            self.progressed[what] = (count, total)

    def report(self, event: RunnerEvent) -> None:
        if isinstance(event, RunStarted):
            self.say(f"run of {event.plan.label} started ({event.trigger})")
        elif isinstance(event, RunFinished):
            r = event.result
            c = r.summary.counts
            self.say(f"run {r.run_id or '-'} {r.status}: {c.values} values, {c.sent} sent, "
                     f"{c.refused} refused, {c.withheld} withheld, {c.queued} queued")  # fmt: skip

    def say(self, line: str) -> None:
        with self._lock:
            self.lines.append(printable(line))

    def end(self, state: str, *, result: Any = None, error: str | None = None) -> None:
        self.result, self.error = result, None if error is None else printable(error)
        self.state = "stopped" if state == "done" and self.stop.is_set() else state
        self.finished = datetime.now(UTC)
        self.started.set()


class Jobs:
    """The console's jobs (kept for the console's lifetime) and its one worker slot."""

    def __init__(self, state: Path, env: Mapping[str, str], **runner: Any) -> None:
        self.state = state
        self.env = env
        self.runner = runner  # extra RunnerOptions (tests: a fast retry delay)
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def recent(self, limit: int = 20) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: -j.id)[:limit]

    def start(self, action: Action) -> Job:
        """Start ``action`` in a worker; waits (briefly) until it runs or is refused. A job
        already running in this console refuses the new one at once."""
        with self._lock:
            job = Job(next(self._ids), action)
            self._jobs[job.id] = job
            busy = next((j for j in self._jobs.values() if j.active and j is not job), None)
            if busy is not None:
                job.end("refused", error=f"job {busy.id} ({busy.action.title}) is still running")
                return job
            thread = threading.Thread(target=self._work, args=(job,), daemon=True,
                                      name=f"console-job-{job.id}")  # fmt: skip
            self._threads.append(thread)
            thread.start()
        job.started.wait(START_WAIT)
        return job

    def stop_all(self, timeout: float = 60.0) -> None:
        """Ask every job to stop (the batch in flight finishes) and wait for them."""
        for job in self._jobs.values():
            job.stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _work(self, job: Job) -> None:
        action = job.action
        options = RunnerOptions(env=self.env, stop=job.stop, progress=job.progress,
                                report=job.report, **self.runner)  # fmt: skip
        runner = Runner(self.state, lock=action.access == LOCKING,
                        readonly=action.access == READONLY, options=options)  # fmt: skip
        try:
            with runner:
                if action.access == LOCKING:
                    runner.journal  # noqa: B018 - the lock first: refused before any work
                job.state = "running"
                job.started.set()
                result = action.work(runner)
            job.end("done", result=result)
        except JournalError as exc:
            job.end("refused" if exc.cause == "locked" else "failed", error=str(exc))
        except DhispatchError as exc:
            job.end("failed", error="; ".join(exc.lines()))
        except Exception as exc:  # noqa: BLE001 - a job must end, and say why, whatever happens
            job.end("failed", error=f"internal error: {type(exc).__name__}: {exc}")
