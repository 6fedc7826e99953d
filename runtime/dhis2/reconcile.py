"""Which values of a pushed batch DHIS2 holds, proven by its import summary — or nothing.

A value counts as held only when the reply proves it: the counts reconcile with what was sent,
as the server's version counts (reference §4), and every refusal is placed on the values it
concerns (by index on 2.37+, by the conflict's ``object`` on ≤2.36, unambiguously). A reply that
proves less — a conflict naming nothing sent, an index out of range, counts that do not add up —
proves nothing: the batch stays due and ``unconfirmed`` says why.

A refusal of the whole request or data set group (2.43+) that names its culprits (a decode
failure's value index, the identifiers of a key check) refuses those and asks for the rest to be
sent again (``retry``), so one unknown code does not block a country.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

from dhispatch.runtime.dhis2.models import Conflict
from dhispatch.runtime.dhis2.models import DataValue
from dhispatch.runtime.dhis2.models import ImportResult
from dhispatch.runtime.dhis2.version import ServerVersion

DELETE = "DELETE"
_ZERO = re.compile(r"^0(\.0*)?$")  # ValidationUtils.dataValueIsZeroAndInsignificant's zero
# refusals for a period not open *yet*: the value may be accepted later (a clock that was fast,
# the running period of a data set without open future periods), so its slot stays due
NOT_YET = frozenset({"E7641", "E8030"})
_NOT_YET_TEXT = "after latest open future period"  # ≤2.36 says it without a code
_KINDS = ("data_element", "org_unit", "category_option_combo", "attribute_option_combo", "period")
NO_REASON = "DHIS2 rejected this value without saying why (rejectedIndexes, no conflict)"


@dataclass(frozen=True, slots=True)
class Placement:
    """Conflicts laid on the values they concern."""

    refused: Mapping[int, tuple[Conflict, ...]]
    absent: frozenset[int] = frozenset()  # in rejectedIndexes without a conflict
    whole: Conflict | None = None  # refuses the whole request (2.43 index -1, a ≤2.42 abort)
    problem: str | None = None  # a conflict or index that cannot be placed


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What a reply proves: ``held`` (for a DELETE batch: no longer held), ``refused`` with their
    conflicts, ``retry`` (named out of a whole refusal: send again), or ``unconfirmed``."""

    held: frozenset[int] = frozenset()
    refused: Mapping[int, tuple[Conflict, ...]] = field(default_factory=dict)
    retry: frozenset[int] = frozenset()
    unconfirmed: str | None = None
    whole: Conflict | None = None  # every value refused by one refusal naming none of them


def reconcile(
    result: ImportResult,
    values: Sequence[DataValue],
    version: ServerVersion | None,
    strategy: str = "CREATE_AND_UPDATE",
    aliases: Mapping[str, str] | None = None,
) -> Reconciliation:
    """Judge one import summary against the values that were sent. ``aliases`` map identifiers
    in DHIS2's words (≤2.36 names found objects by UID) to the ones sent (codes)."""
    placement = place(result, values, aliases or {})
    if placement.problem is not None:
        return Reconciliation(unconfirmed=placement.problem)
    if placement.whole is not None:
        return _whole(result, values, placement.whole)
    if _group_refusal(result, placement, len(values)):
        return _whole(result, values, result.conflicts[0])
    generation = version.generation if version is not None else 40
    problem = _counts_problem(result, values, placement, version, generation, strategy)
    if problem is not None:
        return Reconciliation(unconfirmed=f"{problem}; the batch stays due")
    refused = dict(placement.refused)
    if strategy != DELETE:
        no_reason = Conflict(None, None, NO_REASON)
        refused.update({i: (no_reason,) for i in placement.absent})
    held = frozenset(range(len(values))) - refused.keys()
    return Reconciliation(held=held, refused=refused)


