"""Real local receivers for alerts: an SMTP server that offers STARTTLS with a certificate made
for the test (and requires it before AUTH), and an HTTP server that records webhook POSTs."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key (PEM files), valid for a day."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    alt = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(alt, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )  # fmt: skip
    )
    return cert_path, key_path


@dataclass
class Mailbox:
    """What the SMTP server received: messages, the logins it accepted, whether each session
    was encrypted when the message came."""

    host: str
    port: int
    ca_file: Path
    messages: list[Message] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    encrypted: list[bool] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)


@contextmanager
def smtp_server(
    folder: Path, user: str, password: str, *, starttls: bool = True
) -> Iterator[Mailbox]:
    """aiosmtpd on a free loopback port: STARTTLS offered (``starttls``) and required before
    AUTH and MAIL; AUTH accepts ``user``/``password`` only."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
    from aiosmtpd.smtp import LoginPassword

    cert, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox("127.0.0.1", 0, cert)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.raw.append(envelope.content)
            box.messages.append(message_from_bytes(envelope.content))
            box.encrypted.append(session.ssl is not None)
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(), password.encode(),
        )  # fmt: skip
        if ok:
            box.logins.append(user)
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535

    controller = Controller(
        Handler(), hostname="127.0.0.1", port=_free_port(),
        tls_context=context if starttls else None, require_starttls=starttls,
        authenticator=authenticate, auth_require_tls=starttls, auth_required=False,
    )  # fmt: skip
    controller.start()
    try:
        box.port = controller.port
        yield box
    finally:
        controller.stop()


def _free_port() -> int:
    """A free loopback port (aiosmtpd's controller probes its port once started, so 0 will not
    do)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Hook:
    """What the webhook receiver got: (path, JSON body) per POST; ``status`` is its answer."""

    url: str
    posts: list[tuple[str, Any]] = field(default_factory=list)
    status: int = 200


@contextmanager
def webhook_server(token: str) -> Iterator[Hook]:
    """An HTTP server on a free loopback port; the hook's URL carries ``token`` in its path, as
    Slack's and Teams' incoming webhooks carry theirs."""
    hook = Hook("")

    class Receive(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            hook.posts.append((self.path, body))
            self.send_response(hook.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/{token}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
