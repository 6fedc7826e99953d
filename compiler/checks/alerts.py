"""Checks of the ``alerts { … }`` block: secrets from the environment, addresses, SMTP server,
thresholds."""

from __future__ import annotations

from collections.abc import Iterator

from dhispatch.compiler.checks.common import check_env
from dhispatch.compiler.view import SpecView
from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.runtime.plan.mail import addresses
from dhispatch.runtime.plan.mail import smtp_server

# settings that are secrets: a webhook URL carries its own token (Slack, Teams)
_SECRETS = {"webhook": "DHISPATCH_ALERT_WEBHOOK", "smtp_password": "DHISPATCH_SMTP_PASSWORD"}
# threshold -> (largest value, unit)
_HINTS = {
    "smtp": ("E702", 'e.g. smtp "smtp.example.org:587" (STARTTLS is always used)'),
    "email_to": ("E701", 'e.g. "ops@moh.example.org, pharmacy@moh.example.org"'),
    "email_from": ("E701", 'one address, e.g. "dhispatch@moh.example.org"'),
}
LIMITS = {"offline_hours": (8760, "hours"), "stale_days": (3650, "days")}


def check_alerts(view: SpecView) -> Iterator[Diagnostic]:
    """E305 a literal secret; E315 a bad variable name; E701 an address; E702 the SMTP server;
    E703 a threshold."""
    for block in view.alerts[:1]:
        for s in block.settings:
            value = s.value
            if isinstance(value, ast.Env):
                yield from check_env(value)
            elif s.name in _SECRETS and isinstance(value, ast.Str):
                yield Diagnostic(
                    "E305",
                    f"the {s.name} is written literally in the spec; secrets must come from the "
                    "environment",
                    value.span,
                    hint=f'use env("{_SECRETS[s.name]}") and set that variable where dhispatch '
                    "runs (or its env file)",
                    mask=True,
                )
            elif isinstance(value, ast.Str):
                yield from _check_text(s.name, value)
            elif isinstance(value, ast.Num) and s.name in LIMITS:
                yield from _check_limit(s.name, value)


def _check_text(name: str, value: ast.Str) -> Iterator[Diagnostic]:
    try:
        if name in ("email_to", "email_from"):
            found = addresses(value.value)
            if name == "email_from" and len(found) > 1:
                raise ValueError("email_from takes one address")
        elif name == "smtp":
            smtp_server(value.value)
    except ValueError as exc:
        yield Diagnostic(*_HINTS[name][:1], str(exc), value.span, hint=_HINTS[name][1])


def _check_limit(name: str, value: ast.Num) -> Iterator[Diagnostic]:
    top, unit = LIMITS[name]
    if "." in value.text or not 0 <= int(value.text) <= top:
        yield Diagnostic(
            "E703",
            f"{name} takes a whole number of {unit} from 0 to {top}, not {value.text}",
            value.span,
            hint="0 turns this alert off",
        )
