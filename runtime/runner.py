"""The runner: the journal under its one-runner lock, and every kind of run a plan gets.

A manual push or preview, a backfill, catch-up of due slots (``run --once``), serve's loop and
test-connection all go through a ``Runner``; it prints nothing and reports each finished run (and
catch-up notices) to a callback, so the CLI renders them and an operator console, calling the same
methods from a background worker, can show them. Cancelling is setting the ``stop`` event: the run
in flight finishes its batch and the slots it did not send stay due.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import AbstractContextManager
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from dhispatch.errors import DhispatchError
from dhispatch.runtime.journal import BatchRow
from dhispatch.runtime.journal import ConnectionRecord
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run import DEFAULT_BATCH_SIZE
from dhispatch.runtime.run import DEFAULT_MAX_DROP
from dhispatch.runtime.run import DEFAULT_PARK_AFTER
from dhispatch.runtime.run import ProgressFn
from dhispatch.runtime.run import RunMode
from dhispatch.runtime.run import RunOptions
from dhispatch.runtime.run import RunResult
from dhispatch.runtime.run import execute
from dhispatch.runtime.run.metadata_cache import DEFAULT_MAX_AGE
from dhispatch.runtime.run.record import HALTING
from dhispatch.runtime.run.target import resolve_target
from dhispatch.runtime.schedule import DEFAULT_WINDOW
from dhispatch.runtime.schedule import Slot
from dhispatch.runtime.slots import backfill_slots
from dhispatch.runtime.slots import catch_up_slots
from dhispatch.runtime.slots import group_by_due
from dhispatch.runtime.slots import manual_slots
from dhispatch.runtime.slots import next_due

if TYPE_CHECKING:
    import httpx

    from dhispatch.runtime.alerts import AlertSettings
    from dhispatch.runtime.alerts.watch import Seen
    from dhispatch.runtime.dhis2 import Auth
    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2 import Me
    from dhispatch.runtime.dhis2 import RetryPolicy
    from dhispatch.runtime.dhis2 import SystemInfo


# ---- what the runner reports -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run of ``plan`` is about to compute (``trigger`` says why: push, schedule, backfill …)."""

    plan: Plan
    trigger: str


@dataclass(frozen=True, slots=True)
class RunFinished:
    """A run of ``plan`` ended (in any status); its summary is in the journal."""

    plan: Plan
    result: RunResult


@dataclass(frozen=True, slots=True)
class SlotsDropped:
    """Catch-up found ``count`` slots older than the window; they were not run (use backfill)."""

    plan: Plan
    count: int


@dataclass(frozen=True, slots=True)
class NothingDue:
    """Catch-up found nothing due and nothing queued for ``plan``."""

    plan: Plan


@dataclass(frozen=True, slots=True)
class PlanFailed:
    """``serve`` could not run ``plan`` this time (its other plans went on)."""

    plan: Plan
    error: DhispatchError


@dataclass(frozen=True, slots=True)
class AlertsSent:
    """Alerts (or recoveries) told for ``plan`` (their subject lines), and those that could not
    be told (``failures``: they are tried again at the next check)."""

    plan: Plan
    subjects: tuple[str, ...]
    failures: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NextDue:
    """``serve`` sleeps until ``at`` (None: nothing is due within a year)."""

    at: datetime | None


RunnerEvent = (
    RunStarted | RunFinished | SlotsDropped | NothingDue | PlanFailed | AlertsSent | NextDue
)


