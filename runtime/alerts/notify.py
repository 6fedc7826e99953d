"""Telling an alert: a JSON POST to a webhook (``text``, the shape Slack and Teams incoming
webhooks read, plus the alert's fields) and an e-mail over SMTP with STARTTLS. Failures come
back as one line that names neither the webhook's URL nor the SMTP password."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from dhispatch.errors import DhispatchError
from dhispatch.runtime.alerts.settings import AlertSettings

TIMEOUT = 15.0  # seconds; an alert never holds a run up for long


@dataclass(frozen=True, slots=True)
class Message:
    """One alert or recovery: a subject line, a body, and fields for machines."""

    subject: str
    body: str
    fields: dict[str, Any]


class SendFailed(DhispatchError):
    """A channel could not deliver (its one-line, secret-free reason); ``tell`` catches it."""


def tell(settings: AlertSettings, message: Message) -> list[str]:
    """Send ``message`` on every configured channel; the failures, one line each."""
    failures = []
    if settings.webhook:
        failures += _attempt("webhook", lambda: post_webhook(settings.webhook or "", message))
    if settings.email_to:
        failures += _attempt("e-mail", lambda: send_email(settings, message))
    return [_scrub(f, settings.secrets) for f in failures]


def _attempt(channel: str, send: Any) -> list[str]:
    try:
        send()
    except SendFailed as exc:
        return [f"{channel}: {exc}"]
    return []


def post_webhook(url: str, message: Message) -> None:
    import httpx

    body = {"text": f"{message.subject}\n{message.body}", "dhispatch": message.fields}
    try:
        reply = httpx.post(url, json=body, timeout=TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:  # its text may carry the URL, which is a secret
        raise SendFailed(f"could not reach the webhook ({type(exc).__name__})") from None
    if not 200 <= reply.status_code < 300:
        raise SendFailed(f"the webhook answered HTTP {reply.status_code}")


def send_email(settings: AlertSettings, message: Message) -> None:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings.email_from
    mail["To"] = ", ".join(settings.email_to)
    mail.set_content(message.body)
    where = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
    try:
        context = ssl.create_default_context(cafile=settings.smtp_ca_file)
        with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=TIMEOUT) as smtp:
            smtp.starttls(context=context)  # never in clear text: refused when not offered
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(mail)
    except smtplib.SMTPNotSupportedError:
        raise SendFailed(
            f"{where} does not offer STARTTLS; alerts are never sent in clear"
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise SendFailed(f"{where} refused the login (SMTP {exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        raise SendFailed(f"{where} answered {exc.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"{where}: {type(exc).__name__}: {exc}") from None


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
