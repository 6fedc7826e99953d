"""Telling alerts for real: a webhook POST to an HTTP receiver on loopback and e-mail to an SMTP
server that offers STARTTLS with the test's own certificate; no secret in any failure line."""

from __future__ import annotations

from pathlib import Path

from dhispatch.runtime.alerts.notify import Message
from dhispatch.runtime.alerts.notify import tell
from dhispatch.runtime.alerts.settings import AlertSettings
from tests.alerts.servers import Mailbox
from tests.alerts.servers import smtp_server
from tests.alerts.servers import webhook_server

CANARY = "CANARY7f3a"
USER, PASSWORD, TOKEN = "alerts", f"pw-{CANARY}-smtp", f"hook{CANARY}token"
MESSAGE = Message(
    "[dhispatch] ALERT x: a run failed", "x → https://h\nrun 3 ended failed", {"a": 1}
)


def settings(box: Mailbox | None, webhook: str | None = None, **kw: object) -> AlertSettings:
    mail: dict[str, object] = {}
    if box is not None:
        mail = dict(
            email_to=("ops@moh.example.org", "pharm@moh.example.org"),
            email_from="dhispatch@moh.example.org", smtp_host=box.host, smtp_port=box.port,
            smtp_user=USER, smtp_password=PASSWORD, smtp_ca_file=str(box.ca_file),
        )  # fmt: skip
    return AlertSettings(webhook=webhook, **{**mail, **kw})  # type: ignore[arg-type]


def test_an_alert_goes_to_the_webhook_and_by_mail_over_starttls(tmp_path: Path) -> None:
    with smtp_server(tmp_path, USER, PASSWORD) as box, webhook_server(TOKEN) as hook:
        assert tell(settings(box, hook.url), MESSAGE) == []
    [(path, body)] = hook.posts
    assert path.endswith(TOKEN) and body["text"].startswith("[dhispatch] ALERT x: a run failed")
    assert body["dhispatch"] == {"a": 1}
    [mail] = box.messages
    assert mail["Subject"] == MESSAGE.subject and mail["To"].count("@") == 2
    assert "run 3 ended failed" in mail.get_payload()
    assert box.encrypted == [True] and box.logins == [USER]
    assert all(CANARY not in raw.decode() for raw in box.raw)
    assert CANARY not in str(body["text"]) and CANARY not in str(body["dhispatch"])


def test_a_server_without_starttls_gets_neither_the_mail_nor_the_password(tmp_path: Path) -> None:
    with smtp_server(tmp_path, USER, PASSWORD, starttls=False) as box:
        [failure] = tell(settings(box), MESSAGE)
    assert "does not offer STARTTLS" in failure and box.messages == [] and box.logins == []
    assert CANARY not in failure


def test_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    with smtp_server(tmp_path, USER, PASSWORD) as box:
        [failure] = tell(settings(box, smtp_ca_file=None), MESSAGE)
    assert "SSLCertVerificationError" in failure and box.messages == [] and box.logins == []


def test_failures_are_one_line_without_the_password_or_the_webhook_token(tmp_path: Path) -> None:
    with smtp_server(tmp_path, USER, "another password") as box, webhook_server(TOKEN) as hook:
        hook.status = 500
        failures = tell(settings(box, hook.url), MESSAGE)
        down = hook.url.replace(hook.url.split("/")[2], "127.0.0.1:9")  # nothing listens there
        failures += tell(settings(None, down), MESSAGE)
    assert [f.split(":")[0] for f in failures] == ["webhook", "e-mail", "webhook"]
    assert "the webhook answered HTTP 500" in failures[0]
    assert "refused the login (SMTP 535)" in failures[1]
    assert "could not reach the webhook (ConnectError)" in failures[2]
    assert all(CANARY not in f and "\n" not in f for f in failures)
    assert box.messages == []
