"""Shared test metadata and helpers: a small export with the cases the contract tables need.

Besides the plain monthly and daily sets it carries what issue 11's rules are driven by:
category options with and without data write sharing, an attribute combo whose option has dates
and org units, a data set with input periods, one with expiry days, one without any sharing, an
approval workflow with two levels, a closed org unit, and users reaching data sets through
roles, groups and the user's own sharing entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from dhispatch.runtime.sandbox.server import RunningSandbox
from dhispatch.runtime.sandbox.server import SandboxConfig
from dhispatch.runtime.sandbox.server import start_sandbox

TODAY = date(2025, 6, 15)  # pinned: the current monthly period is 202506
PAST = "202505"
CURRENT = "202506"
DS = "dsMonthly01"
DS_OPEN = "dsDailyOpen"
DS_LOCKED = "dsReadOnly1"  # data sharing read-only for the public
DS_FUND = "dsFunded001"  # attribute combo CC_FUND
DS_WINDOW = "dsWindowed1"  # data input periods
DS_EXPIRY = "dsExpiry001"  # expiryDays 15: 202505 is open until 2025-06-15 (2.36: until the 14th)
DS_NOSHARE = "dsNoShare01"  # no sharing in the export at all
DS_SHARED = "dsShared001"  # data write for user "named" and group GROUP (sharing object)
DS_LEGACY = "dsLegacy001"  # the same through userAccesses/userGroupAccesses
DEFAULT_CC = "bjDvmb4bfuf"
DEFAULT_COC = "HllvX50cXC0"
CO_DEFAULT = "xYerKDKCefk"
CC_SEX = "ccSex000001"
COC_FEMALE = "cocFemale01"  # option data-writable by the public
COC_MALE = "cocMale0001"  # option data-readable only (rwr-----)
CO_FEMALE = "coFemale001"
CO_MALE = "coMale00001"
CC_FUND = "ccFund00001"
AOC_FUND = "aocFund0001"
CO_FUND = "coFund00001"  # 2025-01-01 .. 2025-03-31, org unit OU_IN only
AOC_SHUT = "aocShut0001"
CO_SHUT = "coShut00001"  # data-readable only
WF = "wfMonthly01"
LEVEL_ROOT = "lvRoot00001"
LEVEL_UNIT = "lvUnit00001"
ROOT = "ouRootTest1"
OU_IN = "ouInDsA0001"
OU_IN_B = "ouInDsB0001"
OU_OUT = "ouNotInDs01"
OU_CLOSED = "ouClosed001"  # closed 2025-03-31
DE_NUM = "deNumber001"
DE_INT = "deInteger01"
DE_ZERO = "deZeroIns01"
DE_DAILY = "deDailyNum1"
DE_LOCKED = "deLocked001"
DE_SEX = "deBySex0001"
DE_FUND = "deFunded001"
DE_WIN = "deWindow001"
DE_EXP = "deExpiry001"
DE_NOSHARE = "deNoShare01"
DE_SHARED = "deShared001"
DE_LEGACY = "deLegacy001"
GROUP = "ugWriters01"
ROLE_ENTRY = "urEntry0001"
ROLE_APPROVE = "urApprove01"
PASSWORDS = {
    "admin": "district-Admin1",
    "clerk": "district-Clerk1",
    "local": "district-Local1",
    "grouped": "district-Group1",
    "named": "district-Named1",
    "reader": "district-Reader1",
}
TOKEN = "d2p_testtoken0000000000000000000000000000000000"
CLIENT = ("msupply", "client-secret-1")
OPEN = {"publicAccess": "rwrw----"}


def _de(
    uid: str, code: str, value_type: str, zero: bool, agg: str = "SUM", cc: str = DEFAULT_CC
) -> dict[str, Any]:
    return {
        "id": uid,
        "code": code,
        "name": f"Element {code}",
        "valueType": value_type,
        "zeroIsSignificant": zero,
        "aggregationType": agg,
        "categoryCombo": {"id": cc},
    }


def _ds(uid: str, code: str, elements: list[str], units: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "id": uid,
        "code": code,
        "name": f"Set {code}",
        "periodType": "Monthly",
        "openFuturePeriods": 0,
        "categoryCombo": {"id": DEFAULT_CC},
        "dataSetElements": [{"dataElement": {"id": d}} for d in elements],
        "organisationUnits": [{"id": u} for u in units],
        **extra,
    }


def _categories() -> dict[str, Any]:
    def coc(uid: str, name: str, cc: str, option: str) -> dict[str, Any]:
        options = [{"id": option}]
        return {"id": uid, "name": name, "categoryCombo": {"id": cc}, "categoryOptions": options}

    return {
        "categoryCombos": [
            {"id": DEFAULT_CC, "code": "default", "name": "default"},
            {"id": CC_SEX, "name": "Sex", "dataDimensionType": "DISAGGREGATION"},
            {"id": CC_FUND, "name": "Funding", "dataDimensionType": "ATTRIBUTE"},
        ],
        "categoryOptions": [
            {"id": CO_DEFAULT, "name": "default", "sharing": {"public": "rwrw----"}},
            {"id": CO_FEMALE, "name": "Female", "sharing": {"public": "rwrw----"}},
            {"id": CO_MALE, "name": "Male", "publicAccess": "rwr-----"},
            {"id": CO_SHUT, "name": "Fund B", "publicAccess": "rwr-----"},
            {
                "id": CO_FUND,
                "name": "Fund A",
                "startDate": "2025-01-01T00:00:00.000",
                "endDate": "2025-03-31T00:00:00.000",
                "organisationUnits": [{"id": OU_IN}],
                "sharing": {"public": "rwrw----"},
            },
        ],
        "categoryOptionCombos": [
            coc(DEFAULT_COC, "default", DEFAULT_CC, CO_DEFAULT) | {"code": "default"},
            coc(COC_FEMALE, "Female", CC_SEX, CO_FEMALE),
            coc(COC_MALE, "Male", CC_SEX, CO_MALE),
            coc(AOC_FUND, "Fund A", CC_FUND, CO_FUND),
            coc(AOC_SHUT, "Fund B", CC_FUND, CO_SHUT),
        ],
    }


def _data_sets() -> list[dict[str, Any]]:
    window = [
        {"period": {"id": "202505"}, "openingDate": "2025-06-01", "closingDate": "2025-06-30"},
        {"period": {"id": "202504"}, "openingDate": "2025-05-01", "closingDate": "2025-05-10"},
        {"period": {"id": CURRENT}, "openingDate": "2025-06-01", "closingDate": "2025-06-30"},
    ]
    return [
        _ds(DS, "MONTHLY", [DE_NUM, DE_INT, DE_ZERO], [OU_IN, OU_IN_B, OU_CLOSED], **OPEN)
        | {"dataSetElements": [{"dataElement": {"id": d}} for d in (DE_NUM, DE_INT, DE_ZERO)]
           + [{"dataElement": {"id": DE_SEX}, "categoryCombo": {"id": CC_SEX}}],
           "workflow": {"id": WF}},
        _ds(DS_OPEN, "DAILY", [DE_DAILY], [OU_IN], periodType="Daily", openFuturePeriods=1,
            sharing={"public": "rwrw----"}),
        _ds(DS_LOCKED, "LOCKED", [DE_LOCKED], [OU_IN], openFuturePeriods=1,
            publicAccess="rwr-----"),
        _ds(DS_FUND, "FUNDED", [DE_FUND], [OU_IN, OU_IN_B], categoryCombo={"id": CC_FUND}, **OPEN),
        _ds(DS_WINDOW, "WINDOWED", [DE_WIN], [OU_IN, OU_IN_B], dataInputPeriods=window, **OPEN),
        _ds(DS_EXPIRY, "EXPIRY", [DE_EXP], [OU_IN], expiryDays=15, openFuturePeriods=1, **OPEN),
        _ds(DS_NOSHARE, "NOSHARE", [DE_NOSHARE], [OU_IN]),
        _ds(DS_SHARED, "SHARED", [DE_SHARED], [OU_IN], sharing={
            "public": "rw------",
            "users": {"uNamed00001": {"id": "uNamed00001", "access": "rwrw----"}},
            "userGroups": {GROUP: {"id": GROUP, "access": "rwrw----"}}}),
        _ds(DS_LEGACY, "LEGACY", [DE_LEGACY], [OU_IN], publicAccess="rw------",
            userAccesses=[{"userUid": "uNamed00001", "access": "rwrw----"}],
            userGroupAccesses=[{"id": GROUP, "access": "rwrw----"}]),
    ]  # fmt: skip


def _users() -> dict[str, Any]:
    def user(uid: str, name: str, units: list[str], **extra: Any) -> dict[str, Any]:
        ous = [{"id": u} for u in units]
        return {"id": uid, "username": name, "organisationUnits": ous, **extra}

    entry = {"userRoles": [{"id": ROLE_ENTRY}]}
    return {
        "userRoles": [
            {"id": ROLE_ENTRY, "name": "Data entry", "authorities": ["F_DATAVALUE_ADD"]},
            {"id": ROLE_APPROVE, "name": "Approver", "authorities": ["F_APPROVE_DATA"]},
        ],
        "userGroups": [{"id": GROUP, "name": "Writers", "users": [{"id": "uGroup00001"}]}],
        "users": [
            user("uAdmin00001", "admin", [ROOT], authorities=["ALL"]),
            user("uClerk00001", "clerk", [ROOT], authorities=["F_DATAVALUE_ADD"]),
            user("uLocal00001", "local", [OU_IN], authorities=["F_DATAVALUE_ADD"]),
            user("uGroup00001", "grouped", [ROOT], **entry),
            user("uNamed00001", "named", [ROOT], userCredentials=entry),
            user("uReader0001", "reader", [ROOT], userRoles=[{"id": ROLE_APPROVE}]),
        ],
    }  # fmt: skip


def contract_metadata() -> dict[str, Any]:
    """The export every sandbox test module loads (see the module docstring)."""
    return {
        **_categories(),
        "dataElements": [
            _de(DE_NUM, "NUM", "NUMBER", True),
            _de(DE_INT, "INT", "INTEGER", True),
            _de(DE_ZERO, "ZERO", "NUMBER", False),
            _de(DE_DAILY, "DAILY", "NUMBER", True),
            _de(DE_LOCKED, "LOCKED", "NUMBER", True),
            _de(DE_SEX, "SEX", "NUMBER", True, cc=CC_SEX),
            _de(DE_FUND, "FUND", "NUMBER", True),
            _de(DE_WIN, "WIN", "NUMBER", True),
            _de(DE_EXP, "EXP", "NUMBER", True),
            _de(DE_NOSHARE, "NOSHARE", "NUMBER", True),
            _de(DE_SHARED, "SHARED", "NUMBER", True),
            _de(DE_LEGACY, "LEGACY", "NUMBER", True),
        ],
        "dataSets": _data_sets(),
        "dataApprovalLevels": [
            {"id": LEVEL_ROOT, "name": "Country", "level": 1, "orgUnitLevel": 1},
            {"id": LEVEL_UNIT, "name": "Facility", "level": 2, "orgUnitLevel": 2},
        ],
        "dataApprovalWorkflows": [
            {
                "id": WF,
                "name": "Monthly approval",
                "periodType": "Monthly",
                "dataApprovalLevels": [{"id": LEVEL_ROOT}, {"id": LEVEL_UNIT}],
            }
        ],
        "organisationUnits": [
            {"id": ROOT, "code": "ROOT", "name": "Root"},
            {"id": OU_IN, "code": "IN_A", "name": "In A", "parent": {"id": ROOT}},
            {"id": OU_IN_B, "code": "IN_B", "name": "In B", "parent": {"id": ROOT}},
            {"id": OU_OUT, "code": "OUT", "name": "Outside", "parent": {"id": ROOT}},
            {
                "id": OU_CLOSED,
                "code": "CLOSED",
                "name": "Closed",
                "parent": {"id": ROOT},
                "openingDate": "2010-01-01T00:00:00.000",
                "closedDate": "2025-03-31T00:00:00.000",
            },
        ],
        **_users(),
    }


@contextmanager
def sandbox(
    version: str, data_path: Path | None = None, metadata: dict[str, Any] | None = None
) -> Iterator[RunningSandbox]:
    config = SandboxConfig(
        metadata=metadata or contract_metadata(),
        version=version,
        users=dict(PASSWORDS),
        tokens={TOKEN: "admin"},
        oauth_clients=dict([CLIENT]),
        data_path=data_path,
        today=TODAY,
    )
    with start_sandbox(config) as running:
        yield running


def client(sb: RunningSandbox, user: str = "admin") -> httpx.Client:
    return httpx.Client(
        base_url=sb.url,
        auth=(user, PASSWORDS[user]),
        headers={"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"},
        follow_redirects=False,
        timeout=10,
    )


def summary_of(body: dict[str, Any]) -> dict[str, Any]:
    """The ImportSummary of a bare or wrapped response."""
    return body["response"] if "httpStatusCode" in body else body


def approve(sb: RunningSandbox, period: str, org_unit: str, **extra: str) -> None:
    """Approve through DHIS2's own endpoint (as the admin)."""
    with client(sb) as http:
        params = {"wf": WF, "pe": period, "ou": org_unit, **extra}
        answer = http.post("/api/dataApprovals", params=params)
    assert answer.status_code == 204, answer.text
