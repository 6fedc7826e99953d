"""The period a push is told to use instead of a locked one, by DHIS2's write rules
(``runtime/access``): the nearest open period, an earlier one first, never one not started."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dhispatch.runtime.access.for_plan import rules_for_plan
from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.metadata import demo_metadata
from dhispatch.runtime.period_choice import bare_push_notes
from dhispatch.runtime.period_choice import open_instead
from dhispatch.runtime.periods import parse_period
from tests.run.conftest import kiribati

NOW = datetime(2024, 6, 20, 12)


def _rules(expiry: int, open_future: int = 0) -> Any:
    export = demo_metadata(dc.DEMO_STORES, dc.DEMO_ITEMS)
    for ds in export["dataSets"]:
        if ds["id"] == dc.KIRIBATI_DATA_SET:
            ds.update(expiryDays=expiry, openFuturePeriods=open_future)
    return rules_for_plan(kiribati(), export, None, now=NOW, minor=40)


def test_a_future_period_gets_the_last_open_one_and_an_expired_one_the_next_open_one() -> None:
    rules = _rules(expiry=30)
    assert open_instead(rules, parse_period("202406")) == "202405"  # running month: not open
    assert open_instead(rules, parse_period("202403")) == "202405"  # expired on 2024-04-30
    assert open_instead(_rules(expiry=10), parse_period("202406")) is None  # nothing open


def test_a_bare_push_is_named_with_the_push_dhis2_takes() -> None:
    notes = bare_push_notes(kiribati(), _rules(expiry=0), "specs/kiribati.push", NOW)
    assert notes == [
        "a bare push now fills 202406, which DHIS2 refuses (E7641): period 202406 is not open "
        "yet: the latest open period is 202405 (openFuturePeriods 0); DHIS2 takes: dhispatch "
        "push specs/kiribati.push --period 202405"
    ]
    assert bare_push_notes(kiribati(), _rules(expiry=0, open_future=1), "s", NOW) == []
