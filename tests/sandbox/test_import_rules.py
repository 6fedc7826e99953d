"""Import rules beyond the contract table: conflict merging, 2.43 data set inference and
decoding, refused bodies, header-level aborts. Expectations come from the reference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.sandbox.helpers import DE_DAILY
from tests.sandbox.helpers import DE_NUM
from tests.sandbox.helpers import DEFAULT_COC
from tests.sandbox.helpers import DS
from tests.sandbox.helpers import OU_IN
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
        assert response.status_code == 409 and summary["conflicts"][0]["errorCode"] == "E8005"
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


def test_2_43_infers_the_data_set_or_rejects_the_request() -> None:
    with sandbox("2.43") as sb, client(sb) as http:
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
def test_2_43_decode_failures_reject_everything(payload: dict[str, Any], code: str) -> None:
    with sandbox("2.43") as sb, client(sb) as http:
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