def _ignore(event: RunnerEvent) -> None:
    """The default reporter: callers that only want the returned results."""


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    """Settings every run of a runner shares.

    ``env`` holds credentials and the database location (default ``os.environ``); ``stop`` is
    set to cancel (serve's SIGTERM, a console's button): DHIS2 retries and backoff end at once
    and a request in flight is abandoned after a short grace; ``deadline`` bounds one DHIS2
    request, retries included (None: the client's default); ``progress`` sees values as they
    are computed; ``report`` sees every ``RunnerEvent``; ``park_after`` is how many failures of
    one kind in a row park a batch; ``max_drop`` the share of held values a run may turn to 0
    or remove unless ``accept_drop``; ``metadata_max_age`` is how old the admission stage's
    cached metadata may be; ``transport`` and ``retry_delay`` are seams for tests.
    """

    batch_size: int = DEFAULT_BATCH_SIZE
    park_after: int = DEFAULT_PARK_AFTER
    max_drop: float = DEFAULT_MAX_DROP
    accept_drop: bool = False
    window: timedelta = DEFAULT_WINDOW
    env: Mapping[str, str] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None
    progress: ProgressFn | None = None
    report: Callable[[RunnerEvent], None] = _ignore
    transport: httpx.BaseTransport | None = None
    retry_delay: float | None = None
    metadata_max_age: timedelta = DEFAULT_MAX_AGE


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """What test-connection found: the server and user, or why the connection failed."""

    url: str
    data_set: str
    previous: ConnectionRecord | None  # the last success before this check
    at: datetime | None = None  # when this check succeeded (recorded in the journal)
    info: SystemInfo | None = None
    me: Me | None = None
    failure: str | None = None  # "authentication" or "connection"
    error: str | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Why DHIS2 may refuse or misread pushes (empty when the connection failed)."""
        me, info = self.me, self.info
        if me is None or info is None:
            return ()
        out = []
        if not me.can_write_data:
            out.append(
                f"user {me.username} has neither F_DATAVALUE_ADD nor ALL: DHIS2 will refuse pushes"
            )
        if me.can_write_data and "ALL" not in me.authorities and self.data_set not in me.data_sets:
            out.append(f"user {me.username} cannot write data set {self.data_set}")
        if info.calendar not in (None, "iso8601"):
            out.append(f"the server calendar is {info.calendar}; period IDs assume iso8601")
        return tuple(out)

    @property
    def refuses_pushes(self) -> bool:
        """The connection failed, or DHIS2 will refuse this user's pushes."""
        return self.failure is not None or any(
            not w.startswith("the server calendar") for w in self.warnings
        )


# ---- the runner --------------------------------------------------------------------------------


