"""Import rules beyond the contract table: conflict merging, 2.43 data set inference and
decoding, refused bodies, header-level aborts. Expectations come from the reference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.sandbox.helpers import DE_DAILY
from tests.sandbox.helpers import DE_INT
from tests.sandbox.helpers import DE_LOCKED
from tests.sandbox.helpers import DE_NUM
from tests.sandbox.helpers import DEFAULT_COC
from tests.sandbox.helpers import DS
from tests.sandbox.helpers import DS_LOCKED
from tests.sandbox.helpers import OU_IN
from tests.sandbox.helpers import OU_IN_B
from tests.sandbox.helpers import PAST
from tests.sandbox.helpers import client
from tests.sandbox.helpers import sandbox
from tests.sandbox.helpers import summary_of


@pytest.fixture(scope="module", params=["2.36", "2.37", "2.40", "2.43"])
def running(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    with sandbox(request.param) as sb:
        yield sb


@pytest.fixture
def http(running: RunningSandbox) -> Iterator[httpx.Client]:
    running.clear_values()
    with client(running) as c:
        yield c


@pytest.fixture(scope="module")
def shared() -> Iterator[dict[str, RunningSandbox]]:
    """One extra sandbox per version for the single-version tests of this module."""
    stack = ExitStack()
    with stack:

        class Lazy(dict[str, RunningSandbox]):
            def __missing__(self, version: str) -> RunningSandbox:
                sb = stack.enter_context(sandbox(version))
                self[version] = sb
                return sb

        yield Lazy()


def fresh(shared: dict[str, RunningSandbox], version: str) -> RunningSandbox:
    sb = shared[version]
    sb.clear_values()
    return sb


def gen(running: RunningSandbox) -> str:
    return str(running._app.version)[:4]


def v(**fields: str) -> dict[str, str]:
    return {"dataElement": DE_NUM, "period": PAST, "orgUnit": OU_IN, "value": "1", **fields}


def test_conflicts_merge_by_code_and_objects(running: RunningSandbox, http: httpx.Client) -> None:
    values = [v(), v(dataElement="deUnknown01"), v(dataElement="deUnknown01", period="202504")]
    summary = summary_of(
        http.post("/api/dataValueSets", json={"dataSet": DS, "dataValues": values}).json()
    )
    conflicts = summary["conflicts"]
    if gen(running) == "2.36":
        # ≤2.36 conflicts are a set of {object, value}: the same one is reported once
        assert conflicts == [
            {"object": "deUnknown01", "value": "Data element not found or not accessible"}
        ]
    elif gen(running) == "2.43":
        # 2.43: the whole data set group fails once, listing every index
        assert [(c["errorCode"], c["indexes"]) for c in conflicts] == [("E8020", [0, 1, 2])]
    else:
        # same errorCode and objects: one conflict, indexes appended (§2.3)
        assert [(c["errorCode"], c["indexes"]) for c in conflicts] == [("E7610", [1, 2])]
        assert conflicts[0]["objects"] == {"dataElement": "deUnknown01"}
        assert summary["rejectedIndexes"] == [1, 2]


def test_unknown_data_set_aborts(running: RunningSandbox, http: httpx.Client) -> None:
    response = http.post("/api/dataValueSets", json={"dataSet": "dsUnknown01", "dataValues": [v()]})
    summary = summary_of(response.json())
    assert summary["status"] == "ERROR"
    counts = summary["importCount"]
    if gen(running) == "2.43":
        # UIDs are not looked up while decoding: the group's key checks refuse it (E8020);
        # an unknown code is a decode failure (E8005) of the whole request.
        assert response.status_code == 409 and summary["conflicts"][0]["errorCode"] == "E8020"
        body = {"dataSet": "NOPE", "dataSetIdScheme": "CODE", "dataValues": [v()]}
        coded = summary_of(http.post("/api/dataValueSets", json=body).json())
        assert [(c["errorCode"], c["indexes"]) for c in coded["conflicts"]] == [("E8005", [-1])]
        assert coded["importCount"] == {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0}
    else:
        assert (counts["imported"], counts["ignored"]) == (0, 0)  # aborted: all counts 0
        assert summary["description"] == "Import process was aborted"
        assert response.status_code == (409 if gen(running) == "2.40" else 200)
        if gen(running) != "2.36":
            assert summary["conflicts"][0]["errorCode"] == "E7600"
    assert running.values() == []


def test_garbled_body_is_an_error_summary(running: RunningSandbox, http: httpx.Client) -> None:
    response = http.post(
        "/api/dataValueSets", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    summary = summary_of(response.json())
    assert summary["status"] == "ERROR"
    assert summary["description"].startswith("The import process failed:")
    assert response.status_code == (200 if gen(running) in ("2.36", "2.37") else 409)
    xml = http.post("/api/dataValueSets", content=b"<x/>", headers={"Content-Type": "text/plain"})
    assert xml.status_code == 415


def test_2_43_infers_the_data_set_or_rejects_the_request(
    shared: dict[str, RunningSandbox],
) -> None:
    with client(fresh(shared, "2.43")) as http:
        # no dataSet: inferred from the data elements (one set) -> accepted
        alone = http.post("/api/dataValueSets", json={"dataValues": [v()]})
        assert alone.status_code == 200 and summary_of(alone.json())["importCount"]["updated"] == 1
        # elements of two sets -> E8002 for the whole request
        mixed = {"dataValues": [v(), v(dataElement=DE_DAILY, period="20250610")]}
        refused = summary_of(http.post("/api/dataValueSets", json=mixed).json())
        assert [c["errorCode"] for c in refused["conflicts"]] == ["E8002"]
        # an element in no set -> E8003
        orphan = summary_of(
            http.post(
                "/api/dataValueSets", json={"dataValues": [v(dataElement="deUnknown01")]}
            ).json()
        )
        assert [c["errorCode"] for c in orphan["conflicts"]] == ["E8003"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"dataElementIdScheme": "CODE", "dataValues": [v(dataElement="NOPE")]}, "E8103"),
        ({"dataValues": [v(dataElement="bad uid")]}, "E8104"),
        ({"orgUnitIdScheme": "CODE", "dataValues": [v(orgUnit="NOPE")]}, "E8107"),
        ({"dataValues": [v(categoryOptionCombo="short")]}, "E8109"),
        ({"dataValues": [{"dataElement": DE_NUM, "orgUnit": OU_IN, "value": "1"}]}, "E8100"),
    ],
)
def test_2_43_decode_failures_reject_everything(
    shared: dict[str, RunningSandbox], payload: dict[str, Any], code: str
) -> None:
    sb = fresh(shared, "2.43")
    with client(sb) as http:
        body = {"dataSet": DS, **payload, "dataValues": [v(), *payload["dataValues"]]}
        response = http.post("/api/dataValueSets", json=body)
        assert response.status_code == 409
        summary = summary_of(response.json())
        assert summary["status"] == "ERROR"
        assert [(c["errorCode"], c["indexes"]) for c in summary["conflicts"]] == [(code, [-1])]
        assert sb.values() == []  # not even the valid first value


def test_a_value_without_option_combos_is_stored_under_the_default(
    running: RunningSandbox, http: httpx.Client
) -> None:
    response = http.post("/api/dataValueSets", json={"dataSet": DS, "dataValues": [v()]})
    assert summary_of(response.json())["status"] == "SUCCESS"
    [stored] = running.values()
    assert stored["categoryOptionCombo"] == DEFAULT_COC
    assert stored["attributeOptionCombo"] == DEFAULT_COC


@pytest.mark.parametrize(
    ("flag", "value", "code"),
    [
        ("strictOrganisationUnits", v(orgUnit="ouNotInDs01"), "E7636"),
        ("strictPeriods", v(period="2025W10"), "E7632"),
        ("strictDataElements", v(dataElement=DE_DAILY), "E7633"),
        ("requireCategoryOptionCombo", v(), "E7630"),
        ("strictCategoryOptionCombos", v(categoryOptionCombo=DEFAULT_COC), None),
    ],
)
def test_strict_flags_switch_on_their_checks_on_2_40(
    shared: dict[str, RunningSandbox], flag: str, value: dict[str, str], code: str | None
) -> None:
    # all off by default (§3.1 step 4): the same value passes without the flag
    sb = fresh(shared, "2.40")
    with client(sb) as http:
        body = {"dataSet": DS, "dataValues": [value]}
        assert http.post("/api/dataValueSets", json=body).status_code == 200
        sb.clear_values()
        strict = http.post("/api/dataValueSets", params={flag: "true"}, json=body)
        summary = summary_of(strict.json())
        assert summary["importOptions"][flag] is True
        assert [c["errorCode"] for c in summary.get("conflicts", [])] == ([code] if code else [])
        assert strict.status_code == (409 if code else 200)


def test_complete_date_registers_completion(running: RunningSandbox, http: httpx.Client) -> None:
    body = {
        "dataSet": DS,
        "orgUnit": OU_IN,
        "period": PAST,
        "completeDate": "2025-06-01",
        "dataValues": [v()],
    }
    summary = summary_of(http.post("/api/dataValueSets", json=body).json())
    assert summary["dataSetComplete"] == "2025-06-01"
    future = {**body, "completeDate": "2031-01-01"}
    # a future completion date is clamped to today (2.40 getCompletionDate; TODAY is pinned)
    assert summary_of(http.post("/api/dataValueSets", json=future).json())["dataSetComplete"] == (
        "2025-06-15"
    )
    headless = {"dataSet": DS, "completeDate": "2025-06-01", "dataValues": [v()]}
    refused = summary_of(http.post("/api/dataValueSets", json=headless).json())
    if gen(running) == "2.43":
        assert [c["errorCode"] for c in refused["conflicts"]] == ["E8009"]
    else:
        assert refused["dataSetComplete"] == "false" and refused["status"] == "SUCCESS"


def test_org_units_outside_the_users_hierarchy(running: RunningSandbox) -> None:
    running.clear_values()
    with client(running, "local") as http:
        body = {"dataSet": DS, "dataValues": [v(), v(orgUnit=OU_IN_B)]}
        summary = summary_of(http.post("/api/dataValueSets", json=body).json())
    codes = [c.get("errorCode") for c in summary["conflicts"]]
    if gen(running) == "2.43":
        assert codes == ["E8011"] and running.values() == []  # the whole group
    elif gen(running) == "2.36":
        assert summary["conflicts"][0]["object"] == OU_IN_B and len(running.values()) == 1
    else:
        assert codes == ["E7617"] and summary["rejectedIndexes"] == [1]
        # core passes the user's uid (validateDataValueOrgUnitInUserHierarchy)
        assert summary["conflicts"][0]["objects"] == {
            "organisationUnit": OU_IN_B,
            "user": "uLocal00001",
        }


def test_data_sets_without_data_write_sharing(running: RunningSandbox) -> None:
    running.clear_values()
    with client(running, "clerk") as http:
        body = {"dataSet": DS_LOCKED, "dataValues": [v(dataElement=DE_LOCKED)]}
        response = http.post("/api/dataValueSets", json=body)
    summary = summary_of(response.json())
    assert summary["status"] == "ERROR" and running.values() == []
    if gen(running) == "2.43":
        assert summary["conflicts"][0]["errorCode"] == "E8010"
    elif gen(running) != "2.36":
        assert summary["conflicts"][0]["errorCode"] == "E7601"
        assert summary["description"] == "Import process was aborted"


def test_2_43_duplicates_atomic_and_delete(shared: dict[str, RunningSandbox]) -> None:
    sb = fresh(shared, "2.43")
    with client(sb) as http:
        twice = {"dataSet": DS, "dataValues": [v(), v(value="2")]}
        dup = summary_of(http.post("/api/dataValueSets", json=twice).json())
        assert [(c["errorCode"], c["indexes"]) for c in dup["conflicts"]] == [("E8128", [0, 1])]
        bad = {"dataSet": DS, "dataValues": [v(), v(dataElement=DE_INT, value="1.5")]}
        atomic = http.post("/api/dataValueSets", params={"atomic": "true"}, json=bad)
        assert atomic.status_code == 409
        assert [c["errorCode"] for c in summary_of(atomic.json())["conflicts"]] == ["E8000"]
        assert sb.values() == []
        one = {"dataSet": DS, "dataValues": [v()]}
        http.post("/api/dataValueSets", json=one)
        gone = http.post("/api/dataValueSets", params={"importStrategy": "DELETE"}, json=one)
        count = summary_of(gone.json())["importCount"]
        assert (count["imported"], count["updated"], count["deleted"]) == (0, 0, 1)
        assert sb.values() == []
