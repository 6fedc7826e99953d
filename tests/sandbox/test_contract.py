"""The contract table: each payload × each version generation, over real HTTP on loopback.

Every expectation below is written from the reference (dhis2-api.md §0–§4, §11), not read back
from the sandbox. Each payload holds a valid value at index 0 and the case under test at index
1, so partial success (WARNING) and whole-group failure (ERROR, 2.43+) are told apart. The
table runs as ``clerk`` (F_DATAVALUE_ADD, no ALL): admins skip 2.43's timeliness check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.sandbox.helpers import CURRENT
from tests.sandbox.helpers import DE_INT
from tests.sandbox.helpers import DE_NUM
from tests.sandbox.helpers import DE_ZERO
from tests.sandbox.helpers import DS
from tests.sandbox.helpers import OU_IN
from tests.sandbox.helpers import OU_OUT
from tests.sandbox.helpers import PAST
from tests.sandbox.helpers import client
from tests.sandbox.helpers import sandbox
from tests.sandbox.helpers import summary_of

GENERATIONS = ("2.36", "2.37", "2.40", "2.43")
VALID = {"dataElement": DE_NUM, "period": PAST, "orgUnit": OU_IN, "value": "10"}


def value(**changes: str) -> dict[str, str]:
    return {**VALID, "dataElement": DE_INT, "value": "7", **changes}


CASES: dict[str, dict[str, str] | None] = {
    "valid": value(),
    "unknown_de": value(dataElement="deUnknown01"),
    "unknown_ou": value(orgUnit="ouUnknown01"),
    "ou_not_in_ds": value(orgUnit=OU_OUT),
    "bad_period": value(period="202513"),
    "current_period_closed": value(period=CURRENT),
    "decimal_into_integer": value(value="12.5"),
    "zero_insignificant": value(dataElement=DE_ZERO, value="0"),
    "unchanged_resend": None,  # the valid payload, sent a second time
}


@dataclass(frozen=True)
class Expect:
    """HTTP status, summary status, counts (imported, updated, ignored, deleted), conflicts."""

    http: int
    status: str
    counts: tuple[int, int, int, int]
    codes: tuple[str | None, ...] = ()  # errorCode per conflict (≤2.36: none exist)
    objects: tuple[str, ...] = ()  # ≤2.36 conflict "object" per conflict
    indexes: tuple[int, ...] = ()  # indexes of the (single) conflict, 2.37+
    stored: int = 2  # values stored afterwards


W36: dict[str, Any] = dict(http=200, status="WARNING", counts=(1, 0, 1, 0), stored=1)
W37: dict[str, Any] = dict(http=200, status="WARNING", counts=(1, 0, 1, 0), indexes=(1,), stored=1)
W40: dict[str, Any] = dict(http=409, status="WARNING", counts=(1, 0, 1, 0), indexes=(1,), stored=1)
# 2.43 group-level failure: ERROR, 409, nothing written, every index of the group listed.
G43: dict[str, Any] = dict(http=409, status="ERROR", counts=(0, 0, 2, 0), indexes=(0, 1), stored=0)

TABLE: dict[str, dict[str, Expect]] = {
    "2.36": {
        "valid": Expect(200, "SUCCESS", (2, 0, 0, 0)),
        "unknown_de": Expect(**W36, objects=("deUnknown01",)),
        "unknown_ou": Expect(**W36, objects=("ouUnknown01",)),
        # strictOrganisationUnits is off by default (§3.1 step 4): accepted.
        "ou_not_in_ds": Expect(200, "SUCCESS", (2, 0, 0, 0)),
        "bad_period": Expect(**W36, objects=("202513",)),
        "current_period_closed": Expect(**W36, objects=(CURRENT,)),
        # ≤2.36 puts the offending value in "object" (§2.3).
        "decimal_into_integer": Expect(**W36, objects=("12.5",)),
        # skipped without conflict and not counted (§3.1.7).
        "zero_insignificant": Expect(200, "SUCCESS", (1, 0, 0, 0), stored=1),
        # builds before DHIS2-15254 count an unchanged value as updated (§4).
        "unchanged_resend": Expect(200, "SUCCESS", (0, 2, 0, 0)),
    },
    "2.37": {
        "valid": Expect(200, "SUCCESS", (2, 0, 0, 0)),
        "unknown_de": Expect(**W37, codes=("E7610",)),
        "unknown_ou": Expect(**W37, codes=("E7612",)),
        "ou_not_in_ds": Expect(200, "SUCCESS", (2, 0, 0, 0)),
        "bad_period": Expect(**W37, codes=("E7611",)),
        "current_period_closed": Expect(**W37, codes=("E7641",)),
        "decimal_into_integer": Expect(**W37, codes=("E7619",)),
        "zero_insignificant": Expect(200, "SUCCESS", (1, 0, 0, 0), stored=1),
        "unchanged_resend": Expect(200, "SUCCESS", (0, 2, 0, 0)),
    },
    "2.40": {
        "valid": Expect(200, "SUCCESS", (2, 0, 0, 0)),
        "unknown_de": Expect(**W40, codes=("E7610",)),
        "unknown_ou": Expect(**W40, codes=("E7612",)),
        "ou_not_in_ds": Expect(200, "SUCCESS", (2, 0, 0, 0)),
        "bad_period": Expect(**W40, codes=("E7611",)),
        "current_period_closed": Expect(**W40, codes=("E7641",)),
        "decimal_into_integer": Expect(**W40, codes=("E7619",)),
        "zero_insignificant": Expect(200, "SUCCESS", (1, 0, 0, 0), stored=1),
        # 2.40.3+: unchanged values are ignored, without conflicts (§4).
        "unchanged_resend": Expect(200, "SUCCESS", (0, 0, 2, 0)),
    },
    "2.43": {
        # imported is always 0 on 2.43+: every upserted value counts as updated (§4).
        "valid": Expect(200, "SUCCESS", (0, 2, 0, 0)),
        # UIDs are not looked up while decoding; the group's key checks refuse them.
        "unknown_de": Expect(**G43, codes=("E8020",)),
        # a non-superuser's access check comes first: the unknown unit is outside the hierarchy.
        "unknown_ou": Expect(**G43, codes=("E8011",)),
        "ou_not_in_ds": Expect(**G43, codes=("E8022",)),
        # a decode failure fails the whole request, indexes [-1] (exact code UNCONFIRMED: none).
        "bad_period": Expect(409, "ERROR", (0, 0, 2, 0), codes=(None,), indexes=(-1,), stored=0),
        "current_period_closed": Expect(**G43, codes=("E8030",)),
        # value-level: only that value is dropped; ≥1 succeeded -> WARNING with HTTP 200.
        "decimal_into_integer": Expect(
            200, "WARNING", (0, 1, 1, 0), codes=("E8122",), indexes=(1,), stored=1
        ),
        # zeros are written like any value (the nightly trim job deletes them later).
        "zero_insignificant": Expect(200, "SUCCESS", (0, 2, 0, 0)),
        "unchanged_resend": Expect(200, "SUCCESS", (0, 2, 0, 0)),
    },
}


@pytest.fixture(scope="module", params=GENERATIONS)
def running(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    with sandbox(request.param) as sb:
        yield sb


def post(http: httpx.Client, values: list[dict[str, str]]) -> httpx.Response:
    return http.post("/api/dataValueSets", json={"dataSet": DS, "dataValues": values})


@pytest.mark.parametrize("case", list(CASES))
def test_contract_table(running: RunningSandbox, case: str) -> None:
    version = str(running._app.version)[:4]
    expect = TABLE[version][case]
    running.clear_values()
    with client(running, "clerk") as http:
        second = CASES[case] or value()
        if case == "unchanged_resend":
            first = post(http, [VALID, second])
            assert first.status_code == 200, first.text
        response = post(http, [VALID, second])
    assert response.status_code == expect.http, response.text
    body = response.json()
    summary = summary_of(body)
    assert ("httpStatusCode" in body) == (version in ("2.40", "2.43"))
    assert summary["status"] == expect.status
    count = summary["importCount"]
    got = (count["imported"], count["updated"], count["ignored"], count["deleted"])
    assert got == expect.counts
    conflicts = summary.get("conflicts", [])
    if version == "2.36":
        assert [c["object"] for c in conflicts] == list(expect.objects)
        assert all(set(c) == {"object", "value"} for c in conflicts)
        assert "rejectedIndexes" not in summary
    else:
        assert [c.get("errorCode") for c in conflicts] == list(expect.codes)
        if conflicts:
            assert conflicts[0]["indexes"] == list(expect.indexes)
        if version != "2.43" and conflicts:
            assert summary["rejectedIndexes"] == list(expect.indexes)
    assert len(running.values()) == expect.stored
