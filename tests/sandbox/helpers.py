"""Shared test metadata and helpers: a small export with the cases the contract table needs."""

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
DEFAULT_CC = "bjDvmb4bfuf"
DEFAULT_COC = "HllvX50cXC0"
ROOT = "ouRootTest1"
OU_IN = "ouInDsA0001"
OU_IN_B = "ouInDsB0001"
OU_OUT = "ouNotInDs01"
DE_NUM = "deNumber001"
DE_INT = "deInteger01"
DE_ZERO = "deZeroIns01"
DE_DAILY = "deDailyNum1"
DS_LOCKED = "dsReadOnly1"  # data sharing read-only for the public
DE_LOCKED = "deLocked001"
PASSWORDS = {"admin": "district-Admin1", "clerk": "district-Clerk1", "local": "district-Local1"}
TOKEN = "d2p_testtoken0000000000000000000000000000000000"
CLIENT = ("msupply", "client-secret-1")


def _de(uid: str, code: str, value_type: str, zero: bool, agg: str = "SUM") -> dict[str, Any]:
    return {
        "id": uid,
        "code": code,
        "name": f"Element {code}",
        "valueType": value_type,
        "zeroIsSignificant": zero,
        "aggregationType": agg,
        "categoryCombo": {"id": DEFAULT_CC},
    }


def contract_metadata() -> dict[str, Any]:
    """Monthly DS (openFuturePeriods 0) with NUMBER, INTEGER and zero-insignificant elements."""
    return {
        "categoryCombos": [{"id": DEFAULT_CC, "code": "default", "name": "default"}],
        "categoryOptionCombos": [
            {
                "id": DEFAULT_COC,
                "code": "default",
                "name": "default",
                "categoryCombo": {"id": DEFAULT_CC},
            }
        ],
        "dataElements": [
            _de(DE_NUM, "NUM", "NUMBER", True),
            _de(DE_INT, "INT", "INTEGER", True),
            _de(DE_ZERO, "ZERO", "NUMBER", False),
            _de(DE_DAILY, "DAILY", "NUMBER", True),
            _de(DE_LOCKED, "LOCKED", "NUMBER", True),
        ],
        "dataSets": [
            {
                "id": DS,
                "code": "MONTHLY",
                "name": "Monthly set",
                "periodType": "Monthly",
                "openFuturePeriods": 0,
                "categoryCombo": {"id": DEFAULT_CC},
                "publicAccess": "rwrw----",
                "dataSetElements": [{"dataElement": {"id": d}} for d in (DE_NUM, DE_INT, DE_ZERO)],
                "organisationUnits": [{"id": OU_IN}, {"id": OU_IN_B}],
            },
            {
                "id": DS_OPEN,
                "code": "DAILY",
                "name": "Daily set",
                "periodType": "Daily",
                "openFuturePeriods": 1,
                "categoryCombo": {"id": DEFAULT_CC},
                "sharing": {"public": "rwrw----"},
                "dataSetElements": [{"dataElement": {"id": DE_DAILY}}],
                "organisationUnits": [{"id": OU_IN}],
            },
            {
                "id": DS_LOCKED,
                "code": "LOCKED",
                "name": "Read-only set",
                "periodType": "Monthly",
                "openFuturePeriods": 1,
                "publicAccess": "rwr-----",
                "dataSetElements": [{"dataElement": {"id": DE_LOCKED}}],
                "organisationUnits": [{"id": OU_IN}],
            },
        ],
        "organisationUnits": [
            {"id": ROOT, "code": "ROOT", "name": "Root"},
            {"id": OU_IN, "code": "IN_A", "name": "In A", "parent": {"id": ROOT}},
            {"id": OU_IN_B, "code": "IN_B", "name": "In B", "parent": {"id": ROOT}},
            {"id": OU_OUT, "code": "OUT", "name": "Outside", "parent": {"id": ROOT}},
        ],
        "users": [
            {
                "id": "uAdmin00001",
                "username": "admin",
                "authorities": ["ALL"],
                "organisationUnits": [{"id": ROOT}],
            },
            {
                "id": "uClerk00001",
                "username": "clerk",
                "authorities": ["F_DATAVALUE_ADD"],
                "organisationUnits": [{"id": ROOT}],
            },
            {
                "id": "uLocal00001",
                "username": "local",
                "authorities": ["F_DATAVALUE_ADD"],
                "organisationUnits": [{"id": OU_IN}],
            },
        ],
    }


@contextmanager
def sandbox(version: str, data_path: Path | None = None) -> Iterator[RunningSandbox]:
    config = SandboxConfig(
        metadata=contract_metadata(),
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
