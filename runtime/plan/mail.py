"""The alert settings' values as both sides read them: an SMTP server (``host[:port]``) and a
list of e-mail addresses, so the compiler refuses what the runtime could not use."""

from __future__ import annotations

import re

SMTP_PORT = 587  # submission with STARTTLS
# one address as people write it in settings: local@domain, no display name, no spaces
_ADDRESS = re.compile(r"[^@\s,<>\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


def addresses(text: str) -> list[str]:
    """The comma-separated addresses of ``text`` (ValueError naming the first bad one)."""
    found = [part.strip() for part in text.split(",")]
    for part in found:
        if _ADDRESS.fullmatch(part) is None:
            raise ValueError(f"{part!r} is not an e-mail address")
    return found


def smtp_server(text: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` (port 587 by default; ValueError when not)."""
    host, port = text.strip(), ""
    if host.startswith("[") and "]" in host:
        host, _, rest = host.partition("]")
        host, port = host + "]", rest.removeprefix(":") if rest.startswith(":") else rest or ""
    elif ":" in host:
        host, _, port = host.rpartition(":")
    if _HOST.fullmatch(host) is None:
        raise ValueError(f"{text!r} is not an SMTP server (host or host:port)")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{text!r} has no valid port (1-65535)")
    return host.strip("[]"), int(port) if port else SMTP_PORT
