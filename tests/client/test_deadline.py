"""Every DHIS2 request has a total deadline, and a stop request ends it within a short grace —
against real sockets on loopback that trickle a reply a byte at a time or never answer."""

from __future__ import annotations

import threading
import time

import pytest

from dhispatch.runtime.dhis2 import BasicAuth
from dhispatch.runtime.dhis2 import Cancelled
from dhispatch.runtime.dhis2 import Dhis2Client
from dhispatch.runtime.dhis2 import NetworkError
from dhispatch.runtime.dhis2 import RetryPolicy
from dhispatch.runtime.dhis2 import Secret
from dhispatch.runtime.dhis2.client import STOP_GRACE
from dhispatch.runtime.dhis2.exchange import SETTLE
from dhispatch.runtime.sandbox.server import SandboxConfig
from dhispatch.runtime.sandbox.server import start_sandbox
from tests.client import fixtures as fx
from tests.slow_server import slow_server

AUTH = BasicAuth("admin", Secret("district"))


@pytest.mark.parametrize("mode", ["trickle_body", "trickle_headers"])
def test_a_trickled_reply_ends_at_the_deadline(mode: str) -> None:
    # every byte arrives well within the per-read timeout: only a total deadline ends it
    with slow_server(mode, interval=0.05) as server:
        client = Dhis2Client(server.url, AUTH, timeout=1.0, deadline=2.0,
                             retry=RetryPolicy(attempts=3, base_delay=0.01))  # fmt: skip
        started = time.monotonic()
        with client, pytest.raises(NetworkError) as caught:
            client.system_info()
        took = time.monotonic() - started
    assert "did not complete GET /api/system/info within 2 s" in str(caught.value)
    assert 2.0 <= took < 2.0 + SETTLE + 0.5
    assert len(server.requests) == 1  # the deadline covers the retries too


def test_a_whole_reply_within_the_deadline_is_read() -> None:
    with slow_server("trickle_body", interval=0.0) as server:
        with Dhis2Client(server.url, AUTH, timeout=1.0, deadline=30.0) as client:
            assert client.system_info().version == "2.40.0"


def test_a_stop_abandons_a_request_that_never_ends_after_the_grace() -> None:
    stop = threading.Event()
    with slow_server("hang") as server:
        client = Dhis2Client(server.url, AUTH, timeout=30.0, deadline=120.0, cancel=stop)
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        with client, pytest.raises(Cancelled) as caught:
            client.system_info()
        took = time.monotonic() - started
    assert "stopped before DHIS2 answered GET /api/system/info" in str(caught.value)
    assert 0.3 + STOP_GRACE <= took < 0.3 + STOP_GRACE + SETTLE + 0.5


def test_a_stop_cuts_the_backoff_short_and_sends_nothing_more() -> None:
    stop = threading.Event()
    config = SandboxConfig(metadata=fx.export(), users={fx.ADMIN: "district"}, today=fx.TODAY)
    with start_sandbox(config) as sb:
        sb.set_faults(status=503, count=1000)
        slow = RetryPolicy(attempts=5, base_delay=20.0, max_delay=60.0, jitter=0.0)
        client = Dhis2Client(sb.url, BasicAuth(fx.ADMIN, Secret("district")), retry=slow,
                             cancel=stop)  # fmt: skip
        threading.Timer(0.5, stop.set).start()
        started = time.monotonic()
        with client, pytest.raises(Cancelled):
            client.system_info()
        took = time.monotonic() - started
        served = sb.request_count()
    assert took < 2.0 and client.requests_sent == 1 and served == 1
