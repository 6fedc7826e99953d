"""The one rule for which DHIS2 URLs may carry credentials, shared by the compiler and client."""

from __future__ import annotations

import pytest

from dhispatch.runtime.plan.urls import cleartext_host
from dhispatch.runtime.plan.urls import is_loopback

LOOPBACK = ["localhost", "LOCALHOST", "dhis2.localhost", "127.0.0.1", "127.5.6.7", "::1",
            "[::1]", "0:0:0:0:0:0:0:1", "::1%lo"]  # fmt: skip
REMOTE = ["127.example.org", "127.0.0.1.nip.io", "localhost.example.org", "mylocalhost",
          "128.0.0.1", "10.0.0.1", "0.0.0.0", "::", "::ffff:127.0.0.1", "127.1", "", "dhis2.org",
          "localhost-", "x.localhost.evil.org"]  # fmt: skip


@pytest.mark.parametrize("host", LOOPBACK)
def test_only_literal_loopback_and_localhost_names_count(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", REMOTE)
def test_look_alikes_are_remote(host: str) -> None:
    assert not is_loopback(host)


def test_cleartext_host_names_the_remote_host_of_plain_http_only() -> None:
    assert cleartext_host("http://127.example.org/dhis", insecure=False) == "127.example.org"
    assert cleartext_host("http://127.example.org", insecure=True) is None
    assert cleartext_host("https://127.example.org", insecure=False) is None
    assert cleartext_host("http://127.0.0.1:8080", insecure=False) is None
    assert cleartext_host("http://[::1]:8080/", insecure=False) is None
    assert cleartext_host("HTTP://Dhis2.Example.org", insecure=False) == "dhis2.example.org"