class Runner:
    """Runs plans against the journal at ``state``, opened (and locked, when ``lock``) on first
    use, so a request that cannot be run is refused before the state database is touched;
    ``readonly`` (previews) never creates or writes it. Use as a context manager; ``close``
    releases the lock."""

    def __init__(
        self,
        state: str | Path,
        *,
        lock: bool = True,
        readonly: bool = False,
        options: RunnerOptions | None = None,
    ) -> None:
        self.state = Path(state)
        self.options = options or RunnerOptions()
        self._lock = lock and not readonly
        self._readonly = readonly
        self._journal: Journal | None = None

    @property
    def journal(self) -> Journal:
        """The journal; the one-runner lock is taken here for pushes (JournalError names the
        holder); previews, dry runs and test-connection only read and never wait."""
        if self._journal is None:
            journal = Journal.open(self.state, readonly=self._readonly)
            try:
                if self._lock:
                    journal.acquire_lock()
                    journal.close_dead_runs()  # a process killed mid-run left its row running
            except BaseException:
                journal.close()
                raise
            self._journal = journal
        return self._journal

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        plan: Plan,
        slots: Sequence[Slot],
        *,
        mode: RunMode,
        trigger: str,
        force: bool = False,
        now: datetime | None = None,
    ) -> RunResult:
        """One run of ``slots`` (as of ``now``, default the clock), reported as it finishes."""
        o = self.options
        options = RunOptions(
            batch_size=o.batch_size, force=force, env=o.env, progress=o.progress,
            stop=o.stop.is_set, cancel=o.stop, deadline=o.deadline, transport=o.transport,
            retry_delay=o.retry_delay, park_after=o.park_after, max_drop=o.max_drop,
            accept_drop=o.accept_drop, now=now, metadata_max_age=o.metadata_max_age,
        )  # fmt: skip
        journal = self.journal
        o.report(RunStarted(plan, trigger))
        result = execute(plan, journal, slots, mode=mode, trigger=trigger, options=options)
        if mode.stores:
            # retention: the plan's accepted payloads older than keep_payloads days go (rows,
            # counts, conflicts and cells stay) and the file gives the space back; by the real
            # clock, which stamped them (``now`` may be a catch-up's simulated instant)
            kept_since = datetime.now(UTC) - timedelta(days=plan.target.keep_payloads)
            journal.prune(kept_since, plan.name)
        o.report(RunFinished(plan, result))
        return result

    def preview(
        self, plan: Plan, *, at: date | None = None, period: str | None = None
    ) -> RunResult:
        """Every value a push would send, against the journal; records and sends nothing."""
        slots = manual_slots(plan, at=at, period=period)
        return self.run(plan, slots, mode=RunMode.PREVIEW, trigger="plan")

    def push(
        self,
        plan: Plan,
        *,
        at: date | None = None,
        period: str | None = None,
        dry_run: bool = False,
        force: bool = False,
        trigger: str = "push",
    ) -> RunResult:
        """Push every active step now (``current_day``), as of ``at``, or for ``period``."""
        slots = manual_slots(plan, at=at, period=period)
        mode = RunMode.DRY_RUN if dry_run else RunMode.PUSH
        return self.run(plan, slots, mode=mode, trigger=trigger, force=force)

    def backfill(
        self, plan: Plan, first: str, last: str, *, force: bool = False
    ) -> list[RunResult]:
        """One run per period from ``first`` to ``last``, oldest first, each at its own end."""
        slots = backfill_slots(plan, first, last)
        periods = list(dict.fromkeys(s.period.id for s in slots))
        progress = self.options.progress
        results = []
        for done, period in enumerate(periods):
            if progress is not None:
                progress("periods", done, len(periods))
            group = [s for s in slots if s.period.id == period]
            trigger = f"backfill {period}"
            results.append(self.run(plan, group, mode=RunMode.PUSH, trigger=trigger, force=force))
        if progress is not None:
            progress("periods", len(periods), len(periods))
        return results

    def run_due(self, plan: Plan, now: datetime) -> list[RunResult]:
        """Catch-up: queued batches first, then every due slot, one run per due instant, oldest
        first; stops at the first run DHIS2 failed (later slots wait, in order). Then, when the
        plan has alert settings, every alert condition is checked and its changes told."""
        from dhispatch.runtime.alerts import alert_settings
        from dhispatch.runtime.alerts.watch import Seen

        alerts = alert_settings(plan.alerts, self._env())  # unusable settings: before any run
        target = resolve_target(self.journal, plan, self._env())
        assert target is not None
        seen = Seen()
        try:
            self._catch_up(plan, now, target, seen)
        except DhispatchError as exc:
            seen.error = " ".join(exc.lines())
            if alerts is not None:
                self._watch(alerts, plan, target, seen, now)
            raise
        if alerts is not None:
            self._watch(alerts, plan, target, seen, now)
        return seen.results

    def _catch_up(self, plan: Plan, now: datetime, target: int, seen: Seen) -> None:
        seen.first = not any(
            self.journal.completed_dues(plan.name, step.id, target) for step in plan.active_steps
        )  # a first run runs the latest slot only: nothing earlier was missed
        slots, dropped = catch_up_slots(
            plan, self.journal, now, window=self.options.window, target_id=target
        )
        seen.slots, seen.dropped = slots, dropped
        if dropped:
            self.options.report(SlotsDropped(plan, dropped))
        groups = group_by_due(slots)
        if not groups and self.journal.due_batches(plan.name, target):
            groups = [[]]  # nothing due, but queued batches to resend
        if not groups:
            self.options.report(NothingDue(plan))
        for group in groups:
            if self.options.stop.is_set():
                break
            seen.results.append(
                self.run(plan, group, mode=RunMode.SCHEDULED, trigger="schedule", now=now)
            )
            if seen.results[-1].status in HALTING:
                break  # later slots wait, in order, until this one is settled

    def _watch(
        self, alerts: AlertSettings, plan: Plan, target: int, seen: Seen, now: datetime
    ) -> None:
        from dhispatch.runtime.alerts.watch import check_plan

        monitor = check_plan(self.journal, alerts, plan, target, self._env(), seen, now)
        if monitor.told or monitor.failures:
            subjects = tuple(m.subject for m in monitor.told)
            self.options.report(AlertsSent(plan, subjects, tuple(monitor.failures)))

    def run_once(self, plans: Sequence[Plan], now: datetime | None = None) -> list[RunResult]:
        """``run --once``: every plan's catch-up, in the order given."""
        moment = now or datetime.now(UTC)
        self._check_alert_settings(plans)
        self.journal  # noqa: B018 - the lock first: a second runner is refused before any work
        return [result for plan in plans for result in self.run_due(plan, moment)]

    def serve(self, plans: Sequence[Plan], *, max_sleep: float = 3600.0) -> None:
        """Catch up every plan, sleep until the next due instant, repeat until ``stop`` is set.

        One plan's failure (an unreachable database, an unset variable) is reported and does
        not keep the other plans from running; the failed plan is retried at the next wake-up.
        """
        stop = self.options.stop
        self._check_alert_settings(plans)
        self.journal  # noqa: B018 - hold the lock for as long as serve runs
        while not stop.is_set():
            now = datetime.now(UTC)
            for plan in plans:
                if stop.is_set():
                    break
                try:
                    self.run_due(plan, now)
                except DhispatchError as exc:
                    self.options.report(PlanFailed(plan, exc))
            upcoming = [d for d in (next_due(p, datetime.now(UTC)) for p in plans) if d]
            wake = min(upcoming) if upcoming else None
            self.options.report(NextDue(wake))
            wait = max_sleep if wake is None else (wake - datetime.now(UTC)).total_seconds() + 0.5
            stop.wait(timeout=max(0.5, min(wait, max_sleep)))

    def _check_alert_settings(self, plans: Sequence[Plan]) -> None:
        """Alert settings that cannot be used stop ``run``/``serve`` at once (AlertConfigError),
        not silently at the first failure they should have told."""
        from dhispatch.runtime.alerts import alert_settings

        for plan in plans:
            alert_settings(plan.alerts, self._env())

    # ---- the dead-letter queue (``dhispatch log``; a console calls the same) -------------

    def parked(self) -> list[BatchRow]:
        """Every parked batch, oldest first, with its reason in ``note``/``error``."""
        return self.journal.parked_batches()

    def retry_parked(self, batch_id: int | None = None) -> int:
        """Make parked batches (one, or all) due again: the next run of their plan resends
        them first. How many."""
        return self.journal.unpark(batch_id)

    def drop_parked(self, batch_id: int) -> bool:
        """Give up one parked batch (recorded as ``dropped``); False when it is not parked."""
        return self.journal.drop_parked(batch_id)

    def test_connection(self, plan: Plan, *, timeout: float = 15.0) -> ConnectionCheck:
        """Reach the plan's DHIS2: version, user, rights; a success is recorded in the journal."""
        from dhispatch.runtime.dhis2 import AuthenticationError
        from dhispatch.runtime.dhis2 import Dhis2Client
        from dhispatch.runtime.dhis2 import Dhis2Error

        target = plan.target
        # a ConfigError (an unset variable, plain http to another machine) before anything
        client = Dhis2Client.for_target(target, self._env(), timeout=timeout, retry=_quick_retry())
        previous = self.journal.last_connection(target.url)
        check = partial(ConnectionCheck, target.url, target.data_set, previous)
        try:
            with client:
                info, me = client.system_info(), client.me()
        except AuthenticationError as exc:
            return check(failure="authentication", error=str(exc))
        except Dhis2Error as exc:
            return check(failure="connection", error=str(exc))
        at = datetime.now(UTC)
        self.journal.record_connection(target.url, info.version, me.username, at)
        return check(at=at, info=info, me=me)

    def _env(self) -> Mapping[str, str]:
        return os.environ if self.options.env is None else self.options.env


