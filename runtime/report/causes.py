"""Conflicts by cause: many identical refusals (334 × E7613 for one wrong option combo) become one
line with a count, the stores and items it hit summarised, and a hint.

A cause is (withheld or refused by DHIS2, DHIS2's code — or the message when there is none, as
on 2.36 —, the spec line). The CLI, ``log`` and the report show causes; ``--json`` and the
journal keep every conflict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dhispatch.runtime.journal import WITHHELD
from dhispatch.runtime.journal import WITHHELD_PREFIX
from dhispatch.runtime.journal import ConflictRow

# What to do about a code, when nothing more specific (preflight's "did you mean") is known.
HINTS = {
    "E7610": "the data element does not exist: `dhispatch preflight SPEC --source DB` names it",
    "E7611": "DHIS2 cannot read the period",
    "E7612": "the org unit does not exist: `dhispatch preflight SPEC --source DB` names it",
    "E7613": "the category option combo does not exist, or a category option of it is not "
    "shared with the user for data write: `dhispatch preflight SPEC` says which",
    "E7614": "share the category option with the user (or a group of it): 'can capture data'",
    "E7617": "add the org unit (or an ancestor) to the user's data capture org units",
    "E7619": "the value does not fit the data element's value type (`round`?)",
    "E7640": "the period is locked by the data set's expiry days (F_EDIT_EXPIRED passes)",
    "E7641": "the period is not open yet: raise openFuturePeriods or push earlier periods",
    "E7642": "the period is approved: unapprove it in DHIS2 to push it again",
    "E7643": "the period is outside the data set's data input periods",
    "E8010": "share the data set with the user (or a group of it): 'can capture data'",
    "E8011": "add the org unit (or an ancestor) to the user's data capture org units",
    "E8012": "share the category options with the user (or a group of it): 'can capture data'",
    "E8020": "the data element is not in the data set: `dhispatch preflight SPEC --source DB`",
    "E8022": "assign the org unit to the data set in DHIS2",
    "E8024": "the category option combo is not in the data element's category combo",
    "E8030": "the period is not open for data entry (expiry days, open future periods or data "
    "input periods): `dhispatch preflight SPEC --period P` says which",
    "E8031": "the org unit is closed (or not open yet) for the period",
    "E8033": "the period is approved: unapprove it in DHIS2 to push it again",
}
HINTS["E7615"] = HINTS["E7613"]
HINTS["E7616"] = HINTS["E7614"]
HINTS["E7601"] = HINTS["E8010"]
# A withheld value's code says less than the rule that withheld it (E7613 is also "not found").
WITHHELD_HINTS = {"E7613": HINTS["E7614"], "E7615": HINTS["E7614"]}


@dataclass(frozen=True, slots=True)
class Cause:
    """Identical refusals, counted: ``message`` is the most frequent of their messages."""

    withheld: bool
    code: str | None
    origin: str | None
    message: str
    count: int
    messages: int  # distinct messages under this cause
    stores: tuple[str, ...]
    items: tuple[str, ...]
    indicators: tuple[str, ...]
    hint: str | None

    @property
    def headline(self) -> str:
        """One line: how many, what happened, the (most frequent) message, what it hit."""
        what = "value" if self.count == 1 else "values"
        done = "not sent (DHIS2 would refuse them)" if self.withheld else "refused by DHIS2"
        more = f" (and {self.messages - 1} similar)" if self.messages > 1 else ""
        hit = "; ".join(
            x for x in (listing("store", self.stores), listing("item", self.items)) if x
        )
        said = self.message.removeprefix(WITHHELD_PREFIX) if self.withheld else self.message
        return f"{self.count} {what} {done}: {said}{more}" + (f" — {hit}" if hit else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "withheld": self.withheld, "code": self.code, "origin": self.origin,
            "message": self.message, "count": self.count, "messages": self.messages,
            "stores": list(self.stores), "items": list(self.items),
            "indicators": list(self.indicators), "hint": self.hint,
        }  # fmt: skip


def by_cause(rows: Sequence[ConflictRow], hints: Mapping[str, str] | None = None) -> list[Cause]:
    """The rows grouped by cause, the largest first; for DHIS2's refusals, ``hints`` by spec
    line (``path:line``: preflight's "did you mean") win over the code's."""
    groups: dict[tuple[bool, str, str], list[ConflictRow]] = {}
    for row in rows:
        key = (row.batch_id == WITHHELD, row.code or row.message, row.origin or "")
        groups.setdefault(key, []).append(row)
    causes = [_cause(withheld, group, hints or {}) for (withheld, _, _), group in groups.items()]
    return sorted(causes, key=lambda c: (-c.count, c.origin or "", c.code or ""))


def _cause(withheld: bool, group: list[ConflictRow], hints: Mapping[str, str]) -> Cause:
    first = group[0]
    messages = Counter(r.message for r in group)
    origin = first.origin or None
    known = {**HINTS, **WITHHELD_HINTS} if withheld else HINTS
    said = hints.get(spec_line(origin)) if origin and not withheld else None
    hint = said or known.get(first.code or "")
    return Cause(
        withheld=withheld, code=first.code, origin=origin,
        message=messages.most_common(1)[0][0], count=len(group), messages=len(messages),
        stores=_distinct(r.store for r in group), items=_distinct(r.item for r in group),
        indicators=_distinct(r.indicator for r in group), hint=hint,
    )  # fmt: skip


def spec_line(origin: str) -> str:
    """``specs/x.push:12:3`` → ``specs/x.push:12`` (findings and conflicts meet on the line)."""
    return origin.rsplit(":", 1)[0]


def _distinct(values: Any) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if v}))


def listing(noun: str, values: Sequence[str], limit: int = 3) -> str:
    """``store S001`` / ``12 stores (S001, S002, S003 and 9 more)`` / empty."""
    if not values:
        return ""
    if len(values) == 1:
        return f"{noun} {values[0]}"
    shown = ", ".join(values[:limit])
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return f"{len(values)} {noun}s ({shown}{more})"
