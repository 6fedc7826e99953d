"""The contract tables: each payload × each version generation, over real HTTP on loopback.

Every expectation is written from dhis2-core's source of each branch (and the reference
dhis2-api.md §0–§4, §11), not read back from the sandbox. Each payload holds a valid value at
index 0 and the case under test at index 1, so partial success (WARNING) and whole-group failure
(ERROR, 2.43+) are told apart. ``TABLE`` runs as ``clerk`` (F_DATAVALUE_ADD, no ALL, every org
unit); ``BYPASS`` runs the rules of issue 11 as a superuser, with and without ``force``, and as
the clerk with ``force`` (which counts for superusers only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import httpx
import pytest

from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.sandbox.helpers import AOC_FUND
from tests.sandbox.helpers import COC_FEMALE
from tests.sandbox.helpers import COC_MALE
from tests.sandbox.helpers import CURRENT
from tests.sandbox.helpers import DE_EXP
from tests.sandbox.helpers import DE_FUND
from tests.sandbox.helpers import DE_INT
from tests.sandbox.helpers import DE_NOSHARE
from tests.sandbox.helpers import DE_NUM
from tests.sandbox.helpers import DE_SEX
from tests.sandbox.helpers import DE_WIN
from tests.sandbox.helpers import DE_ZERO
from tests.sandbox.helpers import DEFAULT_COC
from tests.sandbox.helpers import DS
from tests.sandbox.helpers import DS_EXPIRY
from tests.sandbox.helpers import DS_FUND
from tests.sandbox.helpers import DS_NOSHARE
from tests.sandbox.helpers import DS_WINDOW
from tests.sandbox.helpers import OU_CLOSED
from tests.sandbox.helpers import OU_IN
from tests.sandbox.helpers import OU_IN_B
from tests.sandbox.helpers import OU_OUT
from tests.sandbox.helpers import PAST
from tests.sandbox.helpers import approve
from tests.sandbox.helpers import client
from tests.sandbox.helpers import sandbox
from tests.sandbox.helpers import summary_of

GENERATIONS = ("2.36", "2.37", "2.40", "2.43")
VALID = {"dataElement": DE_NUM, "period": PAST, "orgUnit": OU_IN, "value": "10"}
FRESH = {**VALID, "period": "202504"}  # index 0 when the case stores something first


def value(**changes: Any) -> dict[str, Any]:
    return {**VALID, "dataElement": DE_INT, "value": "7", **changes}


def fund(period: str, org_unit: str = OU_IN) -> dict[str, Any]:
    aoc = {"attributeOptionCombo": AOC_FUND}
    return {"dataElement": DE_FUND, "period": period, "orgUnit": org_unit, "value": "5", **aoc}


def win(period: str) -> dict[str, Any]:
    return {"dataElement": DE_WIN, "period": period, "orgUnit": OU_IN, "value": "3"}


def exp(period: str) -> dict[str, Any]:
    return {"dataElement": DE_EXP, "period": period, "orgUnit": OU_IN, "value": "4"}


@dataclass(frozen=True)
class Case:
    """What is posted (``[first, second]`` to ``data_set``) and what is stored before."""

    second: dict[str, Any]
    data_set: str = DS
    first: dict[str, Any] = field(default_factory=lambda: VALID)
    before: tuple[dict[str, Any], ...] = ()  # stored first (as admin, same data set)
    approved: tuple[str, str] | None = None  # (period, org unit) approved first


CASES: dict[str, Case] = {
    "valid": Case(value()),
    "unknown_de": Case(value(dataElement="deUnknown01")),
    "unknown_ou": Case(value(orgUnit="ouUnknown01")),
    "ou_not_in_ds": Case(value(orgUnit=OU_OUT)),
    "bad_period": Case(value(period="202513")),
    "current_period_closed": Case(value(period=CURRENT)),
    "decimal_into_integer": Case(value(value="12.5")),
    "zero_insignificant": Case(value(dataElement=DE_ZERO, value="0")),
    "unchanged_resend": Case(value(), before=(VALID, value())),
    # issue 11 point 1: data write sharing of category options
    "option_not_writable": Case(value(dataElement=DE_SEX, categoryOptionCombo=COC_MALE)),
    "option_writable": Case(value(dataElement=DE_SEX, categoryOptionCombo=COC_FEMALE)),
    # point 2: approval (2.43 checks only values naming their attribute option combo)
    "approved": Case(
        value(orgUnit=OU_IN_B, attributeOptionCombo=DEFAULT_COC), approved=(PAST, OU_IN_B)
    ),
    "approved_no_aoc": Case(value(orgUnit=OU_IN_B), approved=(PAST, OU_IN_B)),
    # point 3: input periods (202504 closed 2025-05-10; 202506 open although the current one)
    "input_period_closed": Case(win("202504"), DS_WINDOW, win(PAST)),
    "input_period_opens_current": Case(win(CURRENT), DS_WINDOW, win(PAST)),
    # point 4: a closed org unit; the option combo's dates and org units
    "org_unit_closed": Case(value(orgUnit=OU_CLOSED)),
    "aoc_outside_dates": Case(fund(PAST), DS_FUND, fund("202503")),
    "aoc_outside_org_units": Case(fund("202503", OU_IN_B), DS_FUND, fund("202503")),
    # point 5: a data set whose export carries no sharing
    "data_set_without_sharing": Case(
        {"dataElement": DE_NOSHARE, "period": PAST, "orgUnit": OU_IN, "value": "1"},
        DS_NOSHARE,
        {"dataElement": DE_NOSHARE, "period": "202504", "orgUnit": OU_IN, "value": "2"},
    ),
    # point 6: value semantics
    "null_over_stored": Case(value(value=None), first=FRESH, before=(value(),)),
    "empty_over_stored": Case(value(value=""), first=FRESH, before=(value(),)),
    "empty_nothing_stored": Case(value(value="")),
    "expiry_last_day": Case(exp(PAST), DS_EXPIRY, exp(CURRENT)),  # 15 days after 202505
    "expired": Case(exp("202504"), DS_EXPIRY, exp(CURRENT)),
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
    rejected: tuple[int, ...] | None = None  # rejectedIndexes (2.37+); None: as ``indexes``


OK36 = OK37 = OK40 = dict(http=200, status="SUCCESS", counts=(2, 0, 0, 0))
OK43: dict[str, Any] = dict(http=200, status="SUCCESS", counts=(0, 2, 0, 0))
W36: dict[str, Any] = dict(http=200, status="WARNING", counts=(1, 0, 1, 0), stored=1)
W37: dict[str, Any] = dict(http=200, status="WARNING", counts=(1, 0, 1, 0), indexes=(1,), stored=1)
W40: dict[str, Any] = dict(http=409, status="WARNING", counts=(1, 0, 1, 0), indexes=(1,), stored=1)
# 2.43 value-level drop: ≥1 value succeeded -> WARNING with HTTP 200, the value rejected.
V43: dict[str, Any] = dict(http=200, status="WARNING", counts=(0, 1, 1, 0), indexes=(1,), stored=1)
# 2.43 group-level failure (DataEntryPipeline.importGroups): ERROR, 409, nothing written, counts
# all 0, one conflict listing every index of the group, all of them in rejectedIndexes.
G43: dict[str, Any] = dict(http=409, status="ERROR", counts=(0, 0, 0, 0), indexes=(0, 1), stored=0)
# ≤2.42 data-set-level abort: ERROR, counts all 0, no indexes.
A36 = dict(http=200, status="ERROR", counts=(0, 0, 0, 0), stored=0)
A40 = dict(http=409, status="ERROR", counts=(0, 0, 0, 0), stored=0)


def rows(
    w36: dict[str, Any], w37: dict[str, Any], w40: dict[str, Any], w43: dict[str, Any]
) -> dict[str, Expect]:
    return {
        "2.36": Expect(**w36),
        "2.37": Expect(**w37),
        "2.40": Expect(**w40),
        "2.43": Expect(**w43),
    }


def legacy(code: str, object_36: str) -> dict[str, Expect]:
    """A value-level refusal on ≤2.42 (2.36 names ``object_36``), a group refusal on 2.43."""
    return rows(
        {**W36, "objects": (object_36,)}, {**W37, "codes": (code,)}, {**W40, "codes": (code,)}, G43
    )


TABLE: dict[str, dict[str, Expect]] = {
    "valid": rows(OK36, OK37, OK40, OK43),
    "unknown_de": rows({**W36, "objects": ("deUnknown01",)}, {**W37, "codes": ("E7610",)},
                       {**W40, "codes": ("E7610",)}, {**G43, "codes": ("E8020",)}),
    # 2.43: unknown UIDs pass decoding and the hierarchy query (it joins organisationunit), so
    # the data set's assignment check refuses it (getOrgUnitsNotInDataSet LEFT JOIN): E8022.
    "unknown_ou": rows({**W36, "objects": ("ouUnknown01",)}, {**W37, "codes": ("E7612",)},
                       {**W40, "codes": ("E7612",)}, {**G43, "codes": ("E8022",)}),
    # strictOrganisationUnits is off by default (§3.1 step 4): accepted up to 2.42.
    "ou_not_in_ds": rows(OK36, OK37, OK40, {**G43, "codes": ("E8022",)}),
    # 2.43: a decode failure fails the whole request, indexes [-1], counts 0, no rejectedIndexes
    # (exact code UNCONFIRMED: none).
    "bad_period": rows({**W36, "objects": ("202513",)}, {**W37, "codes": ("E7611",)},
                       {**W40, "codes": ("E7611",)},
                       {**G43, "codes": (None,), "indexes": (-1,), "rejected": ()}),
    "current_period_closed": rows({**W36, "objects": (CURRENT,)}, {**W37, "codes": ("E7641",)},
                                  {**W40, "codes": ("E7641",)}, {**G43, "codes": ("E8030",)}),
    # ≤2.36 puts the offending value in "object" (§2.3).
    "decimal_into_integer": rows({**W36, "objects": ("12.5",)}, {**W37, "codes": ("E7619",)},
                                 {**W40, "codes": ("E7619",)}, {**V43, "codes": ("E8122",)}),
    # skipped without conflict: 2.36 counts it ignored (total - imported - updated - deleted),
    # 2.37+ not at all (§3.1.7); 2.43 stores zeros like any value.
    "zero_insignificant": rows({**OK36, "counts": (1, 0, 1, 0), "stored": 1},
                               {**OK37, "counts": (1, 0, 0, 0), "stored": 1},
                               {**OK40, "counts": (1, 0, 0, 0), "stored": 1}, OK43),
    # builds before DHIS2-15254 count an unchanged value as updated; 2.40.3+ ignore it (§4).
    "unchanged_resend": rows({**OK36, "counts": (0, 2, 0, 0)}, {**OK37, "counts": (0, 2, 0, 0)},
                             {**OK40, "counts": (0, 0, 2, 0)}, OK43),
    # ≤2.42 look option combos up through CategoryOptionComboAclCallable: "not found" (E7613);
    # 2.43 refuses the group for the option (E8012).
    "option_not_writable": rows({**W36, "objects": (COC_MALE,)}, {**W37, "codes": ("E7613",)},
                                {**W40, "codes": ("E7613",)}, {**G43, "codes": ("E8012",)}),
    "option_writable": rows(OK36, OK37, OK40, OK43),
    "approved": legacy("E7642", OU_IN_B) | {"2.43": Expect(**G43, codes=("E8033",))},
    "approved_no_aoc": legacy("E7642", OU_IN_B) | {"2.43": Expect(**OK43)},
    "input_period_closed": legacy("E7643", OU_IN) | {"2.43": Expect(**G43, codes=("E8030",))},
    # ≤2.42 still apply openFuturePeriods (0); 2.43's explicit input periods replace it.
    "input_period_opens_current": legacy("E7641", CURRENT) | {"2.43": Expect(**OK43)},
    # no closed-date check up to 2.42; 2.43 refuses every value of the group (E8031).
    "org_unit_closed": rows(OK36, OK37, OK40, {**G43, "codes": ("E8031",)}),
    # ≤2.42: outside the option's dates (E7638); 2.43 wants the whole period inside (E8032).
    "aoc_outside_dates": legacy("E7638", OU_IN) | {"2.43": Expect(**G43, codes=("E8032",))},
    "aoc_outside_org_units": legacy("E7639", OU_IN_B) | {"2.43": Expect(**G43, codes=("E8025",))},
    # no sharing in the export: DHIS2's default gives no public data write.
    "data_set_without_sharing": rows({**A36, "objects": (DS_NOSHARE,)},
                                     {**A36, "codes": ("E7601",)}, {**A40, "codes": ("E7601",)},
                                     {**G43, "codes": ("E8010",)}),
    # null is E7618 and keeps the stored value; 2.43 wants a value (E8120) and keeps it too.
    "null_over_stored": rows({**W36, "objects": ("Value",), "stored": 2},
                             {**W37, "codes": ("E7618",), "stored": 2},
                             {**W40, "codes": ("E7618",), "stored": 2},
                             {**V43, "codes": ("E8120",), "stored": 2}),
    # "" deletes the stored value up to 2.42.
    "empty_over_stored": rows({**OK36, "counts": (1, 0, 0, 1), "stored": 1},
                              {**OK37, "counts": (1, 0, 0, 1), "stored": 1},
                              {**OK40, "counts": (1, 0, 0, 1), "stored": 1},
                              {**V43, "codes": ("E8120",), "stored": 2}),
    # "" with nothing stored: ignored without a conflict or rejected index up to 2.42.
    "empty_nothing_stored": rows({**OK36, "counts": (1, 0, 1, 0), "stored": 1},
                                 {**OK37, "counts": (1, 0, 1, 0), "stored": 1},
                                 {**OK40, "counts": (1, 0, 1, 0), "stored": 1},
                                 {**V43, "codes": ("E8120",)}),
    # DataSet.isLocked: 2.36 locks from end + expiryDays at 00:00, later versions a day later.
    "expiry_last_day": rows({**W36, "objects": (PAST,)}, OK37, OK40, OK43),
    "expired": legacy("E7640", "202504") | {"2.43": Expect(**G43, codes=("E8030",))},
}  # fmt: skip


@pytest.fixture(scope="module", params=GENERATIONS)
def running(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    with sandbox(request.param) as sb:
        yield sb


def post(
    http: httpx.Client, data_set: str, values: list[dict[str, Any]], **params: str
) -> httpx.Response:
    return http.post(
        "/api/dataValueSets", params=params, json={"dataSet": data_set, "dataValues": values}
    )


def run_case(sb: RunningSandbox, case: Case, user: str, **params: str) -> httpx.Response:
    sb.clear_values()
    sb.clear_approvals()
    if case.before:
        with client(sb) as admin:
            assert post(admin, case.data_set, list(case.before)).status_code == 200
    if case.approved:
        approve(sb, *case.approved)
    with client(sb, user) as http:
        return post(http, case.data_set, [case.first, case.second], **params)


def check(sb: RunningSandbox, version: str, response: httpx.Response, expect: Expect) -> None:
    assert response.status_code == expect.http, response.text
    body = response.json()
    summary = summary_of(body)
    assert ("httpStatusCode" in body) == (version in ("2.40", "2.43"))
    assert summary["status"] == expect.status, summary
    count = summary["importCount"]
    assert (
        count["imported"],
        count["updated"],
        count["ignored"],
        count["deleted"],
    ) == expect.counts
    conflicts = summary.get("conflicts", [])
    if version == "2.36":
        assert [c["object"] for c in conflicts] == list(expect.objects)
        assert all(set(c) == {"object", "value"} for c in conflicts)
        assert "rejectedIndexes" not in summary
    else:
        assert [c.get("errorCode") for c in conflicts] == list(expect.codes)
        if conflicts:
            assert conflicts[0].get("indexes", []) == list(expect.indexes)
        rejected = expect.indexes if expect.rejected is None else expect.rejected
        assert summary.get("rejectedIndexes", []) == list(rejected)
    assert len(sb.values()) == expect.stored


@pytest.mark.parametrize("case", list(CASES))
def test_contract_table(running: RunningSandbox, case: str) -> None:
    version = str(running._app.version)[:4]
    check(running, version, run_case(running, CASES[case], "clerk"), TABLE[case][version])


def refused(
    code36: str | None, code37: str | None, code40: str | None, code43: str | None
) -> dict[str, str | None]:
    return {"2.36": code36, "2.37": code37, "2.40": code40, "2.43": code43}


SAME = {"2.36": None, "2.37": None, "2.40": None, "2.43": None}
# (case, user, force) -> the refusing code per version (None: accepted). ≤2.42 refusals are of
# the value (2.36: code-less), 2.43 ones of the group.
BYPASS: dict[tuple[str, str, bool], dict[str, str | None]] = {
    # superusers pass every sharing check (AclService override; 2.43 validateUserAccess)
    ("option_not_writable", "admin", False): SAME,
    ("data_set_without_sharing", "admin", False): SAME,
    # approval: for superusers too, unless they force (E8033 only for values naming an AOC)
    ("approved", "admin", False): refused("-", "E7642", "E7642", "E8033"),
    ("approved", "admin", True): SAME,
    ("approved", "clerk", True): refused("-", "E7642", "E7642", "E8033"),  # force: super only
    # input periods: superusers too; 2.43's explicit periods ignore F_EDIT_EXPIRED (ALL has it)
    ("input_period_closed", "admin", False): refused("-", "E7643", "E7643", "E8030"),
    ("input_period_closed", "admin", True): SAME,
    ("input_period_closed", "clerk", True): refused("-", "E7643", "E7643", "E8030"),
    # future periods: ≤2.42 for superusers too; 2.43 lets F_EDIT_EXPIRED (ALL) through
    ("current_period_closed", "admin", False): refused("-", "E7641", "E7641", None),
    ("current_period_closed", "admin", True): SAME,
    # expiry: F_EDIT_EXPIRED (ALL) never locks
    ("expired", "admin", False): SAME,
    # closed org units (2.43): everyone, force or not
    ("org_unit_closed", "admin", True): refused(None, None, None, "E8031"),
    # option combo dates: ≤2.42 everyone, force or not; 2.43 skipped for a forcing superuser
    ("aoc_outside_dates", "admin", False): refused("-", "E7638", "E7638", "E8032"),
    ("aoc_outside_dates", "admin", True): refused("-", "E7638", "E7638", None),
    # option combo org units: everyone, force or not (2.43 key consistency)
    ("aoc_outside_org_units", "admin", True): refused("-", "E7639", "E7639", "E8025"),
}  # fmt: skip


@pytest.mark.parametrize(("case", "user", "force"), list(BYPASS))
def test_who_bypasses_what(running: RunningSandbox, case: str, user: str, force: bool) -> None:
    version = str(running._app.version)[:4]
    code = BYPASS[(case, user, force)][version]
    response = run_case(running, CASES[case], user, **({"force": "true"} if force else {}))
    if code is None:
        ok = {"2.36": OK36, "2.37": OK37, "2.40": OK40, "2.43": OK43}[version]
        check(running, version, response, Expect(**ok))
    elif version == "2.43":
        check(running, version, response, Expect(**G43, codes=(code,)))
    elif version == "2.36":  # code-less conflicts: the refused value is the one at index 1
        summary = summary_of(response.json())
        assert response.status_code == 200 and summary["status"] == "WARNING"
        assert summary["importCount"] == {"imported": 1, "updated": 0, "ignored": 1, "deleted": 0}
        assert len(summary["conflicts"]) == 1 and len(running.values()) == 1
    else:
        check(
            running, version, response, Expect(**(W37 if version == "2.37" else W40), codes=(code,))
        )
