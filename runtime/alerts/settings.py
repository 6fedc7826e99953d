"""Where alerts go and when silence counts as one: the spec's ``alerts`` block, each setting it
leaves out read from the environment (``DHISPATCH_ALERT_*``, ``DHISPATCH_SMTP*``; an env file
loads into it), secrets only ever from the environment."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from dhispatch.errors import DhispatchError
from dhispatch.runtime.plan import AlertRules
from dhispatch.runtime.plan import ValueOrEnv
from dhispatch.runtime.plan.mail import addresses
from dhispatch.runtime.plan.mail import smtp_server

# setting -> the environment variable that supplies it when the spec does not
ENV = {
    "webhook": "DHISPATCH_ALERT_WEBHOOK",
    "email_to": "DHISPATCH_ALERT_EMAIL_TO",
    "email_from": "DHISPATCH_ALERT_EMAIL_FROM",
    "smtp": "DHISPATCH_SMTP",
    "smtp_user": "DHISPATCH_SMTP_USER",
    "smtp_password": "DHISPATCH_SMTP_PASSWORD",
    "offline_hours": "DHISPATCH_ALERT_OFFLINE_HOURS",
    "stale_days": "DHISPATCH_ALERT_STALE_DAYS",
}
SMTP_CA_FILE = "DHISPATCH_SMTP_CA_FILE"  # a private CA to trust for the SMTP server's certificate
DEFAULT_OFFLINE_HOURS = 48
DEFAULT_STALE_DAYS = 7
MISSED_AFTER_HOURS = 24  # a due slot still not run this long after it was due was missed


class AlertConfigError(DhispatchError):
    """Alert settings that cannot be used (an address, a server, a number); exit 2."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Resolved alert settings. ``webhook`` and ``smtp_password`` are secrets: never shown
    (``repr`` hides them) and never put in an alert."""

    webhook: str | None = field(default=None, repr=False)
    email_to: tuple[str, ...] = ()
    email_from: str = ""
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_ca_file: str | None = None
    offline_hours: int = DEFAULT_OFFLINE_HOURS
    stale_days: int = DEFAULT_STALE_DAYS

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.webhook, self.smtp_password) if s)


def alert_settings(rules: AlertRules | None, env: Mapping[str, str]) -> AlertSettings | None:
    """The plan's alert settings, or None when neither the spec nor the environment names a
    channel (a webhook, or e-mail recipients)."""
    text = {name: _text(rules, name, env) for name in ENV if name not in _NUMBERS}
    if not text["webhook"] and not text["email_to"]:
        return None
    try:
        to = tuple(addresses(text["email_to"])) if text["email_to"] else ()
        host, port = smtp_server(text["smtp"]) if text["smtp"] else (None, 587)
        sender = addresses(text["email_from"])[0] if text["email_from"] else None
    except ValueError as exc:
        raise AlertConfigError(f"alerts: {exc}") from None
    if to and host is None:
        raise AlertConfigError(
            f"alerts: e-mail to {', '.join(to)} needs an SMTP server: smtp in the spec's alerts "
            f"block or {ENV['smtp']}"
        )
    return AlertSettings(
        webhook=text["webhook"], email_to=to,
        email_from=sender or f"dhispatch@{socket.getfqdn() or 'localhost'}",
        smtp_host=host, smtp_port=port, smtp_user=text["smtp_user"],
        smtp_password=text["smtp_password"], smtp_ca_file=env.get(SMTP_CA_FILE) or None,
        offline_hours=_number(rules, "offline_hours", env, DEFAULT_OFFLINE_HOURS),
        stale_days=_number(rules, "stale_days", env, DEFAULT_STALE_DAYS),
    )  # fmt: skip


_NUMBERS = ("offline_hours", "stale_days")


def _text(rules: AlertRules | None, name: str, env: Mapping[str, str]) -> str | None:
    """The spec's setting (its literal, or its variable), else the environment's."""
    ref: ValueOrEnv | None = getattr(rules, name) if rules is not None else None
    if ref is None:
        return env.get(ENV[name]) or None
    found = ref.resolve(env)
    if found is None:  # the spec asked for it: an unset variable must not silence alerts
        raise AlertConfigError(f"alerts: {name} reads ${ref.env}, which is not set")
    return found


def _number(rules: AlertRules | None, name: str, env: Mapping[str, str], default: int) -> int:
    given: int | None = getattr(rules, name) if rules is not None else None
    if given is not None:
        return given
    raw = env.get(ENV[name], "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise AlertConfigError(f"alerts: {ENV[name]}={raw!r} is not a whole number (0: off)")
    return int(raw)
