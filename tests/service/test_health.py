"""``Health``: each problem a reason (a run that failed, parked batches, DHIS2 not reached for
too long, a plan that cannot run, a scheduler past its wake-up), ok again once it is over; the
address must be loopback unless said otherwise."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from dhispatch.errors import UsageError
from dhispatch.runtime.health import LATE_AFTER
from dhispatch.runtime.health import Health
from dhispatch.runtime.health import parse_address
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.run import RunResult
from dhispatch.runtime.run.summary import Notices
from dhispatch.runtime.run.summary import RunCounts
from dhispatch.runtime.run.summary import RunSummary
from dhispatch.runtime.run.timing import Timings
from dhispatch.runtime.runner import NextDue
from dhispatch.runtime.runner import PlanFailed
from dhispatch.runtime.runner import RunFinished
from dhispatch.runtime.runner import RunStarted
from dhispatch.runtime.sources import SourceError
from tests.e2e.conftest import compile_spec

PLAN = Plan.from_json(compile_spec("kiribati"))
NAME = PLAN.name


def finished(run: int, status: str, parked: int = 0) -> RunFinished:
    summary = RunSummary(
        plan=NAME, status=status, slots=(), vanished_policy="keep", counts=RunCounts(),
        skipped=None, per_store={}, timings=Timings(), error=None,
        notices=Notices(parked_batches=parked),
    )  # fmt: skip
    return RunFinished(PLAN, RunResult(run, summary))


def test_ok_then_each_problem_is_a_reason_until_it_is_over() -> None:
    h = Health([NAME])
    assert h.report()["status"] == "ok"
    h.observe(RunStarted(PLAN, "schedule"))
    assert h.report()["running"] == NAME
    h.observe(finished(1, "failed"))
    report = h.report()
    assert report["status"] == "degraded" and report["running"] is None
    assert report["reasons"] == [f"{NAME}: last run 1 ended failed"]
    h.observe(finished(2, "ok", parked=2))
    assert h.report()["reasons"] == [
        f"{NAME}: 2 parked batch(es) wait for an operator (dhispatch log)"
    ]
    h.observe(finished(3, "ok"))
    assert h.report()["status"] == "ok" and h.report()["plans"][NAME]["last_run"] == 3


def test_a_plan_that_cannot_run_is_named_with_its_error() -> None:
    h = Health([NAME])
    h.observe(PlanFailed(PLAN, SourceError("cannot open the stock database /x.sqlite")))
    assert h.report()["reasons"] == [
        f"{NAME}: could not run: cannot open the stock database /x.sqlite"
    ]
    h.observe(finished(4, "ok"))
    assert h.report()["status"] == "ok"


def test_the_last_connection_too_old() -> None:
    h = Health([NAME], max_connection_age=timedelta(hours=36))
    now = datetime.now(UTC)
    h.connected(NAME, now - timedelta(hours=40))  # the journal's, from test-connection
    (reason,) = h.report(now)["reasons"]
    assert reason.startswith(f"{NAME}: last successful connection to DHIS2 ")
    assert reason.endswith("older than 36 h")
    h.observe(finished(5, "conflicts"))  # reached DHIS2 (values refused is another reason)
    assert h.report()["reasons"] == [f"{NAME}: last run 5 ended conflicts"]
    h.observe(finished(6, "failed"))  # did not reach it: the connection stays as it was
    assert h.report(now + timedelta(hours=37))["reasons"][-1].endswith("older than 36 h")


def test_a_scheduler_past_its_wake_up_is_late() -> None:
    h = Health([NAME])
    due = datetime.now(UTC) - LATE_AFTER - timedelta(minutes=5)
    h.observe(NextDue(due))
    assert h.report()["reasons"][0].startswith("the scheduler is late")
    h.observe(RunStarted(PLAN, "schedule"))  # running, not late
    assert h.report()["status"] == "ok"


@pytest.mark.parametrize(
    ("text", "public", "expected"),
    [
        ("127.0.0.1:8021", False, ("127.0.0.1", 8021)),
        ("[::1]:0", False, ("::1", 0)),
        ("localhost:9000", False, ("localhost", 9000)),
        ("0.0.0.0:8021", True, ("0.0.0.0", 8021)),
    ],
)
def test_addresses(text: str, public: bool, expected: tuple[str, int]) -> None:
    assert parse_address(text, public=public) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0.0.0.0:8021", "beyond this machine"),
        ("10.1.2.3:8021", "beyond this machine"),
        ("127.example.org:80", "beyond this machine"),
        ("127.0.0.1", "is not HOST:PORT"),
        ("127.0.0.1:99999", "is not HOST:PORT"),
        (":8021", "is not HOST:PORT"),
    ],
)
def test_refused_addresses(text: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        parse_address(text)


def test_a_port_taken_is_one_error() -> None:
    from dhispatch.runtime.health import HealthError
    from dhispatch.runtime.health import HealthServer

    first = HealthServer(Health([NAME]), "127.0.0.1", 0)
    try:
        port = int(first.url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(HealthError, match=f"--health 127.0.0.1:{port}: cannot listen"):
            HealthServer(Health([NAME]), "127.0.0.1", port)
    finally:
        first.close()
