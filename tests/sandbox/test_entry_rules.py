"""Issue 11's rules beyond the contract tables: data write through every sharing form, the
heated option combo cache (E7614/E7616), attribute option combo access, approvals at a higher
level (≤2.42 vs 2.43), E7644, input-period and opening-date boundaries per version. Expectations
come from dhis2-core's source of each branch."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.sandbox.helpers import AOC_SHUT
from tests.sandbox.helpers import CO_MALE
from tests.sandbox.helpers import CO_SHUT
from tests.sandbox.helpers import COC_MALE
from tests.sandbox.helpers import DE_FUND
from tests.sandbox.helpers import DE_INT
from tests.sandbox.helpers import DE_LEGACY
from tests.sandbox.helpers import DE_SEX
from tests.sandbox.helpers import DE_SHARED
from tests.sandbox.helpers import DE_WIN
from tests.sandbox.helpers import DEFAULT_COC
from tests.sandbox.helpers import DS
from tests.sandbox.helpers import DS_FUND
from tests.sandbox.helpers import DS_LEGACY
from tests.sandbox.helpers import DS_NOSHARE
from tests.sandbox.helpers import DS_SHARED
from tests.sandbox.helpers import DS_WINDOW
from tests.sandbox.helpers import GROUP
from tests.sandbox.helpers import LEVEL_ROOT
from tests.sandbox.helpers import OU_IN
from tests.sandbox.helpers import OU_OUT
from tests.sandbox.helpers import PAST
from tests.sandbox.helpers import ROOT
from tests.sandbox.helpers import client
from tests.sandbox.helpers import contract_metadata
from tests.sandbox.helpers import sandbox
from tests.sandbox.helpers import summary_of

VERSIONS = ("2.36", "2.37", "2.40", "2.43")


@pytest.fixture(scope="module", params=VERSIONS)
def running(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    with sandbox(request.param) as sb:
        yield sb


def gen(sb: RunningSandbox) -> str:
    return str(sb._app.version)[:4]


def post(
    sb: RunningSandbox, user: str, body: dict[str, Any], **params: str
) -> tuple[int, dict[str, Any]]:
    sb.clear_values()
    sb.clear_approvals()
    with client(sb, user) as http:
        answer = http.post("/api/dataValueSets", params=params, json=body)
    return answer.status_code, summary_of(answer.json())


def one(de: str, ou: str = OU_IN, period: str = PAST, **extra: str) -> dict[str, str]:
    return {"dataElement": de, "period": period, "orgUnit": ou, "value": "1", **extra}


def codes(summary: dict[str, Any]) -> list[str | None]:
    return [c.get("errorCode") for c in summary.get("conflicts", [])]


@pytest.mark.parametrize("ds", [DS_SHARED, DS_LEGACY])
@pytest.mark.parametrize("user", ["named", "grouped", "clerk"])
def test_data_write_through_users_groups_and_the_older_fields(
    running: RunningSandbox, ds: str, user: str
) -> None:
    # DS_SHARED grants data write in sharing.users / sharing.userGroups, DS_LEGACY in
    # userAccesses / userGroupAccesses; the public has metadata access only ("rw------").
    de = DE_SHARED if ds == DS_SHARED else DE_LEGACY
    status, summary = post(running, user, {"dataSet": ds, "dataValues": [one(de)]})
    if user != "clerk":
        assert summary["status"] == "SUCCESS", summary
        assert len(running.values()) == 1
        return
    assert summary["status"] == "ERROR" and running.values() == []
    expected = {"2.36": [None], "2.37": ["E7601"], "2.40": ["E7601"], "2.43": ["E8010"]}
    assert codes(summary) == expected[gen(running)]


def test_me_reflects_roles_groups_and_writable_data_sets(running: RunningSandbox) -> None:
    with client(running, "grouped") as http:
        me = http.get("/api/me").json()
    assert me["username"] == "grouped" and me["authorities"] == ["F_DATAVALUE_ADD"]
    assert me["userRoles"] == [{"id": "urEntry0001"}] and me["userGroups"] == [{"id": GROUP}]
    assert DS_SHARED in me["dataSets"] and DS_LEGACY in me["dataSets"]
    assert DS_NOSHARE not in me["dataSets"]
    with client(running, "named") as http:  # roles through userCredentials (≤2.37 exports)
        named = http.get("/api/me", params={"fields": "authorities,userRoles"}).json()
        can = http.get("/api/me/authorization/F_DATAVALUE_ADD").json()
    assert named == {"authorities": ["F_DATAVALUE_ADD"], "userRoles": [{"id": "urEntry0001"}]}
    assert can is True


def test_a_heated_cache_reports_each_option(running: RunningSandbox) -> None:
    # preheatCache=true loads the option combos without the ACL lookup, so the option access
    # check reports the option (E7614, 2.36's "User has no data write access for …").
    body = {"dataSet": DS, "dataValues": [one(DE_SEX, categoryOptionCombo=COC_MALE)]}
    status, summary = post(running, "clerk", body, preheatCache="true")
    version = gen(running)
    if version == "2.43":
        assert codes(summary) == ["E8012"] and "coMale00001" in summary["conflicts"][0]["value"]
        return
    [conflict] = summary["conflicts"]
    if version == "2.36":
        text = f"User has no data write access for CategoryOption: {CO_MALE}"
        assert conflict == {"object": "dataValueSet", "value": text}
    else:
        assert conflict["errorCode"] == "E7614"
        assert conflict["objects"] == {"categoryOptionCombo": COC_MALE, "categoryOption": CO_MALE}
        assert conflict["value"] == (
            f"Category option combo: `{COC_MALE}` option not accessible: `{CO_MALE}`"
        )
        assert summary["rejectedIndexes"] == [0]


@pytest.mark.parametrize("version", ["2.37", "2.40"])  # the E7613/E7614 switch of 2.37–2.42
def test_more_than_250_combo_identifiers_heat_the_cache(version: str) -> None:
    unknown = [one(DE_INT, categoryOptionCombo=f"coc{n:08d}") for n in range(251)]
    body = {"dataSet": DS, "dataValues": [*unknown, one(DE_SEX, categoryOptionCombo=COC_MALE)]}
    with sandbox(version) as sb:
        status, summary = post(sb, "clerk", body)
    assert codes(summary)[-1] == "E7614" and codes(summary)[0] == "E7613"
    assert summary["rejectedIndexes"] == list(range(252))


def test_attribute_option_combo_access(running: RunningSandbox) -> None:
    value = one(DE_FUND, period="202503", attributeOptionCombo=AOC_SHUT)
    status, summary = post(running, "clerk", {"dataSet": DS_FUND, "dataValues": [value]})
    expected = {"2.36": [None], "2.37": ["E7615"], "2.40": ["E7615"], "2.43": ["E8012"]}
    assert codes(summary) == expected[gen(running)]
    if gen(running) != "2.43":
        status, summary = post(
            running, "clerk", {"dataSet": DS_FUND, "dataValues": [value]}, preheatCache="true"
        )
        options = [c.get("objects", {}).get("categoryOption") for c in summary["conflicts"]]
        assert options == ([None] if gen(running) == "2.36" else [CO_SHUT])
    status, summary = post(running, "admin", {"dataSet": DS_FUND, "dataValues": [value]})
    assert summary["status"] == "SUCCESS"  # superusers may write every option


def test_element_periods_without_a_target_data_set(running: RunningSandbox) -> None:
    # No dataSet and an org unit outside DS_WINDOW: 2.39+ have no target set, so only E7644
    # (every input period of the element's sets) applies; ≤2.38 check the element's "approval
    # data set" regardless of the org unit (E7643). 2.43 infers the set and refuses the unit.
    value = one(DE_WIN, OU_OUT, "202504")
    status, summary = post(running, "admin", {"dataValues": [value]})
    expected = {"2.36": [None], "2.37": ["E7643"], "2.40": ["E7644"], "2.43": ["E8022"]}
    assert codes(summary) == expected[gen(running)]
    if gen(running) == "2.36":
        text = "Period: 202504 is not open for this data set at this time: dsWindowed1"
        assert summary["conflicts"][0] == {"object": OU_OUT, "value": text}


def boundary_metadata() -> dict[str, Any]:
    """The contract export with the input period of 202505 closing today (2025-06-15), an org
    unit opened mid-May, and a workflow whose only level is the root's."""
    meta = copy.deepcopy(contract_metadata())
    for ds in meta["dataSets"]:
        if ds["id"] == DS_WINDOW:
            ds["dataInputPeriods"][0]["closingDate"] = "2025-06-15T00:00:00.000"
            ds["organisationUnits"].append({"id": "ouOpened001"})
        if ds["id"] == DS:
            ds["organisationUnits"].append({"id": "ouOpened001"})
    meta["organisationUnits"].append(
        {"id": "ouOpened001", "name": "Opened", "parent": {"id": ROOT}, "openingDate": "2025-05-15"}
    )
    meta["dataApprovalWorkflows"][0]["dataApprovalLevels"] = [{"id": LEVEL_ROOT}]
    return meta


