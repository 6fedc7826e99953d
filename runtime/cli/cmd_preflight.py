"""``dhispatch preflight SPEC|PLAN``: the spec's metadata checks and DHIS2's write rules, against
the live server or an export file, for the user the spec authenticates as."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import click

from dhispatch.errors import UsageError
from dhispatch.runtime.cli import options
from dhispatch.runtime.cli.common import CommandError
from dhispatch.runtime.cli.common import load_plan_arg
from dhispatch.runtime.cli.common import pick_target

if TYPE_CHECKING:
    from dhispatch.compiler.preflight import ResolvedScope
    from dhispatch.dsl.diagnostics import Diagnostic
    from dhispatch.runtime.access import ApprovalState
    from dhispatch.runtime.access import Writer
    from dhispatch.runtime.access import WriteRules
    from dhispatch.runtime.plan import Plan

Note = tuple[str, str, str]  # code, message, origin


@dataclass(frozen=True)
class _Ask:
    """What one preflight checks: the plan, the stores (with --source), the periods per step,
    the DHIS2 version asked for, and where the metadata comes from."""

    plan: Plan
    scope: ResolvedScope | None
    wanted: dict[str, list[str]]
    minor: int | None
    where: str
    bare: str | None = None  # no periods asked: also judge a bare push's period (the spec arg)


@click.command("preflight")
@click.argument("spec_or_plan", metavar="SPEC|PLAN")
@click.option(
    "--metadata",
    "metadata_file",
    type=click.Path(dir_okay=False),
    help="A DHIS2 metadata export (JSON); default: fetch it live from the spec's DHIS2.",
)
@click.option(
    "--source",
    "source_db",
    default=None,
    help="Stock database (SQLite path or postgresql:// URL): also check every item and store.",
)
@click.option(
    "--as-user",
    "as_user",
    metavar="NAME",
    help="With --metadata: check the write rules for this user of the export "
    "(default: the user the spec's credentials name).",
)
@options.at
@click.option(
    "--period",
    "periods",
    metavar="P",
    multiple=True,
    help="check these periods (repeatable); default: what `push` would push now",
)
@click.option("--from", "first", metavar="P", help="with --to: the periods a backfill would push")
@click.option("--to", "last", metavar="P")
@click.option(
    "--dhis2-version",
    metavar="V",
    help="the DHIS2 version whose rules apply (default: the server's, or the export's)",
)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds per request (live).")
@options.now
@options.env_file
@options.target
def command(
    spec_or_plan: str, target_name: str | None, metadata_file: str | None, source_db: str | None,
    as_user: str | None, at: date | None, periods: tuple[str, ...], first: str | None,
    last: str | None, dhis2_version: str | None, timeout: float, now: datetime | None,
) -> None:  # fmt: skip
    """Check that every data set, data element, option combo and org unit the spec names exists
    in DHIS2 and fits (period type, category combos, value types, open periods), and that DHIS2
    will take the periods about to be pushed from this user (sharing, org units, expiry, input
    periods, approval, closed org units)."""
    from dhispatch.compiler.preflight import ResolvedScope
    from dhispatch.runtime.cells import addresses
    from dhispatch.runtime.printable import printable

    loaded = pick_target(load_plan_arg(spec_or_plan), target_name)
    plan = loaded.plan
    if as_user and not metadata_file:
        raise UsageError("--as-user goes with --metadata: live preflight checks the user the "
                         "spec's credentials log in as")  # fmt: skip
    scope = None
    if source_db:
        elements, org_units, unmapped = addresses(plan, source_db)
        scope = ResolvedScope(elements, org_units)
        # stores the run will skip: which, and why (no code, no such property, not in the file)
        for code, why in unmapped:
            click.echo(f"store {printable(code)} has no org unit: {printable(why)}", err=True)
    wanted = _periods(plan, at, periods, first, last, now or datetime.now(UTC))
    bare = None if (at or periods or first) else spec_or_plan
    ask = _Ask(plan, scope, wanted, _minor(dhis2_version), metadata_file or plan.target.url, bare)
    if metadata_file:
        export = _read_export(metadata_file)
        writer, notes = _export_writer(plan, export, metadata_file, as_user)
        diagnostics = _check(ask, export, writer, None, notes, now or datetime.now(UTC))
    else:
        diagnostics, writer = _live(ask, timeout, now)
    _report(loaded.sources, diagnostics, ask, writer)


def _live(ask: _Ask, timeout: float, now: datetime | None) -> tuple[list[Diagnostic], Writer]:
    """Preflight against the spec's DHIS2: the data set, the user (``/api/me``) and the
    approvals of the periods about to be pushed, asked while the session is open."""
    from dhispatch.runtime.access import writer_from_me
    from dhispatch.runtime.dhis2.metadata import ApprovalLookup
    from dhispatch.runtime.dhis2.metadata import fetch_snapshot
    from dhispatch.runtime.runner import plan_session

    plan, scope = ask.plan, ask.scope
    with plan_session(plan, timeout=timeout) as client:
        snapshot = fetch_snapshot(client, plan.target.data_set)
        writer = writer_from_me(snapshot.me)
        data_set: dict[str, Any] = next(iter(snapshot.export["dataSets"]), {})
        workflow = (data_set.get("workflow") or {}).get("id")
        approvals = ApprovalLookup(client, workflow) if workflow and scope else None
        if approvals is not None and scope is not None:
            units = _unit_uids(snapshot.export, plan, [ou for _, ou in scope.org_units])
            pairs = [(p, ou) for ps in ask.wanted.values() for p in ps for ou in units]
            approvals.prefetch(pairs)
        clock = now or snapshot.server_now(datetime.now(UTC))  # DHIS2 judges by its clock
        diagnostics = _check(ask, snapshot.export, writer, approvals, [], clock)
    return diagnostics, writer


def _check(
    ask: _Ask, export: Any, writer: Writer | None, approvals: ApprovalState | None,
    notes: list[Note], now: datetime,
) -> list[Diagnostic]:  # fmt: skip
    """The metadata checks, then (when the data set exists) the write rules."""
    from dhispatch.compiler.preflight import PreflightInputError
    from dhispatch.compiler.preflight import preflight
    from dhispatch.compiler.preflight_access import access_preflight
    from dhispatch.compiler.preflight_access import combine
    from dhispatch.runtime.access import AccessMetadataError
    from dhispatch.runtime.access.for_plan import rules_for_plan

    plan, scope = ask.plan, ask.scope
    try:
        checks = preflight(plan, export, scope)
        if any(d.code == "E901" for d in checks):
            return checks  # no data set: nothing to ask the write rules about
        rules = rules_for_plan(plan, export, writer, now=now, minor=ask.minor,
                               approvals=approvals)  # fmt: skip
    except (PreflightInputError, AccessMetadataError) as exc:  # name where the export came from
        raise CommandError(f"{ask.where}: {exc}") from exc
    if ask.bare is not None:
        _say_bare_push(plan, rules, ask.bare, now)
    if rules.meta.data_set.workflow and approvals is None:
        notes.append(_approvals_note(plan, rules.meta.data_set.workflow, scope is not None))
    units = list(scope.org_units) if scope else None
    return combine(checks, access_preflight(plan, rules, ask.wanted, units, notes))


def _say_bare_push(plan: Plan, rules: WriteRules, spec: str, now: datetime) -> None:
    """A bare ``push`` is always current-day, whatever the schedule's basis: when the data set
    locks that period, say so and name the push DHIS2 takes (the findings above judge the
    schedule's run due now)."""
    from dhispatch.runtime.period_choice import bare_push_notes
    from dhispatch.runtime.printable import printable

    for line in bare_push_notes(plan, rules, spec, now):
        click.echo(f"dhispatch preflight: {printable(line)}", err=True)


def _approvals_note(plan: Plan, workflow: str, with_source: bool) -> Note:
    why = "an export holds no approvals" if with_source else "give --source to know the org units"
    return ("W924", f"the data set's approval workflow {workflow} was not asked whether the "
            f"periods are approved ({why}; live preflight asks /api/dataApprovals)",
            plan.target.origin_of("data_set"))  # fmt: skip


def _export_writer(
    plan: Plan, export: Any, path: str, as_user: str | None
) -> tuple[Writer | None, list[Note]]:
    """The export's user the spec's credentials name (or ``--as-user``), and a W923 note when
    the rules about the user cannot be checked."""
    from dhispatch.runtime.access import export_usernames
    from dhispatch.runtime.access import writer_from_export

    auth, origin = plan.target.auth, plan.target.origin_of("auth")
    unchecked = "sharing and the user's org units were not checked"
    if as_user is None and (auth.kind == "token" or auth.user is None):
        return None, [("W923", f"{unchecked}: token auth names no user (give --as-user NAME)",
                       origin)]  # fmt: skip
    name = as_user or (auth.user.resolve(os.environ) if auth.user else None)
    if name is None:
        var = auth.user.env if auth.user else "?"
        return None, [("W923", f"{unchecked}: {var} is not set (give --as-user NAME)", origin)]
    writer = writer_from_export(export, name) if isinstance(export, dict) else None
    if writer is not None:
        return writer, []
    known = export_usernames(export) if isinstance(export, dict) else []
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    if as_user:
        raise UsageError(f"--as-user {as_user}: no such user in {path}{hint}")
    return None, [("W923", f"{unchecked}: user {name!r} is not in {path}{hint}", origin)]


def _periods(
    plan: Plan, at: date | None, periods: Sequence[str], first: str | None, last: str | None,
    now: datetime,
) -> dict[str, list[str]]:  # fmt: skip
    """Each step's periods about to be pushed: --period, --from/--to, --at, else the period a
    scheduled run of the step due now fills (its basis decides)."""
    from dhispatch.runtime.access.for_plan import periods_by_step
    from dhispatch.runtime.schedule import slot_for
    from dhispatch.runtime.slots import backfill_slots
    from dhispatch.runtime.slots import manual_slots

    if (first is None) != (last is None):
        raise UsageError("give --from and --to together")
    if sum(map(bool, (at, periods, first))) > 1:
        raise UsageError("give one of --at, --period or --from/--to")
    if first is not None and last is not None:
        return periods_by_step(backfill_slots(plan, first, last))
    if periods:
        return periods_by_step([s for p in periods for s in manual_slots(plan, period=p)])
    if at is not None:
        return periods_by_step(manual_slots(plan, at=at))
    target = plan.target
    due = [slot_for(s, target.period_type, target.timezone, now) for s in plan.active_steps]
    return periods_by_step(due)


def _minor(version: str | None) -> int | None:
    from dhispatch.runtime.access.for_plan import minor_of

    if version is None:
        return None
    minor = minor_of(version)
    if minor is None:
        raise UsageError(f"--dhis2-version {version!r} is not a DHIS2 version (e.g. 2.40)")
    return minor


def _unit_uids(export: Any, plan: Plan, idents: Sequence[str]) -> list[str]:
    from dhispatch.runtime.access import read_access_metadata

    meta = read_access_metadata(export, plan.target.data_set)
    scheme = plan.target.id_schemes.org_unit
    return [u for i in idents if (u := meta.uid("organisationUnits", i, scheme))]


def _report(
    sources: dict[str, str], diagnostics: list[Diagnostic], ask: _Ask, writer: Writer | None
) -> None:
    from dhispatch.dsl.diagnostics import render_all
    from dhispatch.runtime.printable import printable

    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    if diagnostics:
        # the findings quote DHIS2's metadata (names, codes): printable only
        shown = [replace(d, message=printable(d.message), hint=d.hint and printable(d.hint))
                 for d in diagnostics]  # fmt: skip
        click.echo(render_all(shown, sources), err=True)
    if errors:
        raise CommandError(
            f"preflight found {errors} error(s) and {warnings} warning(s) against {ask.where}"
        )
    suffix = f" ({warnings} warning(s))" if warnings else ""
    what = "every item and store" if ask.scope else "the spec"
    who = f" for user {writer.username}" if writer else ""
    periods = sorted({p for ps in ask.wanted.values() for p in ps})
    when = f", periods {', '.join(periods)}" if periods else ""
    passed = f"preflight passed: {what} fits the metadata of {ask.where}{who}{when}{suffix}"
    click.echo(printable(passed))


def _read_export(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read metadata file {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