def place(
    result: ImportResult, values: Sequence[DataValue], aliases: Mapping[str, str] | None = None
) -> Placement:
    """Each conflict on the values it concerns; a problem when one cannot be placed."""
    n = len(values)
    refused: dict[int, list[Conflict]] = {}
    unplaced: list[Conflict] = []
    for conflict in result.conflicts:
        if conflict.indexes is not None:
            if -1 in conflict.indexes:
                return Placement({}, whole=conflict)
            bad = [i for i in conflict.indexes if not 0 <= i < n]
            if bad:
                return Placement({}, problem=_out_of_range(conflict, bad[0], n))
            hits: tuple[int, ...] = conflict.indexes
        else:
            hits = match_object(conflict, values, aliases or {})
        if not hits:
            unplaced.append(conflict)
        for i in hits:
            refused.setdefault(i, []).append(conflict)
    rejected = result.rejected or ()
    if bad_rejected := [i for i in rejected if not 0 <= i < n]:
        return Placement({}, problem=f"DHIS2 lists value {bad_rejected[0]} as rejected, but "
                                     f"the batch has {n} values")  # fmt: skip
    if unplaced:
        if result.status == "ERROR" and result.counted == 0:
            return Placement({}, whole=unplaced[0])  # a data set level abort (≤2.42)
        return Placement({}, problem=_unplaced(unplaced[0]))
    absent = frozenset(i for i in rejected if i not in refused)
    return Placement({i: tuple(c) for i, c in refused.items()}, absent)


def _out_of_range(conflict: Conflict, index: int, n: int) -> str:
    return (
        f"DHIS2's conflict {conflict.error_code or ''} names value {index}, but the batch has "
        f"{n} values: which values it refused is unknown".replace("  ", " ")
    )


def _unplaced(conflict: Conflict) -> str:
    what = conflict.object or ", ".join(conflict.objects.values()) or "nothing"
    return (
        f"DHIS2 refused {what!r} ({conflict.message}), which names no value that was sent: "
        "which values it refused is unknown"
    )


def match_object(
    conflict: Conflict, values: Sequence[DataValue], aliases: Mapping[str, str] | None = None
) -> tuple[int, ...]:
    """≤2.36: the values a conflict's ``object`` names — an identifier of one kind (data element,
    org unit, option combo, period; a UID read through ``aliases`` as the code sent) or, for a
    bad value, the value itself narrowed by the element its message names. () when it names
    nothing sent, or identifiers of two kinds (ambiguous)."""
    alias = aliases or {}
    obj = alias.get(conflict.object or "", conflict.object)
    if not obj:
        return ()
    found = [tuple(i for i, v in enumerate(values) if getattr(v, kind) == obj) for kind in _KINDS]
    found = [hits for hits in found if hits]
    if len(found) == 1:
        return found[0]
    if found:
        return ()  # the same text is an identifier of two kinds: ambiguous
    hits = tuple(i for i, v in enumerate(values) if v.value == obj)
    named = {values[i].data_element for i in hits if values[i].data_element in conflict.message}
    named |= {code for uid, code in alias.items() if uid in conflict.message}
    narrowed = tuple(i for i in hits if values[i].data_element in named)
    return narrowed if narrowed else ()


UID = re.compile(r"\b[A-Za-z][A-Za-z0-9]{10}\b")


def unplaced_uids(result: ImportResult) -> set[str]:
    """UIDs that conflicts without indexes (≤2.36) name, in their object or message."""
    found: set[str] = set()
    for conflict in result.conflicts:
        if conflict.indexes is None:
            found |= set(UID.findall(f"{conflict.object or ''} {conflict.message}"))
    return found


def _group_refusal(result: ImportResult, placement: Placement, n: int) -> bool:
    """2.43+: one group conflict (``objects: {args}``) listing every value, nothing written."""
    if result.status != "ERROR" or len(result.conflicts) != 1 or n < 1:
        return False
    conflict = result.conflicts[0]
    return (
        set(conflict.objects) == {"args"}
        and len(placement.refused) == n
        and not (result.imported + result.updated + result.deleted)
    )


def _whole(result: ImportResult, values: Sequence[DataValue], conflict: Conflict) -> Reconciliation:
    """A refusal of everything sent: its named culprits refused and the rest sent again, or (when
    it names none, or all) every value refused — provided DHIS2 wrote nothing."""
    if result.imported + result.updated + result.deleted:
        return Reconciliation(
            unconfirmed=f"DHIS2 refused the whole batch ({conflict.message}) yet counts values "
            "as written; the batch stays due"
        )
    everything = frozenset(range(len(values)))
    named = named_values(conflict, values)
    if named and named != everything:
        return Reconciliation(refused={i: (conflict,) for i in named}, retry=everything - named)
    return Reconciliation(
        refused={i: (conflict,) for i in everything}, whole=None if named else conflict
    )