@contextmanager
def metadata_session(
    url: str,
    auth: Auth,
    *,
    timeout: float = 30.0,
    insecure: bool = False,
    transport: httpx.BaseTransport | None = None,
) -> Iterator[Dhis2Client]:
    """A client for interactive metadata reads (preflight, init): quick retries, and any DHIS2
    failure inside the block becomes one MetadataFetchError naming the server."""
    from dhispatch.runtime.dhis2 import Dhis2Client
    from dhispatch.runtime.dhis2 import Dhis2Error

    kwargs: dict[str, Any] = {"transport": transport} if transport is not None else {}
    try:
        with Dhis2Client(url, auth, insecure=insecure, timeout=timeout, retry=_quick_retry(),
                         **kwargs) as client:  # fmt: skip
            yield client
    except Dhis2Error as exc:
        raise MetadataFetchError(f"cannot fetch metadata from {url}: {exc}") from exc


def plan_session(
    plan: Plan, *, timeout: float = 30.0, env: Mapping[str, str] | None = None
) -> AbstractContextManager[Dhis2Client]:
    """``metadata_session`` for the plan's target, with the plan's credentials (ConfigError
    when a variable is unset) and its ``insecure`` flag."""
    from dhispatch.runtime.dhis2 import auth_from_plan

    target = plan.target
    auth = auth_from_plan(target.auth, os.environ if env is None else env)
    return metadata_session(target.url, auth, timeout=timeout, insecure=target.insecure)


def _quick_retry() -> RetryPolicy:
    """Interactive checks give up sooner than pushes (3 attempts, at most 5 s apart)."""
    from dhispatch.runtime.dhis2 import RetryPolicy

    return RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0)


class MetadataFetchError(DhispatchError):
    """The target's metadata could not be fetched (preflight without an export file)."""
