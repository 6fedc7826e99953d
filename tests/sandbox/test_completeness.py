"""``/api/completeDataSetRegistrations`` as dhis2-core's exchange service answers it, per
generation: a bare ImportSummary on 2.36/2.37, a WebMessage from 2.38 (409 only when every
registration was ignored), ``{object, value}`` conflicts, imported then updated, and the checks
the sandbox applies (org unit hierarchy, data write, strict periods and org units)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.sandbox.helpers import DEFAULT_COC
from tests.sandbox.helpers import DS
from tests.sandbox.helpers import DS_NOSHARE
from tests.sandbox.helpers import DS_OPEN
from tests.sandbox.helpers import OU_IN
from tests.sandbox.helpers import OU_IN_B
from tests.sandbox.helpers import OU_OUT
from tests.sandbox.helpers import PAST
from tests.sandbox.helpers import client
from tests.sandbox.helpers import sandbox
from tests.sandbox.helpers import summary_of

VERSIONS = ["2.36", "2.37", "2.40", "2.43"]


@pytest.fixture(scope="module", params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def sb(version: str) -> Iterator[RunningSandbox]:
    with sandbox(version) as running:
        yield running


@pytest.fixture(scope="module")
def wrapped(version: str) -> bool:
    """2.38+ wrap the summary in a WebMessage (and say 409 when every one was ignored)."""
    return version not in ("2.36", "2.37")


def post(sb: RunningSandbox, *regs: dict[str, Any], user: str = "admin") -> httpx.Response:
    with client(sb, user) as http:
        return http.post("/api/completeDataSetRegistrations",
                         json={"completeDataSetRegistrations": list(regs)})  # fmt: skip


def reg(ou: str, ds: str = DS, period: str = PAST, **extra: Any) -> dict[str, Any]:
    return {"dataSet": ds, "period": period, "organisationUnit": ou, **extra}


def test_a_registration_is_imported_then_updated_and_exported(
    sb: RunningSandbox, wrapped: bool
) -> None:
    first = post(sb, reg(OU_IN_B, period="202503"))
    assert first.status_code == 200
    body = first.json()
    assert ("httpStatusCode" in body) is wrapped
    summary = summary_of(body)
    assert summary["status"] == "SUCCESS" and summary["description"] == "Import process complete."
    assert summary["importCount"] == {"imported": 1, "updated": 0, "ignored": 0, "deleted": 0}
    again = summary_of(post(sb, reg(OU_IN_B, period="202503")).json())
    assert again["importCount"]["updated"] == 1 and again["importCount"]["imported"] == 0
    with client(sb) as http:
        found = http.get(
            "/api/completeDataSetRegistrations",
            params={"dataSet": DS, "period": "202503", "orgUnit": OU_IN_B},
        ).json()
    (row,) = found["completeDataSetRegistrations"]
    assert (row["organisationUnit"], row["attributeOptionCombo"], row["completed"]) == (
        OU_IN_B, DEFAULT_COC, True)  # fmt: skip


@pytest.mark.parametrize(
    ("registration", "conflict"),
    [
        (reg(OU_IN, ds="nosuchds001"), ("nosuchds001", "Data set not found or not accessible")),
        (reg(OU_IN, period="2025M13"), ("2025M13", "Period not valid")),
        (reg("nosuchou001"), ("nosuchou001", "Organisation unit not found or not accessible")),
        (reg(OU_OUT), (DS, f"Data set {DS} is not assigned to organisation unit {OU_OUT}")),
        (
            reg(OU_IN, ds=DS_OPEN),
            (
                PAST,
                "Period type of period: 202505 is not equal to the period type of data set: Daily",
            ),
        ),
        (
            reg(OU_IN, ds=DS_NOSHARE),
            ("dataSet", f"User has no data write access for DataSet: {DS_NOSHARE}"),
        ),
    ],
    ids=["data-set", "period", "org-unit", "not-assigned", "period-type", "no-data-write"],
)
def test_a_registration_that_cannot_be_made_is_ignored_with_core_s_conflict(
    sb: RunningSandbox, wrapped: bool, registration: dict[str, Any], conflict: tuple[str, str]
) -> None:
    user = "clerk" if registration["dataSet"] == DS_NOSHARE else "admin"
    answer = post(sb, registration, user=user)
    assert answer.status_code == (409 if wrapped else 200)
    summary = summary_of(answer.json())
    assert summary["status"] == "ERROR"
    assert summary["importCount"] == {"imported": 0, "updated": 0, "ignored": 1, "deleted": 0}
    assert [(c["object"], c["value"]) for c in summary["conflicts"]] == [conflict]


def test_one_refused_among_several_leaves_the_import_a_success(sb: RunningSandbox) -> None:
    answer = post(sb, reg(OU_IN, period="202501"), reg(OU_OUT, period="202501"))
    assert answer.status_code == 200  # SUCCESS: core never says WARNING for registrations
    summary = summary_of(answer.json())
    assert summary["status"] == "SUCCESS"
    assert summary["importCount"]["ignored"] == 1 and len(summary["conflicts"]) == 1


def test_an_org_unit_outside_the_user_s_hierarchy_is_refused(sb: RunningSandbox) -> None:
    summary = summary_of(post(sb, reg(OU_IN_B, period="202502"), user="local").json())
    assert summary["conflicts"] == [
        {"object": OU_IN_B, "value": "Organisation unit is not in hierarchy of user: local"}
    ]
