"""Helpers shared by the CLI commands: SPEC|PLAN arguments, the state path, the runner.

This is the one module of the runtime that may import the compiler (lazily): a command given a
``.push`` spec compiles it in memory; given a ``.json`` plan it loads and validates it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dhispatch.errors import DhispatchError
from dhispatch.errors import UsageError
from dhispatch.runtime.plan import Plan

if TYPE_CHECKING:
    from dhispatch.runtime.runner import Runner
    from dhispatch.runtime.runner import RunnerEvent


class CommandError(DhispatchError):
    """The command cannot go on: a spec with errors, a file it cannot read or write."""


def default_state() -> Path:
    """``state.sqlite`` in the user's state directory as ``platformdirs`` knows it:
    ``$XDG_STATE_HOME/dhispatch`` (else ``~/.local/state/dhispatch``) on Linux,
    ``%LOCALAPPDATA%\\dhispatch`` on Windows, ``~/Library/Application Support/dhispatch`` on
    macOS — one stable place, whatever directory cron, serve or a manual push starts in."""
    from platformdirs import user_state_path

    return user_state_path("dhispatch", appauthor=False) / "state.sqlite"


def state_path(option: str | None, plans: Sequence[Plan] = ()) -> Path:
    """The journal: ``--state``, else the plans' ``journal`` setting, else
    ``$DHISPATCH_STATE``, else ``default_state()``."""
    if option:
        return Path(option).expanduser()
    named = sorted({p.target.journal for p in plans if p.target.journal})
    if len(named) > 1:
        raise UsageError(
            f"the plans name different journals ({', '.join(named)}); run them separately or "
            "give --state"
        )
    if named:
        return Path(named[0]).expanduser()
    env = os.environ.get("DHISPATCH_STATE")
    return Path(env).expanduser() if env else default_state()


def read_spec(path: str) -> str:
    """A spec file's text; CommandError when it cannot be read (missing, not UTF-8)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CommandError(f"cannot read spec {path}: {reason}") from exc


def write_text(path: str, text: str, what: str = "") -> None:
    """Write a file the command produces; CommandError when it cannot be written."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {what}{path}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class LoadedPlan:
    """A plan ready for the runtime, plus the spec text(s) its origins point into (if known)."""

    plan: Plan
    sources: dict[str, str] = field(default_factory=dict)


def load_plan_arg(path: str) -> LoadedPlan:
    """Compile a ``.push`` spec or load a plan JSON (PlanError for a bad plan)."""
    from dhispatch.runtime.plan import load_plan

    if path.endswith(".push"):
        from dhispatch.compiler import compile_source
        from dhispatch.dsl.diagnostics import render_all

        text = read_spec(path)
        result = compile_source(text, path)
        if result.plan is None:
            click.echo(render_all(result.diagnostics, {path: text}), err=True)
            raise CommandError(f"{path} has errors; nothing was done")
        # validated by the compiler against the same schema: typed without a second pass
        return LoadedPlan(Plan.from_json(result.plan), {path: text})
    plan = load_plan(path)
    sources: dict[str, str] = {}
    try:
        sources[plan.metadata.spec_path] = Path(plan.metadata.spec_path).read_text(encoding="utf-8")
    except OSError:
        pass  # the spec is not beside us: diagnostics still carry path:line:col
    return LoadedPlan(plan, sources)


def pick_target(loaded: LoadedPlan, name: str | None) -> LoadedPlan:
    """The plan aimed at its target ``name``; without a name, its only target (a plan naming
    several is a UsageError: pushing to production by default would be a surprise)."""
    plan = loaded.plan
    names = [t.name for t in plan.named_targets if t.name is not None]
    if name is None:
        if len(plan.named_targets) > 1:
            raise UsageError(
                f"{plan.name} names several targets ({', '.join(names)}): choose one with "
                "--target NAME"
            )
        return loaded
    for target in plan.named_targets:
        if target.name == name:
            return replace(loaded, plan=plan.for_target(target))
    known = f"its targets: {', '.join(names)}" if names else "it names no targets"
    raise UsageError(f"{plan.name} has no target {name!r} ({known})")


def enabled_targets(loaded: LoadedPlan) -> list[LoadedPlan]:
    """``run``/``serve``: the plan once per enabled target (a plan without target blocks as it
    is, disabled or not: it computes and never sends)."""
    plan = loaded.plan
    if not plan.targets:
        return [loaded]
    enabled = [replace(loaded, plan=plan.for_target(t)) for t in plan.targets if t.enabled]
    if not enabled:
        raise CommandError(f"{plan.name}: every target is disabled; nothing would be sent")
    return enabled


def sources_by_plan(loaded: Sequence[LoadedPlan]) -> dict[str, dict[str, str]]:
    """Plan name -> the spec texts its conflicts point into (for the run printer)."""
    return {lp.plan.name: lp.sources for lp in loaded}


@dataclass(frozen=True)
class DeliveryOptions:
    """The pushing commands' delivery settings (``options.delivery``); None: the runner's
    default."""

    park_after: int | None = None
    max_drop: float | None = None
    accept_drop: bool = False


@contextmanager
def runner_for(
    state: str | None,
    loaded: Sequence[LoadedPlan],
    *,
    lock: bool,
    as_json: bool = False,
    batch_size: int | None = None,
    retry_delay: float | None = None,
    deadline: float | None = None,
    window_days: int | None = None,
    env: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
    delivery: DeliveryOptions | None = None,
    report: Callable[[RunnerEvent], None] | None = None,
    metadata_max_age: float | None = None,
) -> Iterator[Runner]:
    """The runner of a command: its journal (locked for pushes), its options, and a printer
    that shows each run as it ends (``report``, when given, sees the events instead: serve's
    log lines)."""
    from datetime import timedelta

    from dhispatch.runtime.cli.render import RunnerPrinter
    from dhispatch.runtime.run import DEFAULT_BATCH_SIZE
    from dhispatch.runtime.run import DEFAULT_MAX_DROP
    from dhispatch.runtime.run import DEFAULT_PARK_AFTER
    from dhispatch.runtime.runner import Runner
    from dhispatch.runtime.runner import RunnerOptions
    from dhispatch.runtime.schedule import DEFAULT_WINDOW

    path = state_path(state, [lp.plan for lp in loaded])
    given = delivery or DeliveryOptions()
    with RunnerPrinter(sources_by_plan(loaded), path, as_json=as_json) as printer:
        options = RunnerOptions(
            batch_size=batch_size or DEFAULT_BATCH_SIZE,
            park_after=given.park_after or DEFAULT_PARK_AFTER,
            max_drop=DEFAULT_MAX_DROP if given.max_drop is None else given.max_drop,
            accept_drop=given.accept_drop,
            window=timedelta(days=window_days) if window_days else DEFAULT_WINDOW,
            env=env,
            stop=stop or threading.Event(),
            progress=printer.progress if report is None else None,
            report=printer if report is None else report,
            retry_delay=retry_delay,
            deadline=deadline,
        )
        if metadata_max_age is not None:
            options = replace(options, metadata_max_age=timedelta(hours=metadata_max_age))
        with Runner(path, lock=lock, options=options) as runner:
            yield runner
