"""Response shapes per version generation: ImportSummary, WebMessage wrapper, errors (§2)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from dhispatch.runtime.sandbox.summary import Conflict
from dhispatch.runtime.sandbox.summary import ImportSummary
from dhispatch.runtime.sandbox.versions import Version

WRAPPER_MESSAGES = {
    "SUCCESS": "Import was successful.",
    "ERROR": "An error occurred, please check import summary.",
}
WARNING_MESSAGE_40 = "One more conflicts encountered, please check import summary."  # sic (§2.2)
WARNING_MESSAGE_43 = "Import completed with warnings, please check import summary."


def web_message(
    status_code: int, message: str | None, *, status: str = "ERROR", **extra: Any
) -> dict[str, Any]:
    """A DHIS2 WebMessage in its JSON field order; ``errorCode`` etc. only when given, no
    ``message`` when there is none (NON_NULL)."""
    body: dict[str, Any] = {
        "httpStatus": HTTPStatus(status_code).phrase,
        "httpStatusCode": status_code,
        "status": status,
    }
    if "code" in extra:
        body["code"] = extra.pop("code")
    if message is not None:
        body["message"] = message
    body.update(extra)
    return body


def conflict_json(conflict: Conflict, generation: int) -> dict[str, Any]:
    if generation <= 36:
        return {"object": conflict.legacy[0], "value": conflict.legacy[1]}
    out: dict[str, Any] = {}
    if generation < 43:
        out["object"] = conflict.objects[0][1] if conflict.objects else None
    out["objects"] = dict(conflict.objects)
    out["value"] = conflict.message
    if conflict.code is not None:
        out["errorCode"] = conflict.code
    if generation < 43 and conflict.property is not None:
        out["property"] = conflict.property
    if conflict.indexes:
        out["indexes"] = list(conflict.indexes)
    return {k: v for k, v in out.items() if v is not None}


def summary_json(summary: ImportSummary, generation: int) -> dict[str, Any]:
    """The bare ImportSummary (NON_NULL: absent fields are omitted)."""
    body: dict[str, Any] = {
        "responseType": "ImportSummary",
        "status": summary.status,
        "importOptions": summary.options.to_json(),
        "description": summary.description,
        "importCount": {
            "imported": summary.imported,
            "updated": summary.updated,
            "ignored": summary.ignored,
            "deleted": summary.deleted,
        },
    }
    if summary.description is None:
        del body["description"]  # 2.43 sets none (DataEntrySummary.toImportSummary)
    conflicts = [conflict_json(c, generation) for c in summary.conflicts]
    if generation <= 36:  # a HashSet of {object, value}: equal pairs are one conflict
        conflicts = list({(c["object"], c["value"]): c for c in conflicts}.values())
    if conflicts:
        body["conflicts"] = conflicts
    if generation >= 37 and summary.rejected:  # 2.37+; 2.43 lists group indexes too
        body["rejectedIndexes"] = list(summary.rejected)
    body["dataSetComplete"] = summary.data_set_complete
    if generation >= 38:
        # 2.38+ field order puts responseType last (recorded 2.41/2.42 fixture, §2.1).
        body["responseType"] = body.pop("responseType")
    return body


def import_response(
    summary: ImportSummary, version: Version, plain: bool = False
) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of a synchronous import for a version (plain: /api/37/ on 2.38–2.42)."""
    gen = version.generation
    body = summary_json(summary, gen)
    if not version.wrapped or plain:
        return 200, body
    if summary.status == "SUCCESS":
        code, status, message = 200, "OK", WRAPPER_MESSAGES["SUCCESS"]
    elif summary.status == "WARNING":
        code = 200 if gen >= 43 else 409
        status = "WARNING"
        message = WARNING_MESSAGE_43 if gen >= 43 else WARNING_MESSAGE_40
    else:
        code, status, message = 409, "ERROR", WRAPPER_MESSAGES["ERROR"]
    return code, web_message(code, message, status=status, response=body)