@pytest.fixture(scope="module", params=VERSIONS)
def edge(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    with sandbox(request.param, metadata=boundary_metadata()) as sb:
        yield sb


def test_input_period_closing_day(edge: RunningSandbox) -> None:
    # 2.36: today must be before closing (an instant); 2.37–2.42 compare days, so the closing
    # day is still open; 2.43 compares the instant with closing at 00:00: already closed.
    status, summary = post(edge, "clerk", {"dataSet": DS_WINDOW, "dataValues": [one(DE_WIN)]})
    expected = {"2.36": [None], "2.37": [], "2.40": [], "2.43": ["E8030"]}
    assert codes(summary) == expected[gen(edge)]


def test_org_unit_opened_after_the_period_started(edge: RunningSandbox) -> None:
    status, summary = post(
        edge, "clerk", {"dataSet": DS, "dataValues": [one(DE_INT, "ouOpened001")]}
    )
    assert codes(summary) == (["E8031"] if gen(edge) == "2.43" else [])


def test_approval_above_the_org_unit(edge: RunningSandbox) -> None:
    # The workflow approves at the root only. ≤2.42 ask the lowest approval level at or above
    # the unit (the root's), 2.43 the unit's own approval row: none, so it accepts.
    edge.clear_approvals()
    with client(edge) as admin:
        params = {"wf": "wfMonthly01", "pe": PAST, "ou": ROOT}
        assert admin.post("/api/dataApprovals", params=params).status_code == 204
        value = one(DE_INT, attributeOptionCombo=DEFAULT_COC)
        answer = admin.post("/api/dataValueSets", json={"dataSet": DS, "dataValues": [value]})
    summary = summary_of(answer.json())
    expected = {"2.36": [None], "2.37": ["E7642"], "2.40": ["E7642"], "2.43": []}
    assert codes(summary) == expected[gen(edge)]
    edge.clear_approvals()
    edge.clear_values()


def test_metadata_serves_what_the_rules_read(running: RunningSandbox) -> None:
    with client(running) as http:
        fields = (
            "dataInputPeriods,publicAccess,sharing,"
            "workflow[id,periodType,dataApprovalLevels[level,orgUnitLevel]]"
        )
        ds = http.get(f"/api/dataSets/{DS_WINDOW}", params={"fields": fields}).json()
        monthly = http.get(f"/api/dataSets/{DS}", params={"fields": fields}).json()
        option = http.get(
            "/api/categoryOptions/coFund00001",
            params={"fields": "sharing[public],startDate,endDate,organisationUnits[id]"},
        ).json()
        unit = http.get(
            "/api/organisationUnits/ouClosed001", params={"fields": "openingDate,closedDate"}
        ).json()
        users = http.get(
            "/api/users",
            params={
                "fields": "username,userRoles[id,authorities],userGroups[id]",
                "filter": "username:eq:grouped",
            },
        ).json()["users"]
        bare = http.get(f"/api/dataSets/{DS_NOSHARE}", params={"fields": "publicAccess"}).json()
    assert ds["dataInputPeriods"][0]["period"] == {"id": "202505"}
    assert ds["publicAccess"] == "rwrw----" and ds["sharing"]["public"] == "rwrw----"
    assert monthly["workflow"] == {
        "id": "wfMonthly01",
        "periodType": "Monthly",
        "dataApprovalLevels": [{"level": 1, "orgUnitLevel": 1}, {"level": 2, "orgUnitLevel": 2}],
    }
    assert option == {
        "sharing": {"public": "rwrw----"},
        "startDate": "2025-01-01T00:00:00.000",
        "endDate": "2025-03-31T00:00:00.000",
        "organisationUnits": [{"id": OU_IN}],
    }
    assert unit == {
        "openingDate": "2010-01-01T00:00:00.000",
        "closedDate": "2025-03-31T00:00:00.000",
    }
    assert users == [
        {
            "username": "grouped",
            "userRoles": [{"id": "urEntry0001", "authorities": ["F_DATAVALUE_ADD"]}],
            "userGroups": [{"id": GROUP}],
        }
    ]
    assert bare == {"publicAccess": "--------"}  # what the sandbox enforces: no data write


def test_null_value_never_deletes(running: RunningSandbox) -> None:
    # value: null over a stored value is refused and the value stays (all versions); comments
    # alone are stored on ≤2.42.
    with client(running) as http:
        running.clear_values()
        http.post("/api/dataValueSets", json={"dataSet": DS, "dataValues": [one(DE_INT)]})
        gone = {**one(DE_INT), "value": None}
        http.post("/api/dataValueSets", json={"dataSet": DS, "dataValues": [gone]})
    assert [v["value"] for v in running.values()] == ["1"]


def test_payload_period_header_wins_up_to_2_42(running: RunningSandbox) -> None:
    # ≤2.42 createDataValueContext takes the set's period/orgUnit before the value's own;
    # 2.43 decodeGroup takes the value's own first.
    value = one(DE_INT, period="202504")
    status, summary = post(running, "admin", {"dataSet": DS, "period": PAST, "dataValues": [value]})
    [stored] = running.values()
    assert stored["period"] == ("202504" if gen(running) == "2.43" else PAST)
