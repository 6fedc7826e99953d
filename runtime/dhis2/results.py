"""Read a ``POST /api/dataValueSets`` answer of any DHIS2 generation into one ``ImportResult``.

≤2.36 and 2.37 answer with a bare ImportSummary (HTTP 200); 2.38–2.42 wrap it in a WebMessage and
say 409 for WARNING; 2.43+ wrap it and say 200 for WARNING. A 409 carrying an ImportSummary is a
normal (partial) result, never an error. Conflicts are mapped to positions in the pushed batch:
from ``indexes`` when DHIS2 gives them (2.37+), else by matching the conflict's ``object``.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from dhispatch.runtime.dhis2.errors import ProtocolError
from dhispatch.runtime.dhis2.models import Conflict
from dhispatch.runtime.dhis2.models import DataValue
from dhispatch.runtime.dhis2.models import ImportResult

STATUSES = ("SUCCESS", "WARNING", "ERROR", "OK")


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
    http_status: int, body: Any, batch: Sequence[DataValue], scrub: Any = None
) -> ImportResult:
    """Normalise an import answer; ``scrub`` (str → str) cleans echoed text of secrets."""
    clean = scrub or (lambda s: s)
    summary = find_summary(body)
    if summary is None:
        if isinstance(body, Mapping) and isinstance(body.get("message"), str):
            # A WebMessage refusal without an ImportSummary (400 bad payload, 403, 404, …).
            return ImportResult(
                status="ERROR",
                http_status=http_status,
                imported=0,
                updated=0,
                ignored=len(batch),
                deleted=0,
                conflicts=(),
                description=clean(str(body["message"])),
                size=len(batch),
            )
        raise ProtocolError(f"DHIS2 answered HTTP {http_status} with an unknown import response")
    counts = summary.get("importCount") or {}
    if not isinstance(counts, Mapping):
        raise ProtocolError("DHIS2's import summary has an unreadable importCount")
    raw_conflicts = summary.get("conflicts") or []
    if not isinstance(raw_conflicts, list):
        raise ProtocolError("DHIS2's import summary has an unreadable conflicts list")
    conflicts = tuple(_conflict(c, batch, clean) for c in raw_conflicts if isinstance(c, Mapping))
    status = str(summary.get("status") or "").upper()
    if status not in STATUSES:
        raise ProtocolError(f"DHIS2's import summary has an unknown status {status!r}")
    if status == "OK":
        status = "SUCCESS"
    description = summary.get("description")
    return ImportResult(
        status=status,
        http_status=http_status,
        imported=_int(counts.get("imported")),
        updated=_int(counts.get("updated")),
        ignored=_int(counts.get("ignored")),
        deleted=_int(counts.get("deleted")),
        conflicts=conflicts,
        description=clean(description) if isinstance(description, str) else None,
        size=len(batch),
    )


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise ProtocolError(f"DHIS2's import count {value!r} is not a number") from None


def _conflict(raw: Mapping[str, Any], batch: Sequence[DataValue], clean: Any) -> Conflict:
    message = clean(str(raw.get("value") or raw.get("message") or ""))
    code = raw.get("errorCode")
    objects_raw = raw.get("objects")
    objects: dict[str, str] = {}
    if isinstance(objects_raw, Mapping):
        objects = {str(k): clean(str(v)) for k, v in objects_raw.items()}
    elif raw.get("object") is not None:
        objects = {"object": clean(str(raw["object"]))}
    indexes_raw = raw.get("indexes")
    if isinstance(indexes_raw, list) and indexes_raw:
        if any(i == -1 for i in indexes_raw):
            # 2.43+ decode failure: the whole request was refused.
            indexes: tuple[int, ...] = tuple(range(len(batch)))
        else:
            indexes = tuple(sorted({int(i) for i in indexes_raw if isinstance(i, int) and i >= 0}))
    else:
        indexes = _match_object(raw.get("object"), message, batch)
    return Conflict(
        indexes=indexes,
        error_code=str(code) if code is not None else None,
        message=message,
        objects=objects,
    )


def _match_object(obj: Any, message: str, batch: Sequence[DataValue]) -> tuple[int, ...]:
    """≤2.36 conflicts name only an ``object``: an id (data element, org unit, COC, period) or,
    for a bad value, the value itself. Map it to the values it can concern; () when unsure."""
    if not isinstance(obj, str) or not obj:
        return ()
    fields = ("data_element", "org_unit", "category_option_combo", "period")
    for name in fields:
        hits = tuple(i for i, v in enumerate(batch) if getattr(v, name) == obj)
        if hits:
            return hits
    hits = tuple(i for i, v in enumerate(batch) if v.value == obj)
    if hits:
        # "Data value is not an integer, must match data element type: <de>": narrow by element.
        de_hits = tuple(i for i in hits if batch[i].data_element in message)
        return de_hits or hits
    return ()
