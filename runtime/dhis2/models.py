"""Value objects the client takes and returns: data values, id schemes, import results, identity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import NamedTuple

from dhispatch.runtime.plan import IdSchemes


class DataValue(NamedTuple):
    """One cell to send; a combo of None means DHIS2's default (category or attribute).

    A named tuple rather than a frozen dataclass: every value of a push is made into one, and
    a tuple is built in a fifth of the time."""

    data_element: str
    period: str
    org_unit: str
    category_option_combo: str | None
    value: str
    attribute_option_combo: str | None = None  # a UID; sent as the COC id scheme asks


@dataclass(frozen=True, slots=True)
class Conflict:
    """One refusal as DHIS2 reported it: ``indexes`` as given (2.37+; None when absent, -1 for a
    whole 2.43 request), ``object`` (≤2.36 names the value only by it), ``objects``/``args``."""

    indexes: tuple[int, ...] | None
    error_code: str | None
    message: str
    objects: Mapping[str, str] = field(default_factory=dict)
    object: str | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """One import summary of any generation (≤2.36, 2.37, 2.38–2.42, 2.43+), as DHIS2 sent it.

    Nothing here decides which values DHIS2 holds: ``runtime.dhis2.reconcile`` does, from the
    counts, the conflicts and ``rejected`` (``rejectedIndexes``, 2.37+; None when absent).
    """

    status: str
    http_status: int
    imported: int
    updated: int
    ignored: int
    deleted: int
    conflicts: tuple[Conflict, ...]
    description: str | None
    size: int = 0
    rejected: tuple[int, ...] | None = None

    @property
    def counted(self) -> int:
        return self.imported + self.updated + self.ignored + self.deleted

    @property
    def ok(self) -> bool:
        return self.status != "ERROR" and not self.conflicts


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """What ``/api/system/info`` says about the server."""

    version: str
    revision: str | None
    calendar: str | None
    server_date: str | None
    server_time_zone: str | None = None  # serverTimeZoneId: the zone of server_date


@dataclass(frozen=True, slots=True)
class Me:
    """The authenticated user as ``/api/me`` describes it."""

    username: str
    authorities: tuple[str, ...]
    org_units: tuple[str, ...]
    data_sets: tuple[str, ...]

    @property
    def can_write_data(self) -> bool:
        return "ALL" in self.authorities or "F_DATAVALUE_ADD" in self.authorities


__all__ = ["Conflict", "DataValue", "IdSchemes", "ImportResult", "Me", "SystemInfo"]
