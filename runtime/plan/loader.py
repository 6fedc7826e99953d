"""Plan JSON → schema validation → version check → ``Plan``; the one validator of plans.

The compiler validates what it emits with it (catching compiler bugs), the runtime what it loads
(catching edited or old plans). jsonschema is imported on first use only, so ``dhispatch check``
never pays for it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from dhispatch.errors import DhispatchError
from dhispatch.runtime.plan.model import Plan
from dhispatch.runtime.plan.secrets import scrub_plan_secrets
from dhispatch.runtime.plan.secrets import secret_problems

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

PLAN_VERSION = "dhispatch/plan/v1"
SCHEMA_FILE = Path(__file__).with_name("plan.v1.json")


class PlanError(DhispatchError):
    """A plan file that cannot be used: unreadable, not JSON, schema-invalid or of another version.

    ``problems`` lists one line per schema error, keyed by JSON path (``$.steps[0].basis: …``).
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

    def lines(self) -> tuple[str, ...]:
        return (self.args[0], *(f"  {p}" for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(self.lines())


def schema_path() -> Path:
    """The plan JSON Schema (Draft 2020-12) this package reads and the compiler writes to."""
    return SCHEMA_FILE


@lru_cache(maxsize=1)
def plan_schema() -> dict[str, Any]:
    """The schema document (read once)."""
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


@lru_cache(maxsize=1)
def plan_validator() -> Draft202012Validator:
    """The Draft 2020-12 validator for plans, with format checking switched on."""
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(plan_schema())
    return Draft202012Validator(plan_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def plan_problems(doc: Any) -> list[str]:
    """Every schema violation of a plan document, ``$.json.path: message``, sorted by path
    (literal secrets first, by path only; no line quotes a secret)."""
    errors = sorted(plan_validator().iter_errors(doc), key=lambda e: e.json_path)
    schema = [scrub_plan_secrets(f"{e.json_path}: {e.message}", doc) for e in errors]
    return [*secret_problems(doc), *schema]


def validate_plan(doc: Any) -> None:
    """Raise PlanError listing every schema problem, sorted by JSON path."""
    from jsonschema.exceptions import best_match

    if isinstance(doc, dict) and doc.get("plan_version") not in (None, PLAN_VERSION):
        raise PlanError(
            f"unsupported plan_version {doc.get('plan_version')!r}; this dhispatch reads "
            f"{PLAN_VERSION!r} (recompile the spec with this version)"
        )
    secrets = secret_problems(doc)
    if secrets:  # before the schema, whose messages quote the offending values
        raise PlanError(f"invalid plan: {secrets[0]}", tuple(secrets))
    errors = sorted(plan_validator().iter_errors(doc), key=lambda e: e.json_path)
    if errors:
        best = best_match(errors)
        problems = tuple(scrub_plan_secrets(f"{e.json_path}: {e.message}", doc) for e in errors)
        headline = scrub_plan_secrets(f"invalid plan: {best.json_path}: {best.message}", doc)
        raise PlanError(headline, problems)
    costly = template_problems_of(doc)
    if costly:
        raise PlanError(f"invalid plan: {costly[0]}", tuple(costly))


def template_problems_of(doc: dict[str, Any]) -> list[str]:
    """Data-element templates a plan may not render (the compiler's E601/E604, for plan JSON
    written or edited elsewhere): one line per step, by JSON path."""
    out = []
    for index, step in enumerate(doc["steps"]):
        rule = step["data_element"]
        if rule.get("kind") == "template":
            from dhispatch.runtime.plan.templates import template_problems

            for problem in template_problems(rule["template"]):
                out.append(f"$.steps[{index}].data_element.template: {problem.message}")
    return out


def parse_plan(doc: Any) -> Plan:
    """Validate a plan document and build its typed ``Plan`` (the only way the runtime gets one)."""
    validate_plan(doc)
    return Plan.from_json(doc)


def load_plan(path: str | Path) -> Plan:
    """Read, validate and type a plan file; every failure is a PlanError with a readable message."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot read plan {path}: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    return parse_plan(doc)
