"""Every reply fault the proxy injects, on every DHIS2 generation: the journal never claims more
than DHIS2 holds, and one clean run later DHIS2 holds exactly the plan's values and the journal
says so. Issue 12 point 2 (values recorded as accepted on replies that proved nothing: 100/100
missing for good) and the non-JSON refusals of point 4."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import VERSIONS
from tests.faults.conftest import Stack
from tests.faults.conftest import Value
from tests.faults.conftest import journal_view
from tests.faults.conftest import plan_for
from tests.faults.conftest import push

# fault -> (status of the faulted run, words its error must say)
CASES = {
    "stray-conflict": ("unconfirmed", "names no value that was sent"),
    "index-out-of-range": ("unconfirmed", "but the batch has"),
    "zero-counts": ("unconfirmed", "accounts for 0 of the"),
    "error-counts": ("unconfirmed", ""),
    "webmessage-409": ("unconfirmed", "HTTP 409 Conflict: Transaction conflict"),
    "truncated-json": ("unconfirmed", "not JSON"),
    "html-404": ("failed", "nothing found at POST"),
    "html-403": ("failed", "HTTP 403 Forbidden, an HTML page"),
    "html-502": ("ok", ""),  # retried at once (5xx)
    "webmessage-500": ("ok", ""),  # retried at once
    "drop-before": ("ok", ""),  # retried: the sandbox never saw it
    "drop-after": ("ok", ""),  # retried: stored twice, the second answer counts it unchanged
}


# faults whose reading depends on the generation's reply shape and counts run on all four
EVERY_GENERATION = ("stray-conflict", "index-out-of-range", "zero-counts", "error-counts",
                    "truncated-json", "drop-after")  # fmt: skip
PARAMS = [
    pytest.param(fault, version, id=f"{fault}-{version}")
    for fault in sorted(CASES)
    for version in (VERSIONS if fault in EVERY_GENERATION else ("2.40",))
]


@pytest.mark.parametrize(("fault", "version"), PARAMS)
def test_a_reply_that_proves_nothing_leaves_the_batch_due(
    fault: str,
    version: str,
    stacks: dict[str, Stack],
    fault_country: Path,
    expected: set[Value],
    tmp_path: Path,
) -> None:
    stack = stacks[version]
    stack.reset()
    plan, state = plan_for(stack), tmp_path / "state.sqlite"
    stack.proxy.inject("pass", fault)  # the second import of the run meets the fault
    faulted = push(plan, state, fault_country)
    status, words = CASES[fault]
    assert faulted.status == status, (faulted.summary.error, stack.proxy.seen)
    assert words in (faulted.summary.error or ""), faulted.summary.error
    held, claimed = stack.dhis2(), journal_view(state, stack)
    assert claimed <= held  # the journal never says DHIS2 holds what it does not
    counts = faulted.summary.counts
    assert counts.refused == 0 and counts.sent == len(claimed)
    if status != "ok":
        assert len(claimed) < len(expected)
    clean = push(plan, state, fault_country)
    assert clean.status == "ok" and stack.dhis2() == expected == journal_view(state, stack)
