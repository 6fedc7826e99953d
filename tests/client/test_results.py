"""The four DHIS2 response generations read into one ImportResult, as sent, and what each proves
(samples: reference §2; the judging itself is ``test_reconcile``)."""

from __future__ import annotations

from typing import Any

import pytest

from dhispatch.runtime.dhis2 import DataValue
from dhispatch.runtime.dhis2 import ImportResult
from dhispatch.runtime.dhis2 import ProtocolError
from dhispatch.runtime.dhis2 import ServerVersion
from dhispatch.runtime.dhis2 import reconcile
from dhispatch.runtime.dhis2.results import find_summary
from dhispatch.runtime.dhis2.results import parse_import

BATCH = [
    DataValue("DEancVisit1", "209503", "OU1", None, "5"),
    DataValue("deA", "202401", "OU1", None, "12.5"),
    DataValue("deB", "202401", "OU2", None, "7"),
    DataValue("deB", "202401", "OU3", None, "8"),
]


def read(status: int, body: Any, batch: list[DataValue] = BATCH) -> ImportResult:
    summary = find_summary(body)
    if summary is None:
        raise ProtocolError("no import summary")
    return parse_import(status, summary, len(batch))


def test_236_bare_summary_places_conflicts_by_object() -> None:
    body = {
        "responseType": "ImportSummary",
        "status": "WARNING",
        "importCount": {"imported": 1, "updated": 0, "ignored": 3, "deleted": 0},
        "conflicts": [
            {"object": "deB", "value": "Data element not found or not accessible"},
            {
                "object": "12.5",
                "value": "Data value is not an integer, must match data element type: deA",
            },
        ],
    }
    result = read(200, body)
    assert (result.status, result.http_status, result.imported, result.ignored) == (
        "WARNING", 200, 1, 3,
    )  # fmt: skip
    assert result.conflicts[0].object == "deB" and result.conflicts[0].indexes is None
    verdict = reconcile(result, BATCH, ServerVersion(36, 13))
    assert set(verdict.refused) == {1, 2, 3} and verdict.held == {0}
    assert not result.ok


def test_237_bare_summary_with_indexes() -> None:
    body = {
        "responseType": "ImportSummary",
        "status": "WARNING",
        "importCount": {"imported": 3, "updated": 0, "ignored": 1, "deleted": 0},
        "conflicts": [
            {
                "object": "deA",
                "objects": {"dataElement": "deA", "value": "value_not_integer"},
                "value": "Value must match value type of data element `deA`",
                "errorCode": "E7619",
                "property": "value",
                "indexes": [1],
            }
        ],
        "rejectedIndexes": [1],
    }
    result = read(200, body)
    assert result.conflicts[0].error_code == "E7619"
    assert result.conflicts[0].indexes == (1,) and result.rejected == (1,)
    verdict = reconcile(result, BATCH, ServerVersion(37, 10))
    assert set(verdict.refused) == {1} and verdict.held == {0, 2, 3}


def test_240_webmessage_409_warning_is_a_result_not_an_error() -> None:
    # The recorded 2.4x sample from reference §2.2.
    body = {
        "httpStatus": "Conflict",
        "httpStatusCode": 409,
        "status": "WARNING",
        "message": "One more conflicts encountered, please check import summary.",
        "response": {
            "status": "WARNING",
            "importOptions": {},
            "description": "Import process completed successfully",
            "importCount": {"imported": 0, "updated": 0, "ignored": 1, "deleted": 0},
            "conflicts": [
                {
                    "object": "209503",
                    "objects": {"period": "209503", "dataElement": "DEancVisit1"},
                    "value": "Period: `209503` is after latest open future period",
                    "errorCode": "E7641",
                    "property": "period",
                    "indexes": [0],
                }
            ],
            "rejectedIndexes": [0],
            "dataSetComplete": "false",
            "responseType": "ImportSummary",
        },
    }
    result = read(409, body, BATCH[:1])
    assert (result.status, result.http_status, result.ignored) == ("WARNING", 409, 1)
    assert result.conflicts[0].error_code == "E7641"
    assert result.conflicts[0].objects["period"] == "209503"
    assert result.description == "Import process completed successfully"
    assert set(reconcile(result, BATCH[:1], ServerVersion(40, 4)).refused) == {0}


def test_243_group_conflict_and_decode_failure() -> None:
    body = {
        "httpStatus": "OK",
        "httpStatusCode": 200,
        "status": "WARNING",
        "response": {
            "responseType": "ImportSummary",
            "status": "WARNING",
            "importCount": {"imported": 0, "updated": 2, "ignored": 2, "deleted": 0},
            "conflicts": [
                {"objects": {"args": "deB-OU2"}, "value": "not a number", "errorCode": "E8122",
                 "indexes": [2, 3]},
            ],
            "rejectedIndexes": [2, 3],
        },
    }  # fmt: skip
    result = read(200, body)
    assert result.conflicts[0].objects == {"args": "deB-OU2"}
    verdict = reconcile(result, BATCH, ServerVersion(43, 0))
    assert set(verdict.refused) == {2, 3} and verdict.held == {0, 1}
    decode = {
        "status": "ERROR",
        "response": {
            "responseType": "ImportSummary",
            "status": "ERROR",
            "importCount": {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0},
            "conflicts": [{"objects": {"args": "1-deA"}, "errorCode": "E8103",
                           "value": "Value #1 data element not found: `deA`", "indexes": [-1]}],
        },
    }  # fmt: skip
    failed = read(409, decode)
    assert failed.conflicts[0].indexes == (-1,)
    verdict = reconcile(failed, BATCH, ServerVersion(43, 0))
    assert set(verdict.refused) == {1} and verdict.retry == {0, 2, 3} and not verdict.held


def test_data_set_abort_refuses_everything() -> None:
    body = {
        "responseType": "ImportSummary",
        "status": "ERROR",
        "description": "Import process was aborted",
        "importCount": {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0},
        "conflicts": [{"object": "xx", "value": "Data set not found", "errorCode": "E7600"}],
    }
    verdict = reconcile(read(409, body), BATCH, ServerVersion(40, 4))
    assert set(verdict.refused) == {0, 1, 2, 3} and not verdict.held


@pytest.mark.parametrize(
    "body",
    [{"responseType": "ImportSummary", "status": "MAYBE"},
     {"importCount": {"imported": "many"}, "status": "OK"},
     {"importCount": {}, "status": "OK", "rejectedIndexes": ["0"]}],
)  # fmt: skip
def test_unreadable_summaries_are_protocol_errors(body: object) -> None:
    with pytest.raises(ProtocolError):
        read(200, body)


@pytest.mark.parametrize("body", [[1, 2], {"unrelated": True}, {"message": "not valid DXF"}])
def test_bodies_without_a_summary_are_not_results(body: object) -> None:
    assert find_summary(body) is None