def named_values(conflict: Conflict, values: Sequence[DataValue]) -> frozenset[int]:
    """The values a whole refusal names: a 2.43 decode failure's value (``args`` start with its
    index, then the identifier it could not decode) and every value carrying that identifier —
    they would fail the same way; else the values whose identifiers appear in its arguments."""
    args = conflict.objects.get("args")
    if args is None:
        return frozenset()
    head, _, ident = args.partition("-")
    if (conflict.error_code or "").startswith("E81") and head.isdigit():
        index = int(head)
        if index >= len(values):
            return frozenset()
        same = {i for i, v in enumerate(values) if ident and ident in _identifiers(v)}
        return frozenset({index} | same)
    return frozenset(i for i, v in enumerate(values) if _mentions(args, v))


def _identifiers(value: DataValue) -> tuple[str | None, ...]:
    return (value.data_element, value.org_unit, value.category_option_combo,
            value.attribute_option_combo, value.period)  # fmt: skip


def _mentions(text: str, value: DataValue) -> bool:
    for ident in _identifiers(value):
        if ident and re.search(rf"(?<![\w.]){re.escape(ident)}(?![\w.])", text):
            return True
    return False


def _counts_problem(
    result: ImportResult,
    values: Sequence[DataValue],
    placement: Placement,
    version: ServerVersion | None,
    generation: int,
    strategy: str,
) -> str | None:
    """Why the counts do not prove the placement, as this generation counts; None when they do."""
    n = len(values)
    refused = len(placement.refused)
    held = [values[i] for i in range(n) if i not in placement.refused]
    zeros = sum(1 for v in held if _ZERO.match(v.value))
    if generation >= 43:
        return _counts_43(result, n, refused, strategy)
    deleting = strategy == DELETE
    status = _status_problem(result, refused)
    if status:
        return status
    skipped = n - result.counted
    extra = result.ignored - refused - len(placement.absent)
    if skipped < 0:
        return f"DHIS2 counts {result.counted} values but {n} were sent"
    if skipped > (0 if generation == 36 else zeros):
        return f"DHIS2 accounts for {result.counted} of the {n} values sent"
    if extra < 0:
        rejected = refused + len(placement.absent)
        return f"DHIS2 refused {rejected} values but counts {result.ignored} ignored"
    if deleting:
        written = result.imported + result.updated
        return f"a deletion counted {written} values as written" if written else None
    if result.deleted > zeros:
        return f"DHIS2 counts {result.deleted} values deleted, but only {zeros} zeros were sent"
    allowed = zeros if generation == 36 else (len(held) if _unchanged_ignored(version) else 0)
    if extra > allowed:
        return f"DHIS2 counts {extra} values ignored without saying why"
    return None


def _unchanged_ignored(version: ServerVersion | None) -> bool:
    return version is None or version.unchanged_ignored


def _status_problem(result: ImportResult, refused: int) -> str | None:
    """≤2.42: SUCCESS without conflicts, WARNING with them; ERROR only for an abort."""
    if result.status == "ERROR":
        return "DHIS2 says ERROR for an import it did not abort"
    if result.status == "SUCCESS" and result.conflicts:
        return "DHIS2 says SUCCESS but lists conflicts"
    if result.status == "WARNING" and not result.conflicts:
        return "DHIS2 says WARNING but lists no conflict"
    return None


def _counts_43(result: ImportResult, n: int, refused: int, strategy: str) -> str | None:
    """2.43+: ``imported`` is always 0; every value reaching the upsert is ``updated`` (moved to
    ``deleted`` for DELETE); ``ignored`` = values attempted but not written + value errors."""
    written = result.deleted if strategy == DELETE else result.updated
    if result.imported:
        return f"DHIS2 counts {result.imported} values imported, which 2.43+ never does"
    if result.status == "SUCCESS" and result.conflicts:
        return "DHIS2 says SUCCESS but lists conflicts"
    if result.status == "ERROR" and written:
        return "DHIS2 says ERROR yet counts values as written"
    if result.counted != n:
        return f"DHIS2 accounts for {result.counted} of the {n} values sent"
    if strategy == DELETE:
        other = result.updated
        return f"a deletion counted {other} values as updated" if other else None
    if result.deleted:
        return f"DHIS2 counts {result.deleted} values deleted in an upsert"
    if result.ignored != refused:
        return f"DHIS2 counts {result.ignored} values ignored but refused {refused}"
    return None


def not_yet(conflict: Conflict) -> bool:
    """A refusal because the period is not open yet (it may be accepted later)."""
    return conflict.error_code in NOT_YET or _NOT_YET_TEXT in conflict.message
