"""Which DHIS2 URLs may carry credentials: https, plain http to this machine, or ``insecure``.

The compiler (E302) and the DHIS2 client apply the same rule through these functions, so a plan
edited or generated elsewhere cannot make the runtime send a password in clear text.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_IPV6_LOOPBACK = ipaddress.IPv6Address("::1")


def is_loopback(host: str) -> bool:
    """Only a literal loopback address (127.0.0.0/8, ``::1``), ``localhost`` or a name under
    ``.localhost`` (RFC 6761 reserves it for this machine) counts: ``127.example.org`` is a
    name anyone can point anywhere, and other names are looked up where we cannot check them."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])  # an IPv6 zone id is no part of it
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_loopback
    return address == _IPV6_LOOPBACK


def cleartext_host(url: str, insecure: bool) -> str | None:
    """The host a plain-http ``url`` would send credentials to unencrypted, unless it is this
    machine or the plan says ``insecure``; None when the URL may carry credentials."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return None  # not a URL at all: the caller's own parsing reports it
    if parts.scheme.lower() != "http" or insecure or is_loopback(host):
        return None
    return host
