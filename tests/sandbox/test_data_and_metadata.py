"""Metadata reads (§7), export, async polling, id schemes, strategies, durability, demo export."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.metadata import DEMO_METADATA_PATH
from dhispatch.runtime.demo.metadata import demo_metadata
from dhispatch.runtime.sandbox.server import RunningSandbox
from dhispatch.runtime.sandbox.server import SandboxConfig
from dhispatch.runtime.sandbox.server import start_sandbox
from tests.sandbox.helpers import DE_DAILY
from tests.sandbox.helpers import DE_INT
from tests.sandbox.helpers import DE_NUM
from tests.sandbox.helpers import DE_ZERO
from tests.sandbox.helpers import DS
from tests.sandbox.helpers import OU_IN
from tests.sandbox.helpers import OU_IN_B
from tests.sandbox.helpers import PAST
from tests.sandbox.helpers import ROOT
from tests.sandbox.helpers import TODAY
from tests.sandbox.helpers import client
from tests.sandbox.helpers import sandbox
from tests.sandbox.helpers import summary_of


@pytest.fixture(scope="module")
def sb40() -> Iterator[RunningSandbox]:
    with sandbox("2.40") as sb:
        yield sb


@pytest.fixture
def http(sb40: RunningSandbox) -> Iterator[httpx.Client]:
    sb40.clear_values()
    with client(sb40) as c:
        yield c


def counts(response: httpx.Response) -> tuple[int, int, int, int]:
    c = summary_of(response.json())["importCount"]
    return c["imported"], c["updated"], c["ignored"], c["deleted"]


def test_data_set_with_nested_fields(http: httpx.Client) -> None:
    fields = (
        "id,periodType,openFuturePeriods,"
        "dataSetElements[dataElement[id,code,valueType,categoryCombo[id,categoryOptionCombos[id,name]]]],"
        "organisationUnits[id,code]"
    )
    body = http.get(f"/api/dataSets/{DS}", params={"fields": fields}).json()
    assert body["periodType"] == "Monthly" and body["openFuturePeriods"] == 0
    first = body["dataSetElements"][0]["dataElement"]
    assert first == {
        "id": DE_NUM,
        "code": "NUM",
        "valueType": "NUMBER",
        "categoryCombo": {
            "id": "bjDvmb4bfuf",
            "categoryOptionCombos": [{"id": "HllvX50cXC0", "name": "default"}],
        },
    }
    assert body["organisationUnits"] == [
        {"id": OU_IN, "code": "IN_A"},
        {"id": OU_IN_B, "code": "IN_B"},
        {"id": "ouClosed001", "code": "CLOSED"},
    ]
    everything = http.get(f"/api/dataSets/{DS}").json()
    assert everything["name"] == "Set MONTHLY" and "dataSetElements" in everything
    missing = http.get("/api/dataSets/dsNoSuch001")
    assert missing.status_code == 404
    assert missing.json()["message"] == "DataSet with id dsNoSuch001 could not be found."


def test_filters(http: httpx.Client) -> None:
    def ids(path: str, *filters: str, **params: str) -> list[str]:
        query: list[tuple[str, str | int | float | bool | None]] = [("filter", f) for f in filters]
        query += [("fields", "id"), ("paging", "false"), *params.items()]
        body = http.get(path, params=query).json()
        assert "pager" not in body
        return [o["id"] for o in body[path.rsplit("/", 1)[1]]]

    assert ids("/api/organisationUnits", "code:in:[IN_A,OUT]") == [OU_IN, "ouNotInDs01"]
    assert ids("/api/dataElements", "categoryCombo.id:eq:bjDvmb4bfuf", "valueType:eq:INTEGER") == [
        DE_INT
    ]
    assert ids("/api/dataElements", "name:ilike:zero") == [DE_ZERO]
    assert ids("/api/organisationUnits", "parent:!null") == [
        OU_IN,
        OU_IN_B,
        "ouNotInDs01",
        "ouClosed001",
    ]
    assert ids("/api/organisationUnits", "dataSets.id:eq:dsDailyOpen") == [OU_IN]
    assert ids("/api/dataElements", "code:eq:INT", "code:eq:ZERO", rootJunction="OR") == [
        DE_INT,
        DE_ZERO,
    ]
    assert http.get("/api/dataElements", params={"filter": "code:nope:x"}).status_code == 400


def test_paging(http: httpx.Client) -> None:
    body = http.get("/api/organisationUnits", params={"pageSize": "3", "order": "code:asc"}).json()
    assert body["pager"]["total"] == 5 and body["pager"]["pageCount"] == 2
    assert [o["displayName"] for o in body["organisationUnits"]] == ["Closed", "In A", "In B"]
    second = httpx.get(body["pager"]["nextPage"], auth=http.auth).json()
    assert second["pager"]["page"] == 2
    assert second["organisationUnits"] == [
        {"id": "ouNotInDs01", "displayName": "Outside"},
        {"id": ROOT, "displayName": "Root"},
    ]


def test_export_with_children_and_dates(http: httpx.Client) -> None:
    values = [
        {"dataElement": DE_NUM, "period": PAST, "orgUnit": OU_IN, "value": "1", "comment": "c"},
        {"dataElement": DE_NUM, "period": PAST, "orgUnit": OU_IN_B, "value": "2"},
        {"dataElement": DE_NUM, "period": "202504", "orgUnit": OU_IN, "value": "3"},
    ]
    assert (
        http.post("/api/dataValueSets", json={"dataSet": DS, "dataValues": values}).status_code
        == 200
    )
    one = http.get(
        "/api/dataValueSets", params={"dataSet": DS, "period": PAST, "orgUnit": OU_IN}
    ).json()
    assert one["dataSet"] == DS and one["period"] == PAST and one["orgUnit"] == OU_IN
    [row] = one["dataValues"]
    assert row["value"] == "1" and row["comment"] == "c" and row["storedBy"] == "admin"
    assert row["categoryOptionCombo"] == "HllvX50cXC0" and row["followup"] is False
    tree = http.get(
        "/api/dataValueSets",
        params={
            "dataSet": DS,
            "startDate": "2025-04-01",
            "endDate": "2025-05-31",
            "orgUnit": ROOT,
            "children": "true",
        },
    ).json()
    assert sorted(v["value"] for v in tree["dataValues"]) == ["1", "2", "3"]
    refused = http.get("/api/dataValueSets", params={"dataSet": DS, "orgUnit": OU_IN})
    assert refused.status_code == 409 and refused.json()["errorCode"] == "E2002"


def test_async_import_polls_to_a_summary(http: httpx.Client) -> None:
    payload = {
        "dataSet": DS,
        "dataValues": [{"dataElement": DE_INT, "period": PAST, "orgUnit": OU_IN, "value": "1.5"}],
    }
    started = http.post("/api/dataValueSets", params={"async": "true"}, json=payload)
    assert started.status_code == 200  # async ignores the 200/409 rule (§5)
    job = started.json()["response"]["id"]
    summary_url = f"/api/system/taskSummaries/DATAVALUE_IMPORT/{job}"
    for _ in range(200):
        early = http.get(summary_url).content
        notes = http.get(f"/api/system/tasks/DATAVALUE_IMPORT/{job}").json()
        if notes[0]["completed"]:
            break
        assert early == b""  # not ready (the job had not run then): 200 with an empty body
        time.sleep(0.02)
    assert [n["message"] for n in notes] == [
        "Import done",
        "Importing data values",
        "Process started",
    ]
    summary = http.get(summary_url).json()
    assert summary["responseType"] == "ImportSummary" and summary["status"] == "WARNING"
    assert summary["conflicts"][0]["errorCode"] == "E7619"


def test_id_schemes_dry_run_and_strategies(sb40: RunningSandbox, http: httpx.Client) -> None:
    by_code: dict[str, Any] = {
        "dataSet": "MONTHLY",
        "dataSetIdScheme": "CODE",
        "dataElementIdScheme": "CODE",
        "orgUnitIdScheme": "CODE",
        "dataValues": [{"dataElement": "NUM", "period": PAST, "orgUnit": "IN_A", "value": "5"}],
    }
    dry = http.post("/api/dataValueSets", params={"dryRun": "true"}, json=by_code)
    assert counts(dry) == (1, 0, 0, 0) and sb40.values() == []  # counted, not written
    assert counts(http.post("/api/dataValueSets", json=by_code)) == (1, 0, 0, 0)
    assert sb40.values() == [
        {
            "dataElement": DE_NUM,
            "period": PAST,
            "orgUnit": OU_IN,
            "categoryOptionCombo": "HllvX50cXC0",
            "attributeOptionCombo": "HllvX50cXC0",
            "value": "5",
        }
    ]
    create = http.post("/api/dataValueSets", params={"importStrategy": "CREATE"}, json=by_code)
    assert counts(create) == (0, 0, 1, 0)
    changed = {**by_code, "dataValues": [{**by_code["dataValues"][0], "value": "6"}]}
    assert counts(http.post("/api/dataValueSets", json=changed)) == (0, 1, 0, 0)
    deleted = http.post("/api/dataValueSets", params={"importStrategy": "DELETE"}, json=changed)
    assert counts(deleted) == (0, 0, 0, 1) and sb40.values() == []
    # a soft-deleted key is revived as imported (§4)
    assert counts(http.post("/api/dataValueSets", json=changed)) == (1, 0, 0, 0)
    # an insignificant zero on an existing value deletes it (§3.1.7: (0,0,1))
    zero: dict[str, Any] = {
        "dataSet": DS,
        "dataValues": [{"dataElement": DE_ZERO, "period": PAST, "orgUnit": OU_IN, "value": "3"}],
    }
    http.post("/api/dataValueSets", json=zero)
    zero["dataValues"][0]["value"] = "0"
    assert counts(http.post("/api/dataValueSets", json=zero)) == (0, 0, 0, 1)


def test_versioned_url_gives_plain_summary_on_2_40(http: httpx.Client) -> None:
    bad = {
        "dataSet": DS,
        "dataValues": [
            {"dataElement": "deUnknown01", "period": PAST, "orgUnit": OU_IN, "value": "1"}
        ],
    }
    plain = http.post("/api/37/dataValueSets", json=bad)
    assert plain.status_code == 200 and plain.json()["responseType"] == "ImportSummary"
    wrapped = http.post("/api/dataValueSets", json=bad)
    assert wrapped.status_code == 409 and wrapped.json()["status"] == "WARNING"


def test_2_43_admin_bypasses_future_periods_but_2_40_does_not() -> None:
    current = {
        "dataSet": DS,
        "dataValues": [{"dataElement": DE_NUM, "period": "202506", "orgUnit": OU_IN, "value": "1"}],
    }
    with sandbox("2.43") as sb, client(sb) as http:
        assert http.post("/api/dataValueSets", json=current).status_code == 200
    with sandbox("2.40") as sb, client(sb) as http:
        refused = http.post("/api/dataValueSets", json=current)
        assert refused.status_code == 409
        assert summary_of(refused.json())["conflicts"][0]["errorCode"] == "E7641"


def test_open_future_period_accepts_today(http: httpx.Client) -> None:
    today = TODAY.strftime("%Y%m%d")
    ok = {
        "dataSet": "dsDailyOpen",
        "dataValues": [{"dataElement": DE_DAILY, "period": today, "orgUnit": OU_IN, "value": "1"}],
    }
    assert counts(http.post("/api/dataValueSets", json=ok)) == (1, 0, 0, 0)


def test_values_survive_a_restart_on_the_same_file(tmp_path: Path) -> None:
    data = tmp_path / "values.sqlite"
    payload = {
        "dataSet": DS,
        "dataValues": [{"dataElement": DE_NUM, "period": PAST, "orgUnit": OU_IN, "value": "42"}],
    }
    with sandbox("2.40", data_path=data) as sb, client(sb) as http:
        assert counts(http.post("/api/dataValueSets", json=payload)) == (1, 0, 0, 0)
    with sandbox("2.40", data_path=data) as sb, client(sb) as http:
        assert [v["value"] for v in sb.values()] == ["42"]
        assert counts(http.post("/api/dataValueSets", json=payload)) == (0, 0, 1, 0)


def test_committed_demo_export_equals_demo_metadata() -> None:
    assert json.loads(DEMO_METADATA_PATH.read_text(encoding="utf-8")) == demo_metadata()


def _push(sb: RunningSandbox, payload: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(base_url=sb.url, auth=("admin", "pw")) as http:
        response = http.post("/api/dataValueSets", json=payload)
        assert response.status_code == 200, response.text
        return summary_of(response.json())


def test_demo_pushes_of_the_three_example_setups_succeed() -> None:
    config = SandboxConfig(metadata=demo_metadata(stores=3, items=5), users={"admin": "pw"})
    with start_sandbox(config) as sb:
        ou = dc.store_code(2)
        kiribati = {
            "dataSet": dc.KIRIBATI_DATA_SET,
            "idScheme": "CODE",
            "dataSetIdScheme": "UID",
            "categoryOptionComboIdScheme": "UID",
            "dataValues": [
                {
                    "dataElement": dc.item_universal_code(1),
                    "period": "202401",
                    "orgUnit": ou,
                    "categoryOptionCombo": coc,
                    "value": "12",
                }
                for coc in dc.KIRIBATI_COCS.values()
            ],
        }
        assert _push(sb, kiribati)["importCount"]["imported"] == 3
        tonga = {
            "dataSet": dc.TONGA_DATA_SET,
            "dataValues": [
                {
                    "dataElement": dc.item_user_field_1(1),
                    "period": "202401",
                    "orgUnit": dc.org_unit_uid(1),
                    "value": "3",
                },
                {
                    "dataElement": dc.item_user_field_2(1),
                    "period": "202401",
                    "orgUnit": dc.org_unit_uid(1),
                    "value": "0",
                },
            ],
        }
        assert _push(sb, tonga)["importCount"]["imported"] == 2
        vanuatu = {
            "dataSet": "VANUATU_STOCK",
            "dataSetIdScheme": "CODE",
            "dataElementIdScheme": "CODE",
            "orgUnitIdScheme": "CODE",
            "dataValues": [
                {
                    "dataElement": dc.item_user_field_6(1),
                    "period": "20240115",
                    "orgUnit": ou,
                    "value": "7",
                },
                {
                    "dataElement": dc.vanuatu_value_element(1),
                    "period": "20240115",
                    "orgUnit": ou,
                    "value": "70.5",
                },
            ],
        }
        assert _push(sb, vanuatu)["importCount"]["imported"] == 2
        assert len(sb.values()) == 7
