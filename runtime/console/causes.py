"""A run's refusals grouped by cause with counts and hints: the report's ``by_cause`` when this
build has it (issue 11b), else grouped here by DHIS2's code (or message) alone."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dhispatch.runtime.journal import ConflictRow

CAUSES_MODULE = "dhispatch.runtime.report.causes"


@dataclass(frozen=True, slots=True)
class CauseView:
    count: int
    code: str
    message: str
    stores: tuple[str, ...]
    items: tuple[str, ...]
    hint: str
    withheld: bool = False


def causes(rows: Sequence[ConflictRow]) -> list[CauseView]:
    """The run's conflicts, one line per cause, the largest first."""
    try:
        by_cause = importlib.import_module(CAUSES_MODULE).by_cause
    except (ImportError, AttributeError):
        return _by_code(rows)
    return [_view(c) for c in by_cause(rows)]


def _view(cause: Any) -> CauseView:
    return CauseView(
        count=int(cause.count), code=cause.code or "", message=str(cause.message),
        stores=tuple(cause.stores), items=tuple(cause.items), hint=cause.hint or "",
        withheld=bool(cause.withheld),
    )  # fmt: skip


def _by_code(rows: Sequence[ConflictRow]) -> list[CauseView]:
    groups: dict[str, list[ConflictRow]] = {}
    for row in rows:
        groups.setdefault(row.code or row.message, []).append(row)
    views = [
        CauseView(
            count=len(group),
            code=group[0].code or "",
            message=group[0].message,
            stores=tuple(sorted({r.store for r in group if r.store})),
            items=tuple(sorted({r.item for r in group if r.item})),
            hint="",
        )  # fmt: skip
        for group in groups.values()
    ]
    return sorted(views, key=lambda v: (-v.count, v.code))
