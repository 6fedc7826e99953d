"""The write rules of a plan's target: its data set's metadata, the user, the DHIS2 version, the
attribute option combo the client sends, and the periods a set of slots is about to push."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dhispatch.runtime.access.metadata import read_access_metadata
from dhispatch.runtime.access.rules import ApprovalState
from dhispatch.runtime.access.rules import WriteRules
from dhispatch.runtime.access.writer import Writer
from dhispatch.runtime.dhis2.version import ServerVersion
from dhispatch.runtime.plan import Plan
from dhispatch.runtime.schedule import Slot

DEFAULT_MINOR = 40  # an export that names no version is checked with 2.37–2.42's rules


def sent_attribute_combo(plan: Plan) -> str | None:
    """The attribute option combo the client names on every value: none (DHIS2's default) —
    the client does not send the plan's ``attribute_option_combo`` — so the rules that 2.43
    applies only to named combos (approval, option dates) do not apply."""
    return None


def minor_of(version: str | None) -> int | None:
    """2.<minor> of a version text (``2.40.4``, ``2.41-SNAPSHOT``); None when not 2.x."""
    parsed = ServerVersion.parse(version)
    return parsed.minor if parsed else None


def rules_for_plan(
    plan: Plan,
    export: Mapping[str, Any],
    writer: Writer | None,
    *,
    now: datetime,
    minor: int | None = None,
    approvals: ApprovalState | None = None,
) -> WriteRules:
    """The rules for ``plan``'s data set in ``export`` (its ``system.version`` unless ``minor``
    is given; AccessMetadataError when the data set is missing)."""
    meta = read_access_metadata(export, plan.target.data_set)
    found = minor if minor is not None else minor_of(meta.version)
    return WriteRules(
        meta, writer, minor=found or DEFAULT_MINOR, now=now, schemes=plan.target.id_schemes,
        aoc=sent_attribute_combo(plan), approvals=approvals,
    )  # fmt: skip


def periods_by_step(slots: Sequence[Slot]) -> dict[str, list[str]]:
    """Each step's periods, in slot order, once each."""
    out: dict[str, list[str]] = {}
    for slot in slots:
        periods = out.setdefault(slot.step_id, [])
        if slot.period.id not in periods:
            periods.append(slot.period.id)
    return out
