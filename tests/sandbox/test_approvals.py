"""Data approval through DHIS2's own endpoints (``DataApprovalController``): approve (204),
read the state, unapprove (204), the 409s of its parameter checks and of approval order, 403
without an approval authority, and approvals that survive a restart on the same data file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.sandbox.helpers import DE_INT
from tests.sandbox.helpers import DEFAULT_COC
from tests.sandbox.helpers import DS
from tests.sandbox.helpers import DS_OPEN
from tests.sandbox.helpers import OU_CLOSED
from tests.sandbox.helpers import OU_IN
from tests.sandbox.helpers import OU_IN_B
from tests.sandbox.helpers import OU_OUT
from tests.sandbox.helpers import PAST
from tests.sandbox.helpers import ROOT
from tests.sandbox.helpers import WF
from tests.sandbox.helpers import client
from tests.sandbox.helpers import sandbox
from tests.sandbox.helpers import summary_of


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with sandbox("2.40") as running:
        yield running


@pytest.fixture
def admin(sb: RunningSandbox) -> Iterator[httpx.Client]:
    sb.clear_approvals()
    with client(sb) as http:
        yield http


def at(ou: str, **extra: str) -> dict[str, str]:
    return {"wf": WF, "pe": PAST, "ou": ou, **extra}


def state(http: httpx.Client, ou: str) -> str:
    return str(http.get("/api/dataApprovals", params=at(ou)).json()["state"])


def test_approve_read_and_unapprove(admin: httpx.Client) -> None:
    assert state(admin, OU_IN) == "UNAPPROVED_READY"
    approved = admin.post("/api/dataApprovals", params=at(OU_IN))
    assert approved.status_code == 204 and approved.content == b""
    body = admin.get("/api/dataApprovals", params={"ds": DS, "pe": PAST, "ou": OU_IN}).json()
    assert body["state"] == "APPROVED_HERE" and body["approvedBy"] == "admin"
    assert body["mayUnapprove"] is True and body["mayApprove"] is False
    assert admin.post("/api/dataApprovals", params=at(OU_IN)).status_code == 204  # no-op again
    assert admin.delete("/api/dataApprovals", params=at(OU_IN)).status_code == 204
    assert state(admin, OU_IN) == "UNAPPROVED_READY"


def test_lower_levels_first(admin: httpx.Client) -> None:
    assert state(admin, ROOT) == "UNAPPROVED_WAITING"
    refused = admin.post("/api/dataApprovals", params=at(ROOT))
    assert refused.status_code == 409 and "message" not in refused.json()
    for ou in (OU_IN, OU_IN_B, OU_OUT, OU_CLOSED):
        assert admin.post("/api/dataApprovals", params=at(ou)).status_code == 204
    assert admin.post("/api/dataApprovals", params=at(ROOT)).status_code == 204
    assert state(admin, OU_IN) == "APPROVED_ABOVE"
    # approved above: the unit may not be unapproved until the root is
    assert admin.delete("/api/dataApprovals", params=at(OU_IN)).status_code == 409
    assert admin.delete("/api/dataApprovals", params=at(ROOT)).status_code == 204
    assert admin.delete("/api/dataApprovals", params=at(OU_IN)).status_code == 204


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"wf": "wfUnknown01"}, "Data approval workflow does not exist: wfUnknown01"),
        ({"wf": None, "ds": DS_OPEN}, f"Data set does not have an approval workflow: {DS_OPEN}"),
        ({"wf": None, "ds": "dsUnknown01"}, "Data set does not exist: dsUnknown01"),
        ({"wf": None}, "Either data set or data approval workflow must be specified"),
        ({"pe": "202513"}, "Illegal period identifier: 202513"),
        ({"ou": "ouUnknown01"}, "Organisation unit does not exist: ouUnknown01"),
        ({"aoc": "aocUnknown1"}, "Attribute option combo does not exist: aocUnknown1"),
        ({"pe": "2025Q2"}, None),  # DataMayNotBeApprovedException: not the workflow's type
    ],
)
def test_parameter_checks(admin: httpx.Client, params: dict[str, str | None], message: str) -> None:
    query = {k: v for k, v in {**at(OU_IN), **params}.items() if v is not None}
    answer = admin.post("/api/dataApprovals", params=query)
    assert answer.status_code == 409
    assert answer.json().get("message") == message


def test_approval_needs_an_approval_authority(sb: RunningSandbox) -> None:
    sb.clear_approvals()
    with client(sb, "clerk") as clerk:
        denied = clerk.post("/api/dataApprovals", params=at(OU_IN))
        assert denied.status_code == 403 and denied.json()["message"] == "Access is denied"
        assert clerk.get("/api/dataApprovals", params=at(OU_IN)).json()["mayApprove"] is False
    with client(sb, "reader") as reader:  # F_APPROVE_DATA through a user role
        assert reader.post("/api/dataApprovals", params=at(OU_IN)).status_code == 204
    sb.clear_approvals()


@pytest.mark.parametrize("version", ["2.40", "2.43"])
def test_approvals_survive_a_restart(tmp_path: Path, version: str) -> None:
    data = tmp_path / "values.sqlite"
    with sandbox(version, data_path=data) as first, client(first) as http:
        assert http.post("/api/dataApprovals", params=at(OU_IN)).status_code == 204
    value = {"dataElement": DE_INT, "period": PAST, "orgUnit": OU_IN, "value": "3"}
    value["attributeOptionCombo"] = DEFAULT_COC
    with sandbox(version, data_path=data) as second, client(second) as http:
        assert state(http, OU_IN) == "APPROVED_HERE"
        answer = http.post("/api/dataValueSets", json={"dataSet": DS, "dataValues": [value]})
        conflicts = summary_of(answer.json())["conflicts"]
        assert [c["errorCode"] for c in conflicts] == ["E8033" if version == "2.43" else "E7642"]


def test_many_slices_at_once(admin: httpx.Client) -> None:
    """``GET /api/dataApprovals/approvals``: every workflow × period × org unit asked for, values
    repeated or comma-separated; periods of another type than the workflow's left out."""
    assert admin.post("/api/dataApprovals", params=at(OU_IN)).status_code == 204
    params = [("wf", WF), ("pe", f"{PAST},2025Q1"), ("pe", "202504"), ("ou", f"{OU_IN},{OU_IN_B}")]
    rows = admin.get("/api/dataApprovals/approvals", params=params).json()
    states = {(r["pe"], r["ou"]): r["state"] for r in rows}
    assert states == {
        (PAST, OU_IN): "APPROVED_HERE", (PAST, OU_IN_B): "UNAPPROVED_READY",
        ("202504", OU_IN): "UNAPPROVED_READY", ("202504", OU_IN_B): "UNAPPROVED_READY",
    }  # fmt: skip
    here = next(r for r in rows if (r["pe"], r["ou"]) == (PAST, OU_IN))
    assert here["wf"] == WF and here["aoc"] == DEFAULT_COC and here["level"]
    assert here["permissions"]["mayUnapprove"] is True
    same = admin.get("/api/dataApprovals/multiple", params=params).json()
    assert same == rows
    missing = admin.get("/api/dataApprovals/approvals", params={"wf": WF, "ou": OU_IN})
    assert missing.status_code == 409
    assert missing.json()["message"] == "Must have either pe or both startDate and endDate."
    unknown = admin.get("/api/dataApprovals/approvals", params={"wf": "nope", "pe": PAST,
                                                                "ou": OU_IN})  # fmt: skip
    assert unknown.status_code == 409
