"""Read a ``POST /api/dataValueSets`` answer of any DHIS2 generation into one ``ImportResult``.

≤2.36 and 2.37 answer with a bare ImportSummary (HTTP 200); 2.38–2.42 wrap it in a WebMessage and
say 409 for WARNING; 2.43+ wrap it and say 200 for WARNING. A 409 carrying an ImportSummary is a
normal (partial) result, never an error. The summary is read as sent — conflict indexes, objects,
``rejectedIndexes`` — and judged by ``reconcile``; a body without a summary is not a result.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from dhispatch.runtime.dhis2.errors import ProtocolError
from dhispatch.runtime.dhis2.models import Conflict
from dhispatch.runtime.dhis2.models import ImportResult

STATUSES = ("SUCCESS", "WARNING", "ERROR", "OK")
Scrub = Callable[[str], str]


def find_summary(body: Any) -> Mapping[str, Any] | None:
    """The ImportSummary inside a body (bare, or as a WebMessage's ``response``), if any."""
    if not isinstance(body, Mapping):
        return None
    if _looks_like_summary(body):
        return body
    response = body.get("response")
    if isinstance(response, Mapping) and _looks_like_summary(response):
        return response
    return None


def _looks_like_summary(obj: Mapping[str, Any]) -> bool:
    return obj.get("responseType") == "ImportSummary" or "importCount" in obj


def parse_import(
    http_status: int, summary: Mapping[str, Any], size: int, scrub: Scrub | None = None
) -> ImportResult:
    """An import summary (``find_summary``'s) as sent; ``scrub`` cleans echoed text of secrets."""
    clean: Scrub = scrub or (lambda s: s)
    counts = summary.get("importCount") or {}
    if not isinstance(counts, Mapping):
        raise ProtocolError("DHIS2's import summary has an unreadable importCount")
    raw_conflicts = summary.get("conflicts") or []
    if not isinstance(raw_conflicts, list):
        raise ProtocolError("DHIS2's import summary has an unreadable conflicts list")
    status = str(summary.get("status") or "").upper()
    if status not in STATUSES:
        raise ProtocolError(f"DHIS2's import summary has an unknown status {status!r}")
    description = summary.get("description")
    return ImportResult(
        status="SUCCESS" if status == "OK" else status,
        http_status=http_status,
        imported=_int(counts.get("imported")),
        updated=_int(counts.get("updated")),
        ignored=_int(counts.get("ignored")),
        deleted=_int(counts.get("deleted")),
        conflicts=tuple(_conflict(c, clean) for c in raw_conflicts if isinstance(c, Mapping)),
        description=clean(description) if isinstance(description, str) else None,
        size=size,
        rejected=_indexes(summary.get("rejectedIndexes")),
    )


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise ProtocolError(f"DHIS2's import count {value!r} is not a number") from None


def _indexes(raw: Any) -> tuple[int, ...] | None:
    if not isinstance(raw, list):
        return None
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in raw):
        raise ProtocolError("DHIS2's import summary has indexes that are not numbers")
    return tuple(raw)


def _conflict(raw: Mapping[str, Any], clean: Scrub) -> Conflict:
    message = clean(str(raw.get("value") or raw.get("message") or ""))
    code = raw.get("errorCode")
    objects_raw = raw.get("objects")
    objects: dict[str, str] = {}
    if isinstance(objects_raw, Mapping):
        objects = {str(k): clean(str(v)) for k, v in objects_raw.items()}
    obj = raw.get("object")
    indexes = raw.get("indexes")
    return Conflict(
        indexes=_indexes(indexes) if indexes else None,
        error_code=str(code) if code is not None else None,
        message=message,
        objects=objects,
        object=clean(str(obj)) if obj is not None else None,
    )
