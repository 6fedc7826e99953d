"""Value objects the client takes and returns: data values, id schemes, import results, identity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from dhispatch.runtime.plan import IdSchemes


@dataclass(frozen=True, slots=True)
class DataValue:
    """One cell to send; ``category_option_combo`` None means DHIS2's default combo."""

    data_element: str
    period: str
    org_unit: str
    category_option_combo: str | None
    value: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """One refusal DHIS2 reported, with the positions (in the pushed batch) of the values it hit."""

    indexes: tuple[int, ...]
    error_code: str | None
    message: str
    objects: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """One normalised outcome for all four response generations (≤2.36, 2.37, 2.38–2.42, 2.43+).

    ``size`` is the number of values that were pushed; a data-set-level abort (status ERROR with
    nothing written) rejects them all.
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

    @property
    def rejected_indexes(self) -> frozenset[int]:
        if self.status == "ERROR" and self.imported + self.updated + self.deleted == 0:
            return frozenset(range(self.size))
        return frozenset(i for c in self.conflicts for i in c.indexes if 0 <= i < self.size)

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
