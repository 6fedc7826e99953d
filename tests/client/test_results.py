"""The four DHIS2 response generations normalise to one ImportResult (samples: reference §2)."""

from __future__ import annotations

import pytest

from dhispatch.runtime.dhis2 import DataValue
from dhispatch.runtime.dhis2 import ProtocolError
from dhispatch.runtime.dhis2.results import parse_import

BATCH = [
    DataValue("DEancVisit1", "209503", "OU1", None, "5"),
    DataValue("deA", "202401", "OU1", None, "12.5"),
    DataValue("deB", "202401", "OU2", None, "7"),
    DataValue("deB", "202401", "OU3", None, "8"),
]


def test_236_bare_summary_maps_conflicts_by_object() -> None:
    body = {
        "responseType": "ImportSummary",
        "status": "WARNING",
        "importCount": {"imported": 2, "updated": 0, "ignored": 2, "deleted": 0},
        "conflicts": [
            {"object": "deB", "value": "Data element not found or not accessible"},
            {
                "object": "12.5",
                "value": "Data value is not an integer, must match data element type: deA",
            },
        ],
    }
    result = parse_import(200, body, BATCH)
    assert (result.status, result.http_status, result.imported, result.ignored) == (
        "WARNING", 200, 2, 2,
    )  # fmt: skip
    assert result.conflicts[0].indexes == (2, 3)
    assert result.conflicts[0].objects == {"object": "deB"}
    assert result.conflicts[1].indexes == (1,)
    assert result.rejected_indexes == frozenset({1, 2, 3})
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
    result = parse_import(200, body, BATCH)
    assert result.conflicts[0].error_code == "E7619"
    assert result.conflicts[0].indexes == (1,)
    assert result.rejected_indexes == frozenset({1})


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
    result = parse_import(409, body, BATCH[:1])
    assert (result.status, result.http_status, result.ignored) == ("WARNING", 409, 1)
    assert result.conflicts[0].error_code == "E7641"
    assert result.conflicts[0].objects["period"] == "209503"
    assert result.description == "Import process completed successfully"
    assert result.rejected_indexes == frozenset({0})


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
                {"objects": {"args": "deB-OU2"}, "value": "not usable", "errorCode": "E8022",
                 "indexes": [2, 3]},
            ],
        },
    }  # fmt: skip
    result = parse_import(200, body, BATCH)
    assert result.conflicts[0].objects == {"args": "deB-OU2"}
    assert result.rejected_indexes == frozenset({2, 3})
    decode = {
        "status": "ERROR",
        "response": {
            "responseType": "ImportSummary",
            "status": "ERROR",
            "importCount": {"imported": 0, "updated": 0, "ignored": 4, "deleted": 0},
            "conflicts": [{"objects": {"args": "x"}, "value": "DE not found", "errorCode": "E8103",
                           "indexes": [-1]}],
        },
    }  # fmt: skip
    failed = parse_import(409, decode, BATCH)
    assert failed.conflicts[0].indexes == (0, 1, 2, 3)
    assert failed.rejected_indexes == frozenset(range(4))


def test_data_set_abort_rejects_everything_and_webmessage_without_summary() -> None:
    body = {
        "responseType": "ImportSummary",
        "status": "ERROR",
        "description": "Import process was aborted",
        "importCount": {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0},
        "conflicts": [{"object": "xx", "value": "Data set not found", "errorCode": "E7600"}],
    }
    assert parse_import(409, body, BATCH).rejected_indexes == frozenset(range(4))
    bad = parse_import(400, {"httpStatusCode": 400, "message": "not valid DXF"}, BATCH)
    assert (bad.status, bad.description, bad.ok) == ("ERROR", "not valid DXF", False)


@pytest.mark.parametrize(
    "body",
    [[1, 2], {"unrelated": True}, {"responseType": "ImportSummary", "status": "MAYBE"}],
)
def test_unknown_shapes_are_protocol_errors(body: object) -> None:
    with pytest.raises(ProtocolError):
        parse_import(200, body, BATCH)
