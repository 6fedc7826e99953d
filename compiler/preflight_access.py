"""Preflight's write rules: what DHIS2 will refuse to this user for the periods about to be pushed
(data set and option sharing, the user's org units, expiry, open periods, input periods, approval,
closed org units, attribute option dates), each at the spec line it comes from.

The rules themselves are the runtime's (``runtime.access.WriteRules``, the one implementation a
run's admission stage asks too); the CLI hands them in, so this module only knows their shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Protocol

from dhispatch.compiler.preflight import Findings
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.dsl.diagnostics import Severity
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.plan import Step

# rule (runtime.access.rules) -> preflight code
CODES = {
    "data-set-sharing": "E914", "option-sharing": "E915", "attribute-sharing": "E915",
    "hierarchy": "E916", "expired": "E917", "future": "E918", "input-period": "E919",
    "approved": "E920", "closed": "E921", "attribute-dates": "E922", "attribute-units": "E922",
}  # fmt: skip


class Refusal(Protocol):
    """What a rule says (``runtime.access.Refusal``)."""

    @property
    def rule(self) -> str: ...
    @property
    def code(self) -> str | None: ...
    @property
    def noun(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def hint(self) -> str: ...


class Rules(Protocol):
    """The questions preflight asks (``runtime.access.WriteRules``)."""

    def data_set(self) -> Refusal | None: ...
    def attribute_combo(self) -> Refusal | None: ...
    def combo(self, coc: str | None) -> Refusal | None: ...
    def reaches(self, ou: str) -> Refusal | None: ...
    def period(self, period_id: str) -> Refusal | None: ...
    def attribute_period(self, period_id: str) -> Refusal | None: ...
    def attribute_unit(self, ou: str) -> Refusal | None: ...
    def closed(self, ou: str, period_id: str) -> Refusal | None: ...
    def approved(self, ou: str, period_id: str) -> Refusal | None: ...


def access_preflight(
    plan: Plan,
    rules: Rules,
    periods: Mapping[str, Sequence[str]],
    org_units: Sequence[tuple[str, str]] | None = None,
    notes: Iterable[tuple[str, str, str]] = (),
) -> list[Diagnostic]:
    """The write rules' findings for ``plan``: ``periods`` maps each step id to the periods it
    is about to push; ``org_units`` are (store, org unit) pairs (known with the stock database);
    ``notes`` are (code, message, origin) warnings of what could not be checked."""
    found = Findings()
    target = plan.target
    _note(found, rules.data_set(), target.origin_of("data_set"))
    aoc_origin = target.origin_of("attribute_option_combo")
    _note(found, rules.attribute_combo(), aoc_origin)
    units = [ou for _, ou in org_units or ()]
    for store, ou in org_units or ():
        for refusal in (rules.reaches(ou), rules.attribute_unit(ou)):
            origin = aoc_origin if refusal and refusal.rule == "attribute-units" else None
            _note(found, refusal, origin or plan.source.origin, f"of store {store}")
    for step in plan.active_steps:
        _step(found, rules, step, periods.get(step.id, ()), units, aoc_origin)
    for code, message, origin in notes:
        found.add(code, message, origin, severity="warning")
    return found.diagnostics()


def _step(
    found: Findings,
    rules: Rules,
    step: Step,
    periods: Sequence[str],
    units: Sequence[str],
    aoc_origin: str,
) -> None:
    coc_origin = step.origin_of("category_option_combo", "category_option")
    _note(found, rules.combo(step.category_option_combo), coc_origin)
    when = step.origin_of("basis", "interval")
    for period in periods:
        _note(found, rules.period(period), when)
        _note(found, rules.attribute_period(period), aoc_origin)
        for ou in units:
            _note(found, rules.closed(ou, period), when)
            _note(found, rules.approved(ou, period), when)


def _note(found: Findings, refusal: Refusal | None, origin: str, suffix: str = "") -> None:
    """One refusal as a finding; refusals of one kind at one line become one finding."""
    if refusal is None:
        return
    said = f" (DHIS2: {refusal.code})" if refusal.code else ""
    subject = f"{refusal.name} {suffix}".strip()
    severity: Severity = "error"
    found.about(
        subject, refusal.noun, CODES[refusal.rule], "{what} " + _braces(refusal.reason) + said,
        origin, severity, refusal.hint,
    )  # fmt: skip


def _braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def combine(checks: list[Diagnostic], access: list[Diagnostic]) -> list[Diagnostic]:
    """Preflight's metadata checks and the write rules' findings, sorted, without E918 (period
    not open yet) where E911 already says it of a ``current_day`` push."""
    said = {d.span for d in checks if d.code == "E911"}
    kept = [d for d in access if not (d.code == "E918" and d.span in said)]
    return sorted([*checks, *kept], key=Diagnostic.sort_key)
