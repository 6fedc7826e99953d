"""The delivery property: for any schedule of faults in transit (reply rewriting, HTML errors,
413 body limits, truncated JSON, connections dropped before or after DHIS2 stored) on any DHIS2
generation, followed by clean runs, DHIS2 ends holding exactly the plan's values and the journal's
view of DHIS2 equals DHIS2's — and at no point does the journal claim a value DHIS2 lacks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.faults.conftest import VERSIONS
from tests.faults.conftest import Stack
from tests.faults.conftest import Value
from tests.faults.conftest import journal_view
from tests.faults.conftest import plan_for
from tests.faults.conftest import push
from tests.faults.proxy import FAULTS

CLEAN_RUNS = 3  # a clean run resends what is due; the next finds everything unchanged
# bounded: the whole suite stays under 10 minutes; DHISPATCH_FAULT_EXAMPLES=N for a longer hunt
EXAMPLES = int(os.environ.get("DHISPATCH_FAULT_EXAMPLES", min(settings().max_examples, 20)))
TRIED: list[tuple[str, tuple[str, ...], int | None]] = []  # every case tried (for the README)

schedules = st.lists(st.sampled_from(sorted(FAULTS)), max_size=6)
limits = st.one_of(st.none(), st.integers(min_value=1500, max_value=8000))  # bytes per import


SLOW_AND_SHARED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW_AND_SHARED)
@given(version=st.sampled_from(VERSIONS), first=schedules, second=schedules, limit=limits)
def test_random_faults_then_clean_runs_leave_dhis2_exact_and_the_journal_true(
    stacks: dict[str, Stack],
    fault_country: Path,
    expected: set[Value],
    version: str,
    first: list[str],
    second: list[str],
    limit: int | None,
) -> None:
    stack = stacks[version]
    stack.reset()
    TRIED.append((version, (*first, "|", *second), limit))
    state = Path(tempfile.mkdtemp(prefix="fault-property-")) / "state.sqlite"
    plan = plan_for(stack)
    for schedule in (first, second):  # two faulted runs (a batch parks only after three)
        stack.proxy.inject(*schedule)
        stack.proxy.body_limit = limit
        push(plan, state, fault_country)
        assert journal_view(state, stack) <= stack.dhis2()
        stack.proxy.clear()
    for _ in range(CLEAN_RUNS):
        result = push(plan, state, fault_country)
        assert journal_view(state, stack) <= stack.dhis2()
        counts = result.summary.counts
        if result.status == "ok" and counts.new + counts.changed + counts.waiting == 0:
            break
    assert stack.dhis2() == expected
    assert journal_view(state, stack) == expected
